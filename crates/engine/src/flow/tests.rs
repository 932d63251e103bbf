//! Table-level tests: synthetic packets built with etherparse's `PacketBuilder`, decoded
//! by `decode` and converted by `FlowPacket::from_decoded` (so the bytes are real wire
//! format and take the product's path), fed through `ConnTable`.

use std::net::IpAddr;

use etherparse::{PacketBuilder, TcpOptionElement, VlanId};

use super::*;
use crate::base::{ConnId, Direction, PacketId, Timestamp};

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ev {
    Data(ConnId, Direction, Vec<u8>),
    Gap(ConnId, Direction, u64),
    End(ConnId, Direction),
}

/// A sink that records everything.
#[derive(Default)]
pub(crate) struct Rec {
    pub ev: Vec<Ev>,
    pub done: Vec<Connection>,
    pub new: Vec<ConnId>,
}

impl StreamSink for Rec {
    fn data(&mut self, c: ConnId, d: Direction, _: Timestamp, _: PacketId, b: &[u8]) {
        self.ev.push(Ev::Data(c, d, b.to_vec()));
    }
    fn gap(&mut self, c: ConnId, d: Direction, _: Timestamp, len: u64) {
        self.ev.push(Ev::Gap(c, d, len));
    }
    fn end(&mut self, c: ConnId, d: Direction, _: Timestamp) {
        self.ev.push(Ev::End(c, d));
    }
    fn conn_done(&mut self, c: &Connection) {
        self.done.push(c.clone());
    }
    fn conn_new(&mut self, c: &Connection) {
        self.new.push(c.id);
    }
}

impl Rec {
    /// The stream of one direction as text: data bytes, `[gap N]` for gaps.
    pub fn stream(&self, c: u32, d: Direction) -> String {
        let mut s = String::new();
        for e in &self.ev {
            match e {
                Ev::Data(cc, dd, b) if cc.0 == c && *dd == d => {
                    s.push_str(&String::from_utf8_lossy(b))
                }
                Ev::Gap(cc, dd, n) if cc.0 == c && *dd == d => s.push_str(&format!("[gap {n}]")),
                _ => {}
            }
        }
        s
    }
    pub fn ended(&self, c: u32, d: Direction) -> usize {
        self.ev
            .iter()
            .filter(|e| **e == Ev::End(ConnId(c), d))
            .count()
    }
    pub fn conn(&self, c: u32) -> &Connection {
        self.done
            .iter()
            .find(|x| x.id.0 == c)
            .expect("connection finished")
    }
}

/// One synthetic TCP packet description.
#[derive(Clone)]
pub(crate) struct T {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub sp: u16,
    pub dp: u16,
    pub seq: u32,
    pub ack: u32,
    pub fl: &'static str,
    pub win: u16,
    pub data: Vec<u8>,
    pub vlan: Option<u16>,
    pub wscale: Option<u8>,
}

pub(crate) const CLI: [u8; 4] = [10, 0, 0, 1];
pub(crate) const SRV: [u8; 4] = [10, 0, 0, 2];

/// Client → server packet on 10.0.0.1:40000 → 10.0.0.2:80.
pub(crate) fn c(seq: u32, ack: u32, fl: &'static str, data: &[u8]) -> T {
    T {
        src: CLI,
        dst: SRV,
        sp: 40000,
        dp: 80,
        seq,
        ack,
        fl,
        win: 1000,
        data: data.to_vec(),
        vlan: None,
        wscale: None,
    }
}

/// Server → client packet.
pub(crate) fn s(seq: u32, ack: u32, fl: &'static str, data: &[u8]) -> T {
    T {
        src: SRV,
        dst: CLI,
        sp: 80,
        dp: 40000,
        seq,
        ack,
        fl,
        win: 1000,
        data: data.to_vec(),
        vlan: None,
        wscale: None,
    }
}

impl T {
    pub fn win(mut self, w: u16) -> T {
        self.win = w;
        self
    }
    pub fn vlan(mut self, v: u16) -> T {
        self.vlan = Some(v);
        self
    }
    pub fn ws(mut self, v: u8) -> T {
        self.wscale = Some(v);
        self
    }
    /// Wire bytes (Ethernet, optional 802.1Q, IPv4, TCP).
    pub fn bytes(&self) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2; 6], [4; 6]);
        let b = match self.vlan {
            Some(v) => b
                .single_vlan(VlanId::try_new(v).unwrap())
                .ipv4(self.src, self.dst, 64),
            None => b.ipv4(self.src, self.dst, 64),
        };
        let mut b = b.tcp(self.sp, self.dp, self.seq, self.win);
        if self.fl.contains('S') {
            b = b.syn();
        }
        if self.fl.contains('A') {
            b = b.ack(self.ack);
        }
        if self.fl.contains('F') {
            b = b.fin();
        }
        if self.fl.contains('R') {
            b = b.rst();
        }
        if self.fl.contains('P') {
            b = b.psh();
        }
        if let Some(w) = self.wscale {
            b = b
                .options(&[TcpOptionElement::WindowScale(w), TcpOptionElement::Noop])
                .unwrap();
        }
        let mut out = Vec::new();
        b.write(&mut out, &self.data).unwrap();
        out
    }
}

/// Decodes wire bytes with the product's own decoder and converts them with the one
/// conversion, [`FlowPacket::from_decoded`].
pub(crate) fn to_flow(bytes: &[u8], id: u32, ts_ms: i64) -> FlowPacket<'_> {
    // Leaked so the FlowPacket may borrow the packet's tunnel list (a test helper only).
    let p = Box::leak(Box::new(crate::decode::decode(
        crate::base::LinkType::ETHERNET,
        bytes,
    )));
    FlowPacket::from_decoded(PacketId(id), Timestamp(ts_ms * 1_000_000), p)
        .expect("an IP test packet")
}

