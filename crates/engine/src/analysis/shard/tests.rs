//! The sharded engine against one engine, in one thread: the same batches of records
//! (every field, by `Debug`), with the same ids, at the same drains.

use super::*;
use crate::analysis::EngineConfig;
use crate::capture;
use crate::testutil;

/// Story's rhythm for `Pending` (any value works as long as both sides use it).
const EVERY: i64 = 500_000_000;

fn batch(r: &mut dyn Records, at_end: bool, want_pending: bool) -> String {
    let mut s = String::new();
    for t in r.take_dns(at_end) {
        s.push_str(&format!("dns {t:?}\n"));
    }
    for h in r.take_http() {
        s.push_str(&format!("http {h:?}\n"));
    }
    for c in r.take_conn_chunks().into_iter().flatten() {
        s.push_str(&format!("conn {c:?}\n"));
    }
    if want_pending {
        let p = r.pending();
        let mut open: Vec<_> = p.open.into_iter().collect();
        open.sort();
        s.push_str(&format!(
            "pending {:?} {open:?} {:?}\n",
            p.now, p.dns_held_since
        ));
    }
    s
}

/// The end's records (DNS, HTTP, connections), which come in chunks of different
/// sizes from one engine and from the merge: compared whole.
#[derive(Default)]
struct End([String; 3]);

impl End {
    fn add(&mut self, r: &mut dyn Records, at_end: bool) {
        for t in r.take_dns(at_end) {
            self.0[0].push_str(&format!("dns {t:?}\n"));
        }
        for h in r.take_http() {
            self.0[1].push_str(&format!("http {h:?}\n"));
        }
        for c in r.take_conns() {
            self.0[2].push_str(&format!("conn {c:?}\n"));
        }
    }
}

/// One engine, drained as the CLI drains it (the end in chunks of `chunk`).
fn single(path: &std::path::Path, chunk: usize) -> Vec<String> {
    let mut src = capture::open(path).expect("open");
    let mut e = Engine::new(EngineConfig::default());
    let mut out = Vec::new();
    let mut n = 0u64;
    let mut last = i64::MIN;
    while let Ok(Some(f)) = src.next_frame() {
        e.process(&f);
        n += 1;
        if n.is_multiple_of(DRAIN_EVERY) {
            let now = e.now().0;
            let due = now.saturating_sub(last) >= EVERY;
            if due {
                last = now;
            }
            out.push(batch(&mut e, false, due));
        }
    }
    let mut end = End::default();
    while !e.finish_some(chunk) {
        assert!(Records::finishing(&e));
        end.add(&mut e, false);
    }
    end.add(&mut e, true);
    out.push(end.0.concat());
    out
}

/// The merge's connections come in chunks of `conn_chunk` (see `Merged`).
fn sharded(path: &std::path::Path, shards: usize, chunk: usize, conn_chunk: usize) -> Vec<String> {
    let mut src = capture::open(path).expect("open");
    let mut d = Dispatcher::new(shards, Some(EVERY));
    let mut workers: Vec<Worker> = (0..shards)
        .map(|_| {
            let mut w = Worker::new(EngineConfig::default(), None);
            w.set_finish_chunk(chunk);
            w
        })
        .collect();
    let mut m = Merger::new(shards);
    m.set_conn_chunk(conn_chunk);
    let mut out = Vec::new();
    while let Ok(Some(f)) = src.next_frame() {
        if let Some(ws) = d.push(&f) {
            let want = ws.first().is_some_and(|w| w.end.want_pending);
            let outs = ws
                .into_iter()
                .zip(workers.iter_mut())
                .map(|(w, k)| k.run(w))
                .collect();
            out.push(batch(&mut m.merge(outs, false), false, want));
        }
    }
    // The end: the window, then each worker's chunks until it has no more.
    let mut outs: Vec<Option<WindowOut>> = d
        .end()
        .into_iter()
        .zip(workers.iter_mut())
        .map(|(w, k)| Some(k.run(w)))
        .collect();
    let mut end = End::default();
    loop {
        let more: Vec<bool> = outs
            .iter()
            .map(|o| o.as_ref().is_some_and(|o| o.more))
            .collect();
        let mut merged = m.merge_some(outs, true);
        let last = !merged.finishing();
        end.add(&mut merged, last);
        if last {
            break;
        }
        outs = workers
            .iter_mut()
            .zip(&more)
            .map(|(k, &m)| m.then(|| k.more()))
            .collect();
    }
    out.push(end.0.concat());
    out
}

