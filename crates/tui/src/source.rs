//! The TUI's view of the analysis: one object-safe trait and the plain data rows it hands
//! out.
//!
//! The TUI is written against [`DataSource`] rather than the analysis types so that the
//! faces stay decoupled from the engine: the real source (a frame store with an index,
//! per-packet compact summaries and analysis results) implements it, and tests use
//! [`crate::fake::FakeSource`]. Every method is called per visible row per frame, so
//! implementations must answer in O(1) or O(log n) for a row and must not decode more
//! than the one packet asked for.
//!
//! All strings in these rows may carry bytes from the wire (hostnames, URIs, headers);
//! the views escape them with [`wiretale_engine::base::escape`] before they become terminal text.

use std::path::PathBuf;

use wiretale_engine::base::{Endpoint, FieldNode};

pub use crate::story::Story;

/// One line of the packet list. Built on demand for the visible rows only; the Info
/// text is formatted here, not stored.
#[derive(Clone, Debug, PartialEq)]
pub struct PacketRow {
    /// 1-based frame number as tshark shows it.
    pub number: u64,
    /// Seconds since the first packet of the capture.
    pub time: f64,
    pub src: String,
    pub dst: String,
    /// Top protocol: "TCP", "UDP", "DNS", "HTTP", "TLS", "ARP", "ICMP", ...
    pub proto: &'static str,
    /// Frame length on the wire.
    pub len: u32,
    pub info: String,
    pub conn: Option<u32>,
    /// True when the packet carries at least one anomaly (drawn in the anomaly colour).
    pub anomaly: bool,
}

/// The selected packet decoded on demand: its field tree (top-level nodes are the
/// layers) with byte ranges into `bytes`, the captured frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PacketDetail {
    pub number: u64,
    pub fields: Vec<FieldNode>,
    pub bytes: Vec<u8>,
}

/// One connection of the connection table.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnRow {
    pub id: u32,
    /// "TCP" or "UDP".
    pub proto: &'static str,
    pub client: Endpoint,
    pub server: Endpoint,
    /// The DNS name the client looked up for the server address, if a lookup was seen.
    pub name: Option<String>,
    /// Zeek-style `conn_state` ("SF", "S0", "REJ", ...).
    pub state: String,
    /// Seconds since the first packet of the capture.
    pub start: f64,
    pub duration: f64,
    pub bytes_c2s: u64,
    pub bytes_s2c: u64,
    pub packets: u64,
    /// Handshake round trip (SYN → ACK) in seconds.
    pub rtt: Option<f64>,
    /// Application protocol recognised on the connection ("HTTP", "TLS", "DNS").
    pub app: Option<String>,
    /// 1-based frame number of the connection's first packet.
    pub first_packet: u64,
    pub anomalies: u32,
}

/// One step of a connection's life (lookup, SYN, SYN/ACK, request, FIN, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub label: String,
    /// Seconds since the first packet of the capture.
    pub ts_rel: f64,
    /// How long the phase lasted, when it has an end (e.g. lookup → answer).
    pub duration: Option<f64>,
    pub detail: String,
}

/// One packet of a connection as drawn in the ladder diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrow {
    pub number: u64,
    pub ts_rel: f64,
    pub c2s: bool,
    /// TCP flags as Wireshark writes them: "SYN", "SYN, ACK", "PSH, ACK", ...
    pub flags: String,
    /// A TCP segment's sequence and acknowledgement numbers relative to each side's ISN
    /// (`None` for UDP, ICMP and the rest, which have none: the arrow shows no numbers).
    pub tcp: Option<(u32, u32)>,
    /// Payload length.
    pub len: u32,
    /// TCP analysis names (stable snake_case, like anomaly names).
    pub analysis: Vec<&'static str>,
    /// A QUIC datagram: its packets by number space instead of TCP's flags and numbers.
    pub quic: Option<QuicArrow>,
}

/// The packets of one QUIC datagram, placed by packet number space (RFC 9000 §12.3) so
/// the ladder reads as one column per space: `spaces` holds the text of the Initial,
/// Handshake and Application (0-RTT, 1-RTT) columns ("" where the datagram had none);
/// a Retry, a Version Negotiation or an unknown version's packet, which belong to no
/// space, go in the first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QuicArrow {
    pub spaces: [String; 3],
    /// UDP payload length.
    pub len: u32,
}

