//! The model's tests on the fake source (the filter bar, focus and view-stack ones also
//! run on the engine-backed source: `engine_source::tests::app_on_captures`).

use super::follow::cap_turns;
use super::*;
use crate::fake::{FakeSource, ANOMALY_CONN, FAKE_CONNS};
use crate::keymap;
use crate::source::{ListRows, Turn};

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
        .filter(|l| l.side == crate::flatten::Side::Gap)
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
