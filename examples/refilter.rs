//! Times the TUI's filter path on a capture: index the file once (engine + FilterIndex,
//! as the TUI does while loading), then re-filter it with each expression through
//! `analysis::filter_index` and print the time and the number of matches.
//!
//! usage: cargo run --release --example refilter -- FILE [EXPR...]
use std::time::Instant;

use wiretale::analysis::{filter_index, Engine, EngineConfig, FilterIndex, PacketTable};
use wiretale::base::PacketId;
use wiretale::capture::FrameStore;
use wiretale::filter::Filter;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: refilter FILE [EXPR...]");
        std::process::exit(1);
    };
    let mut exprs: Vec<String> = args.collect();
    if exprs.is_empty() {
        exprs = [
            "tcp.port == 80 && http",
            "ip.addr == 10.0.0.0/8",
            "tcp.analysis.flags",
            "frame.len > 1000",
            "dns.qry.name contains \"google\"",
        ]
        .map(String::from)
        .to_vec();
    }
    let t = Instant::now();
    let mut store = match FrameStore::open(std::path::Path::new(&path)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    store.index_all();
    let t_store = t.elapsed();
    let t = Instant::now();
    let (mut table, mut idx) = (PacketTable::default(), FilterIndex::new());
    let mut engine = Engine::new(EngineConfig {
        want_app_fields: true,
        ..EngineConfig::default()
    });
    for i in 0..store.len() {
        if let Some(frame) = store.frame(PacketId(i as u32)) {
            let s = engine.process(&frame);
            table.push(&s);
            idx.push(&frame, &s);
        }
    }
    println!(
        "{path}: {} packets, {:.1} MB; store index {:.3} s, engine + filter index {:.3} s",
        store.len(),
        store.file_len() as f64 / 1e6,
        t_store.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    if std::env::var_os("WIRETALE_REFILTER_PARTS").is_some() {
        parts(&store);
    }
    for e in &exprs {
        let f = match Filter::compile(e) {
            Ok(f) => f,
            Err(err) => {
                eprintln!("{}", err.render(e));
                continue;
            }
        };
        let t = Instant::now();
        let hits = filter_index(&store, &table, &idx, &f);
        println!(
            "  re-filter {:>8.3} s  {:>9} matches  {e}",
            t.elapsed().as_secs_f64(),
            hits.len()
        );
    }
}

/// Where the time goes (WIRETALE_REFILTER_PARTS=1): fetching frames, decoding them.
#[allow(dead_code)]
fn parts(store: &FrameStore) {
    let t = Instant::now();
    let mut n = 0usize;
    for i in 0..store.len() {
        if let Some(f) = store.frame(PacketId(i as u32)) {
            n += f.data.len();
        }
    }
    println!(
        "  fetch only {:.3} s ({n} bytes)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let mut k = 0usize;
    for i in 0..store.len() {
        if let Some(f) = store.frame(PacketId(i as u32)) {
            let p = wiretale::decode::decode(f.meta.link, f.data);
            k += p.payload.len();
        }
    }
    println!("  fetch + decode {:.3} s ({k})", t.elapsed().as_secs_f64());
}
