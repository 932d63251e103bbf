//! The filtered connection and HTTP lists (`EngineSource::refilter`) skip decoding
//! records where the packets already tell the answer (a connection's own fields
//! decided by its packets' addresses and ports, every exchange of a connection whose
//! packets all matched): on every shared capture and the lab captures, for every
//! expression of the differential list and more, they equal the rules of `-Y` applied
//! to every record.

use std::path::PathBuf;
use std::time::Duration;

use super::EngineSource;
use crate::source::DataSource;
use wiretale_engine::analysis::select::conn_matches;
use wiretale_engine::base::ConnId;
use wiretale_engine::testutil::{bundled_capture, shared_capture};

fn captures() -> Vec<PathBuf> {
    let root = shared_capture("");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("shared captures") {
        let dir = dir.expect("entry").path();
        if !dir.is_dir() || dir.file_name().is_some_and(|n| n == "truth") {
            continue;
        }
        for f in std::fs::read_dir(&dir).expect("source dir") {
            let f = f.expect("entry").path();
            let name = f.to_string_lossy().to_string();
            if f.is_file() && (name.ends_with(".pcap") || name.ends_with(".pcapng")) {
                out.push(f);
            }
        }
    }
    out.sort();
    assert!(out.len() >= 50, "{} shared captures", out.len());
    out.push(bundled_capture("lab-page.pcap"));
    out.push(bundled_capture("lab-curl.pcap"));
    out
}

fn expressions() -> Vec<String> {
    let p =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/filter-expressions.txt");
    let mut v: Vec<String> = std::fs::read_to_string(p)
        .expect("expression list")
        .lines()
        .map(str::to_string)
        .collect();
    v.extend(
        [
            "tcp.port == 80",
            "ip.addr == 10.0.0.0/8",
            "!(ip.addr == 192.168.0.0/16)",
            "ipv6.addr == fe80::/10 or udp.port == 53",
            "tcp.stream > 2 and tcp.stream < 9",
            "conn.id == 3 || conn.id == 17",
            "conn.client == 10.0.0.0/8",
            "ip.src == 10.0.0.0/8",
            "tcp.srcport == 80 or tcp.port == 443",
            "tcp.port == 80 && http",
            "tcp.port == 443 and not tls",
            "!dns",
            "dns or http.host contains \"a\"",
            "conn.state == \"SF\" and tcp",
            "dns",
            "http",
            "tls",
            "quic",
            "!tls",
            "dns || http",
            "tls and !http",
            "http && tcp.port == 80",
        ]
        .map(str::to_string),
    );
    v
}

/// The lists `refilter` made for the current filter, against the rules applied to
/// every record (decoded): a connection with a matched packet or matching own
/// fields, an exchange with a matched packet.
fn check_lists(s: &EngineSource, what: &str) -> (usize, usize, usize) {
    let filter = s.filter.as_ref().expect("a filter");
    let f = s.filtered.as_ref().expect("filtered lists");
    let sh = s.shared.read().unwrap();
    let hit = s.matched_conns();
    let conns: Vec<u32> = s
        .all_conns
        .iter()
        .copied()
        .filter(|&id| {
            hit.contains(id)
                || s.conn_pos.get(id as usize).is_some_and(|&pos| {
                    let name = sh.names.get(pos as usize).flatten();
                    sh.conns.get(pos as usize).is_some_and(|c| {
                        conn_matches(
                            &sh.index,
                            filter,
                            &c,
                            name.as_ref().map(|n| n.qname.as_str()),
                        )
                    })
                })
        })
        .collect();
    assert_eq!(f.conns, conns, "connections of {what}");
    let http: Vec<u32> = s
        .all_http
        .iter()
        .copied()
        .filter(|&p| {
            sh.http
                .get(p as usize)
                .is_some_and(|r| r.tx.packets().into_iter().any(|p| s.is_matched(p)))
        })
        .collect();
    assert_eq!(f.http, http, "exchanges of {what}");
    // The coverage pass split over threads (the lists use it on big captures).
    let whole = s.conn_coverage_split(1);
    assert_eq!(whole.hit, hit, "{what}");
    assert_eq!(s.conn_coverage_split(3), whole, "{what} in 3 parts");
    let decided = s
        .all_conns
        .iter()
        .filter(|&&c| s.conn_verdicts.get(ConnId(c)).is_some())
        .count();
    // Connections left to their application kind (`view::app_code`).
    let by_app = s
        .all_conns
        .iter()
        .filter(|&&c| !hit.contains(c) && s.conn_verdicts.get(ConnId(c)).is_none())
        .filter_map(|&c| s.conn_app.get(*s.conn_pos.get(c as usize)? as usize))
        .filter(|&&a| {
            let kind = super::view::APP_KINDS[usize::from(a)];
            wiretale_engine::analysis::conn_app_verdict(filter, kind).is_some()
        })
        .count();
    (decided, http.len(), by_app)
}

#[test]
fn filtered_lists_equal_every_record_evaluated() {
    let exprs = expressions();
    let (mut decided, mut exchanges, mut compared, mut by_app) = (0, 0, 0, 0);
    for file in captures() {
        let mut s = EngineSource::open_file(&file).expect("open");
        assert!(s.wait_done(Duration::from_secs(60)), "{}", file.display());
        for expr in &exprs {
            if s.apply_filter(expr).is_err() {
                continue;
            }
            let (d, h, a) = check_lists(&s, &format!("{} `{expr}`", file.display()));
            decided += d;
            by_app += a;
            exchanges += h;
            compared += 1;
        }
    }
    assert!(compared > 50 * 80, "{compared}");
    // The shortcuts had work: connections answered by their packets, exchanges kept.
    assert!(decided > 5_000, "{decided}");
    assert!(exchanges > 1_000, "{exchanges}");
    assert!(by_app > 5_000, "{by_app}");
}

/// A view over the matched set finds the n-th packet and a packet's position as the
/// list of the same ids does, across blocks, at their edges and past the end.
#[test]
fn matched_view_equals_the_list_of_its_ids() {
    use super::view::{IdSet, Ranks, Shown};
    let mut set = IdSet::default();
    let mut ids = Vec::new();
    // Dense runs, gaps longer than a rank block, single ids at word edges.
    let mut x: u64 = 7;
    for id in 0..5_000u32 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let keep = match id {
            0..=700 => x >> 61 != 0,
            701..=2_000 => false,
            2_001..=3_000 => id % 64 == 0 || id % 64 == 63,
            _ => x >> 62 == 0,
        };
        if keep {
            set.insert(id);
            ids.push(id);
        }
    }
    let bits = Shown::Matched(Ranks::of(&set));
    let list = Shown::Ids(ids.clone());
    assert_eq!(bits.len(), ids.len());
    for n in 0..ids.len() + 3 {
        assert_eq!(bits.get(n, &set), list.get(n, &set), "{n}");
    }
    for id in 0..5_100 {
        assert_eq!(bits.position(id, &set), list.position(id, &set), "{id}");
    }
    assert_eq!(bits.ids(&set).collect::<Vec<_>>(), ids);
    let empty = IdSet::default();
    assert_eq!(Shown::Matched(Ranks::of(&empty)).get(0, &empty), None);
}
