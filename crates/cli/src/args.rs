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

    /// Kernel capture buffer for -i (libpcap's ring): KiB as tcpdump's -B, or with a
    /// unit (`64M`, `1G`). Default 32M.
    #[arg(short = 'B', long = "buffer-size", value_name = "SIZE", value_parser = parse_buffer_size)]
    pub buffer_size: Option<u32>,

    /// TLS key log (NSS format, as SSLKEYLOGFILE writes) to decrypt TLS with in the TUI;
    /// live (-i), re-read as the browser appends to it. Keys in a pcapng's Decryption
    /// Secrets Blocks are used without it.
    #[arg(long = "tls-keylog", value_name = "FILE")]
    pub tls_keylog: Option<PathBuf>,

    /// Keep long values and lines whole in text output (no "…", no fit to the terminal
    /// width or to 200 columns in a pipe).
    #[arg(long, global = true)]
    pub wide: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// One line per packet, like tshark's default output.
    ///
    /// `-c N` stops after N matching packets; `-c 0` is refused (as tshark and tcpdump
    /// do): leave `-c` out to print every packet.
    Packets(PacketsArgs),
    /// One record per connection (TCP, UDP, ICMP echo), in order of first packet.
    Conns(FileArgs),
    /// The reassembled conversation of one connection, turn by turn.
    ///
    /// `--conn ID` is the connection id: the `id` column of `wiretale conns`, `#ID` in the
    /// story and the TUI, `conn.id` in filters (not tshark's `tcp.stream`). An id the file
    /// does not have exits with status 1; a connection without payload says so and exits 0.
    ///
    /// HTTP heads and text bodies are shown as sent, compressed text bodies (gzip,
    /// deflate, br) decoded, and other bodies as one line such as `[PNG image, 11,639
    /// bytes]`; `--hex` and `--raw` show every byte. With `--json`, `text` holds every
    /// byte of a turn, escaped once.
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
    ///   connect     the handshake: SYN → the client's ACK (QUIC: Initial → confirmed)
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
    ///
    /// `-w -` writes to standard output (pcap unless `--format pcapng`). The output is
    /// never the input file itself, however it is named (refused with status 1).
    Export(ExportArgs),
    /// Write the records as Parquet tables (conns, dns, http, tls, story; packets when
    /// asked) for DuckDB, Spark and other query engines.
    ///
    /// Layout: DIR/<table>/date=YYYY-MM-DD/capture=<NAME>/part-<I>.parquet (the UTC date
    /// of the capture's first packet, the file's name). Columns are the `--json`
    /// records' fields, nested objects flattened with `_` (docs/schema/parquet.md). An
    /// existing part is refused without --force; Ctrl-C leaves no partial file.
    Extract(ExtractArgs),
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
    /// TLS key log (NSS format, as SSLKEYLOGFILE writes) to decrypt TLS with. Keys in a
    /// pcapng's Decryption Secrets Blocks are used without it.
    #[arg(long = "tls-keylog", value_name = "FILE")]
    pub tls_keylog: Option<PathBuf>,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}

#[derive(Args, Debug)]
pub struct PacketsArgs {
    #[command(flatten)]
    pub common: FileArgs,
    /// Stop after this many matching packets (at least 1; leave it out to print all).
    #[arg(short = 'c', long = "count", value_name = "N", value_parser = parse_count)]
    pub count: Option<u64>,
}

/// `-c N` for `packets` and `capture`: a positive count. `-c 0` is refused, as tshark ("The specified
/// packet count is zero") and tcpdump ("invalid packet count") refuse it, rather than
/// read as "no limit": leaving `-c` out already means all packets, and a zero that
/// printed everything would surprise a script that computed it.
fn parse_count(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("-c 0 would stop before the first packet; leave -c out for no limit".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "not a packet count: {s:?} (a whole number, at least 1)"
        )),
    }
}

