//! The TCP half of the connection table: one segment through its connection — port
//! reuse on a known tuple, orientation from the handshake, Zeek's endpoint states and
//! `history`, Wireshark's sequence analysis, reassembly, phases and the close.
//! Keys, VLAN contexts, creation and expiry are the table's (`mod.rs`).

use super::*;
use crate::flow::pack::{state_code, state_of, Dec, Enc};

#[derive(Debug, Default)]
pub(super) struct TcpDir {
    pub(super) r: Reassembler,
    pub(super) a: SeqInfo,
    pub(super) isn: Option<u32>,
    pub(super) syn_seen: bool,
    /// The window-scale option of this side's SYN (outer None: SYN not seen).
    pub(super) wscale: Option<Option<u8>>,
    /// Non-SYN packets seen from this side.
    pub(super) data_seen: bool,
}

#[derive(Debug, Default)]
pub(super) struct TcpLive {
    pub(super) dir: [TcpDir; 2],
    pub(super) irtt: Option<i64>,
    /// Client ISN implied by the server's SYN/ACK (ack - 1).
    pub(super) implied_client_isn: Option<u32>,
    pub(super) z: ZeekTcp,
}

/// What Zeek's TCP analyzer keeps per side beyond the state `conn_state` reads
/// (`TCP_Endpoint`: `prev_state`, `start_seq`, `last_seq`), indexed by direction.
#[derive(Debug, Default)]
pub(super) struct ZeekTcp {
    prev: [EndpointState; 2],
    start: [u32; 2],
    last: [u32; 2],
    /// The connection began with a SYN/ACK that Zeek does not flip at creation
    /// ([`zeek_tcp_flip`]): Zeek keeps the SYN/ACK's sender as originator until the
    /// first pure ACK or payload, then flips (`TCP_Endpoint::CheckHistory`, history
    /// "H" becomes "^h"). wiretale names the SYN/ACK's receiver the client from the
    /// start; while this is set, the state machine sees the sides as Zeek does.
    h_pending: bool,
    /// When the originator's first SYN moved it out of INACTIVE: Zeek's attempt
    /// timer (`tcp_attempt_delay`, 5 s) removes a connection still unanswered then.
    attempt_ts: Option<Timestamp>,
    /// Zeek's reassembly position per side, for `G` (see [`ZeekGaps`]).
    gaps: [ZeekGaps; 2],
    /// Zeek's `is_partial` (the connection did not open with SYN then SYN/ACK) and
    /// which sides have sent a packet (`first_packet_seen`).
    partial: bool,
    first_seen: [bool; 2],
    /// Relative sequence number just past each side's data before its FIN.
    fin_end: [Option<u32>; 2],
}

/// Where Zeek's reassembler of one side stands (`TCP_Reassembler::last_reassem_seq`
/// and its out-of-order blocks), relative to the side's start sequence number, so
/// `G` appears where Zeek's appears: when an ACK acknowledges data that was never
/// seen (`AckReceived` → `TrimToSeq` → `Undelivered` → `Gap`). wiretale's own
/// reassembler waits longer before it gives up on a hole; this only places letters.
/// At most [`MAX_ZEEK_BLOCKS`] blocks are remembered.
#[derive(Debug, Default)]
struct ZeekGaps {
    /// Next relative sequence number to deliver (0 = not started: 1 is the first).
    reassem: u64,
    /// Out-of-order blocks `[start, end)`, sorted, past `reassem`.
    blocks: Vec<(u64, u64)>,
}

const MAX_ZEEK_BLOCKS: usize = 64;

impl ZeekGaps {
    fn pos(&self) -> u64 {
        self.reassem.max(1)
    }

    /// Zeek's `DataSent` for `[start, end)`.
    fn data(&mut self, start: u64, end: u64) {
        let pos = self.pos();
        if end <= pos {
            return;
        }
        if start <= pos {
            self.reassem = end;
            self.drain();
        } else if self.blocks.len() < MAX_ZEEK_BLOCKS {
            let at = self.blocks.partition_point(|b| b.0 < start);
            self.blocks.insert(at, (start, end));
        }
    }

