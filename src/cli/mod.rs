//! The batch command-line face: subcommands that print the analysis as text for people
//! or JSON Lines for programs. Every command reads its file once, streaming, through
//! [`crate::analysis::Engine`]; a damaged file prints everything before the damage, then
//! one error line, and exits with status 2.

mod args;
mod capture;
mod conns;
mod dnshttp;
mod export;
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

/// Entry point used by `main.rs`; returns the process exit status.
pub fn main() -> i32 {
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
    match dispatch(cli) {
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

fn dispatch(cli: Cli) -> anyhow::Result<i32> {
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
            let opts = crate::tui::TuiOptions {
                file: cli.file,
                interface: cli.interface,
                bpf: cli.bpf,
                write: cli.write,
            };
            // A live capture's file outlives the TUI: say where it is after quitting.
            let mut kept: Option<std::path::PathBuf> = None;
            crate::tui::run_with(opts, |o| {
                let s = crate::tui::engine_source::EngineSource::open(o)?;
                kept = s.capture_file();
                Ok(Box::new(s))
            })?;
            if let Some(p) = kept {
                eprintln!("wiretale: the capture is saved in {}", p.display());
            }
            Ok(0)
        }
    }
}
