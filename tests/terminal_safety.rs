//! Terminal safety (issue 9, item 5): bytes from the wire never act on the user's
//! terminal. A crafted capture carries ANSI escape sequences (CSI and OSC), C1
//! controls, BEL, bidirectional overrides and invalid UTF-8 in a DNS name, an HTTP URI,
//! request and response headers, a response body, a TLS SNI, and (pcapng) a packet
//! comment and an interface name. Every batch command, text and JSON, must print:
//! valid UTF-8; no ESC, BEL, C1 control or bidi/format character, raw or (for JSON)
//! after decoding; and the escapes that keep the original recoverable (`\xNN` for bytes
//! and ASCII controls, `\u{NNNN}` for unsafe characters; see docs/terminal-safety.md).

mod common;

use std::path::Path;
use std::process::Command;

use etherparse::PacketBuilder;
use wiretale::base::{LinkType, Timestamp};
use wiretale::capture::{PcapWriter, PcapngWriter};

const CLIENT: [u8; 4] = [10, 9, 0, 1];
const SERVER: [u8; 4] = [10, 9, 0, 2];
const RESOLVER: [u8; 4] = [10, 9, 0, 53];

/// A DNS name whose labels hold a CSI sequence, an RLO override, a C1 CSI (U+009B) and
/// invalid UTF-8.
fn evil_qname() -> Vec<u8> {
    let labels: [&[u8]; 5] = [
        b"\x1b[31mred",
        "gnp\u{202e}exe".as_bytes(),
        b"c1\xc2\x9b2J",
        b"bad\xff\xfe",
        b"example",
    ];
    let mut q = Vec::new();
    for l in labels {
        q.push(l.len() as u8);
        q.extend_from_slice(l);
    }
    q.push(0);
    q
}

fn dns_query(id: u16) -> Vec<u8> {
    let mut m = vec![];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(&evil_qname());
    m.extend_from_slice(&[0, 1, 0, 1]);
    m
}

fn dns_response(id: u16) -> Vec<u8> {
    let mut m = vec![];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    m.extend_from_slice(&evil_qname());
    m.extend_from_slice(&[0, 1, 0, 1]);
    // Answer: pointer to the question name, A 10.9.0.2.
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
    m.extend_from_slice(&SERVER);
    m
}

fn udp(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(src, dst, 64)
        .udp(sp, dp)
        .write(&mut out, payload)
        .unwrap();
    out
}

#[allow(clippy::too_many_arguments)] // one TCP segment: every header field the tests vary
fn tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sp: u16,
    dp: u16,
    seq: u32,
    ack: Option<u32>,
    flags: &str,
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(src, dst, 64);
    let mut b = b.tcp(sp, dp, seq, 64240);
    if flags.contains('S') {
        b = b.syn();
    }
    if let Some(a) = ack {
        b = b.ack(a);
    }
    if flags.contains('F') {
        b = b.fin();
    }
    if flags.contains('P') {
        b = b.psh();
    }
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// A whole TCP conversation: handshake, one request, one response, FINs.
fn conversation(sport: u16, dport: u16, req: &[u8], resp: &[u8]) -> Vec<Vec<u8>> {
    let (c, s) = (1000u32, 5000u32);
    let cr = c + 1 + req.len() as u32;
    let sr = s + 1 + resp.len() as u32;
    vec![
        tcp(CLIENT, SERVER, sport, dport, c, None, "S", &[]),
        tcp(SERVER, CLIENT, dport, sport, s, Some(c + 1), "S", &[]),
        tcp(CLIENT, SERVER, sport, dport, c + 1, Some(s + 1), "", &[]),
        tcp(CLIENT, SERVER, sport, dport, c + 1, Some(s + 1), "P", req),
        tcp(SERVER, CLIENT, dport, sport, s + 1, Some(cr), "P", resp),
        tcp(CLIENT, SERVER, sport, dport, cr, Some(sr), "F", &[]),
        tcp(SERVER, CLIENT, dport, sport, sr, Some(cr + 1), "F", &[]),
        tcp(CLIENT, SERVER, sport, dport, cr + 1, Some(sr + 1), "", &[]),
    ]
}

fn http_request() -> Vec<u8> {
    // obs-text (RFC 9110 §5.5) in the URI; controls only where parsers tolerate them.
    let mut r = b"GET /p\xffath/".to_vec();
    r.extend_from_slice("\u{202e}fdp.exe".as_bytes());
    r.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    r.extend_from_slice(b"evil\x1b[2Jhost\xc2\x9b");
    r.extend_from_slice(b"\r\nUser-Agent: ua\x1b[6n\x08\x08\r\nReferer: ");
    r.extend_from_slice("\u{2066}ref\u{2069}".as_bytes());
    r.extend_from_slice(b"\r\n\r\n");
    r
}

