//! The model: which view is open, selections, expansion, the `/` bar, focus, and the
//! data source. `update` applies one [`Action`]; `apply_updates` absorbs what the
//! source's worker produced. Nothing here imports ratatui, so every behaviour is tested
//! without a terminal.

use std::collections::HashSet;

use super::action::{Action, Scope, Tab};
use super::flatten::{follow_lines, tree_lines, FollowLine, Side};
use super::layout;
use super::source::{ConnDetail, ConnRow, DataSource, PacketDetail, SourceStatus, Turn};

/// Most lines a followed stream keeps for display.
pub const FOLLOW_MAX_LINES: usize = 100_000;
/// Most payload bytes a followed stream keeps (both directions together); the rest is
/// announced by a note line, never silently dropped.
pub const FOLLOW_MAX_BYTES: usize = 16 << 20;

/// A view on the stack. Tabs are the roots; a connection and its stream are pushed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Tab(Tab),
    Conn(u32),
    Follow(u32),
}

/// Selection and scroll offset of a virtual list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListState {
    pub selected: usize,
    pub offset: usize,
}

impl ListState {
    /// Keeps the selection inside `count` rows and visible in a window of `rows`.
    pub fn clamp(&mut self, count: usize, rows: usize) {
        let rows = rows.max(1);
        if count == 0 {
            *self = ListState::default();
            return;
        }
        self.selected = self.selected.min(count - 1);
        if self.selected < self.offset {
            self.offset = self.selected;
        }
        if self.selected >= self.offset + rows {
            self.offset = self.selected + 1 - rows;
        }
        self.offset = self.offset.min(count.saturating_sub(rows));
    }

    pub fn move_by(&mut self, delta: isize, count: usize, rows: usize) {
        self.selected = self.selected.saturating_add_signed(delta);
        self.clamp(count, rows);
    }

    pub fn select(&mut self, index: usize, count: usize, rows: usize) {
        self.selected = index;
        self.clamp(count, rows);
    }
}

/// Which pane of the Packets view has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    List,
    Tree,
}

/// What the `/` bar edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarPurpose {
    Filter,
    Search,
}

/// The open `/` bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bar {
    pub purpose: BarPurpose,
    pub text: String,
    /// Cursor position in characters.
    pub cursor: usize,
    /// Result of `check_filter` on the current text (validity colouring).
    pub valid: bool,
    /// Error of the last submit, rendered with its caret line.
    pub error: Option<String>,
    /// Field names that complete the word before the cursor (after Tab, when several).
    pub hint: Option<String>,
    /// Position in the filter history while browsing it with Up/Down.
    pub history_pos: Option<usize>,
}

/// Columns the connection table can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnSort {
    Id,
    Client,
    Server,
    Name,
    State,
    Duration,
    BytesC2s,
    BytesS2c,
    Packets,
    Rtt,
    App,
}

impl ConnSort {
    pub const ALL: [ConnSort; 11] = [
        ConnSort::Id,
        ConnSort::Client,
        ConnSort::Server,
        ConnSort::Name,
        ConnSort::State,
        ConnSort::Duration,
        ConnSort::BytesC2s,
        ConnSort::BytesS2c,
        ConnSort::Packets,
        ConnSort::Rtt,
        ConnSort::App,
    ];

    fn next(self) -> ConnSort {
        let i = ConnSort::ALL.iter().position(|s| *s == self).unwrap_or(0);
        ConnSort::ALL[(i + 1) % ConnSort::ALL.len()]
    }

    fn cmp(self, a: &ConnRow, b: &ConnRow) -> std::cmp::Ordering {
        match self {
            ConnSort::Id => a.id.cmp(&b.id),
            ConnSort::Client => a.client.cmp(&b.client),
            ConnSort::Server => a.server.cmp(&b.server),
            ConnSort::Name => a.name.cmp(&b.name),
            ConnSort::State => a.state.cmp(&b.state),
            ConnSort::Duration => a.duration.total_cmp(&b.duration),
            ConnSort::BytesC2s => a.bytes_c2s.cmp(&b.bytes_c2s),
            ConnSort::BytesS2c => a.bytes_s2c.cmp(&b.bytes_s2c),
            ConnSort::Packets => a.packets.cmp(&b.packets),
            ConnSort::Rtt => a.rtt.unwrap_or(-1.0).total_cmp(&b.rtt.unwrap_or(-1.0)),
            ConnSort::App => a.app.cmp(&b.app),
        }
    }
}

/// The open Follow view's lines and search.
#[derive(Clone, Debug, PartialEq)]
pub struct FollowState {
    pub conn: u32,
    turns: Vec<Turn>,
    /// Payload bytes dropped by the [`FOLLOW_MAX_BYTES`] cap.
    pub cut: u64,
    pub hex: bool,
    pub lines: Vec<FollowLine>,
    pub list: ListState,
    pub query: String,
    /// Line indices containing the query (case-insensitive).
    pub matches: Vec<usize>,
}

impl FollowState {
    fn new(conn: u32, mut turns: Vec<Turn>) -> FollowState {
        let cut = cap_turns(&mut turns, FOLLOW_MAX_BYTES);
        let mut f = FollowState {
            conn,
            turns,
            cut,
            hex: false,
            lines: Vec::new(),
            list: ListState::default(),
            query: String::new(),
            matches: Vec::new(),
        };
        f.rebuild();
        f
    }

    fn rebuild(&mut self) {
        self.lines = follow_lines(&self.turns, self.hex, FOLLOW_MAX_LINES);
        if self.cut > 0 {
            self.lines.push(FollowLine {
                side: Side::Note,
                packet: 0,
                text: format!("[{} more bytes not shown]", self.cut),
            });
        } else if self.lines.is_empty() {
            self.lines.push(FollowLine {
                side: Side::Note,
                packet: 0,
                text: "(no payload in this connection)".into(),
            });
        }
        self.find();
    }

    fn find(&mut self) {
        self.matches.clear();
        if self.query.is_empty() {
            return;
        }
        let q = self.query.to_lowercase();
        self.matches = self
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.text.to_lowercase().contains(&q))
            .map(|(i, _)| i)
            .collect();
    }
}

/// The model of the whole TUI.
pub struct App {
    pub source: Box<dyn DataSource>,
    /// Never empty; the first entry is a tab.
    pub stack: Vec<View>,
    pub packets: ListState,
    pub pane: Pane,
    pub tree: ListState,
    /// Paths of expanded field-tree nodes (kept across packets: layers line up).
    pub expanded: HashSet<Vec<usize>>,
    /// The selected packet decoded, and the view index it was decoded for.
    pub detail: Option<(usize, PacketDetail)>,
    pub conns: ListState,
    pub sort: ConnSort,
    pub sort_reverse: bool,
    /// Indices into `source.conns()` in display order.
    pub conn_order: Vec<usize>,
    /// The open connection's detail (fetched once when opened).
    pub conn_detail: Option<(u32, ConnDetail)>,
    pub conn_scroll: ListState,
    pub follow: Option<FollowState>,
    pub story: ListState,
    pub story_expanded: HashSet<Vec<usize>>,
    pub dns: ListState,
    pub http: ListState,
    pub bar: Option<Bar>,
    /// The applied display filter.
    pub filter: Option<String>,
    /// Display filters applied so far, oldest first (browsed with Up/Down in the bar).
    pub filter_history: Vec<String>,
    /// The connection every view is limited to.
    pub focus: Option<u32>,
    pub help: bool,
    pub help_scroll: usize,
    pub confirm_quit: bool,
    pub quit: bool,
    pub size: (u16, u16),
    pub no_color: bool,
    pub status: SourceStatus,
    /// A short notice for the footer ("no connection on this row"), cleared by the next key.
    pub message: Option<String>,
}

