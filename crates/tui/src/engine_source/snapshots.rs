//! Whole screens of every view over the real source on `captures/lab-page.pcap` (a
//! page load: DNS, two HTTP connections, teardown), at 80×24 and 120×40. Times are
//! relative to the first packet, so the screens are deterministic.

use std::path::Path;
use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::EngineSource;
use crate::action::{Action, Tab};
use crate::app::App;
use crate::source::ListRows;
use crate::views;
use wiretale_engine::base::escape::is_unsafe_char;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

/// The app over the fully analysed capture, named by its path from the project root so
/// the header is the same on every machine.
fn app(w: u16, h: u16) -> App {
    let path = Path::new(wiretale_engine::testutil::ROOT).join("captures/lab-page.pcap");
    let mut s = EngineSource::open_file(&path)
        .expect("open")
        .named("captures/lab-page.pcap");
    assert!(s.wait_done(Duration::from_secs(30)));
    let mut a = App::new(Box::new(s));
    a.update(Action::Resize(w, h));
    a.apply_updates();
    a
}

fn screen(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(app.size.0, app.size.1)).expect("terminal");
    t.draw(|f| views::draw(f, app)).expect("draw");
    let b = t.backend().clone();
    for cell in b.buffer().content() {
        assert!(
            !cell
                .symbol()
                .chars()
                .any(|c| c.is_control() || is_unsafe_char(c)),
            "raw control character {:?} on screen",
            cell.symbol()
        );
    }
    b.to_string()
}

fn go(a: &mut App, actions: &[Action]) {
    for x in actions {
        a.update(x.clone());
    }
}

/// Selects the first HTTP connection in the Connections tab.
fn select_http_conn(a: &mut App) -> u32 {
    a.update(Action::ShowTab(Tab::Conns));
    let i = a
        .source
        .conns()
        .iter()
        .position(|c| c.app.as_deref() == Some("HTTP"))
        .expect("an HTTP connection");
    for _ in 0..i {
        a.update(Action::Down);
    }
    a.source.conns()[i].id
}

#[test]
fn packets_view() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        // Frame 8: the first GET; then the field tree with TCP expanded.
        for _ in 0..7 {
            a.update(Action::Down);
        }
        go(&mut a, &[Action::SwitchPane, Action::Down, Action::Down]);
        go(&mut a, &[Action::Down, Action::Expand]);
        let s = screen(&a);
        assert!(s.contains("GET / HTTP/1.1"), "{s}");
        insta::assert_snapshot!(format!("real_packets_{w}x{h}"), s);
    }
}

#[test]
fn connections_view() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        select_http_conn(&mut a);
        let s = screen(&a);
        assert!(s.contains("www.lab.glasscom.com"), "{s}");
        insta::assert_snapshot!(format!("real_conns_{w}x{h}"), s);
    }
}

#[test]
fn connection_view() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        select_http_conn(&mut a);
        a.update(Action::Enter);
        let s = screen(&a);
        assert!(s.contains("SYN/ACK"), "{s}");
        insta::assert_snapshot!(format!("real_conn_{w}x{h}"), s);
    }
    let mut a = app(120, 40);
    select_http_conn(&mut a);
    go(&mut a, &[Action::Enter, Action::Bottom]);
    insta::assert_snapshot!("real_conn_end_120x40", screen(&a));
}

#[test]
fn follow_view() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        select_http_conn(&mut a);
        a.update(Action::Follow);
        let s = screen(&a);
        assert!(s.contains("GET / HTTP/1.1"), "{s}");
        assert!(s.contains("HTTP/1.1 200 OK"), "{s}");
        insta::assert_snapshot!(format!("real_follow_{w}x{h}"), s);
    }
    let mut a = app(80, 24);
    select_http_conn(&mut a);
    go(&mut a, &[Action::Follow, Action::ToggleHex]);
    insta::assert_snapshot!("real_follow_hex_80x24", screen(&a));
}

#[test]
fn story_view() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        go(&mut a, &[Action::ShowTab(Tab::Story), Action::Expand]);
        let s = screen(&a);
        assert!(
            s.contains("story 1: page load http://www.lab.glasscom.com/"),
            "{s}"
        );
        insta::assert_snapshot!(format!("real_story_{w}x{h}"), s);
    }
}

#[test]
fn dns_and_http_views() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        a.update(Action::ShowTab(Tab::Dns));
        let s = screen(&a);
        assert!(s.contains("www.lab.glasscom.com"), "{s}");
        insta::assert_snapshot!(format!("real_dns_{w}x{h}"), s);
        a.update(Action::ShowTab(Tab::Http));
        let s = screen(&a);
        assert!(s.contains("/dir1/file.html"), "{s}");
        insta::assert_snapshot!(format!("real_http_{w}x{h}"), s);
    }
}

#[test]
fn focused_packets_and_filter_message() {
    let mut a = app(80, 24);
    let c = select_http_conn(&mut a);
    go(
        &mut a,
        &[
            Action::FocusConn,
            Action::ShowTab(Tab::Packets),
            Action::OpenBar,
        ],
    );
    for ch in "tcp.port == 80".chars() {
        a.update(Action::BarChar(ch));
    }
    a.update(Action::BarSubmit);
    let s = screen(&a);
    assert!(s.contains(&format!("[conn #{c}]")), "{s}");
    for i in 0..a.source.packet_count() {
        assert_eq!(a.source.packet_row(i).conn, Some(c));
    }
    insta::assert_snapshot!("real_focus_filter_80x24", s);
}
