//! `EngineSource` against what the batch commands compute over the same file: every
//! packet row against the `packets` line, the connection table against `conns`, each
//! connection's follow against `follow`, plus focus, filters, damaged and arbitrary input.

use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;

use super::EngineSource;
use crate::source::{DataSource, ListRows, Turn};
use wiretale_engine::analysis::{
    ConnRecord, Engine, EngineConfig, Follower, PacketSummary, Turn as ATurn,
};
use wiretale_engine::base::{ConnId, Direction, Timestamp};
use wiretale_engine::capture;
use wiretale_engine::testutil::{bundled_capture, shared_capture};

fn bundled(name: &str) -> PathBuf {
    bundled_capture(name)
}

fn opened(path: &Path) -> EngineSource {
    let mut s = EngineSource::open_file(path).expect("open");
    assert!(s.wait_done(Duration::from_secs(30)), "analysis finished");
    s
}

/// What the `packets` and `conns` commands compute: the engine with Info text on.
fn batch(path: &Path) -> (Vec<PacketSummary>, Vec<ConnRecord>) {
    let mut src = capture::open(path).expect("open");
    let mut e = Engine::new(EngineConfig {
        want_info: true,
        ..EngineConfig::default()
    });
    let mut pkts = Vec::new();
    while let Ok(Some(f)) = src.next_frame() {
        pkts.push(e.process(&f));
    }
    e.finish();
    let mut conns = e.take_conns();
    conns.sort_by_key(|c| c.conn.id);
    (pkts, conns)
}

/// The `packets` command's protocol column.
fn cli_proto(p: &str) -> String {
    match p {
        "icmpv6" => "ICMPv6".into(),
        "ipv4" => "IPv4".into(),
        "ipv6" => "IPv6".into(),
        o => o.to_ascii_uppercase(),
    }
}

fn check_against_batch(path: &Path, expect_packets: usize) {
    let s = opened(path);
    let (pkts, conns) = batch(path);
    assert_eq!(s.packet_count(), expect_packets);
    assert_eq!(pkts.len(), expect_packets);
    let t0 = pkts.first().map_or(Timestamp::default(), |p| p.ts);
    for (i, p) in pkts.iter().enumerate() {
        let r = s.packet_row(i);
        let frame = p.id.frame_number();
        assert_eq!(r.number, frame);
        assert_eq!(
            r.src,
            p.src.map(|a| a.to_string()).unwrap_or_default(),
            "frame {frame}"
        );
        assert_eq!(
            r.dst,
            p.dst.map(|a| a.to_string()).unwrap_or_default(),
            "frame {frame}"
        );
        assert_eq!(r.proto, cli_proto(p.proto), "frame {frame}");
        assert_eq!(r.len, p.len, "frame {frame}");
        if !p.reassembled {
            assert_eq!(r.info, p.info, "frame {frame}");
        }
        assert_eq!(r.conn, p.conn.map(|c| c.0), "frame {frame}");
        assert_eq!(r.anomaly, !p.anomalies.is_empty(), "frame {frame}");
        assert!((r.time - p.ts.secs_since(t0)).abs() < 1e-9);
    }
    // Connections: same ids, endpoints, state and byte counts as `conns`.
    let rows = s.conns();
    assert_eq!(rows.len(), conns.len());
    for (r, c) in rows.iter().zip(&conns) {
        let k = &c.conn;
        assert_eq!(r.id, k.id.0);
        assert_eq!((r.client, r.server), (k.client, k.server), "conn {}", r.id);
        assert_eq!(r.state, k.state(), "conn {}", r.id);
        assert_eq!((r.bytes_c2s, r.bytes_s2c), (k.bytes[0], k.bytes[1]));
        assert_eq!(r.packets, k.packets[0] + k.packets[1]);
        // The first packet really is that connection's first.
        let first = pkts
            .iter()
            .find(|p| p.conn == Some(k.id))
            .map(|p| p.id.frame_number());
        assert_eq!(Some(r.first_packet), first, "conn {}", r.id);
    }
    // Follow: the same turns as `follow --conn ID` over the whole file.
    for c in &conns {
        let id = c.conn.id;
        let mut f = Follower::new(id, 64 << 20);
        let mut src = capture::open(path).expect("open");
        while let Ok(Some(fr)) = src.next_frame() {
            f.push(&fr);
        }
        let (want, _) = f.finish();
        let got = s.follow(id.0);
        assert_eq!(got.len(), want.len(), "conn {}", id.0);
        for (g, w) in got.iter().zip(&want) {
            match (g, w) {
                (
                    Turn::Data {
                        c2s,
                        first_packet,
                        bytes,
                        ..
                    },
                    ATurn::Data {
                        dir,
                        first_pkt,
                        bytes: wb,
                        ..
                    },
                ) => {
                    assert_eq!(*c2s, *dir == Direction::ClientToServer);
                    assert_eq!(*first_packet, first_pkt.frame_number());
                    assert_eq!(bytes, wb);
                }
                (Turn::Gap { c2s, len }, ATurn::Gap { dir, len: wl }) => {
                    assert_eq!(*c2s, *dir == Direction::ClientToServer);
                    assert_eq!(len, wl);
                }
                _ => panic!("conn {}: turn kinds differ", id.0),
            }
        }
    }
}

