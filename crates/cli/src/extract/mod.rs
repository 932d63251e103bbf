//! `wiretale extract FILE... --out DIR`: the records of the JSON commands written as
//! Parquet tables (README, "Extract to Parquet"; `docs/schema/parquet.md`), one
//! directory per table, Hive-partitioned by date and capture, for DuckDB, Spark and
//! every engine that reads Parquet.
//!
//! - [`columns`]: the columns, derived from the record types' JSON Schema, and the
//!   serializer that appends a record to them;
//! - [`writer`]: one file, row groups streamed, written under a temporary name;
//! - [`layout`]: partition paths, Hive escaping, temporaries and Ctrl-C;
//! - [`split`]: `--split I/N` over the sharded engine's flow key;
//! - [`sink`]: one capture's records as rows, in the JSON commands' order;
//! - [`tables`]: the tables and the generated column reference.
//!
//! Files are extracted concurrently, one per worker thread (threads = `WIRETALE_THREADS`
//! or the cores), each with its own engine and writers; one file alone gets the sharded
//! engine on every thread. Rows and files do not depend on the thread count.

mod columns;
mod layout;
mod sink;
mod split;
mod tables;
mod writer;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

pub use split::{parse_split, Split};
pub use tables::{parquet_doc, Table};

use super::args::{ExtractArgs, FileArgs};
use super::run::{self, Next};
use super::select::{Matched, Selection};
use sink::{Sink, ADVANCE_EVERY};
use wiretale_engine::analysis::shard::DRAIN_EVERY;
use wiretale_engine::analysis::{Engine, EngineConfig};
use wiretale_engine::base::Timestamp;
use wiretale_engine::capture::{self, CaptureError};

/// How one capture went.
struct Outcome {
    counts: BTreeMap<&'static str, u64>,
    /// The capture was cut or corrupt: what was read is written, this says where.
    damage: Option<String>,
    /// Nothing usable was written (a refusal, an unwritable place, an unreadable file).
    error: Option<String>,
    empty: bool,
}

pub fn run(a: &ExtractArgs) -> anyhow::Result<i32> {
    // A bad -Y is reported once, before anything is read.
    if let Err(code) = Selection::new(a.filter.as_deref(), a.bpf.as_deref()) {
        return Ok(code);
    }
    let mut tables: Vec<Table> = match &a.tables {
        Some(t) => t.clone(),
        None => Table::DEFAULT.to_vec(),
    };
    tables.sort();
    tables.dedup();
    let split = a.split.unwrap_or(Split::WHOLE);
    // Two inputs with one name would write the same partition.
    let mut seen: HashMap<String, &Path> = HashMap::new();
    for f in &a.files {
        let name = layout::capture_name(f);
        if let Some(prev) = seen.insert(name.clone(), f) {
            anyhow::bail!(
                "{} and {} are both named {name}: their partitions (capture={}) would be the same; rename one",
                prev.display(),
                f.display(),
                layout::hive_escape(&name)
            );
        }
    }
    if let Err(e) = writable(&a.out) {
        eprintln!("wiretale: {e}");
        return Ok(super::EXIT_ERROR);
    }
    // Ctrl-C: temporaries removed, exit 130 (no complete-looking half file).
    let _ = ctrlc::set_handler(layout::on_interrupt);

    let threads = run::threads();
    let workers = threads.min(a.files.len()).max(1);
    let shards = (threads / workers).max(1);
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
    let mut status = 0;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, tables) = (&next, &tables);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(f) = a.files.get(i) else {
                    break;
                };
                let o = extract_file(a, f, tables, split, shards);
                if tx.send((i, o)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        // Reported in the order given, each as soon as it and those before it are done.
        let mut done: BTreeMap<usize, Outcome> = BTreeMap::new();
        let mut reported = 0;
        for (i, o) in rx {
            done.insert(i, o);
            while let Some(o) = done.remove(&reported) {
                status = status.max(report(a, &a.files[reported], &o));
                reported += 1;
            }
        }
    });
    Ok(status)
}