impl App {
    pub fn new(source: Box<dyn DataSource>) -> App {
        let status = source.status();
        let mut app = App {
            source,
            stack: vec![View::Tab(Tab::Packets)],
            packets: ListState::default(),
            pane: Pane::List,
            tree: ListState::default(),
            expanded: HashSet::new(),
            detail: None,
            conns: ListState::default(),
            sort: ConnSort::Id,
            sort_reverse: false,
            conn_order: Vec::new(),
            conn_detail: None,
            conn_scroll: ListState::default(),
            follow: None,
            story: ListState::default(),
            story_expanded: HashSet::new(),
            dns: ListState::default(),
            http: ListState::default(),
            bar: None,
            filter: None,
            filter_history: Vec::new(),
            focus: None,
            help: false,
            help_scroll: 0,
            confirm_quit: false,
            quit: false,
            size: (80, 24),
            no_color: false,
            status,
            message: None,
        };
        app.refresh();
        app
    }

    pub fn view(&self) -> View {
        self.stack
            .last()
            .copied()
            .unwrap_or(View::Tab(Tab::Packets))
    }

    /// The tab highlighted in the tab line: the root of the stack.
    pub fn tab(&self) -> Tab {
        match self.stack.first() {
            Some(View::Tab(t)) => *t,
            _ => Tab::Packets,
        }
    }

    /// Key scopes active now, most specific first (the keymap searches in this order).
    pub fn scopes(&self) -> Vec<Scope> {
        let s = match self.view() {
            View::Tab(Tab::Packets) if self.pane == Pane::Tree => {
                return vec![Scope::FieldTree, Scope::Global];
            }
            View::Tab(Tab::Packets) => Scope::PacketList,
            View::Tab(Tab::Conns) => Scope::Conns,
            View::Tab(Tab::Story) => Scope::Story,
            View::Tab(Tab::Dns | Tab::Http) => Scope::Transactions,
            View::Conn(_) => Scope::Conn,
            View::Follow(_) => Scope::Follow,
        };
        vec![s, Scope::Global]
    }

    /// Lines the footer needs: one, plus the bar's error lines.
    pub fn footer_lines(&self) -> u16 {
        match &self.bar {
            Some(Bar { error: Some(e), .. }) => 1 + e.lines().count().min(4) as u16,
            Some(Bar { hint: Some(_), .. }) => 2,
            _ => 1,
        }
    }

    pub fn screen(&self) -> layout::Screen {
        layout::screen(self.size.0, self.size.1, self.footer_lines())
    }

    /// Data rows visible in the current view's main list.
    pub fn page_rows(&self) -> usize {
        let body = self.screen().body;
        match self.view() {
            View::Tab(Tab::Packets) => {
                let p = layout::packets(body);
                layout::list_rows(if self.pane == Pane::Tree {
                    p.tree
                } else {
                    p.list
                })
            }
            _ => layout::list_rows(body),
        }
    }

    fn packet_rows(&self) -> usize {
        layout::list_rows(layout::packets(self.screen().body).list)
    }

    fn tree_rows(&self) -> usize {
        layout::list_rows(layout::packets(self.screen().body).tree)
    }

    /// Visible field-tree lines of the selected packet.
    pub fn field_count(&self) -> usize {
        self.detail
            .as_ref()
            .map(|(_, d)| tree_lines(&d.fields, &self.expanded).len())
            .unwrap_or(0)
    }

    /// Byte range of the selected field (highlighted in the hex pane).
    pub fn selected_range(&self) -> Option<std::ops::Range<usize>> {
        let (_, d) = self.detail.as_ref()?;
        let lines = tree_lines(&d.fields, &self.expanded);
        let line = lines.get(self.tree.selected)?;
        let r = line.node.range.clone();
        (self.pane == Pane::Tree && !r.is_empty()).then_some(r)
    }

    pub fn story_count(&self) -> usize {
        tree_lines(self.source.story(), &self.story_expanded).len()
    }

    /// Number of lines of the open connection's document (see `views::conn`).
    pub fn conn_lines(&self) -> usize {
        match &self.conn_detail {
            Some((_, d)) => conn_doc_len(d),
            None => 0,
        }
    }

    /// Length of the current view's main list, and its state.
    fn current_list(&mut self) -> Option<(usize, &mut ListState)> {
        let count = match self.view() {
            View::Tab(Tab::Packets) if self.pane == Pane::Tree => self.field_count(),
            View::Tab(Tab::Packets) => self.source.packet_count(),
            View::Tab(Tab::Conns) => self.conn_order.len(),
            View::Tab(Tab::Story) => self.story_count(),
            View::Tab(Tab::Dns) => self.source.dns_rows().len(),
            View::Tab(Tab::Http) => self.source.http_rows().len(),
            View::Conn(_) => self.conn_lines(),
            View::Follow(_) => self.follow.as_ref().map(|f| f.lines.len()).unwrap_or(0),
        };
        let st = match self.view() {
            View::Tab(Tab::Packets) if self.pane == Pane::Tree => &mut self.tree,
            View::Tab(Tab::Packets) => &mut self.packets,
            View::Tab(Tab::Conns) => &mut self.conns,
            View::Tab(Tab::Story) => &mut self.story,
            View::Tab(Tab::Dns) => &mut self.dns,
            View::Tab(Tab::Http) => &mut self.http,
            View::Conn(_) => &mut self.conn_scroll,
            View::Follow(_) => &mut self.follow.as_mut()?.list,
        };
        Some((count, st))
    }

    fn move_sel(&mut self, f: impl FnOnce(&mut ListState, usize, usize)) {
        let rows = self.page_rows();
        if let Some((count, st)) = self.current_list() {
            f(st, count, rows);
        }
    }