fn http_response() -> Vec<u8> {
    let body = b"body\x1b[0m\x1b]52;c;ZXZpbA==\x07";
    let mut r = b"HTTP/1.1 200 OK\x1b[5m\r\nContent-Type: text/html\x1b[1m\r\nServer: ".to_vec();
    r.extend_from_slice("srv\u{202d}x".as_bytes());
    r.extend_from_slice(format!("\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
    r.extend_from_slice(body);
    r
}

/// TLS 1.2 record with a ClientHello whose SNI (RFC 6066 §3) holds escapes.
fn tls_client_hello() -> Vec<u8> {
    let sni = b"\x1b[31mtls\xc2\x9b.example";
    let mut ext = Vec::new();
    let list_len = sni.len() + 3;
    ext.extend_from_slice(&[0, 0]);
    ext.extend_from_slice(&((list_len + 2) as u16).to_be_bytes());
    ext.extend_from_slice(&(list_len as u16).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    ext.extend_from_slice(sni);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]);
    body.push(0); // session id
    body.extend_from_slice(&[0, 2, 0x13, 0x01]);
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![22, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

fn frames() -> Vec<Vec<u8>> {
    let mut f = vec![
        udp(CLIENT, RESOLVER, 40001, 53, &dns_query(0x1234)),
        udp(RESOLVER, CLIENT, 53, 40001, &dns_response(0x1234)),
    ];
    f.extend(conversation(40002, 80, &http_request(), &http_response()));
    f.extend(conversation(
        40003,
        443,
        &tls_client_hello(),
        b"\x15\x03\x03\x00\x02\x02\x28",
    ));
    f
}

fn write_pcap(path: &Path) {
    let mut w = PcapWriter::new(
        std::fs::File::create(path).unwrap(),
        LinkType::ETHERNET,
        65535,
        false,
    )
    .unwrap();
    for (i, f) in frames().iter().enumerate() {
        w.write_packet(
            Timestamp(1_700_000_000_000_000_000 + i as i64 * 1_000_000),
            f,
            f.len() as u32,
        )
        .unwrap();
    }
    w.flush().unwrap();
}

fn write_pcapng(path: &Path) {
    let evil = "\x1b]0;title\x07\u{202e}\u{9b}".to_string();
    let mut w = PcapngWriter::new(
        std::fs::File::create(path).unwrap(),
        &format!("wiretale-test{evil}"),
        std::slice::from_ref(&evil),
    )
    .unwrap();
    let iface = w
        .add_interface(
            LinkType::ETHERNET,
            65535,
            Some(&format!("eth{evil}")),
            Some(&evil),
        )
        .unwrap();
    for (i, f) in frames().iter().enumerate() {
        w.write_packet(
            iface,
            Timestamp(1_700_000_000_000_000_000 + i as i64 * 1_000_000),
            f,
            f.len() as u32,
            std::slice::from_ref(&evil),
        )
        .unwrap();
    }
    w.flush().unwrap();
}

/// Characters that must never reach a terminal raw.
fn dangerous(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn check_text(what: &str, bytes: &[u8]) -> String {
    let s =
        std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: output is not UTF-8: {e}"));
    if let Some((i, c)) = s.char_indices().find(|&(_, c)| dangerous(c)) {
        panic!(
            "{what}: raw {c:?} at byte {i}: {:?}",
            &s[i.saturating_sub(40)..(i + 40).min(s.len())]
        );
    }
    s.to_string()
}

fn check_json_value(what: &str, v: &serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            // `follow --json` keeps text as text: a CR that ends a line and a tab cannot
            // act on a terminal; a lone CR (which could overwrite a line) still fails.
            let s = s.replace("\r\n", "\n").replace('\t', " ");
            assert!(
                !s.chars().any(dangerous),
                "{what}: a JSON string decodes to a terminal control: {s:?}"
            );
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| check_json_value(what, x)),
        serde_json::Value::Object(o) => o.values().for_each(|x| check_json_value(what, x)),
        _ => {}
    }
}

fn run(args: &[&str]) -> (Vec<u8>, Vec<u8>, Option<i32>) {
    let o = Command::new(common::bin()).args(args).output().unwrap();
    (o.stdout, o.stderr, o.status.code())
}

fn check_all_commands(file: &Path) -> String {
    let f = file.to_str().unwrap();
    let mut all = String::new();
    let (conns, _, _) = run(&["conns", "--json", f]);
    let ids: Vec<u64> = check_text("conns --json", &conns)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 3, "DNS, HTTP and TLS connections");
    let mut cmds: Vec<Vec<String>> = Vec::new();
    for c in ["packets", "conns", "dns", "http", "story"] {
        cmds.push(vec![c.into(), f.into()]);
        cmds.push(vec![c.into(), "--json".into(), f.into()]);
    }
    for id in &ids {
        for extra in [None, Some("--json"), Some("--hex")] {
            let mut v = vec!["follow".to_string(), "--conn".into(), id.to_string()];
            v.extend(extra.map(String::from));
            v.push(f.into());
            cmds.push(v);
        }
    }
    for c in cmds {
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        let what = args.join(" ");
        let (out, err, code) = run(&args);
        assert_eq!(code, Some(0), "{what}: {}", String::from_utf8_lossy(&err));
        let text = check_text(&what, &out);
        check_text(&format!("{what} (stderr)"), &err);
        if args.contains(&"--json") {
            for l in text.lines() {
                let v: serde_json::Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {l}"));
                check_json_value(&what, &v);
            }
        }
        all.push_str(&text);
    }
    all
}

#[test]
fn crafted_pcap_prints_nothing_that_acts_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("evil.pcap");
    write_pcap(&p);
    let all = check_all_commands(&p);
    if std::env::var_os("WT_KEEP").is_some() {
        std::fs::copy(&p, "/tmp/evil.pcap").unwrap();
    }
    // The hostile parts were shown (escaped), not silently dropped: the DNS name, the
    // URI, the Host header and the SNI all reach the output in recoverable form.
    for needle in [
        "\\027[31mred",
        "\\u{202e}",
        "\\xff",
        "evil\\x1b[2Jhost",
        "tls\\u{009b}",
    ] {
        assert!(all.contains(needle), "{needle:?} missing from the output");
    }
    assert!(all.contains("tls"), "SNI shown");
}

#[test]
fn crafted_pcapng_comments_and_interface_names_are_safe_too() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("evil.pcapng");
    write_pcapng(&p);
    check_all_commands(&p);
}