#[test]
fn lab_page_rows_conns_and_follow_match_the_batch_commands() {
    check_against_batch(&bundled("lab-page.pcap"), 175);
}

#[test]
fn lab_curl_rows_conns_and_follow_match_the_batch_commands() {
    check_against_batch(&bundled("lab-curl.pcap"), 248);
}

#[test]
fn wikipedia_rows_conns_and_follow_match_the_batch_commands() {
    check_against_batch(&shared_capture("zeek/wikipedia.pcap"), 136);
}

#[test]
fn lab_page_story_dns_http_and_names() {
    let s = opened(&bundled("lab-page.pcap"));
    let story = s.story().to_items();
    assert!(!story.is_empty());
    assert!(story[0].text.starts_with("story 1: "), "{}", story[0].text);
    assert!(
        story[0].children.iter().any(|c| c.conn.is_some()),
        "events carry their connection"
    );
    assert!(!s.dns_rows().is_empty());
    assert!(!s.http_rows().is_empty());
    // The HTTP connections are named by the lookup before them.
    let named = s
        .conns()
        .iter()
        .filter(|c| c.app.as_deref() == Some("HTTP"))
        .filter(|c| c.name.is_some())
        .count();
    assert!(named > 0);
    let st = s.status();
    assert!(st.done && !st.live);
    assert_eq!(st.packets, 175);
    assert!((st.indexed - 1.0).abs() < 1e-9);
    assert!(st.error.is_none());
}

#[test]
fn connection_detail_has_phases_ladder_and_http() {
    let s = opened(&bundled("lab-page.pcap"));
    let c = s
        .conns()
        .iter()
        .find(|c| c.app.as_deref() == Some("HTTP"))
        .expect("an HTTP connection")
        .clone();
    let d = s.conn_detail(c.id);
    let labels: Vec<&str> = d.phases.iter().map(|p| p.label.as_str()).collect();
    for want in [
        "SYN",
        "SYN/ACK",
        "ACK",
        "request",
        "response",
        "last packet",
    ] {
        assert!(labels.contains(&want), "{want} in {labels:?}");
    }
    assert_eq!(d.arrows.len() as u64, c.packets);
    assert!(d.arrows[0].c2s && d.arrows[0].flags == "SYN");
    assert_eq!(d.arrows[0].number, c.first_packet);
    assert_eq!(d.arrows[1].flags, "SYN, ACK");
    assert!(!d.arrows[1].c2s);
    assert!(!d.http.is_empty());
    assert!(d.http.iter().all(|h| h.conn == c.id));
    // Unknown ids give an empty detail, not a panic.
    assert_eq!(s.conn_detail(u32::MAX), Default::default());
    assert!(s.follow(u32::MAX).is_empty());
}

