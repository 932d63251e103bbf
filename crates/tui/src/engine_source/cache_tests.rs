//! The persisted index ([`super::cache`]): a second open of the same file comes from it
//! and shows the same lists, rows, details and filters as the analysis did; a file that
//! changed, a damaged entry or an unwritable directory falls back to analysing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::EngineSource;
use crate::source::{DataSource, ListRows};
use wiretale_engine::testutil::{bundled_capture, shared_capture};

fn opened(path: &Path, dir: &Path) -> EngineSource {
    let mut s = EngineSource::open_file_cached(path, dir).expect("open");
    assert!(s.wait_done(Duration::from_secs(60)), "analysis finished");
    s.wait_saved();
    s
}

/// The one entry in `dir` (panics when there is not exactly one).
fn entry(dir: &Path) -> PathBuf {
    let v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert_eq!(v.len(), 1, "{v:?}");
    v.into_iter().next().unwrap()
}

/// Everything the views show, compared between two sources of the same file.
fn same_views(a: &mut EngineSource, b: &mut EngineSource, what: &str) {
    assert_eq!(a.packet_count(), b.packet_count(), "{what}: packets");
    assert_eq!(a.conns(), b.conns(), "{what}: connections");
    assert_eq!(a.dns_rows(), b.dns_rows(), "{what}: dns");
    assert_eq!(a.http_rows(), b.http_rows(), "{what}: http");
    assert_eq!(a.story(), b.story(), "{what}: story");
    assert_eq!(a.status().error, b.status().error, "{what}: error");
    let n = a.packet_count();
    let picks: Vec<usize> = (0..n)
        .step_by((n / 40).max(1))
        .chain(n.checked_sub(1))
        .collect();
    for &i in &picks {
        assert_eq!(a.packet_row(i), b.packet_row(i), "{what}: row {i}");
        assert_eq!(a.packet_detail(i), b.packet_detail(i), "{what}: detail {i}");
    }
    let ids: Vec<u32> = a.conns().iter().map(|r| r.id).collect();
    for &c in ids.iter().step_by((ids.len() / 20).max(1)) {
        assert_eq!(a.conn_detail(c), b.conn_detail(c), "{what}: conn {c}");
        assert_eq!(a.follow(c), b.follow(c), "{what}: follow {c}");
    }
    // A display filter and a focus read the filter index and the records.
    for f in [
        "tcp",
        "dns || http",
        "tcp.analysis.flags",
        "conn.state == \"SF\"",
    ] {
        if a.check_filter(f).is_err() {
            continue;
        }
        assert_eq!(a.apply_filter(f), b.apply_filter(f), "{what}: {f}");
        assert_eq!(a.packet_count(), b.packet_count(), "{what}: {f}: packets");
        assert_eq!(a.conns(), b.conns(), "{what}: {f}: connections");
        assert_eq!(a.http_rows(), b.http_rows(), "{what}: {f}: http");
        assert_eq!(a.story(), b.story(), "{what}: {f}: story");
    }
    let _ = (a.apply_filter(""), b.apply_filter(""));
    if let Some(&c) = ids.first() {
        a.focus_conn(Some(c));
        b.focus_conn(Some(c));
        assert_eq!(a.packet_count(), b.packet_count(), "{what}: focus {c}");
        assert_eq!(a.story(), b.story(), "{what}: focus {c} story");
        a.focus_conn(None);
        b.focus_conn(None);
    }
}

fn second_open_is_a_hit(path: &Path) {
    let d = tempfile::tempdir().unwrap();
    let mut first = opened(path, d.path());
    assert!(!first.from_cache(), "{}", path.display());
    assert_eq!(first.cache_note(), None);
    entry(d.path());
    let mut again = opened(path, d.path());
    assert!(again.from_cache(), "{}: second open", path.display());
    same_views(&mut first, &mut again, &path.display().to_string());
    // And against no cache at all.
    let mut plain = EngineSource::open_file(path).unwrap();
    assert!(plain.wait_done(Duration::from_secs(60)));
    same_views(&mut plain, &mut again, &path.display().to_string());
}

#[test]
fn second_open_is_a_hit_on_the_bundled_captures() {
    for name in [
        "lab-page.pcap",
        "lab-curl.pcap",
        "lab-https-page.pcapng",
        "lab-h3-page.pcapng",
    ] {
        second_open_is_a_hit(&bundled_capture(name));
    }
}

#[test]
fn second_open_is_a_hit_on_shared_captures() {
    for rel in [
        "zeek/http-206_example_b.pcap",
        "zeek/ipv4-fragmented-4.pcap",
        "zeek/pcapng-multi-interface.pcapng",
        "zeek/tls-chrome-34-google.pcap",
        "tcpdump/dns_tcp.pcap",
        "zeek/empty.pcap",
    ] {
        second_open_is_a_hit(&shared_capture(rel));
    }
}

