//! The stage ladder (issue 18): how much of one thread's time each layer of the analysis
//! adds, on one capture, each stage timed on its own pass over the file:
//!
//! 1. `read`: every frame read (the page cache warm after the first pass);
//! 2. `decode`: + every frame decoded (Ethernet, VLAN, IP, TCP/UDP, options);
//! 3. `flows`: + IP defragmentation and the connection table with a sink that takes
//!    nothing (handshake, sequence analysis, Zeek state, reassembly with no reader,
//!    expiry): what `../shared/bench/pcapwalk.c`'s decode + flow hash does, and more;
//! 4. `engine`: the whole engine (the application decoders, DNS and HTTP records, the
//!    packet summaries) with its records drained every 4,096 frames as `wiretale conns`
//!    does, nothing printed.
//!
//! What `wiretale conns` and `wiretale story` add on top (printing, the story's grouping and
//! narration) is their own time minus stage 4 (`benches/scale/stages.sh` runs all of it
//! side by side). A measuring aid: it prints times, it tests nothing.
//!
//! `cargo run --release --example stages -- FILE [PASSES [STAGE]]` (the best of PASSES
//! passes per stage; STAGE: only that one, e.g. under `perf record`)

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use wiretale::analysis::{Engine, EngineConfig};
use wiretale::base::PacketId;
use wiretale::capture::{open, FrameSource};
use wiretale::decode::{decode, decode_defragmented, DefragLimits, Defragmenter};
use wiretale::flow::{ConnTable, FlowConfig, FlowPacket, NullSink};

/// The binary's allocator (`src/main.rs`), so that the stages weigh what it weighs.
#[cfg(unix)]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// One pass of `stage` over the file; the frame count, so nothing is optimised away.
fn pass(path: &Path, stage: &str) -> u64 {
    let mut src: Box<dyn FrameSource + Send> = open(path).expect("capture");
    let mut n = 0u64;
    let mut sink = NullSink;
    let mut table = ConnTable::new(FlowConfig::default());
    let mut defrag = Defragmenter::new(DefragLimits::default());
    let mut engine = Engine::new(EngineConfig::default());
    let mut kept = 0usize;
    while let Ok(Some(f)) = src.next_frame() {
        let (ts, link) = (f.meta.ts, f.meta.link);
        match stage {
            "read" => {
                black_box(f.data.len());
            }
            "decode" => {
                black_box(decode(link, f.data).payload.len());
            }
            "flows" => {
                table.tick(ts, &mut sink);
                decode_defragmented(&mut defrag, ts, link, f.data, |pkt, whole, frag| {
                    if let Some(p) = frag.analysable(pkt, whole) {
                        if let Some(fp) = FlowPacket::from_decoded(PacketId(n as u32), ts, p) {
                            black_box(table.process(&fp, &mut sink));
                        }
                    }
                });
            }
            _ => {
                black_box(engine.process(&f));
                if n % 4096 == 4095 {
                    kept += engine.take_conns().len()
                        + engine.take_http().len()
                        + engine.take_dns(false).len();
                }
            }
        }
        n += 1;
    }
    match stage {
        "flows" => table.finish(&mut sink),
        "engine" => {
            engine.finish();
            kept +=
                engine.take_conns().len() + engine.take_http().len() + engine.take_dns(true).len();
        }
        _ => {}
    }
    black_box(kept);
    n
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next() else {
        eprintln!("usage: stages FILE [PASSES]");
        std::process::exit(2);
    };
    let passes: usize = args.next().and_then(|p| p.parse().ok()).unwrap_or(1);
    let only = args.next();
    let path = Path::new(&file);
    pass(path, "read");
    for stage in ["read", "decode", "flows", "engine"] {
        if only.as_deref().is_some_and(|o| o != stage) {
            continue;
        }
        let mut best = f64::MAX;
        let mut n = 0;
        for _ in 0..passes {
            let t = Instant::now();
            n = pass(path, stage);
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("{stage:<7} {best:8.3} s  {n} frames");
    }
}