/// Runs packets (1 ms apart unless `times` says otherwise) and finishes the table.
pub(crate) fn run_at(cfg: FlowConfig, pkts: &[(i64, Vec<u8>)]) -> (Vec<PacketVerdict>, Rec) {
    let mut t = ConnTable::new(cfg);
    let mut rec = Rec::default();
    let mut v = Vec::new();
    for (i, (ms, b)) in pkts.iter().enumerate() {
        v.push(t.process(&to_flow(b, i as u32, *ms), &mut rec));
    }
    t.finish(&mut rec);
    assert_eq!(t.live(), 0);
    assert_eq!(t.buffered_bytes(), 0);
    (v, rec)
}

pub(crate) fn run(pkts: &[T]) -> (Vec<PacketVerdict>, Rec) {
    let p: Vec<(i64, Vec<u8>)> = pkts
        .iter()
        .enumerate()
        .map(|(i, t)| (i as i64 * 100, t.bytes()))
        .collect();
    run_at(FlowConfig::default(), &p)
}

fn names(v: &PacketVerdict) -> Vec<&'static str> {
    v.analysis.names().collect()
}

const ISN_C: u32 = 1000;
const ISN_S: u32 = 5000;

/// SYN, SYN/ACK, ACK with the default ISNs.
fn handshake() -> Vec<T> {
    vec![
        c(ISN_C, 0, "S", b""),
        s(ISN_S, ISN_C + 1, "SA", b""),
        c(ISN_C + 1, ISN_S + 1, "A", b""),
    ]
}

#[test]
fn full_connection_sf() {
    let mut p = handshake();
    p.push(c(1001, 5001, "PA", b"GET / HTTP/1.1\r\n\r\n"));
    p.push(s(5001, 1019, "PA", b"HTTP/1.1 200 OK\r\n\r\nhi"));
    p.push(c(1019, 5022, "FA", b""));
    p.push(s(5022, 1020, "FA", b""));
    p.push(c(1020, 5023, "A", b""));
    let (v, rec) = run(&p);
    assert!(v[0].new_conn && !v[1].new_conn);
    assert!(v.iter().all(|x| x.analysis.is_empty()), "{v:?}");
    assert_eq!((v[3].rel_seq, v[3].rel_ack), (Some(1), Some(1)));
    assert_eq!((v[4].rel_seq, v[4].rel_ack), (Some(1), Some(19)));
    assert_eq!(rec.stream(0, C2S), "GET / HTTP/1.1\r\n\r\n");
    assert_eq!(rec.stream(0, S2C), "HTTP/1.1 200 OK\r\n\r\nhi");
    assert_eq!((rec.ended(0, C2S), rec.ended(0, S2C)), (1, 1));
    let k = rec.conn(0);
    assert_eq!(k.state(), "SF");
    assert_eq!(k.history(), "ShADdFf");
    assert_eq!(k.bytes, [18, 21]);
    assert_eq!(k.packets, [5, 3]);
    assert_eq!(k.client.port, 40000);
    assert!(!k.orientation_guessed);
    let hs = k.handshake.unwrap();
    assert_eq!(
        (hs.server_rtt_ns(), hs.client_rtt_ns(), hs.rtt_ns()),
        (Some(100_000_000), Some(100_000_000), Some(200_000_000))
    );
    assert_eq!(k.close.unwrap().by, C2S);
    assert_eq!(k.phases.half_close.unwrap().0, C2S);
    assert_eq!(k.duration_ns(), 700_000_000);
    assert_eq!(
        k.community_id(),
        community_id::community_id(0, k.client.ip, k.server.ip, 6, 40000, 80)
    );
}

#[test]
fn sequence_wraparound() {
    let isn = u32::MAX - 3;
    let p = vec![
        c(isn, 0, "S", b""),
        s(7, isn.wrapping_add(1), "SA", b""),
        c(isn.wrapping_add(1), 8, "A", b""),
        c(isn.wrapping_add(1), 8, "PA", b"abcdef"),
        c(isn.wrapping_add(7), 8, "PA", b"ghij"),
    ];
    let (v, rec) = run(&p);
    assert_eq!(rec.stream(0, C2S), "abcdefghij");
    assert_eq!(v[4].rel_seq, Some(7));
    assert!(v.iter().all(|x| x.analysis.is_empty()), "{v:?}");
}

#[test]
fn out_of_order_and_overlap_first_copy_wins() {
    let mut p = handshake();
    p.push(c(1006, 5001, "PA", b"WORLD")); // ahead of a hole
    p.push(c(1001, 5001, "PA", b"hello"));
    p.push(c(1004, 5001, "PA", b"XXxx")); // overlaps delivered "lo" and ... nothing buffered
    let (_, rec) = run(&p);
    assert_eq!(rec.stream(0, C2S), "helloWORLD");
    assert_eq!(rec.conn(0).retransmitted_bytes[0], 4);

    // Different bytes for buffered offsets: first-seen kept, anomaly recorded.
    let mut p = handshake();
    p.push(c(1006, 5001, "PA", b"WORLD"));
    p.push(c(1006, 5001, "PA", b"EVIL!"));
    p.push(c(1001, 5001, "PA", b"hello"));
    let (_, rec) = run(&p);
    assert_eq!(rec.stream(0, C2S), "helloWORLD");
    assert!(rec
        .conn(0)
        .anomalies
        .iter()
        .any(|a| a.name() == "overlap_mismatch"));
}

#[test]
fn ack_past_hole_delivers_gap() {
    let mut p = handshake();
    p.push(c(1001, 5001, "PA", b"abc"));
    p.push(c(1014, 5001, "PA", b"xyz")); // 10 bytes missing
    p.push(s(5001, 1017, "A", b""));
    let (v, rec) = run(&p);
    assert_eq!(rec.stream(0, C2S), "abc[gap 10]xyz");
    assert!(names(&v[4]).contains(&"lost_segment"));
    let k = rec.conn(0);
    assert_eq!(k.missed_bytes, 10);
    assert!(k.history().contains('G'), "{}", k.history());
}