/// A damaged capture (cut in a packet): the same error line from the cache.
#[test]
fn a_damaged_capture_keeps_its_error_from_the_cache() {
    let d = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(bundled_capture("lab-curl.pcap")).unwrap();
    let p = d.path().join("cut.pcap");
    std::fs::write(&p, &bytes[..bytes.len() - 7]).unwrap();
    let cache = d.path().join("cache");
    let mut a = opened(&p, &cache);
    let mut b = opened(&p, &cache);
    assert!(b.from_cache());
    assert!(a.status().error.is_some());
    same_views(&mut a, &mut b, "cut");
}

fn copy_to(dir: &Path) -> PathBuf {
    let p = dir.join("lab-page.pcap");
    std::fs::copy(bundled_capture("lab-page.pcap"), &p).unwrap();
    p
}

#[test]
fn a_changed_file_is_analysed_again() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let p = copy_to(d.path());
    opened(&p, &cache);
    assert!(opened(&p, &cache).from_cache());
    // Touched: the same bytes, a new modification time.
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    let set = |t| {
        std::fs::File::options()
            .append(true)
            .open(&p)
            .unwrap()
            .set_modified(t)
            .unwrap()
    };
    set(later);
    let s = opened(&p, &cache);
    assert!(!s.from_cache(), "touched");
    assert_eq!(
        s.cache_note(),
        None,
        "a stale entry is replaced without a word"
    );
    assert!(opened(&p, &cache).from_cache(), "the new entry serves");
    // Rewritten with the same size and the same modification time: a byte of the
    // last packet changed.
    let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&p).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x55;
    std::fs::write(&p, &bytes).unwrap();
    set(mtime);
    let s = opened(&p, &cache);
    assert!(!s.from_cache(), "rewritten, same size and time");
    let row = s.packet_detail(s.packet_count() - 1);
    assert_eq!(
        row.bytes.last_chunk::<3>().unwrap()[0],
        bytes[n - 3],
        "new bytes read"
    );
    // Appended: a packet more.
    let first_record = 24 + 16 + u32::from_le_bytes(bytes[32..36].try_into().unwrap()) as usize;
    let mut longer = bytes.clone();
    longer.extend_from_slice(&bytes[24..first_record]);
    std::fs::write(&p, &longer).unwrap();
    let s = opened(&p, &cache);
    assert!(!s.from_cache(), "appended");
    assert_eq!(s.packet_count(), 176);
    assert_eq!(entry(&cache), entry(&cache), "one entry per path");
}

#[test]
fn a_corrupt_or_truncated_entry_is_ignored_said_and_rebuilt() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let p = copy_to(d.path());
    let mut good = opened(&p, &cache);
    let e = entry(&cache);
    let whole = std::fs::read(&e).unwrap();
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let damage: [(&str, Damage); 4] = [
        (
            "flipped",
            Box::new(|b: &mut Vec<u8>| {
                let i = b.len() * 2 / 3;
                b[i] ^= 0xff;
            }),
        ),
        (
            "truncated",
            Box::new(|b: &mut Vec<u8>| b.truncate(b.len() / 2)),
        ),
        ("header cut", Box::new(|b: &mut Vec<u8>| b.truncate(10))),
        (
            "foreign",
            Box::new(|b: &mut Vec<u8>| {
                *b = b"PK\x03\x04 not an index at all".to_vec();
            }),
        ),
    ];
    for (what, f) in damage {
        let mut b = whole.clone();
        f(&mut b);
        std::fs::write(&e, &b).unwrap();
        let mut s = opened(&p, &cache);
        assert!(!s.from_cache(), "{what}");
        let note = s.cache_note().unwrap_or_default();
        assert!(note.starts_with("index cache ignored"), "{what}: {note}");
        assert!(
            s.status()
                .notice
                .unwrap_or_default()
                .contains("index cache ignored"),
            "{what}: on the status line"
        );
        same_views(&mut good, &mut s, what);
        let mut again = opened(&p, &cache);
        assert!(again.from_cache(), "{what}: rebuilt");
        assert_eq!(again.cache_note(), None, "{what}: said once");
        same_views(&mut good, &mut again, what);
    }
}

#[test]
fn an_unwritable_cache_directory_is_no_error() {
    let d = tempfile::tempdir().unwrap();
    // A regular file where the directory should be: nothing can be created under it
    // (root ignores permission bits, not this).
    let blocker = d.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let cache = blocker.join("wiretale");
    let p = copy_to(d.path());
    let s = opened(&p, &cache);
    assert_eq!(s.packet_count(), 175);
    let note = s.cache_note().unwrap_or_default();
    assert!(note.starts_with("index not saved"), "{note}");
    assert!(!opened(&p, &cache).from_cache());
}

