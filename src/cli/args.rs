//! Command-line arguments (clap). `wiretale FILE` opens the TUI; subcommands are the
//! batch face, each printing text for people or JSON Lines (`--json`) for programs.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "wiretale",
    version,
    about = "Tells the browser-to-server story of a capture: DNS lookups, TCP connections, HTTP exchanges",
    long_about = "Tells the browser-to-server story of a capture: DNS lookups, TCP connections, HTTP exchanges.\n\n\
                  `wiretale FILE` (or `-` for standard input) opens the terminal UI on a pcap/pcapng file;\n\
                  `wiretale -i IFACE` captures live in the terminal UI. The subcommands print the same\n\
                  analysis as text or JSON Lines.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Capture file to open in the TUI (pcap, pcapng, .gz, or - for standard input).
    pub file: Option<PathBuf>,

    /// Capture live on this interface in the TUI.
    #[arg(short = 'i', long = "interface")]
    pub interface: Option<String>,

    /// Capture filter (BPF syntax, as tcpdump), applied while capturing or reading.
    #[arg(short = 'f', long = "capture-filter")]
    pub bpf: Option<String>,

    /// Save live-captured packets to this file.
    #[arg(short = 'w', long = "write")]
    pub write: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// One line per packet, like tshark's default output.
    Packets(PacketsArgs),
    /// One record per connection (TCP, UDP, ICMP echo), in order of first packet.
    Conns(FileArgs),
    /// The reassembled conversation of one connection, turn by turn.
    Follow(FollowArgs),
    /// One record per DNS transaction (query paired with its response).
    Dns(FileArgs),
    /// One record per HTTP request/response exchange.
    Http(FileArgs),
    /// The browser-to-server story: lookups, connects, requests, responses, closes
    ///
    /// Each page load is one story, from the lookup or connection that leads to its
    /// document to its last close. What happened meanwhile but led to none of its
    /// exchanges (a browser's own service lookups, mDNS/LLMNR/NetBIOS chatter) is told
    /// apart as "background", each name's repeated lookups folded into one line.
    ///
    /// Under each close, "phases:" gives the connection's timeline:
    ///   dns         the lookup that named the connection: query → answer
    ///   wait        answer → the client's SYN (the client's own delay)
    ///   connect     the TCP handshake: SYN → the client's ACK
    ///   tls         TLS hello: Client Hello → Server Hello (or first encrypted data)
    ///   request     first → last byte of the first request
    ///   first byte  last request byte → first response byte
    ///   transfer    first → last byte of the first response
    ///   idle        last payload byte → the first FIN or RST
    ///   close       first FIN or RST → the connection's last packet
    /// Under a millisecond in µs. A connection that never closed is told as "open"
    /// (still open at the end of the capture).
    #[command(verbatim_doc_comment)]
    Story(FileArgs),
    /// Capture live and print the story, packets or connections as they happen.
    Capture(CaptureArgs),
    /// List capture devices with their addresses and state.
    Interfaces,
    /// Write the packets that match a display filter to a new pcap or pcapng file.
    Export(ExportArgs),
}

/// Options every file-reading subcommand shares.
#[derive(Args, Debug, Clone)]
pub struct FileArgs {
    /// Capture file (pcap, pcapng, .gz, or - for standard input).
    pub file: PathBuf,
    /// Print JSON Lines (one object per line) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Display filter (Wireshark syntax), e.g. 'ip.addr == 198.18.0.10 && tcp.port == 80'.
    #[arg(short = 'Y', long = "display-filter")]
    pub filter: Option<String>,
    /// Capture filter (BPF syntax) applied while reading the file.
    #[arg(short = 'f', long = "capture-filter")]
    pub bpf: Option<String>,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}

#[derive(Args, Debug)]
pub struct PacketsArgs {
    #[command(flatten)]
    pub common: FileArgs,
    /// Stop after this many packets.
    #[arg(short = 'c', long = "count")]
    pub count: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Side {
    Client,
    Server,
}

#[derive(Args, Debug)]
pub struct FollowArgs {
    #[command(flatten)]
    pub common: FileArgs,
    /// Connection id (the `id` column of `wiretale conns`).
    #[arg(long = "conn")]
    pub conn: u32,
    /// Write one side's raw bytes to standard output (use with --side).
    #[arg(long, conflicts_with_all = ["hex", "json"])]
    pub raw: bool,
    /// Show the bytes as a hex dump.
    #[arg(long, conflicts_with = "json")]
    pub hex: bool,
    /// Only this side's bytes.
    #[arg(long, value_enum)]
    pub side: Option<Side>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LiveOutput {
    Story,
    Packets,
    Conns,
}

#[derive(Args, Debug)]
pub struct CaptureArgs {
    /// Interface to capture on (see `wiretale interfaces`).
    #[arg(short = 'i', long = "interface")]
    pub interface: String,
    /// Capture filter (BPF syntax).
    #[arg(short = 'f', long = "capture-filter")]
    pub bpf: Option<String>,
    /// Save the captured packets to this pcap file.
    #[arg(short = 'w', long = "write")]
    pub write: Option<PathBuf>,
    /// Stop after this many packets.
    #[arg(short = 'c', long = "count")]
    pub count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Print the story as it happens (the default).
    #[arg(long, group = "what")]
    pub story: bool,
    /// Print packets as they arrive.
    #[arg(long, group = "what")]
    pub packets: bool,
    /// Print connections as they end.
    #[arg(long, group = "what")]
    pub conns: bool,
    /// Print JSON Lines.
    #[arg(long)]
    pub json: bool,
    /// Print nothing but errors and the final statistics (with -w).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Drop root privileges to this user right after opening the device.
    #[arg(short = 'Z', long = "user")]
    pub user: Option<String>,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Capture file to read.
    pub file: PathBuf,
    /// Display filter selecting the packets to write.
    #[arg(short = 'Y', long = "display-filter")]
    pub filter: String,
    /// Output file; `.pcapng` writes pcapng (interfaces and comments kept), else pcap.
    #[arg(short = 'w', long = "write")]
    pub out: PathBuf,
}