#[test]
fn rst_mid_stream_ends_direction() {
    let mut p = handshake();
    p.push(c(1001, 5001, "PA", b"abc"));
    p.push(s(5001, 1004, "RA", b""));
    let (_, rec) = run(&p);
    let k = rec.conn(0);
    assert_eq!(k.state(), "RSTR");
    assert_eq!(k.close.unwrap().how, CloseHow::Rst);
    assert_eq!(rec.ended(0, S2C), 1);
    let mut p = handshake();
    p.push(c(1001, 5001, "RA", b""));
    assert_eq!(run(&p).1.conn(0).state(), "RSTO");
}

#[test]
fn simultaneous_close_and_half_close() {
    let mut p = handshake();
    p.push(c(1001, 5001, "FA", b""));
    p.push(s(5001, 1001, "FA", b""));
    p.push(c(1002, 5002, "A", b""));
    p.push(s(5002, 1002, "A", b""));
    let (_, rec) = run(&p);
    assert_eq!(rec.conn(0).state(), "SF");
    assert_eq!(rec.stream(0, C2S), "");

    // Half-close: client FINs, server keeps sending, then FINs.
    let mut p = handshake();
    p.push(c(1001, 5001, "FA", b""));
    p.push(s(5001, 1002, "PA", b"more"));
    p.push(s(5005, 1002, "FA", b""));
    let (_, rec) = run(&p);
    let k = rec.conn(0);
    assert_eq!(k.phases.half_close.map(|h| h.0), Some(C2S));
    assert_eq!(rec.stream(0, S2C), "more");
    assert_eq!(k.state(), "SF");
}

#[test]
fn syn_retries_are_one_connection() {
    let p = vec![
        c(ISN_C, 0, "S", b""),
        c(ISN_C, 0, "S", b""),
        c(ISN_C, 0, "S", b""),
    ];
    let (v, rec) = run(&p);
    assert_eq!(rec.done.len(), 1);
    assert_eq!(names(&v[1]), ["retransmission"]);
    let k = rec.conn(0);
    assert_eq!(k.state(), "S0");
    assert_eq!(k.history(), "S");
}

#[test]
fn synack_before_syn() {
    let p = vec![
        s(ISN_S, ISN_C + 1, "SA", b""),
        c(ISN_C, 0, "S", b""),
        c(ISN_C + 1, ISN_S + 1, "A", b""),
    ];
    let (_, rec) = run(&p);
    assert_eq!(rec.done.len(), 1);
    let k = rec.conn(0);
    assert_eq!(k.client.ip, IpAddr::from(CLI));
    assert_eq!(k.history(), "^hSA");
    assert!(
        !k.orientation_guessed,
        "the late SYN confirms the orientation"
    );
    // As in Zeek: the server was established by its SYN/ACK, the client's late SYN
    // puts it in SYN_SENT, and an ACK does not move a side out of SYN_SENT.
    assert_eq!(k.state(), "OTH");
}

#[test]
fn mid_stream_orientation_by_port() {
    // First packet seen is from the server (port 80): flipped and marked.
    let p = vec![
        s(9000, 3000, "PA", b"tail of response"),
        c(3000, 9016, "A", b""),
    ];
    let (v, rec) = run(&p);
    assert_eq!(v[0].dir, S2C);
    assert_eq!(v[0].rel_seq, Some(1));
    let k = rec.conn(0);
    assert!(k.orientation_guessed);
    assert_eq!(k.client.port, 40000);
    assert_eq!(k.history(), "^dA");
    assert_eq!(k.state(), "OTH");
    assert_eq!(rec.stream(0, S2C), "tail of response");
}

#[test]
fn port_reuse_new_connections() {
    let mut p = handshake();
    p.push(c(1001, 5001, "FA", b""));
    p.push(s(5001, 1002, "FA", b""));
    p.push(c(1002, 5002, "A", b""));
    p.push(c(77_000, 0, "S", b"")); // same tuple after close
    p.push(s(88_000, 77_001, "SA", b""));
    p.push(c(99_000, 0, "S", b"")); // new ISN while open
    let (v, rec) = run(&p);
    assert_eq!(rec.done.len(), 3);
    assert!(v[6].new_conn && v[8].new_conn && !v[7].new_conn);
    assert_eq!(names(&v[6]), ["port_reuse"]);
    assert!(v[6].info_prefix().contains("[TCP Port numbers reused]"));
    assert_eq!(v[8].conn, Some(ConnId(2)));
    assert_eq!(rec.conn(0).state(), "SF");
    assert_eq!(rec.conn(1).state(), "S1");
}

/// A closed connection is finished after the 2 s linger, but a SYN reusing its tuple
/// within 5 s of its last packet is still flagged (as tshark, which never forgets);
/// later it is a plain new connection.
#[test]
fn port_reuse_is_flagged_after_the_closed_connection_has_gone() {
    let closed = || {
        let mut p = fast_handshake();
        p.push((3, c(1001, 5001, "FA", b"")));
        p.push((4, s(5001, 1002, "FA", b"")));
        p.push((5, c(1002, 5002, "A", b"")));
        p
    };
    for (after_ms, flagged) in [(1_000, true), (3_500, true), (6_000, false)] {
        let mut p = closed();
        p.push((5 + after_ms, c(77_000, 0, "S", b"")));
        let (v, rec) = run_ms(&p);
        assert!(v[6].new_conn, "{after_ms} ms");
        assert_eq!(rec.done.len(), 2, "{after_ms} ms");
        let reuse = names(&v[6]).contains(&"port_reuse");
        assert_eq!(reuse, flagged, "{after_ms} ms after close");
    }
}

#[test]
fn udp_timeout_and_state() {
    let a = |sp, dp, src, dst, d: &[u8]| {
        let mut out = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4(src, dst, 64)
            .udp(sp, dp)
            .write(&mut out, d)
            .unwrap();
        out
    };
    let q = a(40000, 53, CLI, SRV, b"q");
    let r = a(53, 40000, SRV, CLI, b"rr");
    let (v, rec) = run_at(
        FlowConfig::default(),
        &[
            (0, q.clone()),
            (10, r.clone()),
            (70_000, q.clone()),
            (200_000, r),
        ],
    );
    assert_eq!(rec.done.len(), 3);
    assert_eq!(v[1].dir, S2C);
    assert_eq!(rec.conn(0).state(), "SF");
    assert_eq!(rec.conn(0).bytes, [1, 2]);
    assert_eq!(rec.conn(1).state(), "S0");
    // A response seen first is flipped by its well-known port.
    let k = rec.conn(2);
    assert!(k.orientation_guessed && k.client.port == 40000 && k.history() == "^d");
    assert_eq!(rec.stream(0, C2S), "q");
}

