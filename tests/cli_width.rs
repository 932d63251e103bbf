//! Long values and widths (README, "Long values and widths"): text output fits the width
//! (`COLUMNS`, else the terminal, else 200 columns in a pipe), long values are elided
//! with "…" and a count, `--wide` keeps today's full output, `--json` never elides.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bin, shared_captures, shared_root};
use unicode_width::UnicodeWidthStr;
use wiretale::base::{LinkType, Timestamp};
use wiretale::capture::PcapWriter;

/// Runs wiretale with `COLUMNS` set (or removed) and returns stdout; exit status 0 or 2
/// (a damaged capture prints what came before the damage).
fn run(columns: Option<&str>, args: &[&str]) -> String {
    let mut c = Command::new(bin());
    c.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    match columns {
        Some(n) => c.env("COLUMNS", n),
        None => c.env_remove("COLUMNS"),
    };
    let out = c.output().expect("run wiretale");
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "wiretale {args:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn widest(text: &str) -> usize {
    text.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

fn shared(rel: &str) -> String {
    shared_root().join(rel).to_string_lossy().into_owned()
}

fn golden(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/wide")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn conns_at_80_columns_is_one_line_a_connection_with_its_name() {
    let text = run(Some("80"), &["conns", "captures/lab-page.pcap"]);
    let json = run(Some("80"), &["conns", "--json", "captures/lab-page.pcap"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        json.lines().count() + 1,
        "a header and one line each"
    );
    assert!(widest(&text) <= 80, "{text}");
    assert!(lines[0].starts_with("id prot client"), "{}", lines[0]);
    for (line, rec) in lines[1..].iter().zip(json.lines()) {
        let v: serde_json::Value = serde_json::from_str(rec).unwrap();
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[0], v["id"].to_string(), "{line}");
        // IPv4 endpoints are never cut at 80 columns; names up to 20 columns neither.
        let client = format!(
            "{}:{}",
            v["client"]["ip"].as_str().unwrap(),
            v["client"]["port"]
        );
        assert_eq!(cells[2], client, "{line}");
        let name = v["name"]["qname"].as_str().unwrap_or("-");
        if name.len() <= 20 {
            assert_eq!(*cells.last().unwrap(), name, "{line}");
        }
    }
    assert!(text.contains("www.lab.glasscom.com"));
}

#[test]
fn every_text_line_fits_80_columns_and_200_in_a_pipe() {
    let mut files: Vec<String> = vec![
        "captures/lab-page.pcap".into(),
        "captures/lab-curl.pcap".into(),
    ];
    files.extend(shared_captures().iter().map(|r| shared(r)));
    let mut cut = 0usize;
    for f in &files {
        for cmd in ["conns", "dns", "http", "packets", "story"] {
            let narrow = run(Some("80"), &[cmd, f]);
            assert!(widest(&narrow) <= 80, "{cmd} {f} at 80 columns:\n{narrow}");
            let piped = run(None, &[cmd, f]);
            assert!(widest(&piped) <= 200, "{cmd} {f} in a pipe");
            // packets and story keep their layout: a line differs from its --wide
            // line only where something was cut, and then it says so ("…").
            if matches!(cmd, "packets" | "story") {
                let wide = run(None, &[cmd, "--wide", f]);
                for (p, w) in piped.lines().zip(wide.lines()) {
                    if p != w {
                        assert!(p.contains('…') && w.width() > p.width(), "{cmd} {f}: {p}");
                        cut += 1;
                    }
                }
            }
            // Nothing is lost but width: as many lines as the full output.
            let wide = run(None, &[cmd, "--wide", f]);
            assert_eq!(
                piped.lines().count(),
                wide.lines().count(),
                "{cmd} {f}: line count"
            );
        }
    }
    // Some line of the corpus is long enough to be cut (or this checks nothing).
    let wide_max = files
        .iter()
        .map(|f| widest(&run(None, &["dns", "--wide", f])))
        .max()
        .unwrap();
    assert!(wide_max > 200, "{wide_max} {cut}");
}

#[test]
fn wide_keeps_todays_output() {
    let s = |r: &str| shared(r);
    for (cmd, file, name) in [
        (
            "conns",
            "captures/lab-page.pcap".to_string(),
            "lab-page.conns.txt",
        ),
        (
            "dns",
            "captures/lab-page.pcap".to_string(),
            "lab-page.dns.txt",
        ),
        (
            "http",
            "captures/lab-page.pcap".to_string(),
            "lab-page.http.txt",
        ),
        (
            "packets",
            "captures/lab-page.pcap".to_string(),
            "lab-page.packets.txt",
        ),
        (
            "dns",
            s("zeek/ipv6-fragmented-dns.pcap"),
            "ipv6-fragmented-dns.dns.txt",
        ),
        (
            "http",
            s("zeek/var-services-std-ports.pcap"),
            "var-services-std-ports.http.txt",
        ),
        (
            "dns",
            s("zeek/var-services-std-ports.pcap"),
            "var-services-std-ports.dns.txt",
        ),
        (
            "packets",
            s("zeek/dns-edns-ecs.pcap"),
            "dns-edns-ecs.packets.txt",
        ),
        ("conns", s("zeek/wikipedia.pcap"), "wikipedia.conns.txt"),
    ] {
        // COLUMNS does not matter with --wide.
        let got = run(Some("40"), &[cmd, "--wide", &file]);
        assert!(
            got == golden(name),
            "{cmd} --wide {file} differs from {name}"
        );
    }
}

#[test]
fn json_never_elides_whatever_the_width() {
    let txt = shared("zeek/ipv6-fragmented-dns.pcap");
    let uri = shared("zeek/var-services-std-ports.pcap");
    for (cmd, f) in [
        ("dns", &txt),
        ("http", &uri),
        ("packets", &uri),
        ("conns", &uri),
        ("story", &txt),
    ] {
        let narrow = run(Some("20"), &[cmd, "--json", f]);
        let wide = run(None, &[cmd, "--json", "--wide", f]);
        assert_eq!(narrow, wide, "{cmd} {f}");
        assert!(!narrow.contains("(+"), "{cmd}: nothing elided in JSON");
    }
    // The TXT record of 3 kB is whole in JSON.
    let dns = run(None, &["dns", "--json", &txt]);
    let longest = dns
        .lines()
        .flat_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["answers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["data"].as_str().unwrap().len())
                .collect::<Vec<_>>()
        })
        .max()
        .unwrap();
    assert!(longest > 3000, "{longest}");
}

