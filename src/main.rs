//! `wiretale`: picks the face. A subcommand runs in the CLI; `wiretale FILE` or
//! `wiretale -i IFACE` opens the terminal UI. The faces never import each other: they
//! are separate crates, and only this binary depends on both.

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