/// `-B SIZE` for live capture: bytes of libpcap's ring. A bare number is KiB, as
/// tcpdump's `-B`; `K`, `M`, `G` (KiB, MiB, GiB; `KiB`, `MiB`, `GiB` too) say the unit.
/// libpcap takes an `int`, so 2 GiB and more is refused, as is a ring under 64 KiB
/// (smaller than one of the kernel's blocks holds).
pub fn parse_buffer_size(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        _ => {
            return Err(format!(
                "not a buffer size: {s:?} (KiB, or a number with K, M or G, e.g. 64M)"
            ))
        }
    };
    let n: u64 = num.parse().map_err(|_| {
        format!("not a buffer size: {s:?} (KiB, or a number with K, M or G, e.g. 64M)")
    })?;
    let bytes = n
        .checked_shl(shift)
        .filter(|b| b >> shift == n)
        .unwrap_or(u64::MAX);
    if bytes < 64 << 10 {
        return Err(format!("buffer size {s:?} is under 64K"));
    }
    u32::try_from(bytes)
        .ok()
        .filter(|b| *b <= i32::MAX as u32)
        .ok_or_else(|| format!("buffer size {s:?} is over libpcap's bound (under 2G)"))
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
    /// Connection id: the `id` column of `wiretale conns`, `#N` in the story (`conn.id`).
    #[arg(long = "conn", value_name = "ID")]
    pub conn: u32,
    /// Write the bytes exactly as sent to standard output (use with --side); no body
    /// summaries. A decrypted TLS connection: its TLS plaintext (the application data
    /// records' content, e.g. HTTP/2 frames).
    #[arg(long, conflicts_with_all = ["hex", "json"])]
    pub raw: bool,
    /// Show the bytes as a hex dump (every body byte, no summaries). A decrypted TLS
    /// connection: its TLS plaintext.
    #[arg(long, conflicts_with = "json")]
    pub hex: bool,
    /// Only this side's bytes.
    #[arg(long, value_enum)]
    pub side: Option<Side>,
    /// HTTP/2 (decrypted, or h2c): only this stream's frames and bodies.
    #[arg(long, value_name = "N", conflicts_with_all = ["hex", "raw"])]
    pub stream: Option<u32>,
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
    /// Stop after this many packets (at least 1).
    #[arg(short = 'c', long = "count", value_name = "N", value_parser = parse_count)]
    pub count: Option<u64>,
    /// Kernel capture buffer (libpcap's ring): KiB as tcpdump's -B, or with a unit
    /// (`64M`, `1G`). Default 32M (tcpdump's is 2M). The kernel drops packets only when
    /// the ring is full: a larger one rides out longer stalls at high rates.
    #[arg(short = 'B', long = "buffer-size", value_name = "SIZE", value_parser = parse_buffer_size)]
    pub buffer_size: Option<u32>,
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
    /// TLS key log (NSS format, as SSLKEYLOGFILE writes) to decrypt TLS with; re-read as
    /// the browser appends to it. Keys in a
    /// pcapng's Decryption Secrets Blocks are used without it.
    #[arg(long = "tls-keylog", value_name = "FILE")]
    pub tls_keylog: Option<PathBuf>,
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
    /// Output file, or `-` for standard output; `.pcapng` writes pcapng (interfaces and
    /// comments kept), anything else pcap. Never the input file itself.
    #[arg(short = 'w', long = "write", value_name = "OUT")]
    pub out: PathBuf,
    /// Output format, whatever the name says (default: by the name's extension; pcap
    /// for `-`).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<ExportFormatArg>,
    /// TLS key log (NSS format) whose keys of the exported connections are written into
    /// the pcapng output (with those of the input's Decryption Secrets Blocks), so the
    /// new file decrypts on its own.
    #[arg(long = "tls-keylog", value_name = "FILE")]
    pub tls_keylog: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ExtractArgs {
    /// Capture files (pcap, pcapng, .gz, or - for standard input), extracted
    /// concurrently (one per thread: WIRETALE_THREADS or the cores).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Directory of the tables (made if missing).
    #[arg(long = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Tables to write, comma-separated (default: every one but packets).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "TABLES")]
    pub tables: Option<Vec<super::extract::Table>>,
    /// Replace parts that exist (otherwise refused, naming the file).
    #[arg(long)]
    pub force: bool,
    /// Task I of N over one capture: only the connections whose flow key hashes to I
    /// (ids written as local id × N + I, so parts never collide; part-I.parquet).
    #[arg(long, value_name = "I/N", value_parser = super::extract::parse_split)]
    pub split: Option<super::extract::Split>,
    /// Display filter (Wireshark syntax): the records the JSON commands keep with -Y.
    #[arg(short = 'Y', long = "display-filter")]
    pub filter: Option<String>,
    /// Capture filter (BPF syntax) applied while reading.
    #[arg(short = 'f', long = "capture-filter")]
    pub bpf: Option<String>,
    /// TLS key log (NSS format, as SSLKEYLOGFILE writes) to decrypt TLS with.
    #[arg(long = "tls-keylog", value_name = "FILE")]
    pub tls_keylog: Option<PathBuf>,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    Pcap,
    Pcapng,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every subcommand's `--help`: the limit flags, and only they, are under the
    /// "Limits" heading; every other option is under the default "Options".
    #[test]
    fn help_groups_each_command_options_apart_from_the_limits() {
        let limit_ids: Vec<String> =
            super::super::limits::LimitArgs::augment_args(clap::Command::new("l"))
                .get_arguments()
                .map(|a| a.get_id().to_string())
                .collect();
        assert_eq!(limit_ids.len(), 7);
        let mut cmd = Cli::command();
        cmd.build();
        let mut checked = 0;
        for sub in cmd.get_subcommands() {
            let mut limits_seen = 0;
            for arg in sub.get_arguments() {
                let id = arg.get_id().as_str();
                let heading = arg.get_help_heading();
                if limit_ids.iter().any(|l| l == id) {
                    assert_eq!(heading, Some(super::super::limits::HEADING), "{id}");
                    limits_seen += 1;
                } else {
                    assert_eq!(
                        heading,
                        None,
                        "{} {id} is under {heading:?}",
                        sub.get_name()
                    );
                }
            }
            assert!(limits_seen == 0 || limits_seen == limit_ids.len());
            // The rendered help agrees: nothing but limit flags after the heading.
            let help = sub.clone().render_help().to_string();
            if let Some((_, after)) = help.split_once(super::super::limits::HEADING) {
                for line in after.lines().filter(|l| l.trim_start().starts_with('-')) {
                    assert!(
                        line.contains("--max-") || line.contains("--tcp-idle-timeout"),
                        "{}: {line}",
                        sub.get_name()
                    );
                }
            }
            checked += 1;
        }
        assert!(checked >= 9);
    }

    #[test]
    fn packet_count_zero_is_refused_and_positive_counts_parse() {
        let e = Cli::try_parse_from(["wiretale", "packets", "-c", "0", "x.pcap"]).unwrap_err();
        assert!(e.to_string().contains("leave -c out"), "{e}");
        let c = Cli::try_parse_from(["wiretale", "packets", "-c", "3", "x.pcap"]).unwrap();
        let Some(Command::Packets(p)) = c.command else {
            panic!("packets")
        };
        assert_eq!(p.count, Some(3));
        assert!(parse_count("-1").is_err() && parse_count("x").is_err());
        let e = Cli::try_parse_from(["wiretale", "capture", "-i", "lo", "-c", "0"]).unwrap_err();
        assert!(e.to_string().contains("leave -c out"), "{e}");
    }

    #[test]
    fn buffer_sizes_are_kib_as_tcpdump_or_carry_a_unit() {
        assert_eq!(parse_buffer_size("2048"), Ok(2 << 20));
        assert_eq!(parse_buffer_size("64K"), Ok(64 << 10));
        assert_eq!(parse_buffer_size("32M"), Ok(32 << 20));
        assert_eq!(parse_buffer_size("32mib"), Ok(32 << 20));
        assert_eq!(parse_buffer_size("1G"), Ok(1 << 30));
        assert_eq!(parse_buffer_size(" 8 MiB "), Ok(8 << 20));
        for bad in [
            "",
            "M",
            "-1",
            "1.5M",
            "12X",
            "63",
            "2G",
            "99999999999999999999",
            "4194304G",
        ] {
            assert!(parse_buffer_size(bad).is_err(), "{bad:?} accepted");
        }
        let c = Cli::try_parse_from(["wiretale", "capture", "-i", "lo", "-B", "128M"]).unwrap();
        let Some(Command::Capture(a)) = c.command else {
            panic!("capture")
        };
        assert_eq!(a.buffer_size, Some(128 << 20));
        let e = Cli::try_parse_from(["wiretale", "capture", "-i", "lo", "--buffer-size", "0"])
            .unwrap_err();
        assert!(e.to_string().contains("under 64K"), "{e}");
    }
}