    /// Delivers blocks that have become contiguous.
    fn drain(&mut self) {
        while let Some(&(a, b)) = self.blocks.first() {
            if a > self.reassem {
                break;
            }
            self.reassem = self.reassem.max(b);
            self.blocks.remove(0);
        }
    }

    /// Zeek's `AckReceived` up to relative `ack` (exclusive): the number of gaps
    /// (`Gap` calls) it reveals. `partial`: Zeek ignores "missing" bytes 1..2 of a
    /// connection whose start it did not see.
    fn acked(&mut self, ack: u64, partial: bool) -> u32 {
        let pos = self.pos();
        if ack <= pos {
            return 0;
        }
        if ack <= 2 && partial {
            return 0;
        }
        let mut n = 0;
        self.reassem = pos;
        while let Some(&(a, b)) = self.blocks.first() {
            if a >= ack {
                break;
            }
            if a > self.reassem {
                n += 1;
            }
            self.reassem = self.reassem.max(b);
            self.blocks.remove(0);
        }
        if ack > self.reassem {
            n += 1;
            self.reassem = ack;
        }
        self.drain();
        n
    }
}

/// Lossless packing of a connection's TCP state, for a closed connection that only
/// lingers for late packets (`linger.rs`): timestamps relative to `e.base`.
impl TcpLive {
    /// Appends the state to `e`; None when a direction still buffers segments (the
    /// connection is then left whole).
    pub(super) fn pack(&self, e: &mut Enc) -> Option<()> {
        for d in &self.dir {
            d.r.pack(e)?;
            let a = &d.a;
            e.opt_u64(a.nextseq.map(u64::from));
            e.ts(a.nextseq_ts);
            e.opt_u64(a.maxseqtobeacked.map(u64::from));
            e.u64(u64::from(a.lastack));
            e.ts(a.lastack_ts);
            e.opt_u64(a.window.map(u64::from));
            e.opt_u64(a.win_scale.map(u64::from));
            e.u64(u64::from(a.dupacknum));
            e.u64(u64::from(a.lastnondupack.0));
            e.u64(u64::from(a.last_flags.0));
            e.opt_u64(d.isn.map(u64::from));
            e.bool(d.syn_seen);
            e.opt_u64(d.wscale.map(|w| w.map_or(0, |v| u64::from(v) + 1)));
            e.bool(d.data_seen);
        }
        match self.irtt {
            None => e.u8(0),
            Some(v) => {
                e.u8(1);
                e.i64(v);
            }
        }
        e.opt_u64(self.implied_client_isn.map(u64::from));
        let z = &self.z;
        for i in 0..2 {
            e.u8(state_code(z.prev[i]));
            e.u64(u64::from(z.start[i]));
            e.u64(u64::from(z.last[i]));
            e.u64(z.gaps[i].reassem);
            e.u64(z.gaps[i].blocks.len() as u64);
            for &(a, b) in &z.gaps[i].blocks {
                e.u64(a);
                e.u64(b);
            }
            e.bool(z.first_seen[i]);
            e.opt_u64(z.fin_end[i].map(u64::from));
        }
        e.bool(z.h_pending);
        e.opt_ts(z.attempt_ts);
        e.bool(z.partial);
        Some(())
    }