    /// Applies one user action.
    pub fn update(&mut self, action: Action) {
        self.message = None;
        if let Action::Resize(w, h) = action {
            self.size = (w, h);
            self.refresh();
            return;
        }
        if action == Action::ForceQuit {
            self.quit = true;
            return;
        }
        if self.confirm_quit {
            match action {
                Action::ConfirmYes => self.quit = true,
                Action::ConfirmNo | Action::Back => self.confirm_quit = false,
                _ => {}
            }
            return;
        }
        if self.bar.is_some() {
            self.update_bar(action);
            return;
        }
        if self.help {
            match action {
                Action::ToggleHelp | Action::Back => self.help = false,
                Action::Down | Action::ScrollDown => self.help_scroll += 1,
                Action::Up | Action::ScrollUp => {
                    self.help_scroll = self.help_scroll.saturating_sub(1)
                }
                Action::Quit => self.quit_or_ask(),
                _ => {}
            }
            return;
        }
        let page = self.page_rows() as isize;
        match action {
            Action::Up => self.move_sel(|s, c, r| s.move_by(-1, c, r)),
            Action::Down => self.move_sel(|s, c, r| s.move_by(1, c, r)),
            Action::ScrollUp => self.move_sel(|s, c, r| s.move_by(-3, c, r)),
            Action::ScrollDown => self.move_sel(|s, c, r| s.move_by(3, c, r)),
            Action::PageUp => self.move_sel(|s, c, r| s.move_by(-page, c, r)),
            Action::PageDown => self.move_sel(|s, c, r| s.move_by(page, c, r)),
            Action::HalfPageUp => self.move_sel(|s, c, r| s.move_by(-(page / 2).max(1), c, r)),
            Action::HalfPageDown => self.move_sel(|s, c, r| s.move_by((page / 2).max(1), c, r)),
            Action::Top => self.move_sel(|s, c, r| s.select(0, c, r)),
            Action::Bottom => self.move_sel(|s, c, r| s.select(usize::MAX, c, r)),
            Action::Enter => self.enter(),
            Action::JumpPackets => self.jump_packets(),
            Action::Back => self.back(),
            Action::NextTab | Action::PrevTab => {
                let all = Tab::ALL;
                let i = all.iter().position(|t| *t == self.tab()).unwrap_or(0);
                let n = all.len();
                let j = if action == Action::NextTab {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                self.show_tab(all[j]);
            }
            Action::ShowTab(t) => self.show_tab(t),
            Action::ToggleHelp => {
                self.help = true;
                self.help_scroll = 0;
            }
            Action::Quit => self.quit_or_ask(),
            Action::FocusConn => match self.selected_conn() {
                Some(c) => self.set_focus(Some(c)),
                None => self.message = Some("no connection on this row".into()),
            },
            Action::ClearFocus => {
                if self.focus.is_some() {
                    self.set_focus(None);
                }
            }
            Action::OpenBar => {
                let purpose = if matches!(self.view(), View::Follow(_)) {
                    BarPurpose::Search
                } else {
                    BarPurpose::Filter
                };
                let text = match purpose {
                    BarPurpose::Filter => self.filter.clone().unwrap_or_default(),
                    BarPurpose::Search => self
                        .follow
                        .as_ref()
                        .map(|f| f.query.clone())
                        .unwrap_or_default(),
                };
                let mut bar = Bar {
                    purpose,
                    cursor: text.chars().count(),
                    text,
                    valid: true,
                    error: None,
                    hint: None,
                    history_pos: None,
                };
                bar.valid =
                    purpose == BarPurpose::Search || self.source.check_filter(&bar.text).is_ok();
                self.bar = Some(bar);
            }
            Action::SortNext => {
                self.sort = self.sort.next();
                self.resort();
            }
            Action::SortReverse => {
                self.sort_reverse = !self.sort_reverse;
                self.resort();
            }
            Action::Follow => match self.selected_conn() {
                Some(c) => self.open_follow(c),
                None => self.message = Some("no connection on this row".into()),
            },
            Action::ToggleHex => {
                if let Some(f) = &mut self.follow {
                    f.hex = !f.hex;
                    f.rebuild();
                    f.list = ListState::default();
                }
            }
            Action::SearchNext => self.search_step(true),
            Action::SearchPrev => self.search_step(false),
            Action::SaveView => {
                self.message = Some(match self.source.save_view() {
                    Ok(m) => m,
                    Err(e) => format!("not saved: {e}"),
                });
            }
            Action::TogglePause => {
                if self.status.live {
                    let p = !self.status.paused;
                    self.source.set_paused(p);
                    self.status = self.source.status();
                    self.status.paused = p;
                } else {
                    self.message = Some("pause applies to live captures".into());
                }
            }
            Action::SwitchPane => {
                self.pane = match self.pane {
                    Pane::List => Pane::Tree,
                    Pane::Tree => Pane::List,
                };
            }
            Action::Expand | Action::Collapse | Action::ToggleExpand => self.expand(action),
            Action::Click(col, row) => self.click(col, row),
            Action::ConfirmYes | Action::ConfirmNo => {}
            Action::BarChar(_)
            | Action::BarBackspace
            | Action::BarLeft
            | Action::BarRight
            | Action::BarSubmit
            | Action::BarComplete
            | Action::BarHistoryPrev
            | Action::BarHistoryNext => {}
            Action::Resize(..) | Action::ForceQuit => {}
        }
        self.refresh_detail();
    }

    fn quit_or_ask(&mut self) {
        if self.status.live && !self.status.done {
            self.confirm_quit = true;
        } else {
            self.quit = true;
        }
    }

    fn show_tab(&mut self, t: Tab) {
        self.stack = vec![View::Tab(t)];
        self.pane = Pane::List;
        self.refresh();
    }

    fn back(&mut self) {
        if self.view() == View::Tab(Tab::Packets) && self.pane == Pane::Tree {
            self.pane = Pane::List;
        } else if self.stack.len() > 1 {
            self.stack.pop();
            self.refresh();
        }
    }

    fn push(&mut self, v: View) {
        // Bound the stack: opening views in a loop must not grow memory.
        if self.stack.len() >= 16 {
            self.stack.remove(1);
        }
        self.stack.push(v);
    }

    fn open_conn(&mut self, c: u32) {
        self.conn_detail = Some((c, self.source.conn_detail(c)));
        self.conn_scroll = ListState::default();
        self.push(View::Conn(c));
    }

    fn open_follow(&mut self, c: u32) {
        self.follow = Some(FollowState::new(c, self.source.follow(c)));
        self.push(View::Follow(c));
    }

    fn enter(&mut self) {
        match self.view() {
            View::Tab(Tab::Packets) if self.pane == Pane::Tree => self.expand(Action::ToggleExpand),
            View::Conn(_) => self.jump_packets(),
            View::Follow(_) => {}
            _ => match self.selected_conn() {
                Some(c) => self.open_conn(c),
                None => self.message = Some("no connection on this row".into()),
            },
        }
    }

    /// From a connection: limit the views to it and show its packets, with the packet
    /// of the selected ladder arrow or HTTP transaction selected.
    fn jump_packets(&mut self) {
        let Some(c) = self.selected_conn() else {
            return;
        };
        let target = match (&self.conn_detail, self.view()) {
            (Some((dc, d)), View::Conn(vc)) if *dc == vc => {
                match conn_doc_item(d, self.conn_scroll.selected) {
                    Some((ConnSection::Ladder, Some(k))) => d.arrows.get(k).map(|a| a.number),
                    Some((ConnSection::Http, Some(k))) => d.http.get(k).map(|h| h.number),
                    _ => None,
                }
            }
            _ => None,
        };
        self.set_focus(Some(c));
        self.push(View::Tab(Tab::Packets));
        self.pane = Pane::List;
        self.packets = ListState::default();
        if let Some(i) = target.and_then(|n| self.source.packet_index(n)) {
            self.packets.selected = i;
        }
        self.refresh();
    }

    /// The connection the current row refers to.
    pub fn selected_conn(&self) -> Option<u32> {
        match self.view() {
            View::Conn(c) | View::Follow(c) => Some(c),
            View::Tab(Tab::Packets) => {
                if self.source.packet_count() == 0 {
                    return None;
                }
                self.source.packet_row(self.packets.selected).conn
            }
            View::Tab(Tab::Conns) => {
                let i = *self.conn_order.get(self.conns.selected)?;
                self.source.conns().get(i).map(|c| c.id)
            }
            View::Tab(Tab::Story) => {
                let lines = tree_lines(self.source.story(), &self.story_expanded);
                lines.get(self.story.selected)?.node.conn
            }
            View::Tab(Tab::Dns) => self.source.dns_rows().get(self.dns.selected)?.conn,
            View::Tab(Tab::Http) => self
                .source
                .http_rows()
                .get(self.http.selected)
                .map(|h| h.conn),
        }
    }

    fn set_focus(&mut self, conn: Option<u32>) {
        // Keep the selected packet selected when it survives the new view.
        let number = (self.source.packet_count() > 0)
            .then(|| self.source.packet_row(self.packets.selected).number);
        self.source.focus_conn(conn);
        self.focus = conn;
        self.packets.selected = number
            .and_then(|n| self.source.packet_index(n))
            .unwrap_or(0);
        self.refresh();
    }

    fn expand(&mut self, action: Action) {
        let (lines_path, set) = match self.view() {
            View::Tab(Tab::Packets) if self.pane == Pane::Tree => {
                let Some((_, d)) = &self.detail else { return };
                let lines = tree_lines(&d.fields, &self.expanded);
                let Some(l) = lines.get(self.tree.selected) else {
                    return;
                };
                (Some((l.path.clone(), l.has_children)), &mut self.expanded)
            }
            View::Tab(Tab::Story) => {
                let lines = tree_lines(self.source.story(), &self.story_expanded);
                let Some(l) = lines.get(self.story.selected) else {
                    return;
                };
                (
                    Some((l.path.clone(), l.has_children)),
                    &mut self.story_expanded,
                )
            }
            _ => return,
        };
        let Some((path, has_children)) = lines_path else {
            return;
        };
        let open = set.contains(&path);
        match action {
            Action::Expand if has_children => {
                set.insert(path);
            }
            Action::ToggleExpand if has_children && !open => {
                set.insert(path);
            }
            Action::Collapse | Action::ToggleExpand if open => {
                set.remove(&path);
            }
            Action::Collapse if path.len() > 1 => {
                // On a closed node, Left goes to its parent (as in file managers).
                let parent = path[..path.len() - 1].to_vec();
                let idx = match self.view() {
                    View::Tab(Tab::Story) => tree_lines(self.source.story(), &self.story_expanded)
                        .iter()
                        .position(|l| l.path == parent),
                    _ => self.detail.as_ref().and_then(|(_, d)| {
                        tree_lines(&d.fields, &self.expanded)
                            .iter()
                            .position(|l| l.path == parent)
                    }),
                };
                if let Some(i) = idx {
                    self.move_sel(|s, c, r| s.select(i, c, r));
                }
            }
            _ => {}
        }
        self.refresh();
    }

    fn search_step(&mut self, forward: bool) {
        let rows = self.page_rows();
        let Some(f) = &mut self.follow else { return };
        if f.matches.is_empty() {
            self.message = Some(if f.query.is_empty() {
                "no search: press / to search".into()
            } else {
                format!("no match for \"{}\"", super::flatten::esc(&f.query))
            });
            return;
        }
        let cur = f.list.selected;
        let next = if forward {
            f.matches
                .iter()
                .copied()
                .find(|&m| m > cur)
                .or(f.matches.first().copied())
        } else {
            f.matches
                .iter()
                .rev()
                .copied()
                .find(|&m| m < cur)
                .or(f.matches.last().copied())
        };
        if let Some(n) = next {
            f.list.select(n, f.lines.len(), rows);
        }
    }

    fn click(&mut self, col: u16, row: u16) {
        let screen = self.screen();
        if screen.tabs.contains(col, row) {
            // Tab titles are drawn as " N Title " in order; find which one was hit.
            let mut x = 0u16;
            for (i, t) in Tab::ALL.iter().enumerate() {
                let w = format!(" {} {} ", i + 1, t.title()).chars().count() as u16;
                if col >= x && col < x + w {
                    self.show_tab(*t);
                    return;
                }
                x += w + 1;
            }
            return;
        }
        let (area, pane) = match self.view() {
            View::Tab(Tab::Packets) => {
                let p = layout::packets(screen.body);
                if p.tree.contains(col, row) {
                    (p.tree, Pane::Tree)
                } else if p.list.contains(col, row) {
                    (p.list, Pane::List)
                } else {
                    return;
                }
            }
            _ => (screen.body, Pane::List),
        };
        if !area.contains(col, row) || row == area.y {
            return; // header line
        }
        self.pane = pane;
        let rel = (row - area.y - 1) as usize;
        let rows = self.page_rows();
        if let Some((count, st)) = self.current_list() {
            let i = st.offset + rel;
            if i < count {
                st.select(i, count, rows);
            }
        }
        self.refresh_detail();
    }

    fn update_bar(&mut self, action: Action) {
        self.update_bar_inner(action);
    }

    fn update_bar_inner(&mut self, action: Action) {
        let completing = action == Action::BarComplete;
        let Some(bar) = &mut self.bar else { return };
        let mut edited = true;
        match action {
            Action::BarChar(c) => {
                if bar.text.chars().count() < 1024 {
                    let at = byte_at(&bar.text, bar.cursor);
                    bar.text.insert(at, c);
                    bar.cursor += 1;
                }
            }
            Action::BarBackspace => {
                if bar.cursor > 0 {
                    bar.cursor -= 1;
                    let at = byte_at(&bar.text, bar.cursor);
                    bar.text.remove(at);
                }
            }
            Action::BarLeft => {
                bar.cursor = bar.cursor.saturating_sub(1);
                edited = false;
            }
            Action::BarRight => {
                bar.cursor = (bar.cursor + 1).min(bar.text.chars().count());
                edited = false;
            }
            Action::BarComplete if bar.purpose == BarPurpose::Filter => {
                complete_field(bar);
            }
            Action::BarHistoryPrev | Action::BarHistoryNext
                if bar.purpose == BarPurpose::Filter =>
            {
                let n = self.filter_history.len();
                if n == 0 {
                    return;
                }
                let pos = match (action, bar.history_pos) {
                    (Action::BarHistoryPrev, None) => Some(n - 1),
                    (Action::BarHistoryPrev, Some(p)) => Some(p.saturating_sub(1)),
                    (_, Some(p)) if p + 1 < n => Some(p + 1),
                    _ => None,
                };
                bar.history_pos = pos;
                bar.text = pos
                    .map(|p| self.filter_history[p].clone())
                    .unwrap_or_default();
                bar.cursor = bar.text.chars().count();
            }
            Action::Back => {
                self.bar = None;
                return;
            }
            Action::BarSubmit => {
                let text = bar.text.trim().to_string();
                match bar.purpose {
                    BarPurpose::Filter => match self.source.apply_filter(&text) {
                        Ok(()) => {
                            if !text.is_empty() && self.filter_history.last() != Some(&text) {
                                self.filter_history.push(text.clone());
                                if self.filter_history.len() > 100 {
                                    self.filter_history.remove(0);
                                }
                            }
                            self.filter = (!text.is_empty()).then_some(text);
                            self.bar = None;
                            self.packets = ListState::default();
                            self.refresh();
                        }
                        Err(e) => {
                            if let Some(b) = &mut self.bar {
                                b.error = Some(e);
                                b.valid = false;
                            }
                        }
                    },
                    BarPurpose::Search => {
                        self.bar = None;
                        if let Some(f) = &mut self.follow {
                            f.query = text;
                            f.find();
                            let cur = f.list.selected;
                            f.list.selected = cur.saturating_sub(1);
                        }
                        self.search_step(true);
                    }
                }
                return;
            }
            _ => edited = false,
        }
        if edited {
            let text = bar.text.clone();
            let purpose = bar.purpose;
            let valid =
                purpose == BarPurpose::Search || self.source.check_filter(text.trim()).is_ok();
            if let Some(b) = &mut self.bar {
                b.valid = valid;
                b.error = None;
                if !completing {
                    b.hint = None;
                }
            }
        }
    }

    /// Absorbs the source's pending update batches (the `apply` step of the event loop).
    /// In a live capture the packet list follows the tail while the selection is on the
    /// last row. Returns true when anything changed (the screen needs a redraw).
    pub fn apply_updates(&mut self) -> bool {
        let before = self.source.packet_count();
        let at_tail = before == 0 || self.packets.selected + 1 >= before;
        let changed = self.source.poll();
        let status = self.source.status();
        let status_changed = status != self.status;
        self.status = status;
        if !changed {
            return status_changed;
        }
        if self.status.live && at_tail {
            self.packets.selected = self.source.packet_count().saturating_sub(1);
        }
        self.refresh();
        true
    }

    /// Re-derives everything that depends on the source or the size: conn order,
    /// clamped selections, the selected packet's detail.
    pub fn refresh(&mut self) {
        self.resort();
        let rows = layout::list_rows(self.screen().body);
        let prow = self.packet_rows();
        self.packets.clamp(self.source.packet_count(), prow);
        self.conns.clamp(self.conn_order.len(), rows);
        let sc = self.story_count();
        self.story.clamp(sc, rows);
        self.dns.clamp(self.source.dns_rows().len(), rows);
        self.http.clamp(self.source.http_rows().len(), rows);
        let cl = self.conn_lines();
        self.conn_scroll.clamp(cl, rows);
        if let Some(f) = &mut self.follow {
            f.list.clamp(f.lines.len(), rows);
        }
        self.refresh_detail();
    }

    fn resort(&mut self) {
        let conns = self.source.conns();
        let selected_id = self
            .conn_order
            .get(self.conns.selected)
            .and_then(|&i| conns.get(i))
            .map(|c| c.id);
        let mut order: Vec<usize> = (0..conns.len()).collect();
        let (sort, rev) = (self.sort, self.sort_reverse);
        // Sources list connections by id already (ids follow first packets), so the
        // default order needs no sort on every update batch.
        let by_id = sort == ConnSort::Id && !rev && conns.windows(2).all(|w| w[0].id < w[1].id);
        if !by_id {
            order.sort_by(|&a, &b| {
                let o = sort
                    .cmp(&conns[a], &conns[b])
                    .then(conns[a].id.cmp(&conns[b].id));
                if rev {
                    o.reverse()
                } else {
                    o
                }
            });
        }
        if let Some(id) = selected_id {
            if let Some(pos) = order.iter().position(|&i| conns[i].id == id) {
                self.conns.selected = pos;
            }
        }
        self.conn_order = order;
    }

    /// Decodes the selected packet when the selection moved to another packet.
    fn refresh_detail(&mut self) {
        if self.view() != View::Tab(Tab::Packets) {
            return;
        }
        let count = self.source.packet_count();
        if count == 0 {
            self.detail = None;
            return;
        }
        let idx = self.packets.selected.min(count - 1);
        let stale = match &self.detail {
            Some((i, d)) => *i != idx || d.number != self.source.packet_row(idx).number,
            None => true,
        };
        if stale {
            self.detail = Some((idx, self.source.packet_detail(idx)));
            self.tree = ListState::default();
        }
        let fc = self.field_count();
        let tr = self.tree_rows();
        self.tree.clamp(fc, tr);
    }
}

/// Keeps at most `max` payload bytes of `turns` (cutting the turn that crosses the
/// limit) and returns how many bytes were dropped.
fn cap_turns(turns: &mut Vec<Turn>, max: usize) -> u64 {
    let mut kept = 0usize;
    let mut cut = 0u64;
    let mut end = turns.len();
    for (i, t) in turns.iter_mut().enumerate() {
        if let Turn::Data { bytes, .. } = t {
            if kept >= max {
                end = end.min(i);
                cut += bytes.len() as u64;
            } else if kept + bytes.len() > max {
                let keep = max - kept;
                cut += (bytes.len() - keep) as u64;
                bytes.truncate(keep);
                kept = max;
            } else {
                kept += bytes.len();
            }
        } else if kept >= max {
            end = end.min(i);
        }
    }
    turns.truncate(end);
    cut
}

/// Byte offset of the `chars`-th character (or the end).
fn byte_at(s: &str, chars: usize) -> usize {
    s.char_indices()
        .nth(chars)
        .map(|(i, _)| i)
        .unwrap_or(s.len())
}

/// Sections of the Connection view's document, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnSection {
    Timeline,
    Ladder,
    Http,
    Tls,
    Anomalies,
}

