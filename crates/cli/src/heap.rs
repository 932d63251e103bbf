//! glibc's malloc, set for the TUI on a file so that its memory follows what it holds
//! rather than what it freed on the way.
//!
//! glibc serves an allocation of at least `mmap_threshold` bytes (128 KiB at first) with
//! its own `mmap`, and gives it back to the system when freed. But freeing such a
//! chunk raises the threshold to the chunk's size (up to 32 MiB): once a 20 MB `Vec`
//! of a sweep's finished connections has been freed, every later allocation under
//! 20 MB comes from the main heap, which is only given back from its top. wiretale
//! frees such vectors all the time (the story's per-client groupings, the records of a
//! sweep, the end's chunks), so the heap fills with freed room that the next
//! allocations do not fit: `story` on manyflows ×4 (the capture four times over)
//! peaked 254 MB against 189 MB on manyflows alone, although the live heap grew by
//! only 18 MB (heaptrack). A fixed threshold keeps large allocations out of the main
//! heap: 203 MB against 176 MB; the TUI on manyflows holds 397 MB instead of 544 once
//! analysed (docs/performance.md, sixth round). The price is time (every large block's
//! pages mapped and zeroed anew): ~5 % for the TUI, 20–40 % for the batch commands,
//! which therefore are left as they are (`tuned_malloc` in `lib.rs`).
//!
//! The threshold is a tunable (`mallopt` would need `unsafe` and the C library
//! binding): the process runs itself again, at once, with `GLIBC_TUNABLES` set. It is
//! the same process (exec keeps the pid, the open files and the arguments); a
//! `GLIBC_TUNABLES` the user set is left alone, and [`MARK`] (set for the second run)
//! stops a second exec, also where glibc ignores the tunables (a setuid or setcap
//! binary). Setting [`MARK`] by hand turns this off.

use std::ffi::OsString;

/// Set in the environment of the process run again (or by a user: no tuning).
pub const MARK: &str = "WIRETALE_MALLOC_TUNED";

/// What glibc is told: allocations of 128 KiB and more are mapped on their own and
/// given back when freed, whatever was freed before (`mallopt(M_MMAP_THRESHOLD)`; a
/// fixed threshold also stops its dynamic adjustment).
pub const TUNABLES: &str = "glibc.malloc.mmap_threshold=131072";

/// The environment to run again with, or None to run as we are: `var` reads the
/// environment. None once tuned (or told not to), and when the user set
/// `GLIBC_TUNABLES` (theirs wins).
pub fn retune(var: impl Fn(&str) -> Option<OsString>) -> Option<[(&'static str, &'static str); 2]> {
    if var(MARK).is_some() || var("GLIBC_TUNABLES").is_some() {
        return None;
    }
    Some([("GLIBC_TUNABLES", TUNABLES), (MARK, "1")])
}

/// Runs this program again with the tuned malloc when [`retune`] says so; returns only
/// when it does not (or when the exec failed: the command then runs untuned).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn settle(args: &[OsString]) {
    use std::os::unix::process::CommandExt;
    let Some(env) = retune(|k| std::env::var_os(k)) else {
        return;
    };
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut cmd = std::process::Command::new(exe);
    if let Some((arg0, rest)) = args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    // Returns only on failure (the file replaced or gone): go on untuned.
    let _ = cmd.exec();
}

/// Other systems: nothing to tune.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn settle(_args: &[OsString]) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    /// Run again once with the threshold and the mark; never again once marked, and
    /// never over the user's own tunables.
    #[test]
    fn runs_again_once_and_leaves_the_users_tunables_alone() {
        let first = retune(env(&[("HOME", "/root")])).expect("untuned: run again");
        assert!(first.contains(&("GLIBC_TUNABLES", TUNABLES)));
        assert!(first.iter().any(|(k, _)| *k == MARK));
        // The second run sees the mark (glibc may have dropped GLIBC_TUNABLES).
        assert_eq!(retune(env(&[(MARK, "1")])), None);
        assert_eq!(
            retune(env(&[("GLIBC_TUNABLES", "glibc.malloc.arena_max=1")])),
            None
        );
    }
}
