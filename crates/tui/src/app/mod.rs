//! The model: which view is open, selections, expansion, the `/` bar, focus, and the
//! data source. `update` applies one [`Action`]; `apply_updates` absorbs what the
//! source's worker produced. Nothing here imports ratatui, so every behaviour is tested
//! without a terminal.
//!
//! By concern: `list` (a virtual list's selection), `conns` (the Connections table's
//! sort), `conn` (the Connection view's document), `follow` (the Follow view and its
//! search), `filter` (the `/` bar: editing, completion, history, applying); the
//! dispatch of actions, navigation and refresh stay here.

mod conn;
mod conns;
mod filter;
mod follow;
mod list;
#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use super::action::{Action, Scope, Tab};
use super::flatten::{story_lines, tree_lines};
use super::layout;
use super::source::{ConnDetail, DataSource, PacketDetail, SourceStatus};

pub use conn::{conn_doc_item, conn_doc_len, conn_sections, ConnSection};
pub use conns::ConnSort;
pub use filter::{Bar, BarPurpose};
pub use follow::{FollowState, FOLLOW_MAX_BYTES, FOLLOW_MAX_LINES};
pub use list::ListState;

/// A view on the stack. Tabs are the roots; a connection and its stream are pushed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Tab(Tab),
    Conn(u32),
    Follow(u32),
}

/// Which pane of the Packets view has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    List,
    Tree,
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
    /// Positions in the source's connection list, in display order.
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
        crate::flatten::story_len(self.source.story(), &self.story_expanded)
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
            View::Tab(Tab::Dns) => self.source.dns_count(),
            View::Tab(Tab::Http) => self.source.http_count(),
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
                self.source.conn_id(i)
            }
            View::Tab(Tab::Story) => {
                let lines = story_lines(self.source.story(), &self.story_expanded);
                lines.get(self.story.selected)?.node.conn()
            }
            View::Tab(Tab::Dns) => self.source.dns_row(self.dns.selected)?.conn,
            View::Tab(Tab::Http) => self.source.http_row(self.http.selected).map(|h| h.conn),
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
                let lines = story_lines(self.source.story(), &self.story_expanded);
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
                    View::Tab(Tab::Story) => story_lines(self.source.story(), &self.story_expanded)
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
        // Only on the Story tab (showing it refreshes): a filtered story is told when
        // first shown, not at every refresh elsewhere.
        if self.view() == View::Tab(Tab::Story) {
            let sc = self.story_count();
            self.story.clamp(sc, rows);
        }
        self.dns.clamp(self.source.dns_count(), rows);
        self.http.clamp(self.source.http_count(), rows);
        let cl = self.conn_lines();
        self.conn_scroll.clamp(cl, rows);
        if let Some(f) = &mut self.follow {
            f.list.clamp(f.lines.len(), rows);
        }
        self.refresh_detail();
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