    /// Reads what [`TcpLive::pack`] wrote.
    pub(super) fn unpack(d: &mut Dec<'_>) -> Self {
        let mut t = TcpLive::default();
        for td in &mut t.dir {
            td.r = Reassembler::unpack(d);
            let a = &mut td.a;
            a.nextseq = d.opt_u64().map(|v| v as u32);
            a.nextseq_ts = d.ts();
            a.maxseqtobeacked = d.opt_u64().map(|v| v as u32);
            a.lastack = d.u32();
            a.lastack_ts = d.ts();
            a.window = d.opt_u64().map(|v| v as u32);
            a.win_scale = d.opt_u64().map(|v| v as u8);
            a.dupacknum = d.u32();
            a.lastnondupack = PacketId(d.u32());
            a.last_flags = TcpAnalysisFlags(d.u32());
            td.isn = d.opt_u64().map(|v| v as u32);
            td.syn_seen = d.bool();
            td.wscale = d.opt_u64().map(|w| w.checked_sub(1).map(|v| v as u8));
            td.data_seen = d.bool();
        }
        t.irtt = match d.u8() {
            0 => None,
            _ => Some(d.i64()),
        };
        t.implied_client_isn = d.opt_u64().map(|v| v as u32);
        let z = &mut t.z;
        for i in 0..2 {
            z.prev[i] = state_of(d.u8());
            z.start[i] = d.u32();
            z.last[i] = d.u32();
            z.gaps[i].reassem = d.u64();
            let n = d.u64() as usize;
            z.gaps[i].blocks = (0..n).map(|_| (d.u64(), d.u64())).collect();
            z.first_seen[i] = d.bool();
            z.fin_end[i] = d.opt_u64().map(|v| v as u32);
        }
        z.h_pending = d.bool();
        z.attempt_ts = d.opt_ts();
        z.partial = d.bool();
        t
    }
}

/// Zeek's `tcp_attempt_delay`.
const ZEEK_ATTEMPT_DELAY_NS: i64 = 5_000_000_000;

/// Zeek's `TOO_LARGE_SEQ_DELTA`: SYN/RST sequence jumps beyond this are not trusted.
const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

/// Has Zeek's attempt timer removed this connection by `now` (an originator's
/// SYN or SYN/ACK still unanswered 5 s after it)? The next packet on the tuple then
/// starts a new connection, as in Zeek.
pub(super) fn attempt_expired(e: &Entry, now: Timestamp) -> bool {
    use EndpointState::*;
    let Some(t) = e.tcp.as_ref() else {
        return false;
    };
    let Some(at) = t.z.attempt_ts else {
        return false;
    };
    let st = &e.conn.ep_state;
    let (o, r) = if t.z.h_pending { (1, 0) } else { (0, 1) };
    matches!(st[o], SynSent | SynAckSent)
        && st[r] == Inactive
        && now.0.saturating_sub(at.0) >= ZEEK_ATTEMPT_DELAY_NS
}