#[test]
fn a_txt_record_of_kilobytes_and_a_long_uri_are_elided_with_a_count() {
    let dns = run(None, &["dns", &shared("zeek/ipv6-fragmented-dns.pcap")]);
    let row = dns
        .lines()
        .find(|l| l.contains("txtpadding_3230"))
        .expect("row");
    assert!(row.contains("TXT \"This TXT record"), "{row}");
    assert!(row.contains("… (+"), "{row}");
    assert!(row.ends_with(" chars)"), "{row}");
    let http = run(None, &["http", &shared("zeek/var-services-std-ports.pcap")]);
    let row = http.lines().find(|l| l.contains("/csi?v=3")).expect("row");
    assert!(row.contains("… (+"), "{row}");
    assert!(
        row.contains(" 204 "),
        "the status after the URI is kept: {row}"
    );
    let packets = run(
        None,
        &["packets", &shared("zeek/var-services-std-ports.pcap")],
    );
    let row = packets
        .lines()
        .find(|l| l.contains("GET /csi?v=3"))
        .expect("row");
    assert!(row.contains("… (+"), "{row}");
}

/// A DNS response naming 40 addresses and one with a 4 kB TXT record, written with the
/// project's own pcap writer (raw IPv4 link type).
fn many_answers_pcap(dir: &Path) -> PathBuf {
    fn name(out: &mut Vec<u8>, n: &str) {
        for l in n.split('.') {
            out.push(l.len() as u8);
            out.extend_from_slice(l.as_bytes());
        }
        out.push(0);
    }
    fn dns(
        id: u16,
        qname: &str,
        qtype: u16,
        answers: &[(u16, Vec<u8>)],
        response: bool,
    ) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&(if response { 0x8180u16 } else { 0x0100 }).to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(&(answers.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        name(&mut m, qname);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        for (t, data) in answers {
            m.extend_from_slice(&[0xc0, 0x0c]);
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&1u16.to_be_bytes());
            m.extend_from_slice(&300u32.to_be_bytes());
            m.extend_from_slice(&(data.len() as u16).to_be_bytes());
            m.extend_from_slice(data);
        }
        m
    }
    fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let total = 20 + 8 + payload.len();
        let mut p = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0];
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        let mut sum: u32 = p
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        p[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]); // no UDP checksum (allowed over IPv4)
        p.extend_from_slice(payload);
        p
    }
    let client = [198, 18, 0, 10];
    let server = [198, 18, 0, 53];
    let addrs: Vec<(u16, Vec<u8>)> = (1..=40u8).map(|i| (1, vec![198, 18, 1, i])).collect();
    let mut txt = Vec::new();
    for i in 0..16u8 {
        txt.push(250);
        txt.extend(std::iter::repeat_n(b'a' + i, 250));
    }
    let frames = [
        udp(
            client,
            server,
            40000,
            53,
            &dns(1, "many.lab.example", 1, &[], false),
        ),
        udp(
            server,
            client,
            53,
            40000,
            &dns(1, "many.lab.example", 1, &addrs, true),
        ),
        udp(
            client,
            server,
            40001,
            53,
            &dns(2, "big.lab.example", 16, &[], false),
        ),
        udp(
            server,
            client,
            53,
            40001,
            &dns(2, "big.lab.example", 16, &[(16, txt)], true),
        ),
    ];
    let path = dir.join("long-values.pcap");
    let f = std::fs::File::create(&path).unwrap();
    let mut w = PcapWriter::new(f, LinkType(101), 65535, false).unwrap();
    for (i, fr) in frames.iter().enumerate() {
        let ts = Timestamp(1_700_000_000_000_000_000 + i as i64 * 1_000_000);
        w.write_packet(ts, fr, fr.len() as u32).unwrap();
    }
    w.flush().unwrap();
    path
}