#[test]
fn stdin_gzip_and_no_cache_write_nothing() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    // gzip: a saved index could not point into the spooled bytes.
    let gz = d.path().join("lab-page.pcap.gz");
    {
        use std::io::Write;
        let mut w = flate2_writer(&gz);
        w.write_all(&std::fs::read(bundled_capture("lab-page.pcap")).unwrap())
            .unwrap();
    }
    let s = opened(&gz, &cache);
    assert_eq!(s.packet_count(), 175);
    assert!(!cache.exists(), "nothing written for gzip");
    // No cache asked (what `--no-cache` gives): `open_file` writes nothing anywhere.
    let p = copy_to(d.path());
    let mut s = EngineSource::open_file(&p).unwrap();
    assert!(s.wait_done(Duration::from_secs(30)));
    s.wait_saved();
    assert!(!cache.exists());
}

/// A gzip writer without a dependency of the TUI's own: the engine's reader is tested
/// elsewhere; here any valid gzip will do (stored blocks).
fn flate2_writer(p: &Path) -> impl std::io::Write {
    struct Gz {
        out: std::fs::File,
        data: Vec<u8>,
    }
    impl std::io::Write for Gz {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.data.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Drop for Gz {
        fn drop(&mut self) {
            use std::io::Write;
            let mut v = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
            let chunks: Vec<&[u8]> = self.data.chunks(65_535).collect();
            for (i, c) in chunks.iter().enumerate() {
                v.push(u8::from(i + 1 == chunks.len()));
                let n = c.len() as u16;
                v.extend_from_slice(&n.to_le_bytes());
                v.extend_from_slice(&(!n).to_le_bytes());
                v.extend_from_slice(c);
            }
            v.extend_from_slice(&crc32fast::hash(&self.data).to_le_bytes());
            v.extend_from_slice(&(self.data.len() as u32).to_le_bytes());
            let _ = self.out.write_all(&v);
        }
    }
    Gz {
        out: std::fs::File::create(p).unwrap(),
        data: Vec::new(),
    }
}

/// How long each part of a hit takes on a big file (prints, asserts nothing timed):
/// `WIRETALE_BENCH_FILE=/var/tmp/wiretale-bench/manyflows.pcap cargo test --release -p
/// wiretale-tui -- --ignored --nocapture cache_load_phases`.
#[test]
#[ignore = "benchmark: needs WIRETALE_BENCH_FILE"]
fn cache_load_phases() {
    let Some(p) = std::env::var_os("WIRETALE_BENCH_FILE").map(PathBuf::from) else {
        panic!("set WIRETALE_BENCH_FILE");
    };
    let d = tempfile::tempdir().unwrap();
    let t = std::time::Instant::now();
    let s = opened(&p, d.path());
    eprintln!("analysed and saved: {:.2} s", t.elapsed().as_secs_f64());
    drop(s);
    let key = super::cache::FileKey::of(&p).unwrap();
    let t = std::time::Instant::now();
    let bytes = std::fs::read(entry(d.path())).unwrap();
    eprintln!(
        "read {} MB: {:.3} s",
        bytes.len() >> 20,
        t.elapsed().as_secs_f64()
    );
    let (t, c) = (std::time::Instant::now(), cpu());
    let body = super::cache::load(d.path(), &key).ok().unwrap();
    eprintln!(
        "load (read, check, decode): {:.3} s, CPU {:.3} s",
        t.elapsed().as_secs_f64(),
        cpu() - c
    );
    let t = std::time::Instant::now();
    drop(body);
    eprintln!("drop: {:.3} s", t.elapsed().as_secs_f64());
    let (t, c) = (std::time::Instant::now(), cpu());
    let mut s = EngineSource::open_file_cached(&p, d.path()).unwrap();
    assert!(s.wait_done(Duration::from_secs(60)));
    assert!(s.from_cache());
    eprintln!(
        "hit, whole view: {:.3} s, CPU {:.3} s",
        t.elapsed().as_secs_f64(),
        cpu() - c
    );
}

/// CPU seconds (user + system) of this process so far, from /proc/self/stat.
fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = s.rsplit_once(')').map_or("", |x| x.1);
    let f: Vec<f64> = after
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // Fields 14 and 15 (utime, stime): the state (field 3) is not a number, so they
    // are the 11th and 12th numbers after the ')'.
    (f.get(10).copied().unwrap_or(0.0) + f.get(11).copied().unwrap_or(0.0)) / 100.0
}

/// A file that grows while it is analysed is not saved under the identity it had when
/// the analysis started (the next open must see the packets appended since).
#[test]
fn a_file_that_changed_during_the_analysis_is_not_saved() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let p = copy_to(d.path());
    let bytes = std::fs::read(&p).unwrap();
    let mut s = EngineSource::open_file_cached(&p, &cache).unwrap();
    // The store has mapped the file; make it longer before the worker reads its key.
    let mut f = std::fs::File::options().append(true).open(&p).unwrap();
    use std::io::Write;
    f.write_all(&bytes[24..]).unwrap();
    drop(f);
    assert!(s.wait_done(Duration::from_secs(30)));
    s.wait_saved();
    assert_eq!(s.packet_count(), 175, "the mapped length");
    let again = opened(&p, &cache);
    assert!(!again.from_cache());
    assert_eq!(again.packet_count(), 350);
}
