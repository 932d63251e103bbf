//! `wiretale`: picks the face. A subcommand runs in the CLI; `wiretale FILE` or
//! `wiretale -i IFACE` opens the terminal UI. The faces never import each other: they
//! are separate crates, and only this binary depends on both.

/// jemalloc serves every allocation of the program (not of the libraries' tests).
///
/// The analysis makes and frees millions of small, short-lived blocks (a connection's
/// record and its packed forms, the story's groupings and narration), from two or three
/// threads, beside long-lived lists that grow all through a run. Under glibc's malloc a
/// third of `story`'s cycles on many short connections went to the allocator itself
/// (`_int_malloc`, `unlink_chunk`, `malloc_consolidate`), and freed room stayed in each
/// thread's arena, so the TUI had to run itself again with a tunable to keep its memory
/// near what it held. jemalloc's size classes and per-thread caches take ~40 % less CPU
/// for the same work at about the same peak, and give freed pages back to the system
/// on their own (docs/performance.md, eighth round). Its settings are compiled in
/// (`.cargo/config.toml`); `_RJEM_MALLOC_CONF` overrides them at run time.
#[cfg(unix)]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    std::process::exit(wiretale_cli::main(|r| {
        wiretale_tui::main(wiretale_tui::TuiOptions {
            file: r.file,
            interface: r.interface,
            bpf: r.bpf,
            write: r.write,
            tls_keylog: r.tls_keylog,
            buffer_size: r.buffer_size,
            cache: !r.no_cache,
        })
    }));
}