/// Prints one capture's outcome; returns its exit status (0, 2 damaged, 1 failed).
fn report(a: &ExtractArgs, f: &Path, o: &Outcome) -> i32 {
    let name = f.display();
    if let Some(e) = &o.error {
        eprintln!("wiretale: {e}");
        return super::EXIT_ERROR;
    }
    if o.empty {
        eprintln!("wiretale: {name}: no packets; nothing written");
    } else {
        let counts: Vec<String> = o.counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
        println!("{name}: {} → {}", counts.join(", "), a.out.display());
    }
    match &o.damage {
        Some(e) => {
            eprintln!("wiretale: {e}");
            super::EXIT_DAMAGED
        }
        None => 0,
    }
}

/// `--out` can be made and written in: one line when it cannot
/// (`cannot write DIR: Permission denied`).
fn writable(out: &Path) -> Result<(), String> {
    let e = |err: &std::io::Error| writer::write_error(out, writer::io_text(err));
    std::fs::create_dir_all(out).map_err(|err| e(&err))?;
    let probe = out.join(format!(".wiretale-probe-{}", std::process::id()));
    std::fs::File::create(&probe).map_err(|err| e(&err))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// A capture error naming the file once.
fn damage_text(path: &Path, e: &CaptureError) -> String {
    run::open_error(path, e).to_string()
}

fn extract_file(
    a: &ExtractArgs,
    file: &Path,
    tables: &[Table],
    split: Split,
    shards: usize,
) -> Outcome {
    let fa = FileArgs {
        file: file.to_path_buf(),
        json: false,
        filter: a.filter.clone(),
        bpf: a.bpf.clone(),
        tls_keylog: a.tls_keylog.clone(),
        limits: a.limits.clone(),
    };
    let failed = |e: String| Outcome {
        counts: BTreeMap::new(),
        damage: None,
        error: Some(e),
        empty: false,
    };
    let packets = tables.contains(&Table::Packets);
    let (mut sel, cfg) = match Selection::for_command(&fa, packets) {
        Ok(Ok(v)) => v,
        Ok(Err(_)) => return failed(format!("{}: bad display filter", file.display())),
        Err(e) => return failed(format!("{e:#}")),
    };
    let sink = RefCell::new(Sink::new(&a.out, file, tables, split, a.force));
    let failure: RefCell<Option<String>> = RefCell::new(None);
    let matched = RefCell::new(Matched::new(&sel));
    let open_at = |ts: Timestamp| {
        let mut s = sink.borrow_mut();
        if !s.opened() {
            let secs = ts.as_secs_f64().floor() as i64;
            if let Err(e) = s.open(secs) {
                *failure.borrow_mut() = Some(e);
            }
        }
    };
    let story = tables.contains(&Table::Story);
    let r = if split.n <= 1 && !packets {
        run::drive_records_on(
            shards,
            file,
            cfg,
            &mut sel,
            story.then_some(ADVANCE_EVERY),
            |ts, p| {
                if let Some((s, hit)) = p {
                    matched.borrow_mut().record(s, hit);
                }
                open_at(ts);
                if failure.borrow().is_some() {
                    Next::Stop
                } else {
                    Next::Continue
                }
            },
            |engine, at_end, sel| {
                if failure.borrow().is_some() {
                    return;
                }
                let r = sink
                    .borrow_mut()
                    .drain(engine, at_end, sel, &matched.borrow());
                if let Err(e) = r {
                    *failure.borrow_mut() = Some(e);
                }
            },
        )
        .map_err(|e| format!("{e:#}"))
    } else {
        drive_split(file, cfg, &mut sel, split, |ev| match ev {
            Ev::Frame(ts) => {
                open_at(ts);
                failure.borrow().is_none()
            }
            Ev::Packet(s, hit) => {
                matched.borrow_mut().record(s, hit);
                if hit {
                    if let Err(e) = sink.borrow_mut().packet(s) {
                        *failure.borrow_mut() = Some(e);
                    }
                }
                failure.borrow().is_none()
            }
            Ev::Drain(engine, at_end, sel) => {
                if failure.borrow().is_none() {
                    let r = sink
                        .borrow_mut()
                        .drain(engine, at_end, sel, &matched.borrow());
                    if let Err(e) = r {
                        *failure.borrow_mut() = Some(e);
                    }
                }
                failure.borrow().is_none()
            }
        })
    };
    let sink = sink.into_inner();
    let fail = failure.into_inner();
    let damage = match (r, fail) {
        (_, Some(e)) | (Err(e), _) => {
            sink.abandon();
            return failed(e);
        }
        (Ok(d), None) => d.map(|e| damage_text(file, &e)),
    };
    if !sink.opened() {
        return Outcome {
            counts: BTreeMap::new(),
            damage,
            error: None,
            empty: true,
        };
    }
    match sink.close() {
        Ok(counts) => Outcome {
            counts,
            damage,
            error: None,
            empty: false,
        },
        Err(e) => failed(e),
    }
}

/// What [`drive_split`] hands its callback.
enum Ev<'a> {
    /// A frame's time, before anything else of it (false: stop).
    Frame(Timestamp),
    /// A packet this task analysed, and whether `-Y` matched it.
    Packet(&'a wiretale_engine::analysis::PacketSummary, bool),
    /// Records are due (`true`: the end).
    Drain(&'a mut Engine, bool, &'a Selection),
}

/// One engine over the file, analysing only the frames `split` owns (every frame's time
/// drives the clock, as a shard worker does), with each analysed packet's summary (the
/// `packets` table). Returns the damage, if the capture was cut or corrupt.
fn drive_split(
    path: &Path,
    cfg: EngineConfig,
    sel: &mut Selection,
    split: Split,
    mut f: impl FnMut(Ev<'_>) -> bool,
) -> Result<Option<CaptureError>, String> {
    let src = capture::open(path).map_err(|e| run::open_error(path, &e).to_string())?;
    let mut bpf =
        run::capture_filter(sel.bpf.as_deref(), src.as_ref()).map_err(|e| e.to_string())?;
    let mut src = src;
    let mut engine = Engine::new(cfg);
    if let Some(p) = &sel.keylog {
        engine.set_tls_keys(run::read_keylog(p, false).map_err(|e| e.to_string())?);
    }
    let mut damage = None;
    let mut n: u64 = 0;
    loop {
        match src.next_frame() {
            Ok(Some(frame)) => {
                if !run::bpf_keeps(&mut bpf, &frame).map_err(|e| e.to_string())? {
                    continue;
                }
                if !f(Ev::Frame(frame.meta.ts)) {
                    return Ok(None);
                }
                for s in frame.secrets {
                    engine.add_secrets(s);
                }
                engine.clock(frame.meta.ts);
                if split.owns(&frame) {
                    let s = engine.analyse_frame(&frame);
                    let hit = match &mut sel.matcher {
                        Some(m) => m.matches(&frame, &s),
                        None => true,
                    };
                    if !f(Ev::Packet(&s, hit)) {
                        return Ok(None);
                    }
                }
                n += 1;
                if n.is_multiple_of(DRAIN_EVERY) {
                    if !f(Ev::Drain(&mut engine, false, sel)) {
                        return Ok(None);
                    }
                    engine.discard_untaken();
                }
            }
            Ok(None) => break,
            Err(e) if !e.is_damage() => return Err(format!("{}: {e}", path.display())),
            Err(e) => {
                damage = Some(e);
                break;
            }
        }
    }
    engine.finish();
    f(Ev::Drain(&mut engine, true, sel));
    super::limits::report(&engine.limits_hit());
    Ok(damage)
}

#[cfg(test)]
mod tests;