impl ConnTable {
    pub(super) fn tcp(&mut self, pkt: &FlowPacket, sink: &mut impl StreamSink) -> PacketVerdict {
        let L4::Tcp {
            sport,
            dport,
            seq: sq,
            ack,
            flags,
            window,
            wscale,
            payload_len,
            payload,
            ..
        } = pkt.l4
        else {
            return PacketVerdict::none();
        };
        let src = Endpoint::new(pkt.src, sport);
        let dst = Endpoint::new(pkt.dst, dport);
        let (key, side) = make_key(6, src, dst, pkt.tunnel);
        let vlan = vlan_ctx(pkt);
        let (syn, ackf, fin, rst) = (
            flags & SYN != 0,
            flags & ACK != 0,
            flags & FIN != 0,
            flags & RST != 0,
        );

        let mut slot = self.find(&key, side, vlan);
        let mut port_reuse = false;
        if let Some(s) = slot {
            self.unpack_slot(s);
            let e = self.slab[s as usize].as_ref();
            if e.is_some_and(|e| self.expired(e, pkt.ts) || attempt_expired(e, pkt.ts)) {
                self.finish_slot(s, sink);
                slot = None;
            } else if syn && !ackf && e.is_some_and(|e| is_new_syn(e, src, sq)) {
                self.finish_slot(s, sink);
                slot = None;
                port_reuse = true;
            }
        }
        if slot.is_none() && syn && !ackf {
            port_reuse |= self.recently_closed(&key, pkt.ts);
        }
        let mut new_conn = false;
        let slot = match slot {
            Some(s) => s,
            None => {
                // Zeek's orientation (`TCPAnalyzer::WantConnection`): a SYN's sender is
                // the originator; otherwise Zeek's port rule decides. A SYN/ACK's
                // receiver is always the client here: where Zeek's port rule keeps
                // the sender as originator, Zeek flips at the first ACK or payload
                // (see `ZeekTcp::h_pending`), to the same `^h` history.
                let plain_syn = syn && !ackf;
                let zflip = !plain_syn && zeek_tcp_flip(syn, sport, dport);
                let (client, server, guessed, flipped) = if plain_syn {
                    (src, dst, false, false)
                } else if syn || zflip {
                    (dst, src, true, true)
                } else {
                    (src, dst, true, false)
                };
                let id = self.new_id();
                let mut c = Connection::new(
                    id,
                    ConnProto::Tcp,
                    client,
                    server,
                    pkt.ts,
                    self.cfg.community_id_seed,
                );
                c.orientation_guessed = guessed;
                c.vlans = pkt.vlans;
                c.vlan_count = vlan.0;
                if flipped {
                    c.history.flipped();
                }
                new_conn = true;
                let s = self.create(key, c, true, sink);
                if let Some(e) = self.slab[s as usize].as_mut() {
                    if let Some(t) = e.tcp.as_mut() {
                        t.z.h_pending = syn && ackf && !zflip;
                    }
                    sink.conn_new(&e.conn);
                }
                s
            }
        };
        let limits = self.limits();
        let total = &mut self.total_buffered;
        let stats = &mut self.stats;
        let closing = &mut self.closing;
        let Some(e) = self.slab.get_mut(slot as usize).and_then(|e| e.as_mut()) else {
            return PacketVerdict::none();
        };
        let first_of_side = e.vlan_side[side].is_none();
        if first_of_side {
            e.vlan_side[side] = Some(vlan);
        }
        e.last_pkt = pkt.id;
        let Some(t) = e.tcp.as_mut() else {
            return PacketVerdict::none();
        };
        let c = &mut e.conn;
        let d = c.dir_of(src);
        if first_of_side {
            note_tunnel(c, d, pkt.tunnels);
        }
        let (i, o) = (d.index(), d.reverse().index());
        // A timestamp that jumps back (a clock step, a corrupt record) does not rewind
        // the connection: idleness is measured from the latest time seen.
        c.last_ts = c.last_ts.max(pkt.ts);
        c.packets[i] += 1;

        if syn && !ackf && d == Direction::ClientToServer {
            // A SYN from the side we picked as client confirms a guessed orientation
            // (SYN/ACK seen first); `^` stays in the history, as in Zeek.
            c.orientation_guessed = false;
        }
        // Initial sequence numbers and window scaling (RFC 7323 §2.2: scaling applies
        // only when both SYNs carried the option).
        if syn {
            let td = &mut t.dir[i];
            if !td.syn_seen {
                td.syn_seen = true;
                td.isn = Some(sq);
                td.wscale = Some(wscale);
                td.r.start(sq.wrapping_add(1));
            }
            if ackf && d == Direction::ServerToClient {
                t.implied_client_isn.get_or_insert(ack.wrapping_sub(1));
            }
            if let (Some(a), Some(b)) = (t.dir[0].wscale, t.dir[1].wscale) {
                let both = a.is_some() && b.is_some();
                t.dir[0].a.win_scale = Some(if both { a.unwrap_or(0).min(14) } else { 0 });
                t.dir[1].a.win_scale = Some(if both { b.unwrap_or(0).min(14) } else { 0 });
            }
        } else {
            t.dir[i].data_seen = true;
            if t.dir[i].isn.is_none() {
                // Like Wireshark: without a SYN, the first seq seen is relative 1.
                t.dir[i].isn = Some(sq.wrapping_sub(1));
            }
        }
        if ackf && t.dir[o].isn.is_none() {
            t.dir[o].isn = Some(ack.wrapping_sub(1));
        }

        // Wireshark's sequence analysis.
        let (fwd, rev) = split_dirs(&mut t.dir, i);
        let seg = Seg {
            seq: sq,
            ack,
            flags,
            seglen: payload_len,
            window,
        };
        let (mut af, dup) = analyze(&mut fwd.a, &mut rev.a, seg, pkt.ts, pkt.id, t.irtt);
        if port_reuse {
            af.insert(TcpAnalysisFlags::PORT_REUSE);
        }
        for b in af.bits() {
            c.analysis[b] = c.analysis[b].saturating_add(1);
        }
        let seq_base = fwd.isn;
        let ack_base = if ackf { rev.isn } else { None };
        let rel_seq = seq_base.map(|n| sq.wrapping_sub(n));
        let rel_ack = ack_base.map(|n| ack.wrapping_sub(n));
        let win_shift = if syn { None } else { fwd.a.win_scale };

        // Zeek history and endpoint states, in the order of Zeek's
        // `TCPSessionAdapter::Process`: sequence bookkeeping, `update_history`,
        // `update_window` (W), `update_last_seq` (T), then the state machine; gaps (G)
        // come from the ACK afterwards.
        let z = &mut t.z;
        let st = &mut c.ep_state;
        let h = &mut c.history;
        let pre = st[i];
        zeek_init_endpoint(z, pre, i, syn, fin, rst, sq, payload_len);
        // Zeek's `update_history`: one of SYN/FIN/RST gives S/H, F (seq after the
        // data), R; more than one gives I (FIN+RST) or Q; none gives D or A.
        let h_pending = z.h_pending;
        let ctl_bits = syn as u8 + fin as u8 + rst as u8;
        if ctl_bits > 1 {
            h.once(if fin && rst { b'i' } else { b'q' }, d);
        } else if ctl_bits == 1 {
            if syn {
                let may_repeat = pre == EndpointState::Closed
                    || (pre == EndpointState::Reset && z.prev[i] != EndpointState::Inactive);
                h.syn(if ackf { b'h' } else { b's' }, d, sq, may_repeat);
            }
            if fin {
                h.flag(b'f', d, sq.wrapping_add(payload_len));
            }
            if rst {
                h.flag(b'r', d, sq);
            }
        } else if payload_len > 0 {
            h.once(b'd', d);
        } else if ackf {
            h.once(b'a', d);
        }
        if h_pending && h.as_str() != "^h" {
            // Zeek flips at the first A or D while its history is exactly "H" (ours
            // already reads "^h"); any other letter first means it never flips.
            z.h_pending = false;
        }
        // Zeek's `update_window`: a zero window is boring with or after a RST, or
        // once the peer has sent a FIN.
        if window == 0 && !rst && st[o] != EndpointState::Closed && pre != EndpointState::Reset {
            h.counted(b'w', d);
        }
        // Zeek's `update_last_seq`: payload that does not advance the highest
        // sequence number seen from this side is a retransmission (also when it fills
        // a hole: Zeek has no separate out-of-order).
        let seg_len = payload_len
            .wrapping_add(syn as u32)
            .wrapping_add(fin as u32)
            .wrapping_sub(if rst { payload_len } else { 0 });
        let end = sq.wrapping_add(seg_len);
        let delta = end.wrapping_sub(z.last[i]) as i32;
        // A SYN/RST jumping this far is not trusted; after a RST nothing is.
        let untrusted =
            (syn || rst) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta);
        if !untrusted {
            // A FIN right after the SYN moves it even backwards (> 2 GB transfers).
            let fin_first = fin && z.last[i] == z.start[i].wrapping_add(1);
            if fin_first || (pre != EndpointState::Reset && delta > 0) {
                z.last[i] = end;
            } else if pre != EndpointState::Reset && payload_len > 0 {
                h.counted(b't', d);
            }
        }
        // While Zeek still has the SYN/ACK's sender as originator, its state machine
        // sees the sides swapped (for the packet that flips, too: Zeek passes the
        // stale `is_orig`).
        let is_orig = (d == Direction::ClientToServer) != h_pending;
        let orig = if z.h_pending { 1 } else { 0 };
        zeek_update_state(z, st, i, is_orig, orig, flags, payload_len, pkt.ts);
        // Zeek's `SetPartialStatus` on each side's first packet.
        if !z.first_seen[i] {
            z.first_seen[i] = true;
            if d == Direction::ClientToServer {
                z.partial = !syn || ackf;
            } else if !z.partial {
                z.partial = !syn;
            }
        }
        // `G`: the ACK first (Zeek's `AckReceived` comes after the state machine),
        // then this packet's own data (`DataSent`).
        if ackf && z.first_seen[o] {
            let rel = ack.wrapping_sub(z.start[o]);
            // Zeek stops at the FIN: its sequence slot is not data.
            let rel = match z.fin_end[o] {
                Some(f) if (rel.wrapping_sub(f) as i32) >= 0 => f,
                _ => rel,
            };
            if (rel as i32) > 0 {
                let n = z.gaps[o].acked(u64::from(rel), z.partial);
                if n > 0 && gaps_count(z, st) {
                    for _ in 0..n {
                        h.counted(b'g', d.reverse());
                    }
                }
            }
        }
        // Zeek's reassembler never sees a payload cut short by the snap length
        // (`truncated_tcp_payload`): the ACK for it then shows a gap.
        if payload_len > 0 && !rst && payload.len() as u64 >= u64::from(payload_len) {
            let rel = sq.wrapping_sub(z.start[i]).wrapping_add(syn as u32);
            if (rel as i32) >= 0 {
                let a = u64::from(rel);
                z.gaps[i].data(a, a + u64::from(payload_len));
            }
        }
        if fin {
            let rel = sq
                .wrapping_sub(z.start[i])
                .wrapping_add(syn as u32)
                .wrapping_add(payload_len);
            z.fin_end[i] = Some(rel);
        }

