//! The batch command-line face: subcommands that print the analysis as text for people
//! or JSON Lines for programs. Every command reads its file once, streaming, through
//! [`wiretale_engine::analysis::Engine`]; a damaged file prints everything before the damage, then
//! one error line, and exits with status 2.

mod args;
mod capture;
mod conns;
mod dnshttp;
mod export;
mod extract;
mod follow;
mod json;
mod limits;
mod out;
mod packets;
mod privileges;
mod run;
mod select;
mod story;
mod suggest;

use std::io::IsTerminal;

use clap::Parser;

pub use args::{Cli, Command};
pub use extract::parquet_doc;

/// Exit status for "the input was damaged; everything before the damage was printed".
pub const EXIT_DAMAGED: i32 = 2;
/// Exit status for usage and setup errors (missing file, bad filter, no permission).
pub const EXIT_ERROR: i32 = 1;

/// Whether the command prints JSON Lines or raw bytes (never elided nor fitted).
fn json_output(c: Option<&Command>) -> bool {
    match c {
        Some(Command::Packets(a)) => a.common.json,
        Some(Command::Conns(a) | Command::Dns(a) | Command::Http(a) | Command::Story(a)) => a.json,
        Some(Command::Follow(a)) => a.common.json || a.raw,
        Some(Command::Capture(a)) => a.json,
        _ => false,
    }
}

/// What `wiretale [FILE | -i IFACE]` without a subcommand asks of the terminal UI. The
/// CLI parses it; `main` hands it to the TUI (the faces never import each other).
#[derive(Clone, Debug)]
pub struct TuiRequest {
    pub file: Option<std::path::PathBuf>,
    pub interface: Option<String>,
    pub bpf: Option<String>,
    pub write: Option<std::path::PathBuf>,
    /// `--tls-keylog FILE`: decrypt TLS (followed as it grows when capturing live).
    pub tls_keylog: Option<std::path::PathBuf>,
    /// `-B SIZE`: bytes of libpcap's ring for a live capture.
    pub buffer_size: Option<u32>,
    /// `--no-cache`: neither read nor write the TUI's persisted index.
    pub no_cache: bool,
}

/// Parses the command line and runs the command; `wiretale FILE` (no subcommand) goes
/// to `open_tui`. Returns the exit status.
pub fn main(open_tui: impl FnOnce(TuiRequest) -> anyhow::Result<i32>) -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let (commands, valued) = command_names();
    if let Some(msg) = suggest::mistyped(&args, &commands, &valued) {
        eprintln!("wiretale: {msg}");
        return EXIT_ERROR;
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match dispatch(cli, open_tui) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wiretale: {e:#}");
            EXIT_ERROR
        }
    }
}

/// The subcommands' names (and clap's `help`), and the top-level options that take a
/// value (`-i`, `--interface`, …), for [`suggest::mistyped`].
fn command_names() -> (Vec<String>, Vec<String>) {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let mut names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    names.push("help".into());
    let mut valued = Vec::new();
    for a in cmd.get_opts() {
        valued.extend(a.get_short().map(|c| format!("-{c}")));
        valued.extend(a.get_long().map(|l| format!("--{l}")));
    }
    (names, valued)
}

fn dispatch(
    cli: Cli,
    open_tui: impl FnOnce(TuiRequest) -> anyhow::Result<i32>,
) -> anyhow::Result<i32> {
    out::set_width(cli.wide, json_output(cli.command.as_ref()));
    match cli.command {
        Some(Command::Packets(a)) => packets::run(&a),
        Some(Command::Conns(a)) => conns::run(&a),
        Some(Command::Dns(a)) => dnshttp::run_dns(&a),
        Some(Command::Http(a)) => dnshttp::run_http(&a),
        Some(Command::Follow(a)) => follow::run(&a),
        Some(Command::Story(a)) => story::run(&a),
        Some(Command::Capture(a)) => capture::run(&a),
        Some(Command::Interfaces) => capture::interfaces(),
        Some(Command::Export(a)) => export::run(&a),
        Some(Command::Extract(a)) => extract::run(&a),
        None => {
            if cli.file.is_none() && cli.interface.is_none() {
                use clap::CommandFactory;
                Cli::command().print_help()?;
                return Ok(0);
            }
            if !std::io::stdout().is_terminal() {
                eprintln!(
                    "wiretale: the terminal UI needs a terminal; for batch output use \
                     `wiretale packets|conns|dns|http|story|follow FILE` (add --json for JSON Lines)"
                );
                return Ok(EXIT_ERROR);
            }
            open_tui(TuiRequest {
                file: cli.file,
                interface: cli.interface,
                bpf: cli.bpf,
                write: cli.write,
                tls_keylog: cli.tls_keylog,
                buffer_size: cli.buffer_size,
                no_cache: cli.no_cache,
            })
        }
    }
}
