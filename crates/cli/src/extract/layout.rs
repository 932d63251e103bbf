//! Where the files go: `DIR/<table>/date=YYYY-MM-DD/capture=<NAME>/part-<I>.parquet`
//! (Hive-style partitions, which DuckDB, Spark, Trino, Athena and ClickHouse prune on),
//! written under a temporary name in the same directory and renamed when complete, and
//! the temporaries that Ctrl-C removes.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The partition value of a capture: its file name (`stdin` for `-`).
pub fn capture_name(file: &Path) -> String {
    if file.as_os_str() == "-" {
        return "stdin".to_string();
    }
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.to_string_lossy().into_owned())
}

/// Hive's escaping of a partition value (`FileUtils.escapePathName`): `%XX` for the
/// characters a path or a partition spec gives a meaning to (`/ = % : ? # * " ' \ [ ] ^
/// { }` and DEL) and for control characters; everything else (UTF-8 too) as it is.
/// Spark and Hive unescape it; DuckDB reads the escaped form (docs/lake.md).
pub fn hive_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        let special = matches!(
            c,
            '"' | '#'
                | '%'
                | '\''
                | '*'
                | '/'
                | ':'
                | '='
                | '?'
                | '\\'
                | '\x7f'
                | '{'
                | '}'
                | '['
                | ']'
                | '^'
        ) || (c as u32) < 0x20;
        if special {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    // `.` and `..` are not directories one can name.
    if out == "." || out == ".." {
        return out.replace('.', "%2E");
    }
    out
}

/// The UTC date (`YYYY-MM-DD`) of a time in seconds since the epoch.
pub use wiretale_engine::base::time::utc_date;

/// The directory of one table's part for one capture.
pub fn part_dir(out: &Path, table: &str, date: &str, capture: &str) -> PathBuf {
    out.join(table)
        .join(format!("date={date}"))
        .join(format!("capture={}", hive_escape(capture)))
}

pub fn part_file(dir: &Path, part: u32) -> PathBuf {
    dir.join(format!("part-{part}.parquet"))
}

/// The temporary name a part is written under until it is complete.
pub fn temp_file(dir: &Path, part: u32) -> PathBuf {
    dir.join(format!(".part-{part}.parquet.tmp-{}", std::process::id()))
}

/// Temporaries being written, removed on Ctrl-C.
static TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

pub fn register_temp(p: &Path) {
    if let Ok(mut t) = TEMPS.lock() {
        t.push(p.to_path_buf());
    }
}

/// Renames a finished temporary to its final name (under the registry's lock, so that
/// Ctrl-C sees either the temporary or the complete file).
pub fn publish(temp: &Path, dest: &Path) -> std::io::Result<()> {
    let mut t = TEMPS.lock().unwrap_or_else(|e| e.into_inner());
    let r = std::fs::rename(temp, dest);
    t.retain(|p| p != temp);
    r
}

/// Removes a temporary that will not be published (an error on the way).
pub fn discard(temp: &Path) {
    let mut t = TEMPS.lock().unwrap_or_else(|e| e.into_inner());
    let _ = std::fs::remove_file(temp);
    t.retain(|p| p != temp);
}

/// Ctrl-C (and SIGTERM): remove every temporary and exit 130. Holding the lock until
/// the exit means no rename can slip in after the removal.
pub fn on_interrupt() {
    let t = TEMPS.lock().unwrap_or_else(|e| e.into_inner());
    for p in t.iter() {
        let _ = std::fs::remove_file(p);
    }
    eprintln!("wiretale: interrupted; no partial files left");
    std::process::exit(130);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_are_escaped_as_hive_does() {
        assert_eq!(hive_escape("web.pcap"), "web.pcap");
        assert_eq!(hive_escape("a/b=c%d:e.pcap"), "a%2Fb%3Dc%25d%3Ae.pcap");
        assert_eq!(hive_escape("tab\there"), "tab%09here");
        assert_eq!(hive_escape("ünï cödé.pcap"), "ünï cödé.pcap");
        assert_eq!(hive_escape(".."), "%2E%2E");
    }

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        // 2026-12-05T23:59:59Z and one second later.
        assert_eq!(utc_date(1_796_515_199), "2026-12-05");
        assert_eq!(utc_date(1_796_515_200), "2026-12-06");
        assert_eq!(utc_date(-1), "1969-12-31");
    }

    #[test]
    fn parts_live_under_table_date_and_capture() {
        let d = part_dir(Path::new("/lake"), "conns", "2026-12-05", "x=y.pcap");
        assert_eq!(
            part_file(&d, 2),
            Path::new("/lake/conns/date=2026-12-05/capture=x%3Dy.pcap/part-2.parquet")
        );
        assert_eq!(capture_name(Path::new("../a/b.pcapng")), "b.pcapng");
        assert_eq!(capture_name(Path::new("-")), "stdin");
    }
}
