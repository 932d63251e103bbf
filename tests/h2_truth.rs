//! HTTP/2 engine against tshark 4.0.17 on a real h2c capture (tests/data/h2/h2c.pcap:
//! nghttp multiplexing five requests with PRIORITY frames and padding, curl POST and
//! HEAD, all against nginx 1.22; made with tests/data/h2/make-h2c.sh). The bytes take the
//! product's path (capture::MemReader, decode, flow::ConnTable reassembly) into
//! `proto::http2::H2Conn`; every frame must come out in the packet where tshark shows it,
//! with the same stream, type, length and decoded :method/:path/:status, and every
//! stream must pair into an exchange whose body length is the sum of its DATA frames.

mod common;

use std::collections::{BTreeMap, HashMap};

use wiretale::base::FieldNode;
use wiretale::base::{ConnId, Direction, PacketId, Timestamp};
use wiretale::flow::{Connection, StreamSink};
use wiretale::proto::http2::{looks_like_h2, tree, FrameInfo, FrameType, H2Conn, H2Exchange};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/h2");
const SERVER_PORT: u16 = 18089;

#[derive(Default)]
struct Sink {
    conns: HashMap<ConnId, H2Conn>,
    not_h2: Vec<ConnId>,
    frames: Vec<(ConnId, FrameInfo)>,
    exchanges: Vec<(ConnId, H2Exchange)>,
    anomalies: Vec<String>,
    /// Every delivery: connection, direction, stream offset, bytes.
    pieces: Vec<(ConnId, Direction, u64, Vec<u8>)>,
    offsets: HashMap<(ConnId, Direction), u64>,
}

impl Sink {
    fn collect(&mut self, c: ConnId) {
        if let Some(h) = self.conns.get_mut(&c) {
            self.frames.extend(h.drain_frames().map(|f| (c, f)));
            self.exchanges.extend(h.drain().map(|e| (c, e)));
        }
    }
}

impl StreamSink for Sink {
    fn data(&mut self, c: ConnId, d: Direction, ts: Timestamp, pkt: PacketId, b: &[u8]) {
        if !self.conns.contains_key(&c) {
            if d != Direction::ClientToServer || !looks_like_h2(b) {
                self.not_h2.push(c);
                return;
            }
            self.conns.insert(c, H2Conn::new().keep_frames(true));
        }
        if let Some(h) = self.conns.get_mut(&c) {
            h.feed(d, ts, pkt, b);
        }
        let off = self.offsets.entry((c, d)).or_default();
        self.pieces.push((c, d, *off, b.to_vec()));
        *off += b.len() as u64;
        self.collect(c);
    }
    fn gap(&mut self, c: ConnId, d: Direction, ts: Timestamp, len: u64) {
        if let Some(h) = self.conns.get_mut(&c) {
            h.gap(d, ts, len);
        }
    }
    fn end(&mut self, c: ConnId, d: Direction, ts: Timestamp) {
        if let Some(h) = self.conns.get_mut(&c) {
            h.end(d, ts);
        }
        self.collect(c);
    }
    fn conn_done(&mut self, c: &Connection) {
        if let Some(h) = self.conns.get_mut(&c.id) {
            h.finish(Timestamp(0));
            self.anomalies
                .extend(h.anomalies().iter().map(|a| a.to_string()));
        }
        self.collect(c.id);
    }
}

fn run() -> Sink {
    let mut sink = Sink::default();
    common::flow_table(std::path::Path::new(&format!("{DIR}/h2c.pcap")), &mut sink);
    sink
}

/// One truth row: a packet and the HTTP/2 frames tshark shows in it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Row {
    tcp_stream: u32,
    from_server: bool,
    streams: Vec<u32>,
    types: Vec<u8>,
    lengths: Vec<u32>,
    methods: Vec<String>,
    paths: Vec<String>,
    statuses: Vec<u16>,
}

fn list<T: std::str::FromStr>(s: &str) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(|x| x.parse().unwrap())
        .collect()
}

fn truth() -> BTreeMap<u64, Row> {
    let txt = std::fs::read_to_string(format!("{DIR}/h2c.truth.tsv")).unwrap();
    txt.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 9, "{l}");
            (
                f[0].parse().unwrap(),
                Row {
                    tcp_stream: f[1].parse().unwrap(),
                    from_server: f[2] == SERVER_PORT.to_string(),
                    streams: list(f[3]),
                    types: list(f[4]),
                    lengths: list(f[5]),
                    methods: list(f[6]),
                    paths: list(f[7]),
                    statuses: list(f[8]),
                },
            )
        })
        .collect()
}

fn header(f: &FrameInfo, name: &str) -> Option<String> {
    f.headers
        .as_ref()?
        .iter()
        .find(|h| h.name == name.as_bytes())
        .map(|h| h.value_str())
}

