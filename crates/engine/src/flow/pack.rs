//! A finished connection packed into a few bytes, for whoever must hold many of them for
//! a while (the streaming story holds every record of its window: at 38,000 short
//! connections a second that is hundreds of thousands of 600-byte records).
//!
//! The packing is lossless: [`unpack_conn`] gives back a connection equal in every field
//! to the one packed (the tests compare them on every shared capture), so whatever reads
//! the connection afterwards (narration, naming, a display filter) sees the same thing.
//! What makes it small: integers as LEB128 varints, timestamps as differences from the
//! connection's start (a handshake 40 µs after the SYN takes 3 bytes, not 16), absent
//! values as one byte. The rare parts that are lists or boxes (a tunnel stack, anomalies,
//! ICMP errors) are not packed: [`pack_conn`] returns None and the caller keeps the
//! record whole.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::conn::{Close, CloseHow, ConnProto, Connection, Handshake, IcmpInfo, Phases};
use super::history::{EndpointState, History};
use super::tcp_analysis::TcpAnalysisFlags;
use crate::base::{ConnId, Direction, Endpoint, Timestamp};

/// Writes values as bytes; timestamps relative to [`Enc::base`].
#[derive(Default)]
pub struct Enc {
    pub buf: Vec<u8>,
    /// What timestamps are written as differences from.
    pub base: i64,
}

/// Reads what [`Enc`] wrote, in the same order. Reading past the end gives zeros: the
/// bytes are always ones this process wrote, and a wrong value would show in the
/// round-trip tests, not as a panic.
pub struct Dec<'a> {
    buf: &'a [u8],
    pub base: i64,
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

impl Enc {
    #[cfg(test)]
    pub fn new() -> Self {
        Enc::default()
    }

    pub fn u128(&mut self, mut v: u128) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(b);
                return;
            }
            self.buf.push(b | 0x80);
        }
    }

    /// The same bytes as [`Enc::u128`], in 64-bit arithmetic (most values: a packed
    /// record has some sixty, and 128-bit shifts made them a noticeable cost).
    #[inline]
    pub fn u64(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v & 0x7f) as u8 | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    pub fn i64(&mut self, v: i64) {
        self.u64(zigzag(v));
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    /// None as 0, Some(v) as v + 1.
    pub fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            None => self.u64(0),
            Some(v) => match v.checked_add(1) {
                Some(w) => self.u64(w),
                None => self.u128(u128::from(v) + 1),
            },
        }
    }

    pub fn ts(&mut self, t: Timestamp) {
        self.i64(t.0.wrapping_sub(self.base));
    }

    pub fn opt_ts(&mut self, t: Option<Timestamp>) {
        self.opt_u64(t.map(|t| zigzag(t.0.wrapping_sub(self.base))));
    }

    pub fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
    }

    pub fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }

    pub fn ip(&mut self, ip: IpAddr) {
        match ip {
            IpAddr::V4(a) => {
                self.u8(4);
                self.buf.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                self.u8(6);
                self.buf.extend_from_slice(&a.octets());
            }
        }
    }

    pub fn endpoint(&mut self, e: Endpoint) {
        self.ip(e.ip);
        self.u64(u64::from(e.port));
    }

    pub fn dir(&mut self, d: Direction) {
        self.u8(d.index() as u8);
    }

    /// Bytes another `Enc` wrote, length first (read back with [`Dec::blob`]).
    pub fn blob(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    /// The bytes, in an allocation of exactly their size (packers use [`pack_exact`]).
    #[cfg(test)]
    pub fn finish(self) -> Box<[u8]> {
        self.buf.into_boxed_slice()
    }
}

