//! Adversarial inputs (issue 9, item 3): state that input controls stays bounded.
//!
//! * A SYN flood from one million spoofed sources, streamed into `wiretale conns -`.
//! * One TCP connection whose first segment never arrives, followed by 1 GiB of
//!   out-of-order data, streamed into `wiretale conns -` (about a second).
//! * A gzip bomb (1 GiB of zeros in ~1 MiB), through `decode_body` and through the
//!   pipeline as an HTTP response body.
//! * Every truncation of the small shared captures (and sampled ones of the large), and
//!   random bit flips of all of them: no panic, and the packets before the damage come
//!   out exactly as from the intact file.
//!
//! Peak memory is measured with `getrusage(RUSAGE_CHILDREN)` (the largest resident set
//! of any child waited for so far), so the binary-driven scenarios run one after the
//! other in one test and each asserts the running maximum against its cap. The
//! captures are synthesized while streaming into the child's stdin, never written out.

mod common;

use std::io::{BufWriter, Write};
use std::process::{Command, Stdio};

use nix::sys::resource::{getrusage, UsageWho};
use wiretale::analysis::{Engine, EngineConfig};
use wiretale::capture::{FrameSource, MemReader};

/// Peak RSS, in MiB, of every child waited for so far.
fn children_peak_mib() -> i64 {
    getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss() / 1024
}

fn pcap_header(w: &mut (impl Write + ?Sized)) {
    let mut h = Vec::with_capacity(24);
    h.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&65535u32.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    w.write_all(&h).unwrap();
}

fn record(w: &mut (impl Write + ?Sized), ts_us: u64, frame: &[u8]) {
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
    h[4..8].copy_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
    h[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
    h[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
    w.write_all(&h).unwrap();
    w.write_all(frame).unwrap();
}

/// Ethernet + IPv4 + TCP (20-byte header) frame with `payload`; checksums left as
/// built once (wiretale, like tshark by default, does not require them).
#[allow(clippy::too_many_arguments)] // one TCP segment: every header field the tests vary
fn tcp_frame(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: Option<u32>,
    syn: bool,
    payload: &[u8],
) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(src, dst, 64)
        .tcp(sport, dport, seq, 65535);
    let b = if syn { b.syn() } else { b };
    let b = match ack {
        Some(a) => b.ack(a),
        None => b,
    };
    let mut out = Vec::with_capacity(54 + payload.len());
    b.write(&mut out, payload).unwrap();
    out
}

struct Run {
    stdout_lines: usize,
    /// The first 64 KiB of stdout.
    head: String,
    stderr: String,
    code: Option<i32>,
}

/// Runs `wiretale ARGS -`, streaming what `produce` writes into its stdin.
fn run_streamed(args: &[&str], produce: impl FnOnce(&mut dyn Write) + Send) -> Run {
    let mut child = Command::new(common::bin())
        .args(args)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut w = BufWriter::with_capacity(1 << 20, stdin);
            produce(&mut w);
            let _ = w.flush();
        });
        let counter = s.spawn(move || {
            let mut n = 0usize;
            let mut head = Vec::new();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                match std::io::Read::read(&mut out, &mut buf) {
                    Ok(0) | Err(_) => return (n, String::from_utf8_lossy(&head).into_owned()),
                    Ok(k) => {
                        n += buf[..k].iter().filter(|&&b| b == b'\n').count();
                        let room = (64usize << 10).saturating_sub(head.len());
                        head.extend_from_slice(&buf[..k.min(room)]);
                    }
                }
            }
        });
        let mut e = String::new();
        std::io::Read::read_to_string(&mut err, &mut e).unwrap();
        let (stdout_lines, head) = counter.join().unwrap();
        let code = child.wait().unwrap().code();
        Run {
            stdout_lines,
            head,
            stderr: e,
            code,
        }
    })
}

/// One million SYNs from distinct spoofed sources to one server.
fn syn_flood(w: &mut dyn Write, n: u32) {
    pcap_header(w);
    let mut frame = tcp_frame([1, 0, 0, 0], [192, 0, 2, 80], 1024, 80, 7, None, true, &[]);
    for i in 0..n {
        // Source address bytes 26..30 of the frame; the IP checksum goes stale, which a
        // flood would not care about either.
        let src = 0x0a00_0000u32 | i;
        frame[26..30].copy_from_slice(&src.to_be_bytes());
        frame[34..36].copy_from_slice(&(1024 + (i % 60000) as u16).to_be_bytes());
        record(w, 1_000_000 + u64::from(i), &frame);
    }
}

