//! Whole screens on a `TestBackend` with insta snapshots, at 80×24 and 120×40, for
//! every view of the fake source (fixed data, no clock on screen). After integration
//! the lead re-points these at a bundled capture.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::action::{Action, Tab};
use crate::app::App;
use crate::fake::{FakeSource, ANOMALY_CONN, HOSTILE_CONN};
use wiretale_engine::base::escape::is_unsafe_char;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn app(w: u16, h: u16) -> App {
    let mut a = App::new(Box::new(FakeSource::new()));
    a.update(Action::Resize(w, h));
    a
}

/// Draws `app` and returns the screen text; fails if any cell holds a control or
/// bidi character (nothing from the wire may reach the terminal raw).
fn screen(app: &App) -> TestBackend {
    let backend = TestBackend::new(app.size.0, app.size.1);
    let mut t = Terminal::new(backend).expect("test terminal");
    t.draw(|f| super::draw(f, app)).expect("draw");
    let backend = t.backend().clone();
    let buf = backend.buffer();
    for cell in buf.content() {
        assert!(
            !cell
                .symbol()
                .chars()
                .any(|c| c.is_control() || is_unsafe_char(c)),
            "raw control character {:?} on screen",
            cell.symbol()
        );
    }
    backend
}

fn text(b: &TestBackend) -> String {
    b.to_string()
}

fn go(a: &mut App, actions: &[Action]) {
    for x in actions {
        a.update(x.clone());
    }
}

fn select_conn(a: &mut App, c: u32) {
    a.update(Action::ShowTab(Tab::Conns));
    for _ in 0..c {
        a.update(Action::Down);
    }
}

#[test]
fn packets_view() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        // Frame 3: conn 0's SYN; then focus the tree and select the TCP source port.
        go(&mut a, &[Action::Down, Action::Down, Action::SwitchPane]);
        go(
            &mut a,
            &[
                Action::Down,
                Action::Down,
                Action::Down,
                Action::Expand,
                Action::Down,
            ],
        );
        insta::assert_snapshot!(format!("packets_{w}x{h}"), text(&screen(&a)));
    }
}

#[test]
fn packets_view_with_anomalies_and_http_fields() {
    let mut a = app(120, 40);
    select_conn(&mut a, ANOMALY_CONN);
    go(&mut a, &[Action::Enter, Action::Enter]); // conn → its packets
    let n = a.source.packet_count();
    let i = (0..n)
        .find(|&i| a.source.packet_row(i).anomaly)
        .expect("an anomaly");
    a.packets.select(i, n, a.page_rows());
    a.update(Action::SwitchPane);
    a.update(Action::Back);
    insta::assert_snapshot!("packets_anomaly_120x40", text(&screen(&a)));
}

#[test]
fn connections_view() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        go(
            &mut a,
            &[
                Action::ShowTab(Tab::Conns),
                Action::Down,
                Action::SortNext,
                Action::SortNext,
                Action::SortNext,
            ],
        );
        insta::assert_snapshot!(format!("conns_{w}x{h}"), text(&screen(&a)));
    }
}

#[test]
fn connection_view() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        select_conn(&mut a, ANOMALY_CONN);
        a.update(Action::Enter);
        insta::assert_snapshot!(format!("conn_{w}x{h}"), text(&screen(&a)));
    }
    // Scrolled down to the end: HTTP, anomalies.
    let mut a = app(120, 40);
    select_conn(&mut a, ANOMALY_CONN);
    go(&mut a, &[Action::Enter, Action::Bottom]);
    insta::assert_snapshot!("conn_end_120x40", text(&screen(&a)));
}

#[test]
fn follow_view() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        select_conn(&mut a, 3);
        a.update(Action::Follow);
        a.update(Action::OpenBar);
        for c in "line 2".chars() {
            a.update(Action::BarChar(c));
        }
        a.update(Action::BarSubmit);
        insta::assert_snapshot!(format!("follow_{w}x{h}"), text(&screen(&a)));
    }
    let mut a = app(80, 24);
    select_conn(&mut a, 3);
    go(&mut a, &[Action::Follow, Action::ToggleHex]);
    insta::assert_snapshot!("follow_hex_80x24", text(&screen(&a)));
}