/// The non-empty sections of `d` with their item counts.
pub fn conn_sections(d: &ConnDetail) -> Vec<(ConnSection, usize)> {
    [
        (ConnSection::Timeline, d.phases.len()),
        (ConnSection::Ladder, d.arrows.len()),
        (ConnSection::Http, d.http.len()),
        (ConnSection::Tls, usize::from(d.tls.is_some())),
        (ConnSection::Anomalies, d.anomalies.len()),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .collect()
}

/// Lines of the Connection view's document: each non-empty section is a title line,
/// its items and a blank line. The model scrolls it; `views::conn` draws these lines.
pub fn conn_doc_len(d: &ConnDetail) -> usize {
    conn_sections(d).iter().map(|(_, n)| n + 2).sum()
}

/// What line `i` of the document shows: a section and `Some(item)`, or `None` for the
/// section's title; `None` overall for blank lines and past the end.
pub fn conn_doc_item(d: &ConnDetail, i: usize) -> Option<(ConnSection, Option<usize>)> {
    let mut base = 0;
    for (s, n) in conn_sections(d) {
        if i < base + n + 2 {
            let k = i - base;
            return match k {
                0 => Some((s, None)),
                k if k <= n => Some((s, Some(k - 1))),
                _ => None,
            };
        }
        base += n + 2;
    }
    None
}

/// Tab in the filter bar: completes the field name before the cursor (the registry's
/// names and aliases); with several candidates, extends to their common prefix and
/// lists them as a hint.
fn complete_field(bar: &mut Bar) {
    let chars: Vec<char> = bar.text.chars().collect();
    let end = bar.cursor.min(chars.len());
    let mut start = end;
    while start > 0
        && (chars[start - 1].is_ascii_alphanumeric() || matches!(chars[start - 1], '.' | '_'))
    {
        start -= 1;
    }
    let word: String = chars[start..end].iter().collect();
    let cands = crate::filter::fields::complete(&word);
    let Some(first) = cands.first() else {
        bar.hint = Some(format!("no field starts with \"{word}\""));
        return;
    };
    let common = cands.iter().fold(first.to_string(), |acc, c| {
        acc.chars()
            .zip(c.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    let insert = if cands.len() == 1 {
        format!("{first} ")
    } else {
        common
    };
    let rest: String = chars[end..].iter().collect();
    let head: String = chars[..start].iter().collect();
    bar.text = format!("{head}{insert}{rest}");
    bar.cursor = start + insert.chars().count();
    bar.hint = (cands.len() > 1).then(|| {
        let shown: Vec<&str> = cands.iter().take(12).copied().collect();
        let more = cands.len().saturating_sub(12);
        if more > 0 {
            format!("{}  (+{more})", shown.join("  "))
        } else {
            shown.join("  ")
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fake::{FakeSource, ANOMALY_CONN, FAKE_CONNS};
    use crate::tui::keymap;

    fn app() -> App {
        let mut a = App::new(Box::new(FakeSource::new()));
        a.update(Action::Resize(80, 24));
        a
    }

    fn type_text(a: &mut App, s: &str) {
        for c in s.chars() {
            a.update(Action::BarChar(c));
        }
    }

    #[test]
    fn navigation_keys_move_and_clamp() {
        let mut a = app();
        let n = a.source.packet_count();
        assert!(n > 9_000, "fake capture has ~10k packets, got {n}");
        let rows = a.page_rows();
        assert_eq!(
            rows, 9,
            "80x24: 21 body lines, half for the list minus its header"
        );
        a.update(Action::Down);
        a.update(Action::Down);
        assert_eq!(a.packets.selected, 2);
        a.update(Action::Up);
        assert_eq!(a.packets.selected, 1);
        a.update(Action::PageDown);
        assert_eq!(a.packets.selected, 1 + rows);
        assert!(
            a.packets.offset + rows > a.packets.selected,
            "selection stays visible"
        );
        a.update(Action::HalfPageDown);
        assert_eq!(a.packets.selected, 1 + rows + rows / 2);
        a.update(Action::HalfPageUp);
        a.update(Action::PageUp);
        assert_eq!(a.packets.selected, 1);
        a.update(Action::Bottom);
        assert_eq!(a.packets.selected, n - 1);
        assert_eq!(a.packets.offset, n - rows);
        a.update(Action::Down);
        assert_eq!(a.packets.selected, n - 1, "clamped at the end");
        a.update(Action::Top);
        assert_eq!(a.packets, ListState::default());
        a.update(Action::Up);
        assert_eq!(a.packets.selected, 0);
        // The detail follows the selection.
        a.update(Action::Down);
        let (i, d) = a.detail.as_ref().expect("detail decoded");
        assert_eq!((*i, d.number), (1, 2));
    }

    #[test]
    fn tabs_number_keys_and_enter_esc_stack() {
        let mut a = app();
        assert_eq!(a.view(), View::Tab(Tab::Packets));
        a.update(Action::NextTab);
        assert_eq!(a.view(), View::Tab(Tab::Conns));
        a.update(Action::PrevTab);
        a.update(Action::PrevTab);
        assert_eq!(a.view(), View::Tab(Tab::Http), "wraps around");
        a.update(Action::ShowTab(Tab::Conns));
        a.update(Action::Down);
        a.update(Action::Down);
        a.update(Action::Enter);
        assert_eq!(a.view(), View::Conn(2));
        assert_eq!(a.conn_detail.as_ref().map(|(c, _)| *c), Some(2));
        a.update(Action::Follow);
        assert_eq!(a.view(), View::Follow(2));
        assert_eq!(a.stack.len(), 3);
        a.update(Action::Back);
        assert_eq!(a.view(), View::Conn(2));
        a.update(Action::Back);
        assert_eq!(a.view(), View::Tab(Tab::Conns));
        a.update(Action::Back);
        assert_eq!(a.view(), View::Tab(Tab::Conns), "the root stays");
        // Enter from DNS and HTTP opens the connection of the row.
        a.update(Action::ShowTab(Tab::Dns));
        a.update(Action::Down);
        a.update(Action::Enter);
        assert_eq!(a.view(), View::Conn(1));
        a.update(Action::ShowTab(Tab::Http));
        a.update(Action::Enter);
        assert_eq!(a.view(), View::Conn(0));
        // From a connection, Enter jumps to its packets, limited to it.
        a.update(Action::Enter);
        assert_eq!(a.view(), View::Tab(Tab::Packets));
        assert_eq!(a.focus, Some(0));
        assert!(a.source.packet_row(0).conn == Some(0));
        assert_eq!(a.packets.selected, 0);
        a.update(Action::Back);
        assert_eq!(a.view(), View::Conn(0));
        // On a ladder arrow, Enter selects that packet. Conn 0 has 7 phases: lines 0..=8
        // are the timeline, 9 the ladder header, 10 the SYN, 11 the SYN/ACK.
        a.update(Action::ClearFocus);
        let d = a
            .conn_detail
            .as_ref()
            .map(|(_, d)| d.clone())
            .expect("detail");
        assert_eq!(d.phases.len(), 7);
        assert_eq!(conn_doc_item(&d, 9), Some((ConnSection::Ladder, None)));
        assert_eq!(conn_doc_item(&d, 11), Some((ConnSection::Ladder, Some(1))));
        assert_eq!(conn_doc_item(&d, 8), None);
        assert_eq!(conn_doc_item(&d, conn_doc_len(&d)), None);
        for _ in 0..11 {
            a.update(Action::Down);
        }
        assert_eq!((a.view(), a.conn_scroll.selected), (View::Conn(0), 11));
        a.update(Action::Enter);
        assert_eq!(a.view(), View::Tab(Tab::Packets));
        let row = a.source.packet_row(a.packets.selected);
        assert_eq!((row.number, row.conn), (d.arrows[1].number, Some(0)));
        assert!(row.info.contains("[SYN, ACK]"), "{}", row.info);
    }

    #[test]
    fn focus_limits_every_view_and_clear_restores() {
        let mut a = app();
        let all = a.source.packet_count();
        // Select a packet of connection 3 (its SYN), then focus.
        let n = a.source.conns()[3].first_packet;
        let i = a.source.packet_index(n).expect("in view");
        a.packets.select(i, all, 10);
        a.update(Action::FocusConn);
        assert_eq!(a.focus, Some(3));
        let count = a.source.packet_count();
        assert!(count < all && count > 50);
        assert!((0..count).all(|k| a.source.packet_row(k).conn == Some(3)));
        assert_eq!(
            a.source.packet_row(a.packets.selected).number,
            n,
            "selection kept"
        );
        assert_eq!(a.source.conns().len(), 1);
        assert_eq!(a.source.dns_rows().len(), 1);
        assert_eq!(a.conn_order.len(), 1);
        a.update(Action::ClearFocus);
        assert_eq!(a.focus, None);
        assert_eq!(a.source.packet_count(), all);
        assert_eq!(
            a.source.packet_row(a.packets.selected).number,
            n,
            "selection kept"
        );
        assert_eq!(a.source.conns().len(), FAKE_CONNS as usize);
        // A DNS packet has no connection: focusing says so instead of guessing.
        a.update(Action::Top);
        assert_eq!(a.source.packet_row(0).proto, "DNS");
        a.update(Action::FocusConn);
        assert_eq!(a.focus, None);
        assert!(a.message.is_some());
        // From the story.
        a.update(Action::ShowTab(Tab::Story));
        a.update(Action::Down);
        a.update(Action::FocusConn);
        assert_eq!(
            a.focus,
            Some(5),
            "second page load starts with connection 5"
        );
    }

    #[test]
    fn follow_search_next_and_previous_wrap() {
        let mut a = app();
        a.update(Action::ShowTab(Tab::Conns));
        a.update(Action::Follow);
        assert_eq!(a.view(), View::Follow(0));
        a.update(Action::OpenBar);
        assert_eq!(a.bar.as_ref().map(|b| b.purpose), Some(BarPurpose::Search));
        type_text(&mut a, "LINE 1");
        a.update(Action::BarSubmit);
        let f = a.follow.as_ref().expect("follow open");
        // "line 1 ", "line 10".."line 19", "line 100"..: case-insensitive.
        assert!(f.matches.len() > 10);
        let m = f.matches.clone();
        assert_eq!(f.list.selected, m[0]);
        a.update(Action::SearchNext);
        assert_eq!(a.follow.as_ref().map(|f| f.list.selected), Some(m[1]));
        a.update(Action::SearchPrev);
        a.update(Action::SearchPrev);
        assert_eq!(
            a.follow.as_ref().map(|f| f.list.selected),
            Some(*m.last().expect("matches")),
            "wraps"
        );
        a.update(Action::SearchNext);
        assert_eq!(
            a.follow.as_ref().map(|f| f.list.selected),
            Some(m[0]),
            "wraps forward"
        );
        a.update(Action::ToggleHex);
        assert!(a
            .follow
            .as_ref()
            .is_some_and(|f| f.hex && f.lines[0].text.starts_with("00000000  47 45 54")));
    }

    #[test]
    fn follow_marks_the_gap_of_the_lost_segment() {
        let mut a = app();
        a.update(Action::ShowTab(Tab::Conns));
        for _ in 0..ANOMALY_CONN {
            a.update(Action::Down);
        }
        a.update(Action::Follow);
        let f = a.follow.as_ref().expect("follow");
        let gaps: Vec<_> = f
            .lines
            .iter()
            .filter(|l| l.side == crate::tui::flatten::Side::Gap)
            .collect();
        assert_eq!(gaps.len(), 1);
        assert!(
            gaps[0].text.contains("1448 bytes missing from the server"),
            "{}",
            gaps[0].text
        );
    }

    #[test]
    fn follow_keeps_a_bounded_number_of_bytes_and_says_so() {
        let data = |n: usize| Turn::Data {
            c2s: false,
            first_packet: 1,
            ts_rel: 0.0,
            bytes: vec![b'a'; n],
        };
        let mut t = vec![
            data(10),
            Turn::Gap { c2s: false, len: 5 },
            data(10),
            data(10),
        ];
        assert_eq!(cap_turns(&mut t, 15), 15);
        assert_eq!(t.len(), 3);
        assert!(matches!(&t[2], Turn::Data { bytes, .. } if bytes.len() == 5));
        let mut t = vec![data(10)];
        assert_eq!(cap_turns(&mut t, 10), 0);
        assert_eq!(t.len(), 1);
        let f = FollowState::new(0, vec![data(10), data(10)]);
        assert_eq!(f.cut, 0);
        let f = FollowState::new(0, vec![data(FOLLOW_MAX_BYTES), data(7)]);
        assert_eq!(f.cut, 7);
        assert_eq!(
            f.lines.last().map(|l| l.text.as_str()),
            Some("[7 more bytes not shown]")
        );
        let f = FollowState::new(0, Vec::new());
        assert_eq!(f.lines.len(), 1, "an empty stream says so");
    }

    #[test]
    fn sorting_connections_keeps_the_selected_one() {
        let mut a = app();
        a.update(Action::ShowTab(Tab::Conns));
        a.update(Action::Down);
        assert_eq!(a.selected_conn(), Some(1));
        let ids = |a: &App| {
            a.conn_order
                .iter()
                .map(|&i| a.source.conns()[i].id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a)[..3], [0, 1, 2]);
        for _ in 0..8 {
            a.update(Action::SortNext); // Id → ... → Packets
        }
        assert_eq!(a.sort, ConnSort::Packets);
        let conns = a.source.conns();
        let pk: Vec<u64> = a.conn_order.iter().map(|&i| conns[i].packets).collect();
        assert!(pk.windows(2).all(|w| w[0] <= w[1]), "ascending by packets");
        assert_eq!(
            a.selected_conn(),
            Some(1),
            "selection follows the connection"
        );
        a.update(Action::SortReverse);
        let conns = a.source.conns();
        let pk: Vec<u64> = a.conn_order.iter().map(|&i| conns[i].packets).collect();
        assert!(pk.windows(2).all(|w| w[0] >= w[1]), "descending by packets");
        assert_eq!(a.selected_conn(), Some(1));
        for _ in 0..3 {
            a.update(Action::SortNext);
        }
        assert_eq!(a.sort, ConnSort::Id, "cycles back");
    }

    #[test]
    fn filter_bar_completes_field_names_and_remembers_filters() {
        let mut a = app();
        a.update(Action::OpenBar);
        type_text(&mut a, "tcp.flags.sy");
        a.update(Action::BarComplete);
        assert_eq!(
            a.bar.as_ref().map(|b| b.text.as_str()),
            Some("tcp.flags.syn ")
        );
        type_text(&mut a, "or dns.qry.");
        a.update(Action::BarComplete);
        let b = a.bar.as_ref().unwrap();
        assert_eq!(b.text, "tcp.flags.syn or dns.qry.");
        let hint = b.hint.clone().expect("several candidates listed");
        assert!(
            hint.contains("dns.qry.name") && hint.contains("dns.qry.type"),
            "{hint}"
        );
        assert_eq!(a.footer_lines(), 2);
        type_text(&mut a, "n");
        assert!(
            a.bar.as_ref().unwrap().hint.is_none(),
            "typing clears the hint"
        );
        a.update(Action::Back);
        // History: applied filters come back with Up, newest first.
        for f in ["dns", "tcp"] {
            a.update(Action::OpenBar);
            for _ in 0..8 {
                a.update(Action::BarBackspace);
            }
            type_text(&mut a, f);
            a.update(Action::BarSubmit);
        }
        a.update(Action::OpenBar);
        a.update(Action::BarHistoryPrev);
        assert_eq!(a.bar.as_ref().map(|b| b.text.as_str()), Some("tcp"));
        a.update(Action::BarHistoryPrev);
        assert_eq!(a.bar.as_ref().map(|b| b.text.as_str()), Some("dns"));
        a.update(Action::BarHistoryNext);
        assert_eq!(a.bar.as_ref().map(|b| b.text.as_str()), Some("tcp"));
        a.update(Action::BarHistoryNext);
        assert_eq!(a.bar.as_ref().map(|b| b.text.as_str()), Some(""));
    }

    #[test]
    fn filter_bar_edits_validates_and_reports_errors() {
        let mut a = app();
        let all = a.source.packet_count();
        a.update(Action::OpenBar);
        assert_eq!(a.bar.as_ref().map(|b| b.purpose), Some(BarPurpose::Filter));
        type_text(&mut a, "dns an");
        assert!(
            !a.bar.as_ref().is_some_and(|b| b.valid),
            "incomplete is invalid"
        );
        type_text(&mut a, "d");
        assert!(
            a.bar.as_ref().is_some_and(|b| !b.valid),
            "'and' needs a term"
        );
        type_text(&mut a, " tcp");
        assert!(a.bar.as_ref().is_some_and(|b| b.valid));
        for _ in 0..3 {
            a.update(Action::BarBackspace);
        }
        type_text(&mut a, "bogus");
        a.update(Action::BarLeft);
        a.update(Action::BarLeft);
        a.update(Action::BarRight);
        assert_eq!(
            a.bar.as_ref().map(|b| (b.text.as_str(), b.cursor)),
            Some(("dns and bogus", 12))
        );
        a.update(Action::BarSubmit);
        let err = a
            .bar
            .as_ref()
            .and_then(|b| b.error.clone())
            .expect("error kept, bar stays open");
        // The product's filter rendering (what `packets -Y` prints after its first line).
        assert_eq!(
            err,
            "dns and bogus\n        ^~~~~\n\"bogus\" is not a valid protocol or protocol field"
        );
        assert_eq!(a.footer_lines(), 4);
        assert_eq!(a.source.packet_count(), all, "nothing applied");
        a.update(Action::Back);
        assert!(a.bar.is_none());
        a.update(Action::OpenBar);
        type_text(&mut a, "dns");
        a.update(Action::BarSubmit);
        assert!(a.bar.is_none());
        assert_eq!(a.filter.as_deref(), Some("dns"));
        assert_eq!(a.source.packet_count(), 2 * FAKE_CONNS as usize);
        // Reopening shows the applied text; an empty submit clears it.
        a.update(Action::OpenBar);
        assert_eq!(a.bar.as_ref().map(|b| b.text.as_str()), Some("dns"));
        for _ in 0..3 {
            a.update(Action::BarBackspace);
        }
        a.update(Action::BarBackspace);
        a.update(Action::BarSubmit);
        assert_eq!(a.filter, None);
        assert_eq!(a.source.packet_count(), all);
    }

    #[test]
    fn help_is_generated_from_the_keymap() {
        let mut a = app();
        a.update(Action::ToggleHelp);
        assert!(a.help);
        a.update(Action::Down); // scrolls the help, not the list
        assert_eq!((a.help_scroll, a.packets.selected), (1, 0));
        a.update(Action::Back);
        assert!(!a.help);
        // The footer for the packet list shows its specific keys first.
        let f = keymap::footer_entries(&a.scopes());
        assert_eq!(
            f.first().map(|(k, h)| (k.as_str(), *h)),
            Some(("Enter", "open the packet's connection"))
        );
        assert!(f.iter().any(|(k, _)| k == "?"));
    }

    #[test]
    fn field_tree_expand_collapse_and_highlight_range() {
        let mut a = app();
        a.update(Action::Down); // frame 2: the DNS response
        a.update(Action::SwitchPane);
        assert_eq!(a.pane, Pane::Tree);
        assert_eq!(a.scopes()[0], Scope::FieldTree);
        let top = a.field_count();
        assert_eq!(top, 5, "frame, ethernet, ip, udp, dns");
        a.update(Action::Down);
        a.update(Action::Down); // IPv4
        a.update(Action::Expand);
        assert_eq!(a.field_count(), top + 6);
        a.update(Action::Down);
        for _ in 0..4 {
            a.update(Action::Down);
        }
        assert_eq!(a.selected_range(), Some(26..30), "IPv4 source address");
        a.update(Action::Collapse); // leaf: goes to the parent
        assert_eq!(a.tree.selected, 2);
        a.update(Action::Collapse);
        assert_eq!(a.field_count(), top);
        a.update(Action::Enter);
        assert_eq!(a.field_count(), top + 6, "Enter toggles");
        a.update(Action::Back);
        assert_eq!(a.pane, Pane::List);
        assert_eq!(
            a.selected_range(),
            None,
            "no highlight without the tree focused"
        );
    }

    #[test]
    fn live_tail_follow_pause_and_quit_confirmation() {
        let f = FakeSource::live_manual();
        let feed = f.feeder();
        let mut a = App::new(Box::new(f));
        a.update(Action::Resize(80, 24));
        assert_eq!(a.source.packet_count(), 0);
        assert!(!a.apply_updates(), "nothing arrived yet");
        feed.feed(100);
        assert!(a.apply_updates());
        assert_eq!(a.source.packet_count(), 100);
        assert_eq!(a.packets.selected, 99, "empty list: follows the tail");
        feed.feed(50);
        assert!(a.apply_updates());
        assert_eq!(a.packets.selected, 149, "on the last row: follows");
        assert_eq!(a.status.packets, 150);
        a.update(Action::Up);
        feed.feed(50);
        a.apply_updates();
        assert_eq!(a.packets.selected, 148, "moved off the tail: stays");
        assert!(
            a.source.conns().len() >= 2,
            "connections appear as they start"
        );
        // Pause and resume.
        a.update(Action::TogglePause);
        assert!(a.status.paused && a.source.status().paused);
        a.update(Action::TogglePause);
        assert!(!a.status.paused);
        // Quitting a running live capture asks first; n cancels, y quits.
        a.update(Action::Quit);
        assert!(a.confirm_quit && !a.quit);
        a.update(Action::Down);
        assert_eq!(a.packets.selected, 148, "keys other than y/n are ignored");
        a.update(Action::ConfirmNo);
        assert!(!a.confirm_quit && !a.quit);
        a.update(Action::Quit);
        a.update(Action::ConfirmYes);
        assert!(a.quit);
        // A file never asks; Ctrl-C never asks.
        let mut b = app();
        b.update(Action::Quit);
        assert!(b.quit && !b.confirm_quit);
        let mut c = App::new(Box::new(FakeSource::live_manual()));
        c.update(Action::ForceQuit);
        assert!(c.quit);
        let mut d = app();
        d.update(Action::TogglePause);
        assert!(d.message.is_some(), "pause on a file explains itself");
    }

    #[test]
    fn resize_and_clicks_select_rows() {
        let mut a = app();
        a.update(Action::Resize(120, 40));
        let rows = a.page_rows();
        assert_eq!(rows, 17);
        // Row y = 2 (body) + 1 (header) + 4 → fifth row of the list.
        a.update(Action::Click(10, 7));
        assert_eq!(a.packets.selected, 4);
        a.update(Action::ScrollDown);
        assert_eq!(a.packets.selected, 7);
        // Clicking the tree pane moves the keyboard there.
        let tree_y = 2 + 18; // title line of the tree pane
        a.update(Action::Click(5, tree_y + 2));
        assert_eq!((a.pane, a.tree.selected), (Pane::Tree, 1));
        // Click on the tab line.
        a.update(Action::Click(14, 1));
        assert_eq!(a.view(), View::Tab(Tab::Conns));
        a.update(Action::Click(3, 3 + 5));
        assert_eq!(a.conns.selected, 5);
        a.update(Action::Resize(20, 5));
        a.update(Action::Bottom);
        a.update(Action::Resize(0, 0));
        a.update(Action::Down);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use crate::tui::fake::FakeSource;
    use proptest::prelude::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn action() -> impl Strategy<Value = Action> {
        prop_oneof![
            Just(Action::Up),
            Just(Action::Down),
            Just(Action::PageUp),
            Just(Action::PageDown),
            Just(Action::HalfPageDown),
            Just(Action::Top),
            Just(Action::Bottom),
            Just(Action::Enter),
            Just(Action::Back),
            Just(Action::NextTab),
            Just(Action::PrevTab),
            Just(Action::ToggleHelp),
            Just(Action::FocusConn),
            Just(Action::ClearFocus),
            Just(Action::OpenBar),
            Just(Action::SortNext),
            Just(Action::SortReverse),
            Just(Action::Follow),
            Just(Action::JumpPackets),
            Just(Action::ToggleHex),
            Just(Action::SearchNext),
            Just(Action::SearchPrev),
            Just(Action::SwitchPane),
            Just(Action::Expand),
            Just(Action::Collapse),
            Just(Action::ToggleExpand),
            any::<char>().prop_map(Action::BarChar),
            Just(Action::BarBackspace),
            Just(Action::BarLeft),
            Just(Action::BarRight),
            Just(Action::BarSubmit),
            Just(Action::ConfirmNo),
            Just(Action::ScrollDown),
            (0u16..130, 0u16..45).prop_map(|(x, y)| Action::Click(x, y)),
            (0u16..200, 0u16..60).prop_map(|(w, h)| Action::Resize(w, h)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Any sequence of actions keeps the model consistent and every screen drawable.
        #[test]
        fn any_actions_never_panic(actions in proptest::collection::vec(action(), 1..40)) {
            let mut a = App::new(Box::new(FakeSource::new()));
            a.update(Action::Resize(80, 24));
            for x in actions {
                a.update(x);
                prop_assert!(!a.stack.is_empty() && a.stack.len() <= 16);
                let n = a.source.packet_count();
                prop_assert!(n == 0 || a.packets.selected < n);
            }
            let (w, h) = a.size;
            let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
            t.draw(|f| crate::tui::views::draw(f, &a)).expect("draw");
        }
    }
}