fn same(path: std::path::PathBuf) {
    same_in_chunks(path, FINISH_CHUNK);
}

/// [`same`], the end finished `chunk` connections at a time.
fn same_in_chunks(path: std::path::PathBuf, chunk: usize) {
    same_in_merge_chunks(
        path,
        chunk,
        crate::analysis::chunked::Chunked::<crate::story::ConnRecord>::records_per_chunk(),
    );
}

/// [`same_in_chunks`], the merged connections handed out in chunks of `conn_chunk`.
fn same_in_merge_chunks(path: std::path::PathBuf, chunk: usize, conn_chunk: usize) {
    let one = single(&path, chunk);
    assert!(
        one.iter().any(|b| b.contains("conn ")),
        "{}: no records",
        path.display()
    );
    for shards in [1, 2, 3, 4] {
        let other = sharded(&path, shards, chunk, conn_chunk);
        assert_eq!(one.len(), other.len(), "{}: drains", path.display());
        for (i, (a, b)) in one.iter().zip(&other).enumerate() {
            assert!(
                a == b,
                "{}: {shards} shards, drain {i} differs:\n--- one engine\n{a}\n--- shards\n{b}",
                path.display()
            );
        }
    }
}

#[test]
fn a_page_load_gives_the_same_batches_on_any_number_of_shards() {
    same(testutil::bundled_capture("lab-page.pcap"));
    same(testutil::bundled_capture("lab-curl.pcap"));
}

#[test]
fn fragments_dns_and_many_flows_give_the_same_batches() {
    for rel in [
        "zeek/ipv6-fragmented-dns.pcap",
        "zeek/ipv4-fragmented-4.pcap",
        "zeek/ipv6-http-atomic-frag.pcap",
    ] {
        same(testutil::shared_capture(rel));
    }
}

/// The end in chunks of one or two connections: every chunk merged as it comes, the
/// records in one engine's order, the DNS transactions all after the last chunk.
#[test]
fn the_end_in_small_chunks_gives_the_same_records() {
    same_in_chunks(testutil::bundled_capture("lab-page.pcap"), 1);
    same_in_chunks(testutil::bundled_capture("lab-curl.pcap"), 2);
    same_in_chunks(testutil::shared_capture("zeek/ipv6-fragmented-dns.pcap"), 1);
}

/// The merged connections in chunks of one and of three (`Merged` keeps them in
/// chunks so a sweep's burst is never one block): the same records in the same order.
#[test]
fn tiny_chunks_of_merged_connections_give_the_same_records() {
    same_in_merge_chunks(testutil::bundled_capture("lab-page.pcap"), FINISH_CHUNK, 1);
    same_in_merge_chunks(
        testutil::shared_capture("zeek/ipv4-fragmented-4.pcap"),
        2,
        3,
    );
}

#[test]
fn the_merge_numbers_connections_by_their_first_frame() {
    // Two workers; worker 1 created a connection at frame 3, worker 0 at frames 5 and
    // 1: one engine numbers them 1 → 0, 3 → 1, 5 → 2.
    let mut m = Merger::new(2);
    let mk = |created: Vec<u64>| WindowOut {
        conns_created: created,
        ..WindowOut::default()
    };
    let _ = m.merge(vec![mk(vec![1, 5]), mk(vec![3])], false);
    assert_eq!(m.conn_ids_of(0), &[0, 2]);
    assert_eq!(m.conn_ids_of(1), &[1]);
    // The next window continues the numbering.
    let _ = m.merge(vec![mk(vec![]), mk(vec![4100])], false);
    assert_eq!(m.conn_ids_of(1), &[1, 3]);
}

#[test]
fn the_merge_puts_records_in_one_engines_release_order() {
    let lists = vec![
        vec![((0, 1, 1), "a"), ((7, 0, 2), "d"), ((9, 2, 5), "g")],
        vec![
            ((3, 1, 1), "b"),
            ((3, 1, 2), "c"),
            ((7, 0, 4), "e"),
            ((7, 1, 1), "f"),
        ],
        vec![],
    ];
    assert_eq!(
        merge::merge_sorted(lists),
        vec!["a", "b", "c", "d", "e", "f", "g"]
    );
}
