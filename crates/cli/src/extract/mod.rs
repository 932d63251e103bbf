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
use super::run::{self, Next, Share};
use super::select::{Matched, Selection};
use sink::{Sink, ADVANCE_EVERY};
use wiretale_engine::analysis::shard::Records;
use wiretale_engine::base::Timestamp;
use wiretale_engine::capture::CaptureError;

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
        // A reader that went away (`| head`) is no reason to stop extracting.
        use std::io::Write;
        let _ = writeln!(
            std::io::stdout().lock(),
            "{name}: {} → {}",
            counts.join(", "),
            a.out.display()
        );
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
    // The tables sort and name the end's records together: its chunks wait for the
    // last drain.
    let whole_end = RefCell::new(run::WholeEnd::default());
    let drain = |engine: &mut dyn Records, at_end: bool, sel: &Selection| {
        if failure.borrow().is_some() {
            return;
        }
        whole_end.borrow_mut().drain(engine, at_end, |r, at_end| {
            let res = sink.borrow_mut().drain(r, at_end, sel, &matched.borrow());
            if let Err(e) = res {
                *failure.borrow_mut() = Some(e);
            }
        });
    };
    let story = tables.contains(&Table::Story);
    // A failed write stops the read at the next frame.
    let go_on = || {
        if failure.borrow().is_some() {
            Next::Stop
        } else {
            Next::Continue
        }
    };
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
                go_on()
            },
            |engine, at_end, sel| drain(engine, at_end, sel),
        )
        .map_err(|e| format!("{e:#}"))
    } else {
        // `--split` (or the `packets` table): one engine over the file, analysing the
        // task's share and the name service traffic of the others.
        run::drive_share(
            file,
            cfg,
            &mut sel,
            |frame| split.share(frame),
            |_, ts, p| {
                open_at(ts);
                if let Some((s, hit, share)) = p {
                    matched.borrow_mut().record(s, hit);
                    let mut sink = sink.borrow_mut();
                    let r = match share {
                        Share::Own if hit => sink.packet(s),
                        Share::Own => Ok(()),
                        _ => {
                            sink.not_owned(s.conn);
                            Ok(())
                        }
                    };
                    if let Err(e) = r {
                        *failure.borrow_mut() = Some(e);
                    }
                }
                go_on()
            },
            |engine, at_end, sel| drain(engine, at_end, sel),
        )
        .map_err(|e| format!("{e:#}"))
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

#[cfg(test)]
mod tests;