/// Everything the Connection view shows about one connection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnDetail {
    pub phases: Vec<Phase>,
    pub arrows: Vec<Arrow>,
    pub http: Vec<HttpRow>,
    /// One-line TLS hello summary (version, SNI, ALPN, cipher).
    pub tls: Option<String>,
    /// A QUIC connection's summary lines (version, SNI, ALPN, handshake, connection IDs,
    /// client addresses); empty for other connections.
    pub quic: Vec<String>,
    /// One line per encapsulation the connection rode in, outermost first (empty when
    /// it was not tunnelled).
    pub tunnel: Vec<String>,
    pub anomalies: Vec<String>,
}

/// A piece of a reassembled conversation.
#[derive(Clone, Debug, PartialEq)]
pub enum Turn {
    Data {
        c2s: bool,
        first_packet: u64,
        ts_rel: f64,
        bytes: Vec<u8>,
    },
    /// Bytes that were never captured (a hole in reassembly), shown as a marker.
    Gap { c2s: bool, len: u64 },
}

/// One DNS transaction (query and its response, if any).
#[derive(Clone, Debug, PartialEq)]
pub struct DnsRow {
    pub conn: Option<u32>,
    /// Frame number of the query.
    pub number: u64,
    pub ts_rel: f64,
    pub client: Endpoint,
    pub server: Endpoint,
    pub qname: String,
    pub qtype: String,
    /// "NOERROR", "NXDOMAIN", ...; `None` when no response was seen.
    pub rcode: Option<String>,
    /// Answers as text ("93.184.216.34, CNAME a.example").
    pub answers: String,
    pub latency: Option<f64>,
    pub query_len: u32,
    pub response_len: Option<u32>,
}

/// One HTTP request and its response, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRow {
    pub conn: u32,
    /// Frame number of the request's first byte.
    pub number: u64,
    pub ts_rel: f64,
    pub method: String,
    pub host: String,
    pub uri: String,
    pub status: Option<u16>,
    pub reason: String,
    pub content_type: Option<String>,
    pub req_size: u64,
    pub resp_size: Option<u64>,
    /// Request's last byte → response's first byte, seconds.
    pub ttfb: Option<f64>,
    /// Request's first byte → response's last byte, seconds.
    pub total: Option<f64>,
    /// Request version as sent ("HTTP/1.1", "HTTP/2").
    pub version: Option<String>,
    /// The HTTP/2 stream that carried it; `None` for HTTP/1.
    pub stream: Option<u32>,
}

impl HttpRow {
    /// The Ver column: "1.1" for HTTP/1.1, "h2 #5" for HTTP/2 stream 5, "h3 #4" for
    /// HTTP/3 stream 4, "-" unknown.
    pub fn version_cell(&self) -> String {
        let v = self
            .version
            .as_deref()
            .map(|v| v.strip_prefix("HTTP/").unwrap_or(v));
        match (v, self.stream) {
            (Some("2") | None, Some(s)) => format!("h2 #{s}"),
            (Some("3"), Some(s)) => format!("h3 #{s}"),
            (Some(v), None) => v.to_string(),
            (Some(v), Some(s)) => format!("{v} #{s}"),
            (None, None) => "-".to_string(),
        }
    }
}

/// A line of the story (a page load, a lookup, a connection, a transaction) and the
/// lines under it: the story as a tree, for building one line by line in tests and the
/// test source, and for comparing stories ([`Story::to_items`]). Sources hand out
/// the compact [`Story`].
#[derive(Clone, Debug, PartialEq)]
pub struct StoryItem {
    pub text: String,
    pub conn: Option<u32>,
    pub children: Vec<StoryItem>,
}

/// What the header line shows about the source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceStatus {
    /// File name or interface name.
    pub name: String,
    /// Packets read so far (all packets, not only the filtered view).
    pub packets: u64,
    /// Fraction of the file indexed, 0.0..=1.0 (1.0 for live).
    pub indexed: f64,
    /// True when the file is fully read or the live capture stopped.
    pub done: bool,
    pub live: bool,
    pub paused: bool,
    /// Kernel drops reported by libpcap (live only).
    pub drops: Option<u64>,
    /// Where a live capture is written (`-w FILE` or a kept temporary file).
    pub capture_file: Option<PathBuf>,
    /// A fatal error of the worker (file unreadable, capture permission), shown in red.
    pub error: Option<String>,
    /// A warning or hint for the status line (TLS key log lines skipped, encrypted TLS
    /// connections and how to decrypt them).
    pub notice: Option<String>,
}