#[test]
fn story_view() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        go(
            &mut a,
            &[
                Action::ShowTab(Tab::Story),
                Action::Expand,
                Action::Down,
                Action::Expand,
            ],
        );
        insta::assert_snapshot!(format!("story_{w}x{h}"), text(&screen(&a)));
    }
}

#[test]
fn dns_and_http_views() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        a.update(Action::ShowTab(Tab::Dns));
        insta::assert_snapshot!(format!("dns_{w}x{h}"), text(&screen(&a)));
        a.update(Action::ShowTab(Tab::Http));
        insta::assert_snapshot!(format!("http_{w}x{h}"), text(&screen(&a)));
    }
}

#[test]
fn help_overlay() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        a.update(Action::ToggleHelp);
        insta::assert_snapshot!(format!("help_{w}x{h}"), text(&screen(&a)));
    }
}

#[test]
fn filter_error_and_focus_in_header() {
    let mut a = app(80, 24);
    select_conn(&mut a, 4);
    go(
        &mut a,
        &[
            Action::FocusConn,
            Action::ShowTab(Tab::Packets),
            Action::OpenBar,
        ],
    );
    for c in "tcp and conn = 4".chars() {
        a.update(Action::BarChar(c));
    }
    a.update(Action::BarSubmit);
    let s = text(&screen(&a));
    assert!(s.contains("[conn #4]"), "{s}");
    assert!(s.contains("filter: tcp and conn = 4"));
    insta::assert_snapshot!("filter_error_80x24", s);
}

#[test]
fn live_status_and_quit_question() {
    let f = FakeSource::live_manual();
    f.feeder().feed(300);
    let mut a = App::new(Box::new(f));
    a.update(Action::Resize(80, 24));
    a.apply_updates();
    a.update(Action::TogglePause);
    a.update(Action::Quit);
    let s = text(&screen(&a));
    assert!(
        s.contains("live eth0  300 packets  PAUSED  drops 0  → /tmp/wiretale-live-fake"),
        "{s}"
    );
    assert!(s.contains("Stop the live capture and quit"));
    insta::assert_snapshot!("live_80x24", s);
}

/// Hostile strings (ANSI escapes, OSC title, bidi override) from the wire appear
/// escaped in every view that shows them.
#[test]
fn hostile_strings_are_escaped_everywhere() {
    let mut a = app(120, 40);
    select_conn(&mut a, HOSTILE_CONN);
    let s = text(&screen(&a));
    assert!(s.contains(r"evil\x1b[31m.example"), "conns: {s}");
    a.update(Action::Enter);
    let s = text(&screen(&a));
    assert!(s.contains(r"evil\x1b[31m.example\u{202e}moc"), "conn: {s}");
    insta::assert_snapshot!("hostile_conn_120x40", s);
    a.update(Action::Follow);
    let s = text(&screen(&a));
    assert!(
        s.contains(r"X-Evil: \x1b]0;pwned\x07\x1b[31mred\u{202e}"),
        "follow: {s}"
    );
    assert!(
        s.contains(r"GET /\x1b[2J\u{202e}gnp.exe HTTP/1.1"),
        "follow: {s}"
    );
    insta::assert_snapshot!("hostile_follow_120x40", s);
    a.update(Action::ShowTab(Tab::Http));
    let s = text(&screen(&a));
    assert!(s.contains(r"/\x1b[2J\u{202e}gnp.exe"), "http: {s}");
    a.update(Action::ShowTab(Tab::Story));
    go(&mut a, &[Action::Down, Action::Down, Action::Expand]);
    let s = text(&screen(&a));
    assert!(s.contains(r"\u{202e}"), "story: {s}");
    // In the packet list and field tree too.
    a.update(Action::ShowTab(Tab::Packets));
    a.update(Action::OpenBar);
    for c in "conn.id == 13 && http".chars() {
        a.update(Action::BarChar(c));
    }
    a.update(Action::BarSubmit);
    go(
        &mut a,
        &[Action::SwitchPane, Action::Bottom, Action::Expand],
    );
    let s = text(&screen(&a));
    assert!(s.contains(r"GET /\x1b[2J\u{202e}gnp.exe"), "packets: {s}");
    insta::assert_snapshot!("hostile_packets_120x40", s);
}