/// A handshake, then `bytes` of client data that all sits after a hole: the first
/// segment is never captured.
fn ooo_stream(w: &mut dyn Write, bytes: u64) {
    pcap_header(w);
    let (c, s) = ([10, 1, 0, 1], [10, 1, 0, 2]);
    let isn = 1000u32;
    record(w, 1, &tcp_frame(c, s, 40000, 80, isn, None, true, &[]));
    record(
        w,
        2,
        &tcp_frame(s, c, 80, 40000, 9000, Some(isn + 1), true, &[]),
    );
    record(
        w,
        3,
        &tcp_frame(c, s, 40000, 80, isn + 1, Some(9001), false, &[]),
    );
    let payload = vec![b'z'; 1448];
    let mut frame = tcp_frame(c, s, 40000, 80, 0, Some(9001), false, &payload);
    // Data starts one segment late: bytes isn+1 .. isn+1449 are the hole.
    let mut seq = isn + 1 + 1448;
    let mut sent = 0u64;
    let mut t = 10u64;
    while sent < bytes {
        frame[38..42].copy_from_slice(&seq.to_be_bytes());
        record(w, t, &frame);
        seq = seq.wrapping_add(1448);
        sent += 1448;
        t += 10;
    }
}

/// `n` bytes of zeros, gzip-compressed (a ~1000:1 bomb).
fn gzip_zeros(n: usize) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..n / zeros.len() {
        e.write_all(&zeros).unwrap();
    }
    e.finish().unwrap()
}

fn http_bomb(w: &mut dyn Write, body: &[u8]) {
    pcap_header(w);
    let (c, s) = ([10, 2, 0, 1], [10, 2, 0, 2]);
    let req = b"GET /bomb HTTP/1.1\r\nHost: bomb.example\r\nAccept-Encoding: gzip\r\n\r\n";
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut resp = head.into_bytes();
    resp.extend_from_slice(body);
    let (ci, si) = (100u32, 500u32);
    record(w, 1, &tcp_frame(c, s, 40001, 80, ci, None, true, &[]));
    record(
        w,
        2,
        &tcp_frame(s, c, 80, 40001, si, Some(ci + 1), true, &[]),
    );
    record(
        w,
        3,
        &tcp_frame(c, s, 40001, 80, ci + 1, Some(si + 1), false, req),
    );
    let ack = ci + 1 + req.len() as u32;
    let mut seq = si + 1;
    for (i, chunk) in resp.chunks(1448).enumerate() {
        record(
            w,
            10 + i as u64,
            &tcp_frame(s, c, 80, 40001, seq, Some(ack), false, chunk),
        );
        seq += chunk.len() as u32;
    }
}

#[test]
fn floods_out_of_order_data_and_bombs_stay_under_the_memory_cap() {
    // 1. 1 GiB of out-of-order data behind a hole that never fills: buffered up to the
    // per-direction limit (4 MiB by default), then delivered after a gap; every byte
    // is still counted.
    let r = run_streamed(&["conns", "--json"], |w| ooo_stream(w, 1 << 30));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout_lines, 1, "one connection");
    assert!(r.stderr.contains("reassembly_limit"), "{}", r.stderr);
    let rec: serde_json::Value = serde_json::from_str(r.head.trim()).unwrap();
    assert!(
        rec["bytes"]["client"].as_u64().unwrap_or(0) >= 1 << 30,
        "{}",
        r.head
    );
    assert_eq!(rec["missed_bytes"], 1448, "exactly the hole is missing");
    let ooo_peak = children_peak_mib();
    eprintln!("1 GiB out of order: peak RSS {ooo_peak} MiB");
    assert!(ooo_peak < 64, "out-of-order peak RSS {ooo_peak} MiB");

    // 2. A gzip bomb as an HTTP response body: the pipeline does not inflate bodies,
    // and the record still says what it was.
    let bomb = gzip_zeros(1 << 30);
    assert!(bomb.len() < 2 << 20, "bomb is {} bytes", bomb.len());
    let r = run_streamed(&["http", "--json"], |w| http_bomb(w, &bomb));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout_lines, 1);
    let peak = children_peak_mib();
    eprintln!("gzip bomb through http: running peak RSS {peak} MiB");
    assert!(peak < 64, "bomb peak RSS {peak} MiB");

    // 3. SYN flood from one million spoofed sources, 65536 connections kept. Last,
    // because the peak is a running maximum over all children.
    let n = 1_000_000u32;
    let r = run_streamed(&["conns", "--max-conns", "65536"], |w| syn_flood(w, n));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.stdout_lines,
        n as usize + 1,
        "every half-open connection reported"
    );
    assert!(
        r.stderr.contains("limits hit: conn_evicted ×"),
        "evictions reported: {}",
        r.stderr
    );
    let flood_peak = children_peak_mib();
    eprintln!("SYN flood 1M sources, --max-conns 65536: peak RSS {flood_peak} MiB");
    assert!(flood_peak < 256, "SYN flood peak RSS {flood_peak} MiB");
}