#[test]
fn frames_match_tshark() {
    let got = run();
    let truth = truth();
    assert!(truth.len() > 30, "truth has {} rows", truth.len());
    assert!(
        got.not_h2.is_empty(),
        "connections not recognised: {:?}",
        got.not_h2
    );
    assert_eq!(got.conns.len(), 3);
    assert!(got.anomalies.is_empty(), "{:#?}", got.anomalies);
    // Our frames grouped by the packet that completed them, as tshark groups them.
    let mut ours: BTreeMap<u64, Row> = BTreeMap::new();
    for (c, f) in &got.frames {
        let r = ours.entry(f.pkt.frame_number()).or_default();
        r.tcp_stream = c.0;
        r.from_server = f.dir == Direction::ServerToClient;
        r.streams.push(f.header.stream);
        r.types.push(f.header.kind.code());
        r.lengths.push(f.header.len);
        r.methods.extend(header(f, ":method"));
        r.paths.extend(header(f, ":path"));
        r.statuses
            .extend(header(f, ":status").map(|s| s.parse::<u16>().unwrap()));
        assert!(f.error.is_none() && !f.headers_unreliable, "{f:?}");
    }
    let frames = ours.values().map(|r| r.types.len()).sum::<usize>();
    assert_eq!(
        frames,
        truth.values().map(|r| r.types.len()).sum::<usize>(),
        "frame count"
    );
    for (n, want) in &truth {
        assert_eq!(ours.get(n), Some(want), "frame {n}");
    }
    assert_eq!(ours.len(), truth.len());
}

#[test]
fn streams_pair_into_exchanges_like_tshark() {
    let got = run();
    let truth = truth();
    // Expected exchanges from the truth: per (tcp stream, stream id) the request's
    // method and path, the final status, and DATA bytes each way.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Want {
        method: String,
        path: String,
        status: u16,
        req_body: u64,
        resp_body: u64,
    }
    let mut want: BTreeMap<(u32, u32), Want> = BTreeMap::new();
    for r in truth.values() {
        let (mut m, mut s) = (0, 0);
        for (i, (&sid, &t)) in r.streams.iter().zip(&r.types).enumerate() {
            match t {
                1 if !r.from_server => {
                    let w = want.entry((r.tcp_stream, sid)).or_default();
                    w.method = r.methods[m].clone();
                    w.path = r.paths[m].clone();
                    m += 1;
                }
                1 => {
                    want.entry((r.tcp_stream, sid)).or_default().status = r.statuses[s];
                    s += 1;
                }
                0 => {
                    let w = want.entry((r.tcp_stream, sid)).or_default();
                    let len = u64::from(r.lengths[i]);
                    if r.from_server {
                        w.resp_body += len;
                    } else {
                        w.req_body += len;
                    }
                }
                _ => {}
            }
        }
    }
    assert_eq!(want.len(), 7, "{want:#?}");
    let mut ours: BTreeMap<(u32, u32), Want> = BTreeMap::new();
    for (c, e) in &got.exchanges {
        assert!(!e.partial && e.anomalies.is_empty(), "{e:#?}");
        assert!(e.ttfb().is_some_and(|t| t >= 0), "{e:#?}");
        assert!(e.request_last_pkt <= e.response_head_pkt, "{e:#?}");
        ours.insert(
            (c.0, e.stream),
            Want {
                method: e.method.clone().unwrap(),
                path: e.path.clone().unwrap(),
                status: e.status.unwrap(),
                req_body: e.request_body_len,
                resp_body: e.response_body_len,
            },
        );
    }
    assert_eq!(ours, want);
    // The multiplexed connection's big file came in several DATA frames.
    let big = got
        .exchanges
        .iter()
        .find(|(_, e)| e.path.as_deref() == Some("/big.txt"))
        .unwrap();
    assert_eq!(big.1.response_body_len, 1600 * 64);
    assert_eq!(big.1.content_length, Some(1600 * 64));
    assert_eq!(big.1.authority.as_deref(), Some("127.0.0.1:18089"));
    // tshark sees the padded HEADERS of nghttp: our frames carry the padding too.
    let padded = got
        .frames
        .iter()
        .filter(|(_, f)| f.header.kind == FrameType::Headers && f.header.flags & 0x08 != 0);
    assert_eq!(padded.count(), 5);
}

/// The field tree of every delivered segment, built from the connection's frame
/// records: ranges stay inside the segment, every frame whose header starts in a segment
/// is shown there once with its header fields, and each request's decoded :path appears
/// in the tree of the segment that completed its HEADERS.
#[test]
fn field_trees_of_real_segments() {
    let got = run();
    fn walk(n: &FieldNode, len: usize, labels: &mut Vec<String>) {
        assert!(n.range.start <= n.range.end && n.range.end <= len, "{n:?}");
        labels.push(n.label.clone());
        for c in &n.children {
            walk(c, len, labels);
        }
    }
    let mut shown = 0;
    let mut paths = 0;
    for (c, d, off, bytes) in &got.pieces {
        let frames: Vec<FrameInfo> = got
            .frames
            .iter()
            .filter(|(fc, f)| fc == c && f.dir == *d)
            .map(|(_, f)| f.clone())
            .collect();
        let t = tree::http2_tree(bytes, *off, &frames).expect("an HTTP/2 tree");
        let mut labels = Vec::new();
        walk(&t, bytes.len(), &mut labels);
        let starts = frames
            .iter()
            .filter(|f| f.offset >= *off && f.offset < off + bytes.len() as u64)
            .count();
        shown += starts;
        assert_eq!(
            labels
                .iter()
                .filter(|l| l.starts_with("Stream Identifier: "))
                .count(),
            starts,
            "{labels:#?}"
        );
        paths += labels
            .iter()
            .filter(|l| l.starts_with("Header: :path: /"))
            .count();
    }
    assert_eq!(shown, got.frames.len());
    assert_eq!(paths, 7);
}