        // Handshake and phases.
        if syn && !ackf && d == Direction::ClientToServer {
            // The SYN that got answered is the last one before the SYN/ACK (Wireshark
            // measures the iRTT from it too).
            let hs = c.handshake.get_or_insert_with(Handshake::default);
            if hs.synack_ts.is_none() || hs.syn_ts.is_none() {
                hs.syn_ts = Some(pkt.ts);
            }
        }
        if syn && ackf && d == Direction::ServerToClient {
            c.handshake
                .get_or_insert_with(Handshake::default)
                .synack_ts
                .get_or_insert(pkt.ts);
        }
        if !syn && ackf && d == Direction::ClientToServer {
            if let Some(hs) = c.handshake.as_mut() {
                let acks_synack = rev.syn_seen && rev.isn.map(|n| n.wrapping_add(1)) == Some(ack);
                if hs.synack_ts.is_some() && hs.ack_ts.is_none() && acks_synack {
                    hs.ack_ts = Some(pkt.ts);
                    t.irtt = hs.rtt_ns();
                }
            }
        }
        if payload_len > 0 {
            c.phases.first_payload[i].get_or_insert(pkt.ts);
            c.phases.last_payload[i] = Some(pkt.ts);
        }
        if fin && c.phases.fin[i].is_none() {
            c.phases.fin[i] = Some(pkt.ts);
            if c.phases.fin[o].is_none() && c.phases.rst == [None, None] {
                c.phases.half_close.get_or_insert((d, pkt.ts));
            }
            c.close.get_or_insert(Close {
                by: d,
                how: CloseHow::Fin,
                ts: pkt.ts,
            });
        }
        if rst {
            c.phases.rst[i].get_or_insert(pkt.ts);
            c.close.get_or_insert(Close {
                by: d,
                how: CloseHow::Rst,
                ts: pkt.ts,
            });
        }