#[test]
fn decompression_bomb_stops_at_the_limit() {
    use wiretale::proto::http::body::decode_body;
    let bomb = gzip_zeros(1 << 30);
    let limit = wiretale::analysis::Limits::default().body_bytes;
    let before = getrusage(UsageWho::RUSAGE_SELF).unwrap().max_rss() / 1024;
    let e = decode_body("gzip", &bomb, limit).unwrap_err();
    assert_eq!(e.name(), "decompressed_size_limit");
    let after = getrusage(UsageWho::RUSAGE_SELF).unwrap().max_rss() / 1024;
    // Other tests share this process; only this one allocates this much at once, and
    // the inflated gigabyte would be far above it.
    assert!(
        after - before < 3 * (limit as i64 >> 20) + 64,
        "decode_body grew RSS by {} MiB",
        after - before
    );
    // Nested codings (gzip inside gzip) are bounded too.
    let double = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&bomb).unwrap();
        e.finish().unwrap()
    };
    let e = decode_body("gzip, gzip", &double, limit).unwrap_err();
    assert_eq!(e.name(), "decompressed_size_limit");
}

/// One frame as read and analysed: packet number, Info text, bytes.
type Seen = (u32, String, Vec<u8>);

/// Every frame's bytes and the engine's view of it, plus where each frame ended.
fn analyse(bytes: &[u8]) -> (Vec<Seen>, Vec<u64>) {
    let mut r = MemReader::new(bytes);
    let mut e = Engine::new(EngineConfig {
        want_info: true,
        ..EngineConfig::default()
    });
    let mut out = Vec::new();
    let mut ends = Vec::new();
    while let Ok(Some(f)) = r.next_frame() {
        let s = e.process(&f);
        out.push((s.id.0, s.info.clone(), f.data.to_vec()));
        ends.push(r.position());
    }
    e.finish();
    let _ = (e.take_conns(), e.take_http(), e.take_dns(true));
    (out, ends)
}

/// A small deterministic generator (the sweeps must be reproducible).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn truncations_and_bit_flips_keep_every_packet_before_the_damage() {
    let mut rng = Lcg(0x5eed);
    for rel in common::shared_captures() {
        let bytes = std::fs::read(common::shared_root().join(&rel)).unwrap();
        let (full, ends) = analyse(&bytes);
        // Truncations: every prefix of small files; 64 sampled cuts of large ones.
        let cuts: Vec<usize> = if bytes.len() <= 8 << 10 {
            (0..bytes.len()).collect()
        } else {
            (0..64)
                .map(|_| (rng.next() as usize) % bytes.len())
                .collect()
        };
        for cut in cuts {
            let (got, _) = analyse(&bytes[..cut]);
            // Frames wholly inside the prefix must all come out, unchanged.
            let whole = ends.iter().take_while(|&&e| e as usize <= cut).count();
            assert!(
                got.len() >= whole.min(full.len()),
                "{rel} cut at {cut}: {} frames, {whole} were complete",
                got.len()
            );
            for (g, f) in got.iter().zip(&full).take(whole) {
                assert_eq!(g.2, f.2, "{rel} cut at {cut}: frame {} bytes differ", g.0);
            }
        }
        // Bit flips: frames that end before the flipped byte come out unchanged.
        for _ in 0..32 {
            if bytes.is_empty() {
                break;
            }
            let mut b = bytes.clone();
            let at = (rng.next() as usize) % b.len();
            b[at] ^= 1 << (rng.next() % 8);
            let (got, _) = analyse(&b);
            let before = ends.iter().take_while(|&&e| (e as usize) <= at).count();
            // pcapng: a flip in a later block can still change an earlier interface's
            // meaning only through IDB fields, which are before `at` as well.
            assert!(
                got.len() >= before,
                "{rel} flip at {at}: lost packets before it"
            );
            for (g, f) in got.iter().zip(&full).take(before) {
                assert_eq!(g.2, f.2, "{rel} flip at {at}: frame {} changed", g.0);
                assert_eq!(
                    g.1, f.1,
                    "{rel} flip at {at}: frame {} analysed differently",
                    g.0
                );
            }
        }
    }
}