#[test]
fn forty_addresses_are_listed_as_eight_and_a_count() {
    let dir = tempdir();
    let p = many_answers_pcap(&dir);
    let f = p.to_str().unwrap();
    let dns = run(None, &["dns", f]);
    let many = dns
        .lines()
        .find(|l| l.contains("many.lab.example"))
        .expect("row");
    assert!(many.contains("A 198.18.1.1, A 198.18.1.2,"), "{many}");
    // As many whole addresses as the line has room for, and the count of the others.
    let (shown, more) = many.rsplit_once(", … (+").expect("a count");
    let more: usize = more.strip_suffix(" more)").expect("more").parse().unwrap();
    let shown = shown.matches("A 198.18.1.").count();
    assert_eq!(shown + more, 40, "{many}");
    assert!(shown >= 4, "{many}");
    let narrow = run(Some("80"), &["dns", f]);
    assert!(widest(&narrow) <= 80, "{narrow}");
    let big = dns
        .lines()
        .find(|l| l.contains("big.lab.example"))
        .expect("row");
    assert!(big.contains("TXT \"aaaa"), "{big}");
    assert!(big.ends_with(" chars)") && big.contains("… (+"), "{big}");
    assert!(widest(&dns) <= 200);
    // --wide and --json keep all 40 addresses and the whole TXT record.
    let wide = run(None, &["dns", "--wide", f]);
    assert!(wide.contains("A 198.18.1.40"), "{wide}");
    assert!(wide.contains(&"p".repeat(250)));
    let json = run(None, &["dns", "--json", f]);
    assert!(json.contains("198.18.1.40") && json.contains(&"p".repeat(250)));
    // The packets Info (tshark's, all 40 addresses) is shortened with a count too.
    let packets = run(None, &["packets", f]);
    let resp = packets.lines().nth(1).unwrap();
    assert!(resp.contains("A 198.18.1.1 A 198.18.1.2"), "{resp}");
    assert!(resp.ends_with(" chars)"), "{resp}");
    assert!(resp.width() <= 200);
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("wiretale-width-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn follow_wraps_payload_at_the_width_and_keeps_every_byte() {
    let narrow = run(
        Some("40"),
        &["follow", "captures/lab-page.pcap", "--conn", "1"],
    );
    let wide = run(
        None,
        &["follow", "--wide", "captures/lab-page.pcap", "--conn", "1"],
    );
    assert!(widest(&narrow) <= 40, "{narrow}");
    // Payload lines are wrapped, not cut: the characters are all there.
    let strip = |s: &str| -> String {
        s.lines()
            .filter(|l| !l.starts_with("── "))
            .collect::<String>()
    };
    assert_eq!(strip(&narrow), strip(&wide));
    assert!(narrow.lines().count() > wide.lines().count());
}
