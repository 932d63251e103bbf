//! TCP sequence analysis with Wireshark's rules (epan/dissectors/packet-tcp.c,
//! `tcp_analyze_sequence_number`, as in Wireshark 4.0). The checks run in Wireshark's
//! order and some end the first block early (`goto finished_fwd` there), because the
//! order decides which flag a packet gets: a 1-byte segment at `nextseq` while the
//! peer's window is zero is a zero-window probe, not new data, and so on.

use super::seq;
use super::tcp_flags::{ACK, FIN, RST, SYN};
use crate::base::{AnomalyKind, PacketId, Timestamp};

/// Per-packet TCP analysis flags (a bit set); see [`TcpAnalysisFlags::names`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpAnalysisFlags(pub u32);

/// The name the issue used for the same type.
pub type TcpFlagsAnalysis = TcpAnalysisFlags;

impl TcpAnalysisFlags {
    pub const EMPTY: Self = Self(0);
    pub const RETRANSMISSION: Self = Self(1 << 0);
    pub const FAST_RETRANSMISSION: Self = Self(1 << 1);
    pub const SPURIOUS_RETRANSMISSION: Self = Self(1 << 2);
    pub const OUT_OF_ORDER: Self = Self(1 << 3);
    pub const LOST_SEGMENT: Self = Self(1 << 4);
    pub const ACK_LOST_SEGMENT: Self = Self(1 << 5);
    pub const DUPLICATE_ACK: Self = Self(1 << 6);
    pub const ZERO_WINDOW: Self = Self(1 << 7);
    pub const ZERO_WINDOW_PROBE: Self = Self(1 << 8);
    pub const WINDOW_FULL: Self = Self(1 << 9);
    pub const WINDOW_UPDATE: Self = Self(1 << 10);
    pub const KEEP_ALIVE: Self = Self(1 << 11);
    pub const PORT_REUSE: Self = Self(1 << 12);
    pub const KEEP_ALIVE_ACK: Self = Self(1 << 13);
    pub const ZERO_WINDOW_PROBE_ACK: Self = Self(1 << 14);

    /// Number of distinct flags (size of per-connection count arrays).
    pub const COUNT: usize = 15;

    /// The anomaly kind of each flag, by bit position.
    pub const KINDS: [AnomalyKind; Self::COUNT] = [
        AnomalyKind::Retransmission,
        AnomalyKind::FastRetransmission,
        AnomalyKind::SpuriousRetransmission,
        AnomalyKind::OutOfOrder,
        AnomalyKind::LostSegment,
        AnomalyKind::AckLostSegment,
        AnomalyKind::DuplicateAck,
        AnomalyKind::ZeroWindow,
        AnomalyKind::ZeroWindowProbe,
        AnomalyKind::WindowFull,
        AnomalyKind::WindowUpdate,
        AnomalyKind::KeepAlive,
        AnomalyKind::PortReuse,
        AnomalyKind::KeepAliveAck,
        AnomalyKind::ZeroWindowProbeAck,
    ];

    /// Stable snake_case names, by bit position (the kinds' names).
    pub const NAMES: [&'static str; Self::COUNT] = {
        let mut names = [""; Self::COUNT];
        let mut b = 0;
        while b < Self::COUNT {
            names[b] = Self::KINDS[b].name();
            b += 1;
        }
        names
    };

    /// Bit positions in the order tshark shows them in the Info column (Wireshark
    /// prepends each label, so this is its print order reversed). Verified against
    /// tshark 4.0.17 only for "[TCP ZeroWindowProbeAck] [TCP ZeroWindow]"; other
    /// combinations follow the reversal from memory of packet-tcp.c.
    const INFO_ORDER: [u32; Self::COUNT] = [12, 3, 2, 1, 14, 7, 8, 6, 13, 9, 10, 11, 5, 4, 0];

    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    pub fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Names of the set flags, in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        self.kinds().map(AnomalyKind::name)
    }

    /// Anomaly kinds of the set flags, in bit order.
    pub fn kinds(self) -> impl Iterator<Item = AnomalyKind> {
        self.bits().map(|b| Self::KINDS[b])
    }

    /// Bit positions of the set flags.
    pub fn bits(self) -> impl Iterator<Item = usize> {
        (0..Self::COUNT).filter(move |b| self.0 & (1 << b) != 0)
    }

    /// tshark's Info-column prefix; `dup` is (frame duplicated, dup number).
    pub fn info_prefix(self, dup: Option<(PacketId, u32)>) -> String {
        let mut s = String::new();
        for b in Self::INFO_ORDER {
            if self.0 & (1 << b) == 0 {
                continue;
            }
            let label = match b {
                0 => "[TCP Retransmission]",
                1 => "[TCP Fast Retransmission]",
                2 => "[TCP Spurious Retransmission]",
                3 => "[TCP Out-Of-Order]",
                4 => "[TCP Previous segment not captured]",
                5 => "[TCP ACKed unseen segment]",
                6 => {
                    let (f, n) = dup.map(|(p, n)| (p.frame_number(), n)).unwrap_or((0, 0));
                    s.push_str(&format!("[TCP Dup ACK {f}#{n}] "));
                    continue;
                }
                7 => "[TCP ZeroWindow]",
                8 => "[TCP ZeroWindowProbe]",
                9 => "[TCP Window Full]",
                10 => "[TCP Window Update]",
                11 => "[TCP Keep-Alive]",
                12 => "[TCP Port numbers reused]",
                13 => "[TCP Keep-Alive ACK]",
                _ => "[TCP ZeroWindowProbeAck]",
            };
            s.push_str(label);
            s.push(' ');
        }
        s
    }
}

