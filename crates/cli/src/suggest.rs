//! "Did you mean …?" for a mistyped subcommand.
//!
//! `wiretale FILE` opens the TUI, so clap takes any bare first word for a file name:
//! `wiretale conn x.pcap` would only say "the argument '[FILE]' cannot be used with …".
//! Before clap parses, a first word that is neither a subcommand nor an existing path,
//! and is close to a subcommand (a prefix of it, or one or two edits away), is reported
//! as a mistyped command with the closest name.

use std::ffi::OsString;
use std::path::Path;

/// The message for a mistyped subcommand in `args` (program name first), or `None` when
/// the first word that is not an option is a subcommand, an existing path, or close to
/// nothing. `valued` lists the top-level options that take a value (`-i`, `--write`…),
/// so `wiretale -f tcp conn` looks at `conn`, not at `tcp`.
pub fn mistyped(args: &[OsString], commands: &[String], valued: &[String]) -> Option<String> {
    let mut rest = args.iter().skip(1);
    let word = loop {
        let a = rest.next()?.to_str()?;
        if a == "--" {
            break rest.next()?.to_str()?;
        }
        if valued.iter().any(|v| v == a) {
            rest.next();
        } else if !a.starts_with('-') || a == "-" {
            break a;
        }
    };
    if word == "-" || commands.iter().any(|c| c == word) || Path::new(word).exists() {
        return None;
    }
    let best = closest(word, commands)?;
    Some(format!(
        "no such file or command '{}'; did you mean 'wiretale {best}'? (`wiretale --help` lists the commands)",
        wiretale_engine::base::escape::escape_str(word)
    ))
}

/// The command `word` most likely meant: an exact prefix either way (`conn` → `conns`,
/// `packet` → `packets`, `follows` → `follow`) of at least 3 letters, else the nearest
/// within 1 edit for short words and 2 for longer ones (Damerau: a swap is one edit).
fn closest<'a>(word: &str, commands: &'a [String]) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    if w.len() >= 3 {
        let mut prefixed = commands
            .iter()
            .filter(|c| c.starts_with(&w) || w.starts_with(c.as_str()));
        if let (Some(one), None) = (prefixed.next(), prefixed.next()) {
            return Some(one);
        }
    }
    let max = if w.chars().count() <= 4 { 1 } else { 2 };
    commands
        .iter()
        .map(|c| (distance(&w, c), c))
        .filter(|(d, _)| *d <= max)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

/// Optimal string alignment distance (insertions, deletions, substitutions and swaps
/// of neighbours each cost 1).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds() -> Vec<String> {
        [
            "packets",
            "conns",
            "follow",
            "dns",
            "http",
            "story",
            "capture",
            "interfaces",
            "export",
            "help",
        ]
        .map(String::from)
        .to_vec()
    }

    fn args(w: &str) -> Vec<OsString> {
        vec!["wiretale".into(), w.into(), "x.pcap".into()]
    }

    fn valued() -> Vec<String> {
        [
            "-i",
            "--interface",
            "-f",
            "--capture-filter",
            "-w",
            "--write",
        ]
        .map(String::from)
        .to_vec()
    }

    fn mistyped(a: &[OsString], c: &[String]) -> Option<String> {
        super::mistyped(a, c, &valued())
    }

    #[test]
    fn options_before_the_word_are_skipped_with_their_values() {
        let c = cmds();
        let a: Vec<OsString> = ["wiretale", "-f", "tcp", "conn", "x.pcap"]
            .map(OsString::from)
            .to_vec();
        assert!(mistyped(&a, &c).unwrap().contains("'wiretale conns'"));
        let a: Vec<OsString> = ["wiretale", "-i", "story"].map(OsString::from).to_vec();
        assert_eq!(mistyped(&a, &c), None, "an interface named like a command");
    }

    #[test]
    fn near_words_get_the_command_they_meant() {
        let c = cmds();
        for (typed, meant) in [
            ("conn", "conns"),
            ("pakets", "packets"),
            ("packet", "packets"),
            ("stroy", "story"),
            ("folow", "follow"),
            ("follows", "follow"),
            ("htp", "http"),
            ("dsn", "dns"),
            ("exprot", "export"),
            ("interface", "interfaces"),
            ("captur", "capture"),
            ("Conns", "conns"),
        ] {
            let m = mistyped(&args(typed), &c).unwrap_or_else(|| panic!("{typed}: no hint"));
            assert!(
                m.contains(&format!("did you mean 'wiretale {meant}'?")),
                "{typed}: {m}"
            );
        }
    }

    #[test]
    fn files_options_commands_and_far_words_are_left_to_clap() {
        let c = cmds();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("conn");
        std::fs::write(&file, b"").unwrap();
        for a in [
            args(file.to_str().unwrap()),
            args("-i"),
            args("--version"),
            args("conns"),
            args("-"),
            args("trace.pcap"),
            args("zz"),
            vec!["wiretale".into()],
        ] {
            assert_eq!(mistyped(&a, &c), None, "{a:?}");
        }
    }

    #[test]
    fn distance_counts_swaps_once() {
        assert_eq!(distance("story", "stroy"), 1);
        assert_eq!(distance("", "dns"), 3);
        assert_eq!(distance("http", "http"), 0);
        assert_eq!(distance("conns", "dns"), 3);
    }

    #[test]
    fn hostile_words_are_escaped() {
        let m = mistyped(&args("con\x1b[2J"), &cmds());
        assert!(m.is_none_or(|m| !m.contains('\x1b')));
        let m = mistyped(&args("conn\x1b"), &cmds()).unwrap();
        assert!(!m.contains('\x1b') && m.contains("conn\\x1b"), "{m}");
    }
}