/// A datagram the caller says belongs to an open connection (a QUIC connection ID)
/// joins it from a new client address: same connection, client→server direction, the
/// server's replies to the new address too; the extra 4-tuple is forgotten with the
/// connection, and a 4-tuple with its own connection keeps it.
#[test]
fn joined_datagrams_follow_a_migrated_client() {
    let a = |sp, dp, src, dst, d: &[u8]| {
        let mut out = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4(src, dst, 64)
            .udp(sp, dp)
            .write(&mut out, d)
            .unwrap();
        out
    };
    let moved = [10, 0, 0, 9];
    let pkts = [
        (a(40000, 443, CLI, SRV, b"hello"), None),
        (a(443, 40000, SRV, CLI, b"hi"), None),
        // The client moved: new address and port, joined by the caller.
        (a(50000, 443, moved, SRV, b"again"), Some(ConnId(0))),
        (a(443, 50000, SRV, moved, b"ok"), None),
        // A second new 4-tuple the caller vouches for joins as well.
        (a(41000, 443, CLI, SRV, b"third"), Some(ConnId(0))),
    ];
    let mut t = ConnTable::new(FlowConfig::default());
    let mut rec = Rec::default();
    let mut v = Vec::new();
    for (i, (b, join)) in pkts.iter().enumerate() {
        v.push(t.process_joining(&to_flow(b, i as u32, i as i64), *join, &mut rec));
    }
    let conns: Vec<_> = v.iter().map(|v| v.conn.unwrap().0).collect();
    assert_eq!(conns, [0, 0, 0, 0, 0]);
    let dirs: Vec<_> = v.iter().map(|v| v.dir).collect();
    assert_eq!(dirs, [C2S, S2C, C2S, S2C, C2S]);
    // Later datagrams on a joined 4-tuple find it without being told.
    let own = t.process(&to_flow(&pkts[2].0, 9, 9), &mut rec);
    assert_eq!(own.conn, Some(ConnId(0)), "the joined 4-tuple stays joined");
    t.finish(&mut rec);
    assert_eq!(t.live(), 0);
    let c = rec.conn(0);
    assert_eq!(c.packets, [4, 2]);
    assert_eq!(
        c.client.port, 40000,
        "the connection keeps its first client address"
    );
    assert_eq!(rec.stream(0, C2S), "helloagainthirdagain");
    // After it finished, its 4-tuples are free: a new datagram starts a new connection.
    let mut after = Rec::default();
    let fresh = t.process(&to_flow(&pkts[2].0, 10, 10), &mut after);
    assert_eq!(fresh.conn, Some(ConnId(1)));
    // A 4-tuple with a connection of its own is not taken over by a join.
    let mut t = ConnTable::new(FlowConfig::default());
    let mut rec = Rec::default();
    let first = t.process(&to_flow(&pkts[0].0, 0, 0), &mut rec);
    let other = t.process(&to_flow(&pkts[4].0, 1, 1), &mut rec);
    assert_ne!(other.conn, first.conn);
    let joined = t.process_joining(&to_flow(&pkts[4].0, 2, 2), first.conn, &mut rec);
    assert_eq!(joined.conn, other.conn);
    assert_ne!(joined.conn, first.conn);
}

#[test]
fn icmp_echo_pairs() {
    let req = |id, seq| {
        let mut o = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4(CLI, SRV, 64)
            .icmpv4_echo_request(id, seq)
            .write(&mut o, b"ping")
            .unwrap();
        o
    };
    let rep = |id, seq| {
        let mut o = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4(SRV, CLI, 64)
            .icmpv4_echo_reply(id, seq)
            .write(&mut o, b"ping")
            .unwrap();
        o
    };
    let (v, rec) = run_at(
        FlowConfig::default(),
        &[(0, req(7, 1)), (1, rep(7, 1)), (2, req(8, 1))],
    );
    assert_eq!(v[0].conn, v[1].conn);
    assert_eq!(v[1].dir, S2C);
    assert_ne!(v[2].conn, v[0].conn);
    let k = rec.conn(0);
    assert_eq!(k.proto, ConnProto::Icmp);
    assert_eq!(k.icmp.unwrap().id, 7);
    assert_eq!(k.packets, [1, 1]);
    assert_eq!(
        k.community_id(),
        community_id::community_id(0, k.client.ip, k.server.ip, 1, 8, 0)
    );
}

#[test]
fn vlan_contexts_split_and_asymmetric_tagging_joins() {
    let mut p = Vec::new();
    for v in [10, 20, 30] {
        p.push(c(ISN_C, 0, "S", b"").vlan(v));
        p.push(s(ISN_S, ISN_C + 1, "SA", b"").vlan(v));
        p.push(c(ISN_C + 1, ISN_S + 1, "A", b"").vlan(v));
    }
    let (v, rec) = run(&p);
    assert_eq!(rec.done.len(), 3);
    assert_eq!(v[4].conn, Some(ConnId(1)));
    assert_eq!(v[8].conn, Some(ConnId(2)));
    assert!(v.iter().all(|x| x.analysis.is_empty()), "{v:?}");
    assert_eq!(rec.conn(2).vlans[0], 30);
    // One direction tagged, the other not: one connection.
    let p = vec![
        c(ISN_C, 0, "S", b"").vlan(5),
        s(ISN_S, ISN_C + 1, "SA", b""),
        c(ISN_C + 1, ISN_S + 1, "A", b"").vlan(5),
    ];
    let (_, rec) = run(&p);
    assert_eq!(rec.done.len(), 1);
    assert_eq!(rec.conn(0).state(), "S1");
}