/// The data behind every view. Object-safe so the TUI holds a `Box<dyn DataSource>`.
///
/// The lists (connections, DNS, HTTP) are handed out a row at a time by position, so a
/// source need not hold them as rows: the engine's keeps its records encoded and
/// builds the rows a view draws (a capture with 267 k connections held them as rows
/// in ~150 MB). The story is one compact [`Story`].
///
/// Indices passed to `packet_row`/`packet_detail` are positions within the current view
/// (after `focus_conn` and `apply_filter`), `0..packet_count()`. Out-of-range indices
/// must not panic; they return an empty row/detail.
pub trait DataSource: Send {
    fn packet_count(&self) -> usize;
    fn packet_row(&self, index: usize) -> PacketRow;
    fn packet_detail(&self, index: usize) -> PacketDetail;
    /// View index of the packet with this 1-based frame number, if it is in the view.
    fn packet_index(&self, number: u64) -> Option<usize>;
    /// Connections in the current list (after `focus_conn` and `apply_filter`).
    fn conn_count(&self) -> usize;
    /// The id of the connection at list position `index`, without building its row
    /// (sorting, finding a connection by id).
    fn conn_id(&self, index: usize) -> Option<u32>;
    /// The row at list position `index`, built when asked for.
    fn conn_row(&self, index: usize) -> Option<ConnRow>;
    fn conn_detail(&self, conn: u32) -> ConnDetail;
    /// The reassembled conversation. Implementations should stop after a few tens of
    /// MiB (the TUI keeps at most [`crate::app::FOLLOW_MAX_BYTES`] and says how
    /// much it cut).
    fn follow(&self, conn: u32) -> Vec<Turn>;
    fn dns_count(&self) -> usize;
    fn dns_row(&self, index: usize) -> Option<DnsRow>;
    fn http_count(&self) -> usize;
    fn http_row(&self, index: usize) -> Option<HttpRow>;
    fn story(&self) -> &Story;
    /// Limits every list to one connection (`None` clears).
    fn focus_conn(&mut self, conn: Option<u32>);
    /// Applies a display filter (empty text clears it). The error is rendered text with
    /// a caret line under the offending position.
    fn apply_filter(&mut self, expr: &str) -> Result<(), String>;
    /// Validates a filter without applying it (called on every keystroke).
    fn check_filter(&self, expr: &str) -> Result<(), String>;
    fn status(&self) -> SourceStatus;
    /// Absorbs pending update batches from the worker; true if anything changed.
    fn poll(&mut self) -> bool;
    fn set_paused(&mut self, paused: bool);
    /// Writes the packets of the current view (all, the focused connection, or the
    /// filtered ones) to a new capture file; returns a line saying where, or why not.
    fn save_view(&self) -> Result<String, String>;
    /// How many rows `tab`'s list has in the whole capture, without the display filter
    /// (the header's "12 of 40 connections"). `None` when the source does not keep the
    /// two apart.
    fn unfiltered_count(&self, tab: super::action::Tab) -> Option<usize> {
        let _ = tab;
        None
    }
}

/// A source's lists whole, every row built: for tests, benches and tools that compare
/// or search them (views ask for the rows they draw, by position).
pub trait ListRows {
    fn conns(&self) -> Vec<ConnRow>;
    fn dns_rows(&self) -> Vec<DnsRow>;
    fn http_rows(&self) -> Vec<HttpRow>;
}

impl<T: DataSource + ?Sized> ListRows for T {
    fn conns(&self) -> Vec<ConnRow> {
        (0..self.conn_count())
            .filter_map(|i| self.conn_row(i))
            .collect()
    }

    fn dns_rows(&self) -> Vec<DnsRow> {
        (0..self.dns_count())
            .filter_map(|i| self.dns_row(i))
            .collect()
    }

    fn http_rows(&self) -> Vec<HttpRow> {
        (0..self.http_count())
            .filter_map(|i| self.http_row(i))
            .collect()
    }
}
