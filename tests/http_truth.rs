//! HTTP and TLS decoders against tshark 4.0.17 truth for every shared capture.
//!
//! Streams come from the committed fixtures in tests/data/streams (regenerate with
//! tests/data/extract-streams.sh); truth from ../shared/captures/truth. For each tshark
//! `http` row the same method/uri/host (requests) and status/Content-Length/
//! Transfer-Encoding (responses) must come out of `HttpConn`, in the same order per TCP
//! stream; each `tls_sni` row must match a ClientHello's SNI.

mod common;

use std::collections::BTreeMap;

use wiretale::base::{Direction, PacketId, Timestamp};
use wiretale::proto::http::{looks_like_http, HttpConn, HttpTransaction, Transfer};
use wiretale::proto::tls::{looks_like_tls, Event, HandshakeMsg, TlsSession};

/// Captures whose HTTP streams are too big for the fixture budget (> 200 KB each).
const NOT_EXTRACTED: &[&str] = &[
    "zeek/http-206_example_b.pcap",
    "suricata-verify/http-mime-truncated.pcap",
    // tshark merges three connections on different VLANs (same 4-tuple, different ISNs)
    // into one tcp.stream and reports one request; its bytes are not one stream, so no
    // fixture. Our flow layer keeps them apart (truth/README.md "VLAN is not part of
    // tshark's conversation key").
    "zeek/vlan-collisions.pcap",
];

struct Replayed {
    http: Vec<HttpTransaction>,
    /// The TLS engine's events (no keys).
    tls: Vec<Event>,
}

fn replay(name: &str) -> Option<Replayed> {
    let base = format!("{}/tests/data/streams/{name}", env!("CARGO_MANIFEST_DIR"));
    let c2s = std::fs::read(format!("{base}.c2s.bin")).ok()?;
    let s2c = std::fs::read(format!("{base}.s2c.bin")).ok()?;
    let idx = std::fs::read_to_string(format!("{base}.idx")).ok()?;
    let is_http = looks_like_http(&c2s) || looks_like_http(&s2c);
    let is_tls = looks_like_tls(&c2s) || looks_like_tls(&s2c);
    let mut h = HttpConn::new();
    let mut t = TlsSession::new();
    let mut http = Vec::new();
    let mut tls = Vec::new();
    let mut last = 0;
    for l in idx.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = l.split(' ').collect();
        let d = if f[2] == "c" {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        match f[0] {
            "P" => {
                let frame: u32 = f[1].parse().unwrap();
                let (off, len): (usize, usize) = (f[3].parse().unwrap(), f[4].parse().unwrap());
                let ts = Timestamp(f[5].parse().unwrap());
                last = ts.0;
                let src = if f[2] == "c" { &c2s } else { &s2c };
                let bytes = &src[off..off + len];
                if is_http {
                    h.feed(d, ts, PacketId(frame - 1), bytes);
                }
                if is_tls {
                    t.feed(d, PacketId(frame - 1), ts, bytes, None);
                }
            }
            "G" => {
                let len = f[3].parse().unwrap();
                let ts = Timestamp(f[4].parse().unwrap());
                let frame: u32 = f[1].parse().unwrap();
                h.gap(d, ts, len);
                t.gap(d, PacketId(frame - 1), ts, len, None);
            }
            _ => h.end(d, Timestamp(f[3].parse().unwrap())),
        }
        http.extend(h.drain());
        tls.extend(t.drain());
    }
    h.finish(Timestamp(last));
    http.extend(h.drain());
    Some(Replayed { http, tls })
}

