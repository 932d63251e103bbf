//! The TUI's real source on a big capture, timed once per step (whole-file steps are
//! too slow for criterion's sampling): open → first rows, fully analysed, the last
//! packet's row, the biggest connection's detail and follow.
//!
//! `WIRETALE_BENCH_FILE=/tmp/bench/web.pcap cargo bench --bench tui`

use std::time::{Duration, Instant};

use wiretale::tui::engine_source::EngineSource;
use wiretale::tui::source::ListRows;
use wiretale::tui::DataSource;

fn main() {
    let Some(path) = std::env::var_os("WIRETALE_BENCH_FILE") else {
        eprintln!("tui bench: set WIRETALE_BENCH_FILE to a capture to measure; skipped");
        return;
    };
    let path = std::path::PathBuf::from(path);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let t = Instant::now();
    let mut s = EngineSource::open_file(&path).expect("open");
    while s.packet_count() < 50 && !s.is_done() {
        if !s.poll() {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    let rows: Vec<_> = (0..50.min(s.packet_count()))
        .map(|i| s.packet_row(i))
        .collect();
    let first = t.elapsed();
    println!("open → first {} rows: {:?}", rows.len(), first);
    assert!(s.wait_done(Duration::from_secs(3600)), "analysis finished");
    let all = t.elapsed();
    let n = s.packet_count();
    println!(
        "fully indexed and analysed: {:?} ({} packets, {:.0} MB/s, {} connections)",
        all,
        n,
        size as f64 / 1e6 / all.as_secs_f64(),
        s.conn_count()
    );
    let t = Instant::now();
    let reps = 1000;
    for _ in 0..reps {
        std::hint::black_box(s.packet_row(n - 1));
    }
    println!("packet_row(last): {:?} each", t.elapsed() / reps);
    let t = Instant::now();
    for _ in 0..100 {
        std::hint::black_box(s.packet_detail(n - 1));
    }
    println!("packet_detail(last): {:?} each", t.elapsed() / 100);
    let big = s
        .conns()
        .iter()
        .max_by_key(|c| c.bytes_c2s + c.bytes_s2c)
        .map(|c| (c.id, c.packets, c.bytes_c2s + c.bytes_s2c));
    if let Some((id, pkts, bytes)) = big {
        let t = Instant::now();
        let d = s.conn_detail(id);
        println!(
            "conn_detail(#{id}, {pkts} packets, {bytes} B): {:?} ({} arrows)",
            t.elapsed(),
            d.arrows.len()
        );
        let t = Instant::now();
        let f = s.follow(id);
        let b: usize = f
            .iter()
            .map(|t| match t {
                wiretale::tui::source::Turn::Data { bytes, .. } => bytes.len(),
                _ => 0,
            })
            .sum();
        println!(
            "follow(#{id}): {:?} ({} turns, {b} B)",
            t.elapsed(),
            f.len()
        );
        let t = Instant::now();
        s.focus_conn(Some(id));
        println!(
            "focus_conn(#{id}): {:?} ({} packets)",
            t.elapsed(),
            s.packet_count()
        );
    }
    s.focus_conn(None);
    let typical = s.conn_id(s.conn_count() / 2);
    if let Some(id) = typical {
        let t = Instant::now();
        let d = s.conn_detail(id);
        println!(
            "conn_detail(#{id}, typical): {:?} ({} arrows)",
            t.elapsed(),
            d.arrows.len()
        );
        let t = Instant::now();
        let f = s.follow(id);
        println!(
            "follow(#{id}, typical): {:?} ({} turns)",
            t.elapsed(),
            f.len()
        );
    }
}