impl std::ops::BitOr for TcpAnalysisFlags {
    type Output = Self;
    fn bitor(self, o: Self) -> Self {
        Self(self.0 | o.0)
    }
}

/// Wireshark's `tcp_analyze_seq_info_t` for one direction.
#[derive(Clone, Copy, Debug, Default)]
pub struct SeqInfo {
    /// Highest seq + len (+1 for SYN/FIN) seen; `None` before the first packet.
    pub nextseq: Option<u32>,
    pub nextseq_ts: Timestamp,
    /// Highest seq that the peer may ACK without "ACKed unseen segment".
    pub maxseqtobeacked: Option<u32>,
    /// Last ACK number sent in this direction (0 when the ACK flag was clear).
    pub lastack: u32,
    pub lastack_ts: Timestamp,
    /// Last window advertised in this direction (scaled when the scale is known).
    pub window: Option<u32>,
    /// Window-scale shift, `None` while unknown (SYNs not both seen).
    pub win_scale: Option<u8>,
    pub dupacknum: u32,
    pub lastnondupack: PacketId,
    pub last_flags: TcpAnalysisFlags,
}

/// The header fields the analysis looks at.
#[derive(Clone, Copy, Debug)]
pub struct Seg {
    pub seq: u32,
    pub ack: u32,
    pub flags: u16,
    pub seglen: u32,
    pub window: u16,
}