#[test]
fn focus_limits_every_list_to_the_connection() {
    let mut s = opened(&bundled("lab-page.pcap"));
    let all = s.packet_count();
    let c = s
        .conns()
        .iter()
        .find(|c| c.app.as_deref() == Some("HTTP"))
        .expect("an HTTP connection")
        .clone();
    s.focus_conn(Some(c.id));
    assert_eq!(s.packet_count() as u64, c.packets);
    for i in 0..s.packet_count() {
        assert_eq!(s.packet_row(i).conn, Some(c.id));
    }
    assert_eq!(s.packet_row(0).number, c.first_packet);
    assert_eq!(s.packet_index(c.first_packet), Some(0));
    assert_eq!(s.conns().len(), 1);
    assert!(s.http_rows().iter().all(|h| h.conn == c.id));
    assert!(!s.http_rows().is_empty());
    // The lookup that named it stays in the DNS list.
    assert!(!s.dns_rows().is_empty());
    assert!(!s.story().is_empty());
    s.focus_conn(None);
    assert_eq!(s.packet_count(), all);
    assert_eq!(s.packet_index(1), Some(0));
    assert!(s.conns().len() > 1);
}

#[test]
fn filters_are_validated_and_applied_through_the_index() {
    let mut s = opened(&bundled("lab-curl.pcap"));
    let all = s.packet_count();
    assert!(s.check_filter("tcp.port == 80").is_ok());
    let e = s.check_filter("tcp.port ==").expect_err("incomplete");
    assert!(e.contains('^'), "caret line in {e:?}");
    // The one redirect in the lab: exactly the packet that completed it.
    s.apply_filter("http.response.code == 301").unwrap();
    assert_eq!(s.packet_count(), 1);
    assert!(
        s.packet_row(0).info.contains("301 Moved Permanently"),
        "{:?}",
        s.packet_row(0)
    );
    // Connection outcomes are known once indexed: the refused ports' packets.
    s.apply_filter("conn.state == \"REJ\"").unwrap();
    assert_eq!(
        s.packet_count(),
        4,
        "SYN and RST of two refused connections"
    );
    for i in 0..s.packet_count() {
        let r = s.packet_row(i);
        assert!(r.info.contains("SYN") || r.info.contains("RST"), "{r:?}");
    }
    s.apply_filter("tcp.port == 80").unwrap();
    let port80 = s.packet_count();
    assert!(port80 > 0 && port80 < all);
    for i in 0..port80 {
        let r = s.packet_row(i);
        assert!(r.info.contains("80") || r.proto == "HTTP", "{r:?}");
    }
    assert!(s.apply_filter("tcp.port ==").is_err());
    assert_eq!(s.packet_count(), port80, "a refused filter leaves the view");
    assert!(s.apply_filter("").is_ok());
    assert_eq!(s.packet_count(), all);
}

#[test]
fn out_of_range_queries_are_empty() {
    let s = opened(&bundled("lab-curl.pcap"));
    let n = s.packet_count();
    assert_eq!(s.packet_row(n).number, 0);
    assert_eq!(s.packet_row(usize::MAX).number, 0);
    assert_eq!(s.packet_detail(n), Default::default());
    assert_eq!(s.packet_index(0), None);
    assert_eq!(s.packet_index(n as u64 + 1), None);
    let d = s.packet_detail(0);
    assert_eq!(d.number, 1);
    assert!(d.fields[0].label.starts_with("Frame 1: "));
    assert!(d.fields.len() >= 4, "frame, link, IP, transport");
    for f in &d.fields {
        assert!(f.range.end <= d.bytes.len());
    }
}