/// A source with a million packets whose rows cost nothing to make, counting how many
/// rows the UI asks for.
struct Million {
    rows: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    story: crate::source::Story,
}

impl crate::DataSource for Million {
    fn packet_count(&self) -> usize {
        1_000_000
    }
    fn packet_row(&self, index: usize) -> crate::source::PacketRow {
        self.rows.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        crate::source::PacketRow {
            number: index as u64 + 1,
            time: index as f64 * 1e-3,
            src: "10.0.0.1".into(),
            dst: "10.0.0.2".into(),
            proto: "UDP",
            len: 60,
            info: format!("datagram {index}"),
            conn: None,
            anomaly: false,
        }
    }
    fn packet_detail(&self, index: usize) -> crate::source::PacketDetail {
        crate::source::PacketDetail {
            number: index as u64 + 1,
            fields: vec![wiretale_engine::base::FieldNode::new("Frame", 0..60)],
            bytes: vec![0; 60],
        }
    }
    fn packet_index(&self, number: u64) -> Option<usize> {
        (1..=1_000_000)
            .contains(&number)
            .then(|| number as usize - 1)
    }
    fn conn_count(&self) -> usize {
        0
    }
    fn conn_id(&self, _: usize) -> Option<u32> {
        None
    }
    fn conn_row(&self, _: usize) -> Option<crate::source::ConnRow> {
        None
    }
    fn conn_detail(&self, _: u32) -> crate::source::ConnDetail {
        Default::default()
    }
    fn follow(&self, _: u32) -> Vec<crate::source::Turn> {
        Vec::new()
    }
    fn dns_count(&self) -> usize {
        0
    }
    fn dns_row(&self, _: usize) -> Option<crate::source::DnsRow> {
        None
    }
    fn http_count(&self) -> usize {
        0
    }
    fn http_row(&self, _: usize) -> Option<crate::source::HttpRow> {
        None
    }
    fn story(&self) -> &crate::source::Story {
        &self.story
    }
    fn focus_conn(&mut self, _: Option<u32>) {}
    fn apply_filter(&mut self, _: &str) -> Result<(), String> {
        Ok(())
    }
    fn check_filter(&self, _: &str) -> Result<(), String> {
        Ok(())
    }
    fn status(&self) -> crate::source::SourceStatus {
        crate::source::SourceStatus {
            name: "million.pcap".into(),
            packets: 1_000_000,
            indexed: 0.42,
            ..Default::default()
        }
    }
    fn poll(&mut self) -> bool {
        false
    }
    fn set_paused(&mut self, _: bool) {}
    fn save_view(&self) -> Result<String, String> {
        Err("no file".into())
    }
}

/// With a million packets, a frame and a jump to the end build only the visible rows.
#[test]
fn a_million_packets_build_only_visible_rows() {
    let rows = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut a = App::new(Box::new(Million {
        rows: rows.clone(),
        story: Default::default(),
    }));
    a.update(Action::Resize(120, 40));
    a.update(Action::Bottom);
    a.update(Action::PageUp);
    rows.store(0, std::sync::atomic::Ordering::Relaxed);
    let s = text(&screen(&a));
    let drawn = rows.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(drawn, a.page_rows(), "one packet_row call per visible row");
    assert!(s.contains("999983"), "{s}");
    assert!(
        s.contains("million.pcap  1000000 packets  indexing 42%"),
        "{s}"
    );
    rows.store(0, std::sync::atomic::Ordering::Relaxed);
    a.update(Action::Top);
    a.update(Action::Bottom);
    assert!(
        rows.load(std::sync::atomic::Ordering::Relaxed) <= 4,
        "navigation is O(1) in rows"
    );
}

/// `NO_COLOR`: nothing on screen carries a colour, yet the selection still shows.
#[test]
fn no_color_screens_have_no_colours() {
    for tab in Tab::ALL {
        let mut a = app(80, 24);
        a.no_color = true;
        a.update(Action::ShowTab(tab));
        a.update(Action::Down);
        let b = screen(&a);
        let buf = b.buffer();
        use ratatui::style::{Color, Modifier};
        assert!(
            buf.content()
                .iter()
                .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
            "{tab:?}"
        );
        assert!(
            buf.content()
                .iter()
                .any(|c| c.modifier.contains(Modifier::REVERSED)),
            "{tab:?}"
        );
    }
}
