//! [`Packed`]: records come back as pushed across block edges, appends, saving, and on
//! every record of the bundled and shared captures.

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct R {
    n: u64,
    s: Option<String>,
    v: Vec<u32>,
}

fn sample() -> Vec<R> {
    vec![
        R {
            n: 1,
            s: None,
            v: vec![],
        },
        R {
            n: u64::MAX,
            s: Some("héllo".into()),
            v: vec![1, 2, 300],
        },
        R {
            n: 0,
            s: Some(String::new()),
            v: vec![7],
        },
    ]
}

/// `n` records of sizes from a few bytes to a few hundred, alike enough to compress.
fn many(n: usize) -> Vec<R> {
    (0..n)
        .map(|i| R {
            n: i as u64 * 7919,
            s: (i % 3 != 0).then(|| format!("host-{}.example.com/{}", i % 97, "x".repeat(i % 200))),
            v: (0..(i % 11) as u32).collect(),
        })
        .collect()
}

/// Every way of reading `p` gives `want`: `len`, `get` of each record and one past the
/// end, `iter`, and `iter_from` at every block's edges.
fn reads_as(p: &Packed<R>, want: &[R]) {
    assert_eq!(p.len(), want.len());
    assert_eq!(p.is_empty(), want.is_empty());
    for (i, r) in want.iter().enumerate() {
        assert_eq!(p.get(i).as_ref(), Some(r), "record {i}");
    }
    assert_eq!(p.get(want.len()), None);
    assert_eq!(p.iter().collect::<Vec<_>>(), want);
    let mut edges: Vec<usize> = vec![0, want.len()];
    for b in 0..p.blocks.len() {
        let f = p.first_of(b);
        edges.extend([f.saturating_sub(1), f, f + 1]);
    }
    edges.push(p.sealed_records());
    for e in edges.into_iter().filter(|&e| e <= want.len()) {
        assert_eq!(
            p.iter_from(e).collect::<Vec<_>>(),
            want[e..].to_vec(),
            "from {e}"
        );
    }
    // Read backwards too (each block decoded again once out of the recent ones).
    for i in (0..want.len()).rev().step_by(13) {
        assert_eq!(p.get(i).as_ref(), Some(&want[i]), "record {i} backwards");
    }
}

#[test]
fn records_come_back_equal() {
    let p: Packed<R> = sample().into_iter().collect();
    reads_as(&p, &sample());
    assert_eq!(p.iter_from(2).collect::<Vec<_>>(), sample()[2..].to_vec());
    assert_eq!(p.get(3), None);
}

#[test]
fn empty_and_one_record() {
    let p: Packed<R> = Packed::default();
    reads_as(&p, &[]);
    assert_eq!(p.iter_from(5).count(), 0);
    let one: Packed<R> = sample()[1..2].iter().cloned().collect();
    reads_as(&one, &sample()[1..2]);
    let bytes = postcard::to_allocvec(&p).expect("encode");
    reads_as(&postcard::from_bytes(&bytes).expect("decode"), &[]);
}

#[test]
fn records_across_many_blocks() {
    let want = many(5000);
    let p: Packed<R> = want.iter().cloned().collect();
    assert!(p.blocks.len() > 10, "{} blocks", p.blocks.len());
    assert!(!p.open.is_empty());
    // Compressed: well under the encodings' size.
    let encoded: usize = want
        .iter()
        .map(|r| postcard::to_allocvec(r).unwrap().len())
        .sum();
    assert!(
        p.heap_bytes() * 2 < encoded,
        "{} of {encoded}",
        p.heap_bytes()
    );
    reads_as(&p, &want);
}

#[test]
fn a_record_larger_than_a_block() {
    let mut want = many(300);
    want.insert(
        150,
        R {
            n: 3,
            s: Some("big ".repeat(BLOCK)),
            v: (0..5000).collect(),
        },
    );
    want.push(R {
        n: 4,
        s: Some("last, big ".repeat(BLOCK / 4)),
        v: vec![],
    });
    let p: Packed<R> = want.iter().cloned().collect();
    assert!(p.open.is_empty(), "the last record sealed its block");
    reads_as(&p, &want);
}

#[test]
fn appended_lists_continue() {
    let want = many(3000);
    // Every split: small after small (open blocks joined), sealed after open,
    // open after sealed, sealed after sealed.
    for cuts in [
        vec![1, 2, 3],
        vec![10, 2000],
        vec![2000, 2010],
        vec![500, 1000, 1500, 2999],
        vec![0, 0, 3000],
    ] {
        let mut p: Packed<R> = Packed::default();
        let mut from = 0;
        for c in cuts.iter().copied().chain([want.len()]) {
            p.append(want[from..c].iter().cloned().collect());
            from = c;
        }
        reads_as(&p, &want);
    }
    let mut p: Packed<R> = sample()[..1].iter().cloned().collect();
    p.append(sample()[1..].iter().cloned().collect());
    reads_as(&p, &sample());
}