fn strs(row: &serde_json::Value, key: &str) -> Vec<String> {
    row[key]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn http_and_tls_match_tshark() {
    let mut checked_rows = 0;
    let mut timed = 0;
    let mut skipped = Vec::new();
    for cap in common::shared_captures() {
        let truth = common::truth(&cap);
        // Per stream: requests (method, uri, host) and responses (code, cl, te), in order.
        let mut req: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
        let mut resp: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
        // Frames where tshark completed each message, and http.time per response frame.
        let mut req_frames: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        let mut resp_frames: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        let mut times: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
        for row in truth["http"].as_array().into_iter().flatten() {
            let stream = strs(row, "tcp_stream").first().cloned().unwrap_or_default();
            let frame = row["frame"].as_u64().unwrap_or(0);
            if let Some(t) = strs(row, "time").first() {
                let secs = t.parse::<f64>().unwrap();
                times.entry(stream.clone()).or_default().push((frame, secs));
            }
            let (m, u, h) = (strs(row, "method"), strs(row, "uri"), strs(row, "host"));
            for (i, m) in m.iter().enumerate() {
                let u = u.get(i).cloned().unwrap_or_default();
                let h = h.get(i).cloned().unwrap_or_default();
                req.entry(stream.clone())
                    .or_default()
                    .push((m.clone(), u, h));
                req_frames.entry(stream.clone()).or_default().push(frame);
            }
            let (c, cl, te) = (
                strs(row, "response_code"),
                strs(row, "content_length"),
                strs(row, "transfer_encoding"),
            );
            for (i, c) in c.iter().enumerate() {
                let cl = cl.get(i).cloned().unwrap_or_default();
                let te = te.get(i).cloned().unwrap_or_default();
                resp.entry(stream.clone())
                    .or_default()
                    .push((c.clone(), cl, te));
                resp_frames.entry(stream.clone()).or_default().push(frame);
            }
        }
        let streams: Vec<String> = req.keys().chain(resp.keys()).cloned().collect();
        for stream in streams.iter().collect::<std::collections::BTreeSet<_>>() {
            let name = format!("{}--{stream}", cap.replace('/', "__"));
            let Some(r) = replay(&name) else {
                skipped.push(cap.clone());
                continue;
            };
            let ours_req: Vec<_> = r
                .http
                .iter()
                .filter_map(|t| {
                    Some((
                        t.method.clone()?,
                        t.uri.clone()?,
                        t.host.clone().unwrap_or_default(),
                    ))
                })
                .collect();
            let ours_resp: Vec<_> = r
                .http
                .iter()
                .flat_map(|t| {
                    let mut v: Vec<(String, String, String)> = t
                        .interim
                        .iter()
                        .map(|c| (c.to_string(), String::new(), String::new()))
                        .collect();
                    if let Some(s) = t.status {
                        v.push((
                            s.to_string(),
                            t.content_length.map(|n| n.to_string()).unwrap_or_default(),
                            t.transfer_encoding.clone().unwrap_or_default(),
                        ));
                    }
                    v
                })
                .collect();
            let want_req = req.get(stream).cloned().unwrap_or_default();
            let want_resp = resp.get(stream).cloned().unwrap_or_default();
            assert_eq!(ours_req, want_req, "{name}: requests");
            assert_eq!(ours_resp, want_resp, "{name}: responses");
            checked_rows += want_req.len() + want_resp.len();

            // tshark shows a message on the frame that completed it: our *_last_pkt.
            let our_req_frames: Vec<u64> = r
                .http
                .iter()
                .filter(|t| t.method.is_some())
                .filter_map(|t| Some(t.request_last_pkt?.frame_number()))
                .collect();
            let our_final: Vec<&HttpTransaction> =
                r.http.iter().filter(|t| t.status.is_some()).collect();
            let want_rf: Vec<u64> = resp_frames.get(stream).cloned().unwrap_or_default();
            let want_times: BTreeMap<u64, f64> = times
                .get(stream)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect();
            if r.http.iter().all(|t| t.interim.is_empty()) {
                assert_eq!(
                    our_req_frames,
                    req_frames.get(stream).cloned().unwrap_or_default(),
                    "{name}: request frames"
                );
                assert_eq!(our_final.len(), want_rf.len(), "{name}: responses");
                for (t, &frame) in our_final.iter().zip(&want_rf) {
                    // Intended difference: a close-delimited body ends at the FIN, which
                    // tshark counts as the completing frame; ours is the last data packet
                    // (the last byte), since `end()` carries no packet.
                    if t.transfer == Transfer::Close {
                        assert!(t.response_last_pkt.unwrap().frame_number() <= frame);
                        continue;
                    }
                    let ours = t.response_last_pkt.map(|p| p.frame_number());
                    assert_eq!(ours, Some(frame), "{name}: response frame");
                    // http.time = request's completing frame → response's completing frame.
                    if let Some(secs) = want_times.get(&frame) {
                        let ours = t.time_to_last_byte().expect("timings") as f64 / 1e9;
                        assert!(
                            (ours - secs).abs() < 2e-6,
                            "{name} frame {frame}: {ours} vs {secs}"
                        );
                        timed += 1;
                    }
                }
            }
        }
        for row in truth["tls_sni"].as_array().into_iter().flatten() {
            let stream = strs(row, "tcp_stream").first().cloned().unwrap_or_default();
            let name = format!("{}--{stream}", cap.replace('/', "__"));
            let r = replay(&name).unwrap_or_else(|| panic!("no fixture {name}"));
            let snis: Vec<String> = r
                .tls
                .iter()
                .filter_map(|e| match e {
                    Event::Handshake {
                        msg: HandshakeMsg::ClientHello(c),
                        ..
                    } => c.sni.clone(),
                    _ => None,
                })
                .collect();
            assert_eq!(snis, strs(row, "sni"), "{name}: SNI");
            checked_rows += 1;
        }
    }
    skipped.sort();
    skipped.dedup();
    let mut expected = NOT_EXTRACTED.to_vec();
    expected.sort();
    assert_eq!(skipped, expected, "captures with HTTP truth but no fixture");
    assert!(checked_rows > 100, "only {checked_rows} truth rows checked");
    assert!(timed > 30, "only {timed} http.time values checked");
}