/// Packs with `f` into a buffer this thread reuses, then copies the bytes out into an
/// allocation of exactly their size (None when `f` says the value does not pack): one
/// allocation per record, where growing a fresh buffer took five reallocations and a
/// shrinking one, and left the heap fragmented (malloc was a third of the story's time
/// on many short connections). A nested call packs into a fresh buffer.
pub fn pack_exact(f: impl FnOnce(&mut Enc) -> Option<()>) -> Option<Box<[u8]>> {
    thread_local! {
        static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    SCRATCH.with(|s| {
        let mut e = Enc {
            buf: s.take(),
            base: 0,
        };
        e.buf.clear();
        let out = f(&mut e).map(|()| Box::<[u8]>::from(e.buf.as_slice()));
        s.set(e.buf);
        out
    })
}

impl<'a> Dec<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Dec { buf, base: 0 }
    }

    pub fn u128(&mut self) -> u128 {
        let mut v = 0u128;
        let mut shift = 0u32;
        while let Some((&b, rest)) = self.buf.split_first() {
            self.buf = rest;
            if shift < 128 {
                v |= u128::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        v
    }

    /// What [`Enc::u64`] wrote (the low 64 bits of a longer varint, as `u128() as
    /// u64` gives), with a one-byte fast path.
    #[inline]
    pub fn u64(&mut self) -> u64 {
        if let Some((&b, rest)) = self.buf.split_first() {
            if b < 0x80 {
                self.buf = rest;
                return u64::from(b);
            }
        }
        let mut v = 0u64;
        let mut shift = 0u32;
        while let Some((&b, rest)) = self.buf.split_first() {
            self.buf = rest;
            if shift < 64 {
                v |= u64::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        v
    }

    pub fn u32(&mut self) -> u32 {
        self.u64() as u32
    }

    pub fn u16(&mut self) -> u16 {
        self.u64() as u16
    }

    pub fn i64(&mut self) -> i64 {
        unzigzag(self.u64())
    }

    pub fn u8(&mut self) -> u8 {
        match self.buf.split_first() {
            Some((&b, rest)) => {
                self.buf = rest;
                b
            }
            None => 0,
        }
    }

    pub fn bool(&mut self) -> bool {
        self.u8() != 0
    }

    pub fn opt_u64(&mut self) -> Option<u64> {
        // Ten bytes or more may hold `u64::MAX + 1` (Some(u64::MAX)): 128 bits then.
        let long = self.buf.iter().take(9).all(|b| b & 0x80 != 0);
        let v = if long {
            self.u128()
        } else {
            u128::from(self.u64())
        };
        match v {
            0 => None,
            v => Some((v - 1) as u64),
        }
    }

    pub fn ts(&mut self) -> Timestamp {
        Timestamp(self.i64().wrapping_add(self.base))
    }

    pub fn opt_ts(&mut self) -> Option<Timestamp> {
        self.opt_u64()
            .map(|z| Timestamp(unzigzag(z).wrapping_add(self.base)))
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.buf.len());
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        a
    }

    /// What [`Enc::blob`] wrote, to read on its own (its timestamps from base 0).
    pub fn blob(&mut self) -> Dec<'a> {
        let n = usize::try_from(self.u64()).unwrap_or(usize::MAX);
        Dec::new(self.bytes(n))
    }

    pub fn str(&mut self) -> String {
        let n = usize::try_from(self.u64()).unwrap_or(usize::MAX);
        String::from_utf8_lossy(self.bytes(n)).into_owned()
    }

    pub fn opt_str(&mut self) -> Option<String> {
        match self.u8() {
            0 => None,
            _ => Some(self.str()),
        }
    }

    pub fn ip(&mut self) -> IpAddr {
        match self.u8() {
            6 => {
                let mut a = [0u8; 16];
                for (d, s) in a.iter_mut().zip(self.bytes(16)) {
                    *d = *s;
                }
                IpAddr::V6(Ipv6Addr::from(a))
            }
            _ => {
                let mut a = [0u8; 4];
                for (d, s) in a.iter_mut().zip(self.bytes(4)) {
                    *d = *s;
                }
                IpAddr::V4(Ipv4Addr::from(a))
            }
        }
    }

    pub fn endpoint(&mut self) -> Endpoint {
        let ip = self.ip();
        Endpoint::new(ip, self.u16())
    }

    pub fn dir(&mut self) -> Direction {
        match self.u8() {
            0 => Direction::ClientToServer,
            _ => Direction::ServerToClient,
        }
    }

    /// Nothing left (a test checks that everything written was read).
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

fn proto_code(p: ConnProto) -> u8 {
    match p {
        ConnProto::Tcp => 0,
        ConnProto::Udp => 1,
        ConnProto::Icmp => 2,
    }
}

fn proto_of(c: u8) -> ConnProto {
    match c {
        0 => ConnProto::Tcp,
        1 => ConnProto::Udp,
        _ => ConnProto::Icmp,
    }
}

/// Appends `c` to `e`; None (and `e` partly written: drop it) when `c` has a part that
/// is not packed (tunnel, anomalies, ICMP errors).
pub fn pack_conn(c: &Connection, e: &mut Enc) -> Option<()> {
    if c.tunnel.is_some() || !c.anomalies.is_empty() || c.icmp_errs.is_some() {
        return None;
    }
    e.u64(u64::from(c.id.0));
    e.u8(proto_code(c.proto));
    e.endpoint(c.client);
    e.endpoint(c.server);
    e.u64(u64::from(c.vlans[0]));
    e.u64(u64::from(c.vlans[1]));
    e.u8(c.vlan_count);
    e.bool(c.orientation_guessed);
    e.ts(c.first_ts);
    let outer = e.base;
    e.base = c.first_ts.0;
    e.ts(c.last_ts);
    for v in c
        .packets
        .iter()
        .chain(&c.bytes)
        .chain(&c.retransmitted_bytes)
    {
        e.u64(*v);
    }
    e.u64(c.missed_bytes);
    match c.handshake {
        None => e.u8(0),
        Some(h) => {
            e.u8(1);
            e.opt_ts(h.syn_ts);
            e.opt_ts(h.synack_ts);
            e.opt_ts(h.ack_ts);
        }
    }
    match c.close {
        None => e.u8(0),
        Some(cl) => {
            e.u8(match cl.how {
                CloseHow::Fin => 1,
                CloseHow::Rst => 2,
            });
            e.dir(cl.by);
            e.ts(cl.ts);
        }
    }
    let p = &c.phases;
    for t in p
        .first_payload
        .iter()
        .chain(&p.last_payload)
        .chain(&p.fin)
        .chain(&p.rst)
    {
        e.opt_ts(*t);
    }
    match p.half_close {
        None => e.u8(0),
        Some((d, t)) => {
            e.u8(1);
            e.dir(d);
            e.ts(t);
        }
    }
    for n in &c.analysis {
        e.u64(u64::from(*n));
    }
    match c.icmp {
        None => e.u8(0),
        Some(i) => {
            e.u8(1);
            e.bool(i.v6);
            e.u64(u64::from(i.id));
            e.u8(i.kind);
            e.u8(i.code);
        }
    }
    c.history.pack(e);
    for s in c.ep_state {
        e.u8(state_code(s));
    }
    e.u64(u64::from(c.seed));
    e.base = outer;
    Some(())
}

/// Reads a connection [`pack_conn`] wrote.
pub fn unpack_conn(d: &mut Dec<'_>) -> Connection {
    let id = ConnId(d.u32());
    let proto = proto_of(d.u8());
    let client = d.endpoint();
    let server = d.endpoint();
    let vlans = [d.u16(), d.u16()];
    let vlan_count = d.u8();
    let orientation_guessed = d.bool();
    let first_ts = d.ts();
    let outer = d.base;
    d.base = first_ts.0;
    let last_ts = d.ts();
    let mut n6 = [0u64; 6];
    n6.iter_mut().for_each(|v| *v = d.u64());
    let missed_bytes = d.u64();
    let handshake = match d.u8() {
        0 => None,
        _ => Some(Handshake {
            syn_ts: d.opt_ts(),
            synack_ts: d.opt_ts(),
            ack_ts: d.opt_ts(),
        }),
    };
    let close = match d.u8() {
        0 => None,
        how => Some(Close {
            how: if how == 1 {
                CloseHow::Fin
            } else {
                CloseHow::Rst
            },
            by: d.dir(),
            ts: d.ts(),
        }),
    };
    let mut t8 = [None; 8];
    t8.iter_mut().for_each(|t| *t = d.opt_ts());
    let half_close = match d.u8() {
        0 => None,
        _ => Some((d.dir(), d.ts())),
    };
    let mut analysis = [0u32; TcpAnalysisFlags::COUNT];
    analysis.iter_mut().for_each(|n| *n = d.u32());
    let icmp = match d.u8() {
        0 => None,
        _ => Some(IcmpInfo {
            v6: d.bool(),
            id: d.u16(),
            kind: d.u8(),
            code: d.u8(),
        }),
    };
    let history = History::unpack(d);
    let ep_state = [state_of(d.u8()), state_of(d.u8())];
    let seed = d.u16();
    d.base = outer;
    let [p0, p1, b0, b1, r0, r1] = n6;
    let [fp0, fp1, lp0, lp1, f0, f1, r0t, r1t] = t8;
    Connection {
        id,
        proto,
        client,
        server,
        vlans,
        vlan_count,
        tunnel: None,
        orientation_guessed,
        first_ts,
        last_ts,
        packets: [p0, p1],
        bytes: [b0, b1],
        retransmitted_bytes: [r0, r1],
        missed_bytes,
        handshake,
        close,
        phases: Phases {
            first_payload: [fp0, fp1],
            last_payload: [lp0, lp1],
            fin: [f0, f1],
            rst: [r0t, r1t],
            half_close,
        },
        analysis,
        anomalies: Vec::new(),
        icmp,
        icmp_errs: None,
        history,
        ep_state,
        seed,
    }
}

pub(crate) fn state_code(s: EndpointState) -> u8 {
    match s {
        EndpointState::Inactive => 0,
        EndpointState::SynSent => 1,
        EndpointState::SynAckSent => 2,
        EndpointState::Partial => 3,
        EndpointState::Established => 4,
        EndpointState::Closed => 5,
        EndpointState::Reset => 6,
    }
}

pub(crate) fn state_of(c: u8) -> EndpointState {
    match c {
        1 => EndpointState::SynSent,
        2 => EndpointState::SynAckSent,
        3 => EndpointState::Partial,
        4 => EndpointState::Established,
        5 => EndpointState::Closed,
        6 => EndpointState::Reset,
        _ => EndpointState::Inactive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_zigzag_and_options_round_trip_at_the_edges() {
        let mut e = Enc::new();
        let ints = [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 1 << 40];
        for v in ints {
            e.i64(v);
        }
        let opts = [None, Some(0u64), Some(u64::MAX), Some(300)];
        for v in opts {
            e.opt_u64(v);
        }
        e.base = i64::MAX - 3;
        let ts = [Timestamp(i64::MIN), Timestamp(0), Timestamp(i64::MAX)];
        for t in ts {
            e.ts(t);
            e.opt_ts(Some(t));
        }
        e.opt_ts(None);
        e.opt_str(Some("héllo"));
        e.opt_str(None);
        e.ip("2001:db8::1".parse().unwrap());
        e.ip("198.18.0.1".parse().unwrap());
        let b = e.finish();
        let mut d = Dec::new(&b);
        for v in ints {
            assert_eq!(d.i64(), v);
        }
        for v in opts {
            assert_eq!(d.opt_u64(), v);
        }
        d.base = i64::MAX - 3;
        for t in ts {
            assert_eq!(d.ts(), t);
            assert_eq!(d.opt_ts(), Some(t));
        }
        assert_eq!(d.opt_ts(), None);
        assert_eq!(d.opt_str().as_deref(), Some("héllo"));
        assert_eq!(d.opt_str(), None);
        assert_eq!(d.ip().to_string(), "2001:db8::1");
        assert_eq!(d.ip().to_string(), "198.18.0.1");
        assert!(d.is_empty());
        // Past the end: zeros, no panic.
        assert_eq!(d.u64(), 0);
        assert_eq!(d.opt_str(), None);
    }
}