#[test]
fn zeek_states_through_the_table() {
    let st = |p: Vec<T>| {
        let r = run(&p).1;
        (r.conn(0).state(), r.conn(0).history().to_string())
    };
    assert_eq!(st(vec![c(1, 0, "S", b"")]), ("S0", "S".into()));
    assert_eq!(
        st(vec![c(1, 0, "S", b""), s(0, 2, "RA", b"")]),
        ("REJ", "Sr".into())
    );
    assert_eq!(
        st(vec![c(1, 0, "S", b""), c(2, 0, "R", b"")]),
        ("RSTOS0", "SR".into())
    );
    assert_eq!(st(vec![c(1, 0, "S", b""), c(2, 0, "FA", b"")]).0, "SH");
    assert_eq!(
        st(vec![s(1, 2, "SA", b""), s(2, 2, "R", b"")]),
        ("RSTRH", "^hr".into())
    );
    assert_eq!(st(vec![s(1, 2, "SA", b""), s(2, 2, "FA", b"")]).0, "SHR");
    let mut p = handshake();
    p.push(c(1001, 5001, "FA", b""));
    assert_eq!(st(p).0, "S2");
    let mut p = handshake();
    p.push(s(5001, 1001, "FA", b""));
    assert_eq!(st(p).0, "S3");
}

/// Runs `(ms, packet)` pairs.
fn run_ms(p: &[(i64, T)]) -> (Vec<PacketVerdict>, Rec) {
    let b: Vec<(i64, Vec<u8>)> = p.iter().map(|(t, x)| (*t, x.bytes())).collect();
    run_at(FlowConfig::default(), &b)
}

/// Handshake at 0, 1, 2 ms (so the iRTT, Wireshark's out-of-order threshold, is 2 ms).
fn fast_handshake() -> Vec<(i64, T)> {
    handshake()
        .into_iter()
        .enumerate()
        .map(|(i, t)| (i as i64, t))
        .collect()
}

#[test]
fn analysis_dup_ack_and_fast_retransmission() {
    let mut p = fast_handshake();
    p.push((10, c(1001, 5001, "PA", b"abc")));
    p.push((11, c(1004, 5001, "PA", b"def"))); // lost at the receiver
    p.push((20, s(5001, 1004, "A", b""))); // frame 6
    p.push((21, s(5001, 1004, "A", b"")));
    p.push((22, s(5001, 1004, "A", b"")));
    p.push((23, c(1004, 5001, "PA", b"def")));
    let (v, rec) = run_ms(&p);
    assert!(v[5].analysis.is_empty());
    assert_eq!(names(&v[6]), ["duplicate_ack"]);
    assert_eq!(v[6].info_prefix(), "[TCP Dup ACK 6#1] ");
    assert_eq!(v[7].info_prefix(), "[TCP Dup ACK 6#2] ");
    assert_eq!(names(&v[8]), ["fast_retransmission"]);
    assert_eq!(v[8].info_prefix(), "[TCP Fast Retransmission] ");
    let k = rec.conn(0);
    assert_eq!(k.analysis_count(TcpAnalysisFlags::DUPLICATE_ACK), 2);
    assert_eq!(k.retransmitted_bytes, [3, 0]);
    assert!(k.history().contains('T'));
    assert_eq!(rec.stream(0, C2S), "abcdef");
}

#[test]
fn analysis_retransmission_spurious_out_of_order_lost() {
    // Plain retransmission: same bytes again, long after, never ACKed.
    let mut p = fast_handshake();
    p.push((10, c(1001, 5001, "PA", b"abc")));
    p.push((500, c(1001, 5001, "PA", b"abc")));
    let (v, _) = run_ms(&p);
    assert_eq!(names(&v[4]), ["retransmission"]);
    assert_eq!(v[4].info_prefix(), "[TCP Retransmission] ");

    // Spurious: the peer had already ACKed it.
    let mut p = fast_handshake();
    p.push((10, c(1001, 5001, "PA", b"abc")));
    p.push((20, s(5001, 1004, "A", b"")));
    p.push((500, c(1001, 5001, "PA", b"abc")));
    let (v, _) = run_ms(&p);
    assert_eq!(names(&v[5]), ["spurious_retransmission"]);

    // Out of order: the earlier segment arrives within the iRTT of the later one,
    // which itself showed a hole.
    let mut p = fast_handshake();
    p.push((10, c(1004, 5001, "PA", b"def")));
    p.push((11, c(1001, 5001, "PA", b"abc")));
    let (v, rec) = run_ms(&p);
    assert_eq!(names(&v[3]), ["lost_segment"]);
    assert_eq!(v[3].info_prefix(), "[TCP Previous segment not captured] ");
    assert_eq!(names(&v[4]), ["out_of_order"]);
    assert_eq!(rec.stream(0, C2S), "abcdef");
}

#[test]
fn analysis_ack_unseen_segment() {
    let mut p = fast_handshake();
    p.push((10, s(5001, 2000, "A", b"")));
    let (v, _) = run_ms(&p);
    assert_eq!(names(&v[3]), ["ack_lost_segment"]);
    assert_eq!(v[3].info_prefix(), "[TCP ACKed unseen segment] ");
}

#[test]
fn analysis_zero_window_probe_and_update() {
    let mut p = fast_handshake();
    p.push((10, s(5001, 1001, "A", b"").win(0)));
    p.push((20, c(1001, 5001, "PA", b"x")));
    p.push((30, s(5001, 1001, "A", b"").win(0)));
    p.push((40, s(5001, 1001, "A", b"").win(500)));
    let (v, _) = run_ms(&p);
    assert_eq!(names(&v[3]), ["zero_window"]);
    assert_eq!(names(&v[4]), ["zero_window_probe"]);
    assert_eq!(names(&v[5]), ["zero_window", "zero_window_probe_ack"]);
    assert_eq!(
        v[5].info_prefix(),
        "[TCP ZeroWindowProbeAck] [TCP ZeroWindow] "
    );
    assert_eq!(names(&v[6]), ["window_update"]);
}