/// Runs Wireshark's checks for one segment sent in direction `fwd` (the peer's state
/// is `rev`), updates both, and returns the flags plus dup-ACK details.
/// `irtt_ns` is the handshake RTT (Wireshark's out-of-order threshold; 3 ms unknown).
pub fn analyze(
    fwd: &mut SeqInfo,
    rev: &mut SeqInfo,
    s: Seg,
    ts: Timestamp,
    pkt: PacketId,
    irtt_ns: Option<i64>,
) -> (TcpAnalysisFlags, Option<(PacketId, u32)>) {
    let mut f = TcpAnalysisFlags::EMPTY;
    let mut dup = None;
    let ctl = s.flags & (SYN | FIN | RST) != 0;
    let ack = if s.flags & ACK != 0 { s.ack } else { 0 };
    let window = match fwd.win_scale {
        Some(sc) if s.flags & SYN == 0 => (s.window as u32) << sc.min(14),
        _ => s.window as u32,
    };
    let at_next = fwd.nextseq == Some(s.seq);
    let same_ack = fwd.nextseq.is_some() && ack == fwd.lastack;

    'fwd: {
        // ZERO WINDOW PROBE: one byte at nextseq while the peer advertises zero.
        if s.seglen == 1 && at_next && rev.window == Some(0) {
            f.insert(TcpAnalysisFlags::ZERO_WINDOW_PROBE);
            break 'fwd;
        }
        // ZERO WINDOW
        if window == 0 && !ctl {
            f.insert(TcpAnalysisFlags::ZERO_WINDOW);
        }
        // LOST PACKET: a hole before this segment.
        if let Some(n) = fwd.nextseq {
            if seq::gt(s.seq, n) && s.flags & RST == 0 {
                f.insert(TcpAnalysisFlags::LOST_SEGMENT);
            }
            // KEEP ALIVE: 0 or 1 byte at nextseq - 1.
            if s.seglen <= 1 && !ctl && n.wrapping_sub(1) == s.seq {
                f.insert(TcpAnalysisFlags::KEEP_ALIVE);
            }
        }
        // WINDOW UPDATE
        if s.seglen == 0 && window != 0 && Some(window) != fwd.window && at_next && same_ack && !ctl
        {
            f.insert(TcpAnalysisFlags::WINDOW_UPDATE);
        }
        // WINDOW FULL: this segment fills the peer's advertised window exactly.
        if s.seglen > 0 && !ctl && rev.win_scale.is_some() {
            if let Some(w) = rev.window {
                if s.seq.wrapping_add(s.seglen) == rev.lastack.wrapping_add(w) {
                    f.insert(TcpAnalysisFlags::WINDOW_FULL);
                }
            }
        }
        let same_win = Some(window) == fwd.window;
        // KEEP ALIVE ACK
        if s.seglen == 0
            && window != 0
            && same_win
            && at_next
            && same_ack
            && rev.last_flags.contains(TcpAnalysisFlags::KEEP_ALIVE)
            && !ctl
        {
            f.insert(TcpAnalysisFlags::KEEP_ALIVE_ACK);
            break 'fwd;
        }
        // ZERO WINDOW PROBE ACK
        if s.seglen == 0
            && window == 0
            && same_win
            && at_next
            && fwd.nextseq.is_some()
            && (ack == fwd.lastack || ack == fwd.lastack.wrapping_add(1))
            && rev.last_flags.contains(TcpAnalysisFlags::ZERO_WINDOW_PROBE)
            && !ctl
        {
            f.insert(TcpAnalysisFlags::ZERO_WINDOW_PROBE_ACK);
            break 'fwd;
        }
        // DUPLICATE ACK: nothing changed but the packet was sent anyway.
        if s.seglen == 0 && window != 0 && same_win && at_next && same_ack && !ctl {
            fwd.dupacknum += 1;
            f.insert(TcpAnalysisFlags::DUPLICATE_ACK);
            dup = Some((fwd.lastnondupack, fwd.dupacknum));
        }
    }
    if !f.contains(TcpAnalysisFlags::DUPLICATE_ACK) {
        fwd.lastnondupack = pkt;
        fwd.dupacknum = 0;
    }
    // ACKED LOST PACKET: the peer acknowledges data this capture never saw.
    if let Some(m) = rev.maxseqtobeacked {
        if seq::gt(ack, m) && s.flags & ACK != 0 {
            f.insert(TcpAnalysisFlags::ACK_LOST_SEGMENT);
            // The peer evidently sent up to `ack`: move its highest seq there, so the
            // warning is not repeated and a late copy of the unseen data counts as a
            // (spurious) retransmission, as tshark reports it.
            rev.maxseqtobeacked = Some(ack);
            rev.nextseq = Some(ack);
        }
    }
    // RETRANSMISSION family: data (or SYN/FIN) below the highest seq seen.
    if let Some(n) = fwd.nextseq {
        if (s.seglen > 0 || s.flags & (SYN | FIN) != 0)
            && seq::lt(s.seq, n)
            && !f.contains(TcpAnalysisFlags::KEEP_ALIVE)
        {
            let since_ack = ts.0.saturating_sub(rev.lastack_ts.0);
            let since_next = ts.0.saturating_sub(fwd.nextseq_ts.0);
            let ooo_thres = irtt_ns.filter(|&r| r > 0).unwrap_or(3_000_000);
            // SYN and FIN occupy one sequence number: a repeated FIN ends at nextseq
            // and is a retransmission, not out-of-order (as tshark flags it).
            let seg_end = s
                .seq
                .wrapping_add(s.seglen)
                .wrapping_add((s.flags & (SYN | FIN) != 0) as u32);
            if rev.dupacknum >= 2 && rev.lastack == s.seq && since_ack < 20_000_000 {
                f.insert(TcpAnalysisFlags::FAST_RETRANSMISSION);
            } else if since_next < ooo_thres && n != seg_end {
                f.insert(TcpAnalysisFlags::OUT_OF_ORDER);
            } else if s.seglen > 0
                && rev.lastack != 0
                && seq::ge(rev.lastack, s.seq.wrapping_add(s.seglen))
            {
                f.insert(TcpAnalysisFlags::SPURIOUS_RETRANSMISSION);
            } else {
                f.insert(TcpAnalysisFlags::RETRANSMISSION);
            }
        }
    }
    let mut next = s.seq.wrapping_add(s.seglen);
    if s.flags & (SYN | FIN) != 0 {
        next = next.wrapping_add(1);
    }
    if !f.contains(TcpAnalysisFlags::ZERO_WINDOW_PROBE) {
        if fwd.nextseq.is_none_or(|n| seq::gt(next, n)) {
            fwd.nextseq = Some(next);
            fwd.nextseq_ts = ts;
        }
        if fwd.maxseqtobeacked.is_none_or(|m| seq::gt(next, m)) {
            fwd.maxseqtobeacked = fwd.nextseq;
        }
    }
    fwd.window = Some(window);
    fwd.lastack = ack;
    fwd.lastack_ts = ts;
    fwd.last_flags = f;
    (f, dup)
}