        // Reassembly.
        let (fwd, rev) = split_dirs(&mut t.dir, i);
        let ctx = Ctx {
            conn: c.id,
            dir: d,
            ts: pkt.ts,
            pkt: pkt.id,
        };
        // RFC 9293 §3.5.3: a RST may carry (diagnostic) data; it is delivered, then
        // the direction ends.
        if payload_len > 0 || fin {
            let first = if syn { sq.wrapping_add(1) } else { sq };
            let out = fwd.r.segment(
                first,
                payload,
                payload_len,
                fin,
                ctx,
                &mut *sink,
                total,
                limits,
            );
            c.retransmitted_bytes[i] += out.retrans_bytes;
            if out.overlap_mismatch {
                c.anomaly(
                    AnomalyKind::OverlapMismatch,
                    "retransmitted bytes differ from the first copy (first copy kept)",
                );
            }
            if out.limit_hit {
                stats.limit_hits += 1;
                c.anomaly(
                    AnomalyKind::ReassemblyLimit,
                    "out-of-order buffer limit hit; buffered data delivered after a gap",
                );
            }
        }
        if rst {
            fwd.r.end(ctx, &mut *sink, total);
        }
        // A RST's ACK field is not trusted as evidence of missed data.
        if ackf && !rst {
            let rctx = Ctx {
                dir: d.reverse(),
                ..ctx
            };
            rev.r.acked(ack, rctx, &mut *sink, total);
        }
        sync_bytes(c, t);
        if !e.closed && (rst || (c.phases.fin[0].is_some() && c.phases.fin[1].is_some())) {
            e.closed = true;
            closing.push_back((c.last_ts.0, slot, c.id));
        }
        PacketVerdict {
            conn: Some(c.id),
            dir: d,
            analysis: af,
            rel_seq,
            rel_ack,
            seq_base,
            ack_base,
            new_conn,
            dup_ack: dup,
            win_shift,
        }
    }
}