/// A file cut anywhere opens, shows the packets before the cut and says what stopped it.
#[test]
fn truncated_files_show_what_was_read() {
    let bytes = std::fs::read(bundled("lab-curl.pcap")).expect("read");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut last = 0usize;
    // Every prefix of the first 300 bytes (headers, first records), then a stride.
    let cuts = (0..300).chain((300..bytes.len()).step_by(1013));
    for cut in cuts {
        let p = dir.path().join(format!("cut{cut}.pcap"));
        std::fs::write(&p, &bytes[..cut]).expect("write");
        match EngineSource::open_file(&p) {
            Ok(mut s) => {
                assert!(s.wait_done(Duration::from_secs(10)), "cut {cut} finished");
                let n = s.packet_count();
                assert!(n >= last || cut < 24, "cut {cut}: {n} < {last}");
                last = n;
                for i in 0..n {
                    let _ = s.packet_row(i);
                }
                for c in s.conns().to_vec() {
                    let _ = s.conn_detail(c.id);
                    let _ = s.follow(c.id);
                }
            }
            Err(e) => assert!(cut < 24, "cut {cut}: {e}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Arbitrary bytes after a valid pcap header never panic the source.
    #[test]
    fn arbitrary_records_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut bytes = std::fs::read(bundled("lab-curl.pcap")).expect("read");
        bytes.truncate(24);
        bytes.extend_from_slice(&body);
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.pcap");
        std::fs::write(&p, &bytes).expect("write");
        let mut s = EngineSource::open_file(&p).expect("header is valid");
        prop_assert!(s.wait_done(Duration::from_secs(10)));
        for i in 0..s.packet_count() {
            let _ = s.packet_row(i);
            let _ = s.packet_detail(i);
        }
        for c in s.conns().to_vec() {
            let _ = s.conn_detail(c.id);
            let _ = s.follow(c.id);
        }
        let _ = ConnId(0);
    }
}

#[test]
fn what_cannot_be_opened_is_an_error_before_the_ui() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("notes.txt");
    std::fs::write(&p, b"these are notes, not a capture file\n").expect("write");
    let e = EngineSource::open_file(&p).err().expect("not a capture");
    assert!(e.to_string().contains("notes.txt"), "{e}");
    assert!(EngineSource::open_file(&dir.path().join("missing.pcap")).is_err());
    let mut o = crate::TuiOptions::default();
    assert!(EngineSource::open(&o).is_err(), "nothing to open");
    o.file = Some(bundled("lab-curl.pcap"));
    o.bpf = Some("tcp".into());
    let e = EngineSource::open(&o).err().expect("-f with a file");
    assert!(e.to_string().contains("display filter"), "{e}");
}

/// Live: a connection that is still open shows in the Connections view (a provisional
/// row, refreshed with the story), not only once it ends. Needs root for the capture.
#[test]
fn live_open_connections_show_while_open() {
    use std::io::{Read, Write};
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    assert!(
        root,
        "live capture on lo needs root (run the tests as root, as CI does; a test that cannot run fails instead of passing unrun)"
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live.pcap");
    let filter = format!("tcp port {port}");
    let mut s = EngineSource::open_live("lo", Some(&filter), Some(&file)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut srv, _) = listener.accept().unwrap();
    c.write_all(b"hello").unwrap();
    let mut buf = [0u8; 5];
    srv.read_exact(&mut buf).unwrap();
    // Bounded wait for the provisional row (the refresh runs every 2 s).
    let start = std::time::Instant::now();
    let mut seen = false;
    while start.elapsed() < Duration::from_secs(8) {
        s.poll();
        if s.conns()
            .iter()
            .any(|r| r.server.port == port && r.bytes_c2s == 5)
        {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(c);
    drop(srv);
    assert!(
        seen,
        "open connection to port {port} not listed: {:?}",
        s.conns()
    );
}

#[test]
fn saving_the_focused_connection_writes_exactly_its_packets() {
    let mut s = opened(&bundled("lab-curl.pcap"));
    s.focus_conn(Some(1));
    let n = s.packet_count();
    assert!(n > 5);
    let dir = tempfile::tempdir().unwrap();
    let msg = s.save_view_to(dir.path()).unwrap();
    assert!(msg.contains(&format!("saved {n} packets")), "{msg}");
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut src = wiretale_engine::capture::open(&file).unwrap();
    let mut read = 0;
    while let Ok(Some(_)) = src.next_frame() {
        read += 1;
    }
    assert_eq!(read, n);
}

/// The label of the field-tree line the App has selected.
fn selected_label(a: &crate::app::App) -> String {
    let Some((_, d)) = &a.detail else {
        return String::new();
    };
    let lines = crate::flatten::tree_lines(&d.fields, &a.expanded);
    lines
        .get(a.tree.selected)
        .map(|l| l.node.label.clone())
        .unwrap_or_default()
}

/// Moves the tree selection down to the first line whose label starts with `prefix`.
fn select_field(a: &mut crate::app::App, prefix: &str) {
    for _ in 0..200 {
        if selected_label(a).starts_with(prefix) {
            return;
        }
        a.update(crate::action::Action::Down);
    }
    panic!("no field {prefix:?} (at {:?})", selected_label(a));
}

#[test]
fn selecting_a_dns_answer_highlights_its_bytes() {
    use crate::action::Action;
    use crate::app::App;
    let s = opened(&bundled("lab-page.pcap"));
    let mut a = App::new(Box::new(s));
    a.update(Action::Resize(120, 40));
    a.update(Action::Down); // frame 2: www.lab.glasscom.com CNAME web…, A 198.18.1.80
    a.update(Action::SwitchPane);
    select_field(&mut a, "Domain Name System (response), ID 0xe1ad");
    assert_eq!(a.selected_range(), Some(42..130), "the whole UDP payload");
    a.update(Action::Expand);
    select_field(&mut a, "Answers");
    a.update(Action::Expand);
    select_field(
        &mut a,
        "web.lab.glasscom.com: type A, class IN, 198.18.1.80",
    );
    // Frame bytes 114..130: the pointer c032, type, class, TTL, length 4, 198.18.1.80.
    assert_eq!(a.selected_range(), Some(114..130));
    let bytes = &a.detail.as_ref().unwrap().1.bytes;
    assert_eq!(&bytes[126..130], &[198, 18, 1, 80]);
    a.update(Action::Expand);
    select_field(&mut a, "Data: 198.18.1.80");
    assert_eq!(a.selected_range(), Some(126..130));
    // The hex pane says which bytes are lit.
    let mut buf = ratatui::buffer::Buffer::empty(ratatui::layout::Rect::new(0, 0, 120, 40));
    crate::views::render(buf.area, &mut buf, &a);
    let screen: String = (0..40)
        .map(|y| {
            (0..120)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                + "\n"
        })
        .collect();
    assert!(screen.contains("Bytes 126..130 of 130"), "{screen}");
}

#[test]
fn the_tree_shows_http_heads_tls_hellos_and_relative_tcp_numbers() {
    let s = opened(&bundled("lab-page.pcap"));
    // Frame 8: GET / (payload at 66..153), seq 1 relative.
    let d = s.packet_detail(7);
    let tcp = d
        .fields
        .iter()
        .find(|n| n.label.starts_with("Transmission Control Protocol"))
        .expect("tcp");
    assert!(tcp.label.contains("Seq: 1,"), "{}", tcp.label);
    let seq = &tcp.children[2];
    assert!(
        seq.label
            .starts_with("Sequence Number: 1 (relative) — raw "),
        "{}",
        seq.label
    );
    assert_eq!(seq.range, 38..42);
    let http = d.fields.last().expect("http");
    assert_eq!(http.label, "Hypertext Transfer Protocol: GET / HTTP/1.1");
    assert_eq!(http.range, 66..153);
    let host = http
        .children
        .iter()
        .find(|n| n.label == "Host: www.lab.glasscom.com")
        .expect("host");
    assert_eq!(
        &d.bytes[host.range.clone()],
        b"Host: www.lab.glasscom.com\r\n"
    );
    // A segment that continues a body stays "Data".
    let d13 = s.packet_detail(12);
    assert!(d13.fields.last().unwrap().label.starts_with("Data ("));

    let s = opened(&shared_capture("zeek/tls-chrome-34-google.pcap"));
    let d = s.packet_detail(3); // frame 4: the ClientHello to google.de
    let tls = d.fields.last().expect("tls");
    assert_eq!(tls.label, "Transport Layer Security");
    let mut sni = None;
    tls.walk(&mut |n, _| {
        if n.label == "Server Name: google.de" {
            sni = Some(n.range.clone());
        }
    });
    let sni = sni.expect("SNI node");
    assert_eq!(&d.bytes[sni], b"google.de");
}

/// The screen as text (the header is its first line).
fn screen_text(a: &crate::app::App, w: u16, h: u16) -> Vec<String> {
    let mut buf = ratatui::buffer::Buffer::empty(ratatui::layout::Rect::new(0, 0, w, h));
    crate::views::render(buf.area, &mut buf, a);
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect())
        .collect()
}

#[test]
fn the_header_says_what_the_filter_leaves_in_each_view() {
    use crate::action::{Action, Tab};
    use crate::app::App;
    let s = opened(&bundled("lab-page.pcap"));
    let (packets, conns) = (s.packet_count(), s.conns().len());
    let mut a = App::new(Box::new(s));
    a.update(Action::Resize(160, 30));
    a.update(Action::OpenBar);
    for c in "tcp.port == 80".chars() {
        a.update(Action::BarChar(c));
    }
    a.update(Action::BarSubmit);
    assert_eq!(a.filter.as_deref(), Some("tcp.port == 80"));
    let shown = a.source.packet_count();
    assert!(shown > 0 && shown < packets);
    let head = &screen_text(&a, 160, 30)[0];
    assert!(
        head.contains(&format!(
            "[filter: tcp.port == 80 — {shown} of {packets} packets]"
        )),
        "{head}"
    );
    a.update(Action::ShowTab(Tab::Conns));
    let kept = a.source.conns().len();
    assert!(kept > 0 && kept < conns);
    let head = &screen_text(&a, 160, 30)[0];
    assert!(
        head.contains(&format!(
            "[filter: tcp.port == 80 — {kept} of {conns} connections]"
        )),
        "{head}"
    );
    // Every row of the view is one the filter keeps.
    assert!(a
        .source
        .conns()
        .iter()
        .all(|c| c.proto == "TCP" && (c.server.port == 80 || c.client.port == 80)));
    a.update(Action::ShowTab(Tab::Dns));
    let head = &screen_text(&a, 160, 30)[0];
    assert!(head.contains("DNS transaction"), "{head}");
    // Stories count as the Story view's title counts them (not the closing count
    // line): lab-page has 2 page loads and 1 background story; port 80 keeps the two
    // page loads.
    a.update(Action::ShowTab(Tab::Story));
    let screen = screen_text(&a, 160, 30);
    assert!(
        screen[0].contains("[filter: tcp.port == 80 — 2 of 3 stories]"),
        "{}",
        screen[0]
    );
    assert!(
        screen.iter().any(|l| l.contains("Story 2 stories")),
        "{screen:?}"
    );
}

#[test]
fn dns_over_tcp_shows_its_length_prefix_and_every_section() {
    // ../shared/captures/tcpdump/dns_tcp.pcap frame 6: the response to 0x4319 over TCP
    // (payload at 54..280: length 224, then the message).
    let s = opened(&shared_capture("tcpdump/dns_tcp.pcap"));
    let d = s.packet_detail(5);
    let dns = d.fields.last().expect("dns");
    assert_eq!(dns.label, "Domain Name System (response), ID 0x4319");
    assert_eq!(dns.range, 54..280);
    assert_eq!(dns.children[0].label, "Length: 224");
    assert_eq!(dns.children[0].range, 54..56);
    let titles: Vec<&str> = dns.children.iter().map(|c| c.label.as_str()).collect();
    for t in [
        "Queries",
        "Answers",
        "Authoritative nameservers",
        "Additional records",
    ] {
        assert!(titles.contains(&t), "{titles:?}");
    }
    let mut stopped = false;
    dns.walk(&mut |n, _| stopped |= n.label.starts_with('['));
    assert!(!stopped, "the whole message parsed");
    let mut opt = None;
    dns.walk(&mut |n, _| {
        if n.label.starts_with("<Root>: type OPT") {
            opt = Some(n.range.clone());
        }
    });
    assert_eq!(opt.map(|r| r.end), Some(280), "OPT is the last record");
}

// ---------------------------------------------------------------------------------
// The App's own tests (src/tui/app.rs runs them on the fake source) on the
// engine-backed source over the bundled captures: the model must not depend on which
// source feeds it.

mod app_on_captures {
    use super::*;
    use crate::action::{Action, Tab};
    use crate::app::{App, View};

    fn app(name: &str) -> App {
        let mut a = App::new(Box::new(opened(&bundled(name))));
        a.update(Action::Resize(80, 24));
        a
    }

    fn type_text(a: &mut App, s: &str) {
        for c in s.chars() {
            a.update(Action::BarChar(c));
        }
    }

    #[test]
    fn filter_bar_validates_applies_and_reports_the_filters_own_errors() {
        for name in ["lab-page.pcap", "lab-curl.pcap"] {
            let mut a = app(name);
            let all = a.source.packet_count();
            let (pkts, _) = batch(&bundled(name));
            let dns = pkts.iter().filter(|p| p.proto == "dns").count();
            assert!(dns > 0, "{name}");
            a.update(Action::OpenBar);
            type_text(&mut a, "dns an");
            assert!(!a.bar.as_ref().is_some_and(|b| b.valid), "incomplete");
            type_text(&mut a, "d tcp");
            assert!(a.bar.as_ref().is_some_and(|b| b.valid));
            for _ in 0..3 {
                a.update(Action::BarBackspace);
            }
            type_text(&mut a, "bogus");
            a.update(Action::BarSubmit);
            let err = a.bar.as_ref().and_then(|b| b.error.clone()).expect("kept");
            assert_eq!(
                err,
                "dns and bogus\n        ^~~~~\n\"bogus\" is not a valid protocol or protocol field"
            );
            assert_eq!(a.footer_lines(), 4);
            assert_eq!(a.source.packet_count(), all, "nothing applied");
            a.update(Action::Back);
            a.update(Action::OpenBar);
            type_text(&mut a, "dns");
            a.update(Action::BarSubmit);
            assert!(a.bar.is_none());
            assert_eq!(a.filter.as_deref(), Some("dns"));
            assert_eq!(a.source.packet_count(), dns, "{name}: as `packets -Y dns`");
            a.update(Action::OpenBar);
            for _ in 0..3 {
                a.update(Action::BarBackspace);
            }
            a.update(Action::BarSubmit);
            assert_eq!(a.filter, None);
            assert_eq!(a.source.packet_count(), all);
        }
    }

    #[test]
    fn focus_limits_every_view_and_clear_restores() {
        let mut a = app("lab-page.pcap");
        let all = a.source.packet_count();
        let conns = a.source.conns().len();
        let c = a.source.conns()[3].clone();
        let i = a.source.packet_index(c.first_packet).expect("in view");
        a.packets.select(i, all, 10);
        a.update(Action::FocusConn);
        assert_eq!(a.focus, Some(c.id));
        let count = a.source.packet_count();
        assert!(count < all && count > 0);
        assert!((0..count).all(|k| a.source.packet_row(k).conn == Some(c.id)));
        assert_eq!(
            a.source.packet_row(a.packets.selected).number,
            c.first_packet,
            "selection kept"
        );
        assert_eq!(a.source.conns().len(), 1);
        assert_eq!(a.conn_order.len(), 1);
        a.update(Action::ClearFocus);
        assert_eq!(a.focus, None);
        assert_eq!(a.source.packet_count(), all);
        assert_eq!(a.source.conns().len(), conns);
        assert_eq!(
            a.source.packet_row(a.packets.selected).number,
            c.first_packet
        );
    }

    #[test]
    fn enter_follow_and_back_walk_the_view_stack() {
        let mut a = app("lab-curl.pcap");
        a.update(Action::ShowTab(Tab::Conns));
        a.update(Action::Down);
        a.update(Action::Enter);
        let id = match a.view() {
            View::Conn(id) => id,
            v => panic!("{v:?}"),
        };
        assert_eq!(a.conn_detail.as_ref().map(|(c, _)| *c), Some(id));
        a.update(Action::Follow);
        assert_eq!(a.view(), View::Follow(id));
        assert_eq!(a.stack.len(), 3);
        a.update(Action::Back);
        a.update(Action::Back);
        assert_eq!(a.view(), View::Tab(Tab::Conns));
        a.update(Action::Back);
        assert_eq!(a.view(), View::Tab(Tab::Conns), "the root stays");
        // From a connection, Enter jumps to its packets, limited to it.
        a.update(Action::Enter);
        a.update(Action::Enter);
        assert_eq!(a.view(), View::Tab(Tab::Packets));
        assert_eq!(a.focus, Some(id));
        assert_eq!(a.source.packet_row(0).conn, Some(id));
    }
}
