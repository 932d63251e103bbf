//! `wiretale`: picks the face. A subcommand runs in the CLI; `wiretale FILE` or
//! `wiretale -i IFACE` opens the terminal UI. The faces never import each other.

use wiretale::{cli, tui};

fn main() {
    std::process::exit(cli::main(|r| {
        tui::main(tui::TuiOptions {
            file: r.file,
            interface: r.interface,
            bpf: r.bpf,
            write: r.write,
        })
    }));
}