/// Borrows direction `i` mutably as "forward" and the other as "reverse".
fn split_dirs(dirs: &mut [TcpDir; 2], i: usize) -> (&mut TcpDir, &mut TcpDir) {
    let [a, b] = dirs;
    if i == 0 {
        (a, b)
    } else {
        (b, a)
    }
}

pub(super) fn sync_bytes(c: &mut Connection, t: &TcpLive) {
    for i in 0..2 {
        let r = &t.dir[i].r;
        c.bytes[i] = r.delivered + r.gap_bytes;
    }
    c.missed_bytes = t.dir[0].r.gap_bytes + t.dir[1].r.gap_bytes;
}

/// Does a SYN (no ACK) from `src` with sequence `sq` start a new connection?
pub(super) fn is_new_syn(e: &Entry, src: Endpoint, sq: u32) -> bool {
    if e.closed {
        return true;
    }
    let Some(t) = e.tcp.as_ref() else {
        return false;
    };
    let d = e.conn.dir_of(src);
    let td = &t.dir[d.index()];
    if td.syn_seen {
        return td.isn != Some(sq);
    }
    if d == Direction::ClientToServer {
        if let Some(isn) = t.implied_client_isn {
            return isn != sq;
        }
    }
    td.data_seen
}

/// Zeek's `init_endpoint`: the side's start and last sequence numbers (Zeek's
/// relative numbering), set on its first packet and re-set by a SYN in most states.
#[allow(clippy::too_many_arguments)]
fn zeek_init_endpoint(
    z: &mut ZeekTcp,
    state: EndpointState,
    i: usize,
    syn: bool,
    fin: bool,
    rst: bool,
    seq: u32,
    len: u32,
) {
    use EndpointState::*;
    let seg_len = len
        .wrapping_add(syn as u32)
        .wrapping_add(fin as u32)
        .wrapping_sub(if rst { len } else { 0 });
    let end = seq.wrapping_add(seg_len);
    let reinit = match state {
        Inactive => {
            // Without a SYN, as though one had been seen just before.
            z.start[i] = if syn { seq } else { seq.wrapping_sub(1) };
            z.last[i] = if syn { end } else { seq };
            false
        }
        SynSent | SynAckSent => syn && seq != z.start[i],
        Established | Partial => syn,
        Reset => syn && z.prev[i] == Inactive,
        Closed => false,
    };
    if reinit {
        z.start[i] = seq;
        z.last[i] = end;
    }
}