#[test]
fn analysis_keep_alive_and_window_full() {
    let mut p = fast_handshake();
    p.push((10, c(1000, 5001, "A", b"")));
    p.push((11, s(5001, 1001, "A", b"")));
    let (v, _) = run_ms(&p);
    assert_eq!(names(&v[3]), ["keep_alive"]);
    assert_eq!(names(&v[4]), ["keep_alive_ack"]);

    let mut p = fast_handshake();
    p.push((10, s(5001, 1001, "A", b"").win(10)));
    p.push((20, c(1001, 5001, "PA", b"0123456789")));
    let (v, _) = run_ms(&p);
    assert_eq!(names(&v[3]), ["window_update"]);
    assert_eq!(names(&v[4]), ["window_full"]);
}

#[test]
fn window_scale_applies_only_with_both_options() {
    // Both SYNs carry a scale of 2: a raw window of 4 means 16 bytes.
    let mut p = vec![
        (0, c(ISN_C, 0, "S", b"").ws(0)),
        (1, s(ISN_S, ISN_C + 1, "SA", b"").ws(2)),
        (2, c(ISN_C + 1, ISN_S + 1, "A", b"")),
    ];
    p.push((10, s(5001, 1001, "A", b"").win(4)));
    p.push((20, c(1001, 5001, "PA", b"0123456789abcdef")));
    let (v, _) = run_ms(&p);
    assert!(
        v[4].analysis.contains(TcpAnalysisFlags::WINDOW_FULL),
        "{:?}",
        names(&v[4])
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn arb_packet(
    ) -> impl Strategy<Value = (u8, u8, u16, u16, u32, u32, u16, u16, u16, u8, u8, i64)> {
        (
            0u8..3,
            0u8..3,
            0u16..3,
            0u16..3,
            any::<u32>(),
            any::<u32>(),
            any::<u16>(),
            any::<u16>(),
            0u16..200,
            0u8..3,
            0u8..6,
            0i64..200_000,
        )
    }

    proptest! {
        /// Arbitrary packet sequences never panic, and the table's bounds hold.
        #[test]
        fn arbitrary_packets_never_panic(pkts in proptest::collection::vec(arb_packet(), 0..200)) {
            let cfg = FlowConfig { max_dir_buffered: 500, max_total_buffered: 1500, max_holes: 4, max_conns: 5, udp_timeout_ns: 50_000_000, tcp_idle_timeout_ns: 80_000_000, tcp_closed_linger_ns: 10_000_000, community_id_seed: 0 };
            let mut t = ConnTable::new(cfg);
            let mut rec = Rec::default();
            let payload = [0x41u8; 200];
            let mut ts = 0i64;
            for (i, (a, b, sp, dp, seq, ack, flags, win, len, vl, kind, dt)) in pkts.into_iter().enumerate() {
                ts += dt;
                let l4 = match kind {
                    0..=2 => L4::Tcp { sport: 1000 + sp, dport: 1000 + dp, seq: seq % 4096, ack: ack % 4096, flags: flags & 0xff, window: win, wscale: Some((win % 20) as u8), mss: None, sack_permitted: false, ts: None, payload_len: len as u32 + (kind as u32) * 7, payload: &payload[..len as usize] },
                    3 => L4::Udp { sport: sp, dport: dp, payload: &payload[..len as usize] },
                    4 => L4::Icmp { v6: false, kind: if flags & 1 == 0 { 8 } else { 0 }, code: 0, echo: Some((sp, dp)), quote: None },
                    _ => L4::Other { proto: 47 },
                };
                let p = FlowPacket { id: PacketId(i as u32), ts: Timestamp(ts), src: IpAddr::from([10, 0, 0, a]), dst: IpAddr::from([10, 0, 0, b]), vlans: [vl as u16, 0], vlan_count: vl.min(1), tunnel: 0, tunnels: &[], l4 };
                let v = t.process(&p, &mut rec);
                let _ = v.info_prefix();
                prop_assert!(t.buffered_bytes() <= 1500);
                prop_assert!(t.live() <= 5);
            }
            t.finish(&mut rec);
            prop_assert_eq!(t.live(), 0);
            prop_assert_eq!(t.buffered_bytes(), 0);
            for c in &rec.done {
                let _ = (c.state(), c.history(), c.community_id());
            }
            prop_assert_eq!(rec.done.len(), rec.new.len());
        }
    }
}

/// 250,000 short connections over 11,261 reused tuples come out as exactly 250,000:
/// closed ones (FIN or RST) are followed by a new SYN, and every 7th is left open
/// (SYN only) and then reused with a new ISN.
#[test]
fn port_reuse_at_scale() {
    const N: u32 = 250_000;
    const TUPLES: u32 = 11_261;
    #[derive(Default)]
    struct Count {
        new: u32,
        done: u32,
        states: std::collections::HashMap<&'static str, u32>,
    }
    impl StreamSink for Count {
        fn data(&mut self, _: ConnId, _: Direction, _: Timestamp, _: PacketId, _: &[u8]) {}
        fn gap(&mut self, _: ConnId, _: Direction, _: Timestamp, _: u64) {}
        fn conn_new(&mut self, _: &Connection) {
            self.new += 1;
        }
        fn conn_done(&mut self, c: &Connection) {
            self.done += 1;
            *self.states.entry(c.state()).or_default() += 1;
        }
    }
    let mut t = ConnTable::new(FlowConfig::default());
    let mut sink = Count::default();
    let srv = IpAddr::from([192, 0, 2, 1]);
    let mut id = 0u32;
    let mut max_live = 0;
    for k in 0..N {
        let tup = k % TUPLES;
        let cli = IpAddr::from([10, 1, (tup >> 8) as u8, tup as u8]);
        let sport = 30000 + (tup % 7) as u16;
        let base = k as i64 * 20_000; // 20 µs apart: a tuple comes back after ~225 ms
        let isn = k.wrapping_mul(2_654_435_761);
        let sisn = isn ^ 0x5555_5555;
        let mut send = |c2s: bool, dt: i64, seq: u32, ack: u32, flags: u16| {
            let (src, dst, sp, dp) = if c2s {
                (cli, srv, sport, 443)
            } else {
                (srv, cli, 443, sport)
            };
            let l4 = L4::Tcp {
                sport: sp,
                dport: dp,
                seq,
                ack,
                flags,
                window: 500,
                wscale: None,
                mss: None,
                sack_permitted: false,
                ts: None,
                payload_len: 0,
                payload: &[],
            };
            let p = FlowPacket {
                id: PacketId(id),
                ts: Timestamp(base + dt),
                src,
                dst,
                vlans: [0; 2],
                vlan_count: 0,
                tunnel: 0,
                tunnels: &[],
                l4,
            };
            id += 1;
            t.process(&p, &mut sink)
        };
        let v = send(true, 0, isn, 0, 0x02);
        assert!(v.new_conn, "connection {k} not new");
        if k % 7 == 3 {
            continue; // left open: the next use of the tuple has a new ISN
        }
        send(false, 1_000, sisn, isn + 1, 0x12);
        send(true, 2_000, isn + 1, sisn + 1, 0x10);
        if k % 5 == 0 {
            send(true, 3_000, isn + 1, sisn + 1, 0x14);
        } else {
            send(true, 3_000, isn + 1, sisn + 1, 0x11);
            send(false, 4_000, sisn + 1, isn + 2, 0x11);
            send(true, 5_000, isn + 2, sisn + 2, 0x10);
        }
        max_live = max_live.max(t.live());
    }
    t.finish(&mut sink);
    assert_eq!((sink.new, sink.done), (N, N));
    // Memory follows live connections: closed ones linger at most 5 s of capture time.
    assert!(max_live <= TUPLES as usize, "{max_live} live");
    assert!(
        sink.states["SF"] > 150_000 && sink.states["RSTO"] > 25_000 && sink.states["S0"] > 30_000,
        "{:?}",
        sink.states
    );
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Frames 1–5 of `zeek/http-get-gzip.pcap` (real bytes): handshake, GET, ACK.
/// tshark: iRTT 0.023020 s, frame 4 "Seq=1 Ack=1 Len=79", frame 5 "Seq=1 Ack=80".
const GZIP_FRAMES: [(i64, &str); 5] = [
    (382_875, "0010db88d2efc8bcc896d2a0080045000040454e40004006d6278d8ee40536f376bbc3e90050c53d8b1100000000b002ffffc0890000020405b4010303040101080a1d1325960000000004020000"),
    (405_666, "c8bcc896d2a00010db88d2ef08004500003c0000400030062b7a36f376bb8d8ee4050050c3e92d6d036dc53d8b12a0123890472b0000020405b40402080a1b9b05491d13259601030308"),
    (405_895, "0010db88d2efc8bcc896d2a0080045000034151b4000400606678d8ee40536f376bbc3e90050c53d8b122d6d036e8010202b8e4700000101080a1d1325ac1b9b0549"),
    (406_021, "0010db88d2efc8bcc896d2a0080045000083a72540004006740d8d8ee40536f376bbc3e90050c53d8b122d6d036e8018202b7ab600000101080a1d1325ac1b9b0549474554202f677a697020485454502f312e310d0a557365722d4167656e743a206375726c2f372e32392e300d0a486f73743a206874747062696e2e6f72670d0a4163636570743a202a2f2a0d0a0d0a"),
    (428_446, "c8bcc896d2a00010db88d2ef080045000034062140003006256136f376bb8d8ee4050050c3e92d6d036ec53d8b6180100039ade400000101080a1b9b054f1d1325ac"),
];

#[test]
fn real_handshake_and_request() {
    let frames: Vec<Vec<u8>> = GZIP_FRAMES.iter().map(|(_, h)| unhex(h)).collect();
    let mut t = ConnTable::new(FlowConfig::default());
    let mut rec = Rec::default();
    let mut v = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let mut p = to_flow(f, i as u32, 0);
        p.ts = Timestamp(1_363_624_631_000_000_000 + GZIP_FRAMES[i].0 * 1000);
        v.push(t.process(&p, &mut rec));
    }
    t.finish(&mut rec);
    assert!(v
        .iter()
        .all(|x| x.analysis.is_empty() && x.conn == Some(ConnId(0))));
    assert_eq!((v[3].rel_seq, v[3].rel_ack), (Some(1), Some(1)));
    assert_eq!(
        (v[4].rel_seq, v[4].rel_ack, v[4].dir),
        (Some(1), Some(80), S2C)
    );
    assert!(rec.stream(0, C2S).starts_with("GET /gzip HTTP/1.1\r\n"));
    assert_eq!(rec.stream(0, C2S).len(), 79);
    let k = rec.conn(0);
    assert_eq!(k.handshake.unwrap().rtt_ns(), Some(23_020_000));
    assert_eq!(k.history(), "ShADa");
    assert_eq!(k.state(), "S1");
    assert_eq!(k.community_id(), "1:sSwqNMUITelgfp6OCeS3Fj/C3v4=");
}

/// Every prefix of every real frame: the packets that still slice go through the
/// table without panicking (truncated TCP segments included).
#[test]
fn real_frames_truncation_sweep() {
    let frames: Vec<Vec<u8>> = GZIP_FRAMES.iter().map(|(_, h)| unhex(h)).collect();
    for cut in 0..=145 {
        let mut t = ConnTable::new(FlowConfig::default());
        let mut rec = Rec::default();
        for (i, f) in frames.iter().enumerate() {
            let f = &f[..cut.min(f.len())];
            let Ok(p) = etherparse::LaxSlicedPacket::from_ethernet(f) else {
                continue;
            };
            let Some(etherparse::TransportSlice::Tcp(tcp)) = p.transport else {
                continue;
            };
            let Some(ip) = p.net.as_ref().and_then(|n| n.ip_payload_ref()) else {
                continue;
            };
            let Some(etherparse::LaxNetSlice::Ipv4(v4)) = p.net.as_ref() else {
                continue;
            };
            let (src, dst) = (
                IpAddr::V4(v4.header().source_addr()),
                IpAddr::V4(v4.header().destination_addr()),
            );
            let declared = (ip.payload.len() as u32).saturating_sub(tcp.header_len() as u32);
            let l4 = L4::Tcp {
                sport: tcp.source_port(),
                dport: tcp.destination_port(),
                seq: tcp.sequence_number(),
                ack: tcp.acknowledgment_number(),
                flags: ((tcp.syn() as u16) << 1) | ((tcp.ack() as u16) << 4) | tcp.fin() as u16,
                window: tcp.window_size(),
                wscale: None,
                mss: None,
                sack_permitted: false,
                ts: None,
                // Declared length from the untruncated frame: the cut part is a gap.
                payload_len: declared.max(frames[i].len().saturating_sub(66) as u32),
                payload: tcp.payload(),
            };
            let fp = FlowPacket {
                id: PacketId(i as u32),
                ts: Timestamp(i as i64),
                src,
                dst,
                vlans: [0; 2],
                vlan_count: 0,
                tunnel: 0,
                tunnels: &[],
                l4,
            };
            t.process(&fp, &mut rec);
        }
        t.finish(&mut rec);
        assert_eq!(t.live(), 0);
        for e in &rec.ev {
            if let Ev::Data(_, _, b) = e {
                assert!(b.len() <= 79);
            }
        }
    }
}

#[test]
fn eviction_and_reassembly_limit_are_anomalies() {
    // Three connections, room for two: the idlest is finished early with an anomaly.
    let cfg = FlowConfig {
        max_conns: 2,
        ..FlowConfig::default()
    };
    let mut p = Vec::new();
    for (k, port) in [40001u16, 40002, 40003].into_iter().enumerate() {
        let mut t = c(ISN_C, 0, "S", b"");
        t.sp = port;
        p.push((k as i64, t.bytes()));
    }
    let (v, rec) = run_at(cfg, &p);
    assert_eq!(v[2].conn, Some(ConnId(2)));
    assert_eq!(rec.done[0].id, ConnId(0));
    assert_eq!(rec.done[0].anomalies[0].name(), "conn_evicted");
    assert!(rec.done[1].anomalies.is_empty());

    // Per-direction buffer of 4 bytes: out-of-order data beyond it is delivered
    // after a gap, and the connection carries `reassembly_limit`.
    let cfg = FlowConfig {
        max_dir_buffered: 4,
        ..FlowConfig::default()
    };
    let mut pk = handshake();
    pk.push(c(1004, 5001, "PA", b"cd"));
    pk.push(c(1007, 5001, "PA", b"fgh"));
    pk.push(c(1001, 5001, "PA", b"abc"));
    let b: Vec<(i64, Vec<u8>)> = pk
        .iter()
        .enumerate()
        .map(|(i, t)| (i as i64, t.bytes()))
        .collect();
    let (_, rec) = run_at(cfg, &b);
    assert_eq!(rec.stream(0, C2S), "[gap 3]cd[gap 1]fgh");
    let k = rec.conn(0);
    assert_eq!(k.anomalies[0].name(), "reassembly_limit");
    assert_eq!(k.missed_bytes, 4);
}

/// A connection summary stays small: no per-packet storage.
#[test]
fn connection_is_compact() {
    let n = std::mem::size_of::<Connection>();
    assert!(n <= 544, "Connection is {n} bytes");
}

#[test]
fn tcp_lifetimes_follow_capture_time() {
    // A closed connection lingers: a late final ACK (1 s) still joins it; a packet
    // 10 s after the last one starts a new (mid-stream) connection.
    let mut p = fast_handshake();
    p.push((10, c(1001, 5001, "FA", b"")));
    p.push((11, s(5001, 1002, "FA", b"")));
    p.push((1_011, c(1002, 5002, "A", b"")));
    p.push((11_011, c(1002, 5002, "A", b"")));
    let (v, rec) = run_ms(&p);
    assert_eq!(v[5].conn, Some(ConnId(0)));
    assert_eq!(v[6].conn, Some(ConnId(1)));
    assert_eq!(rec.conn(0).state(), "SF");
    // An open connection idle for more than the TCP idle timeout is finished.
    let hour = 3_600_000;
    let p = vec![
        (0, c(1001, 5001, "PA", b"a")),
        (hour + 1, c(1002, 5001, "PA", b"b")),
    ];
    let (v, rec) = run_ms(&p);
    assert_ne!(v[0].conn, v[1].conn);
    assert_eq!(rec.done.len(), 2);
}

/// An ACK that the capture shows before the data it acknowledges (capture
/// reordering, as in `zeek/ipv6-http-atomic-frag.pcap` frames 6–8) does not turn the
/// data into a gap; the gap is declared only once the sender moves past the ACKed
/// point.
#[test]
fn ack_before_data_is_not_a_gap() {
    let mut p = handshake();
    p.push(s(5001, 1004, "A", b""));
    p.push(c(1001, 5001, "PA", b"abc"));
    let (v, rec) = run(&p);
    assert_eq!(names(&v[3]), ["ack_lost_segment"]);
    assert_eq!(names(&v[4]), ["spurious_retransmission"]);
    assert_eq!(rec.stream(0, C2S), "abc");
    assert_eq!(rec.conn(0).missed_bytes, 0);

    let mut p = handshake();
    p.push(c(1001, 5001, "PA", b"abc"));
    p.push(s(5001, 1017, "A", b""));
    p.push(c(1017, 5001, "PA", b"xyz"));
    let (_, rec) = run(&p);
    assert_eq!(rec.stream(0, C2S), "abc[gap 13]xyz");
    assert_eq!(rec.conn(0).missed_bytes, 13);
}

/// The embedded frames are the capture's bytes (provenance check).
#[test]
fn embedded_frames_match_the_capture() {
    let data = std::fs::read(crate::testutil::shared_capture("zeek/http-get-gzip.pcap")).unwrap();
    let mut o = 24;
    for (_, hex) in GZIP_FRAMES {
        let cap = u32::from_le_bytes(data[o + 8..o + 12].try_into().unwrap()) as usize;
        assert_eq!(data[o + 16..o + 16 + cap], unhex(hex)[..]);
        o += 16 + cap;
    }
}