#[test]
fn saved_and_loaded_whole() {
    for want in [sample(), many(2500)] {
        let p: Packed<R> = want.iter().cloned().collect();
        let _ = p.get(0);
        let bytes = postcard::to_allocvec(&p).expect("encode");
        let q: Packed<R> = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(
            (q.blocks.len(), q.open.len()),
            (p.blocks.len(), p.open.len())
        );
        reads_as(&q, &want);
        reads_as(&q.clone(), &want);
    }
}

#[test]
fn blocks_that_do_not_fit_are_refused() {
    let p: Packed<R> = many(2000).into_iter().collect();
    assert!(p.blocks.len() > 2);
    let save = |blocks: &[Sealed], open: &[u8], len: u64| {
        postcard::to_allocvec(&(Bytes(&p.sealed), blocks, Bytes(open), len)).expect("encode")
    };
    let ok = save(&p.blocks, &p.open, p.len as u64);
    assert!(postcard::from_bytes::<Packed<R>>(&ok).is_ok());
    let mut swapped = p.blocks.clone();
    swapped.swap(0, 1);
    assert!(postcard::from_bytes::<Packed<R>>(&save(&swapped, &p.open, p.len as u64)).is_err());
    let short = &p.blocks[..p.blocks.len() - 1];
    assert!(postcard::from_bytes::<Packed<R>>(&save(short, &p.open, p.len as u64)).is_err());
    assert!(
        postcard::from_bytes::<Packed<R>>(&save(&p.blocks, &p.open, p.len as u64 + 1)).is_err()
    );
    assert!(postcard::from_bytes::<Packed<R>>(&save(&p.blocks, &[], p.len as u64)).is_err());
}

#[test]
fn a_damaged_block_reads_as_missing() {
    let want = many(2000);
    let mut p: Packed<R> = want.iter().cloned().collect();
    let end = p.blocks[1].end as usize;
    let start = p.blocks[0].end as usize;
    for b in &mut p.sealed[start + 4..end] {
        *b ^= 0x5a;
    }
    let (first, next) = (p.first_of(1), p.first_of(2));
    assert_eq!(p.get(first), None);
    assert_eq!(p.get(next).as_ref(), Some(&want[next]));
    assert_eq!(
        p.iter().count(),
        first,
        "the walk ends at the damaged block"
    );
}

/// Every connection, exchange and packet's notes of every bundled and shared capture
/// come back with the same encoding, pushed one by one and appended in 61-record parts.
#[test]
fn every_record_of_the_corpus_comes_back() {
    fn check<T: Serialize + DeserializeOwned>(name: &str, what: &str, records: &[T]) {
        let enc = |r: &T| postcard::to_allocvec(r).expect("encode");
        let whole: Packed<T> = Packed::from_iter(
            records
                .iter()
                .map(|r| postcard::from_bytes::<T>(&enc(r)).expect("decode")),
        );
        let mut parts: Packed<T> = Packed::default();
        for c in records.chunks(61) {
            let mut part = Packed::default();
            for r in c {
                part.push(r);
            }
            parts.append(part);
        }
        let saved: Packed<T> =
            postcard::from_bytes(&postcard::to_allocvec(&whole).expect("save")).expect("load");
        for p in [&whole, &parts, &saved] {
            assert_eq!(p.len(), records.len(), "{name}: {what}");
            let walked: Vec<Vec<u8>> = p.iter().map(|r| enc(&r)).collect();
            assert_eq!(walked.len(), records.len(), "{name}: {what} walked");
            for (i, r) in records.iter().enumerate() {
                let want = enc(r);
                assert!(walked[i] == want, "{name}: {what} {i} walked");
                let got = p.get(i).map(|g| enc(&g));
                assert!(got.as_ref() == Some(&want), "{name}: {what} {i}");
            }
        }
    }
    let (mut conns, mut http, mut notes) = (0, 0, 0);
    for path in crate::testutil::all_captures() {
        let Ok(mut src) = crate::capture::open(&path) else {
            continue;
        };
        let mut engine = crate::analysis::Engine::new(crate::analysis::EngineConfig {
            want_app_fields: true,
            ..Default::default()
        });
        let mut per_packet = Vec::new();
        while let Ok(Some(f)) = src.next_frame() {
            let s = engine.process(&f);
            if !s.notes.is_empty() {
                per_packet.push(s.notes);
            }
        }
        engine.finish();
        let name = path.display().to_string();
        let c = engine.take_conns();
        let h = engine.take_http();
        check(&name, "connection", &c);
        check(&name, "exchange", &h);
        check(&name, "notes", &per_packet);
        conns += c.len();
        http += h.len();
        notes += per_packet.len();
    }
    assert!(
        conns > 300 && http > 50 && notes > 500,
        "{conns} connections, {http} exchanges, {notes} packets with notes"
    );
}