/// Zeek's `TCP_Endpoint::SetState`: remembers the previous state.
fn set_state(z: &mut ZeekTcp, st: &mut [EndpointState; 2], i: usize, s: EndpointState) {
    if st[i] != s {
        z.prev[i] = st[i];
        st[i] = s;
    }
}

/// Zeek's TCP endpoint state machine (`TCPSessionAdapter::UpdateStateMachine` and the
/// `Update*State` functions) for one packet from side `me`. `is_orig` is whether Zeek
/// takes the sender for the originator, `orig` the index of Zeek's originator side.
#[allow(clippy::too_many_arguments)]
fn zeek_update_state(
    z: &mut ZeekTcp,
    st: &mut [EndpointState; 2],
    me: usize,
    is_orig: bool,
    orig: usize,
    flags: u16,
    len: u32,
    ts: Timestamp,
) {
    use EndpointState::*;
    let peer = 1 - me;
    let (syn, ack, fin, rst) = (
        flags & SYN != 0,
        flags & ACK != 0,
        flags & FIN != 0,
        flags & RST != 0,
    );
    match st[me] {
        Inactive => {
            if syn {
                if is_orig {
                    set_state(z, st, me, if ack { SynAckSent } else { SynSent });
                    z.attempt_ts.get_or_insert(ts);
                } else {
                    if !ack && st[peer] == SynAckSent {
                        // A SYN answering the originator's SYN/ACK: the two were seen
                        // in reverse order; Zeek flips and establishes.
                        z.h_pending = false;
                        set_state(z, st, peer, Established);
                    }
                    if st[peer] == SynSent {
                        set_state(z, st, peer, Established);
                    }
                    set_state(z, st, me, Established);
                }
            }
            if fin {
                set_state(z, st, me, Closed);
            }
            if rst {
                set_state(z, st, me, Reset);
            }
            if st[me] == Inactive {
                if !is_orig && len == 0 && st[orig] == SynSent {
                    // An ACK of the SYN before the SYN/ACK: not a partial connection.
                } else if ack && st[peer] == Established {
                    // The SYN/ACK was seen but the SYN missed: establish.
                    set_state(z, st, me, Established);
                } else {
                    set_state(z, st, me, Partial);
                }
            }
        }
        SynSent | SynAckSent => {
            if fin {
                set_state(z, st, me, Closed);
            }
            if rst {
                set_state(z, st, me, Reset);
            }
        }
        Established | Partial => {
            if syn && st[me] == Partial && st[peer] == Inactive && !ack {
                set_state(z, st, me, SynSent);
            }
            if fin && !rst {
                set_state(z, st, me, Closed);
                if st[peer] == Reset && z.prev[peer] == Closed {
                    // The peer's FIN then RST was a normal close after all.
                    set_state(z, st, peer, Closed);
                }
            }
            if rst {
                set_state(z, st, me, Reset);
            }
        }
        Closed => {
            // After FINs both ways a RST changes nothing (still SF).
            if rst && st[peer] != Closed {
                set_state(z, st, me, Reset);
            }
        }
        Reset => {}
    }
}

/// Zeek's `TCP_Reassembler::Gap` adds `G` only while both sides are cleanly
/// established or closing (`established_or_cleanly_closing`): gaps around a RST or in
/// a partial connection are not trusted.
fn gaps_count(z: &ZeekTcp, st: &[EndpointState; 2]) -> bool {
    let clean = |i: usize| {
        st[i] == EndpointState::Established
            || (st[i] == EndpointState::Closed && z.prev[i] == EndpointState::Established)
    };
    clean(0) && clean(1)
}
