//! Times the TUI's `/` filter over every view on a capture: opens it as the TUI does
//! (`EngineSource`), waits for the analysis, then applies each expression (packets, then
//! the connections, DNS, HTTP and story lists it keeps) and prints the time and sizes.
//!
//! usage: cargo run --release --example refilter_views -- FILE [EXPR...]
use std::time::{Duration, Instant};

use wiretale::tui::engine_source::EngineSource;
use wiretale::tui::DataSource;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: refilter_views FILE [EXPR...]");
        std::process::exit(1);
    };
    let mut exprs: Vec<String> = args.collect();
    if exprs.is_empty() {
        exprs = [
            "tcp.port == 80",
            "dns",
            "ip.addr == 10.0.0.0/8",
            "frame.len > 1000",
        ]
        .map(String::from)
        .to_vec();
    }
    let t = Instant::now();
    let mut s = match EngineSource::open_file(std::path::Path::new(&path)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    if !s.wait_done(Duration::from_secs(600)) {
        eprintln!("{path}: analysis did not finish in 10 minutes");
        std::process::exit(1);
    }
    println!(
        "{path}: {} packets, {} connections, loaded in {:.3} s",
        s.packet_count(),
        s.conn_count(),
        t.elapsed().as_secs_f64()
    );
    for e in &exprs {
        let t = Instant::now();
        if let Err(err) = s.apply_filter(e) {
            eprintln!("{e}: {err}");
            continue;
        }
        println!(
            "{:<32} {:>8.3} s  {} packets, {} conns, {} dns, {} http, {} story items",
            e,
            t.elapsed().as_secs_f64(),
            s.packet_count(),
            s.conn_count(),
            s.dns_count(),
            s.http_count(),
            s.story().root_count()
        );
    }
}
