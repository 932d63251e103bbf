//! The TCP half of the connection table: one segment through its connection — port
//! reuse on a known tuple, orientation from the handshake, Zeek's endpoint states and
//! `history`, Wireshark's sequence analysis, reassembly, phases and the close.
//! Keys, VLAN contexts, creation and expiry are the table's (`mod.rs`).

use super::*;

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
            let e = self.slab[s as usize].as_ref();
            if e.is_some_and(|e| self.expired(e, pkt.ts)) {
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
                let (client, server, guessed, flipped) = if syn && !ackf {
                    (src, dst, false, false)
                } else if (syn && ackf) || src_is_server(sport, dport) {
                    // A SYN/ACK comes from the server; else guess by port.
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
                if let Some(e) = self.slab[s as usize].as_ref() {
                    sink.conn_new(&e.conn);
                }
                s
            }
        };
        let limits = self.limits();
        let total = &mut self.total_buffered;
        let stats = &mut self.stats;
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
        let rel_seq = fwd.isn.map(|n| sq.wrapping_sub(n));
        let rel_ack = if ackf {
            rev.isn.map(|n| ack.wrapping_sub(n))
        } else {
            None
        };
        let win_shift = if syn { None } else { fwd.a.win_scale };

        // Zeek history and endpoint states.
        // Zeek's `update_history`: one of SYN/FIN/RST gives S/H, F (seq after the
        // data), R; more than one gives I (FIN+RST) or Q; none gives D or A.
        let h = &mut c.history;
        let ctl_bits = syn as u8 + fin as u8 + rst as u8;
        if ctl_bits > 1 {
            h.once(if fin && rst { b'i' } else { b'q' }, d);
        } else if ctl_bits == 1 {
            if syn {
                h.flag(if ackf { b'h' } else { b's' }, d, sq);
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
        let retrans = TcpAnalysisFlags(
            TcpAnalysisFlags::RETRANSMISSION.0
                | TcpAnalysisFlags::FAST_RETRANSMISSION.0
                | TcpAnalysisFlags::SPURIOUS_RETRANSMISSION.0,
        );
        if af.0 & retrans.0 != 0 && payload_len > 0 {
            h.counted(b't', d);
        }
        if window == 0 && !syn && !rst {
            h.counted(b'w', d);
        }
        update_states(&mut c.ep_state, d, flags);

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
        let mut cs = Counting {
            inner: sink,
            gaps: [0; 2],
        };
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
                &mut cs,
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
            fwd.r.end(ctx, &mut cs, total);
        }
        // A RST's ACK field is not trusted as evidence of missed data.
        if ackf && !rst {
            let rctx = Ctx {
                dir: d.reverse(),
                ..ctx
            };
            rev.r.acked(ack, rctx, &mut cs, total);
        }
        for dd in [Direction::ClientToServer, Direction::ServerToClient] {
            for _ in 0..cs.gaps[dd.index()] {
                c.history.counted(b'g', dd);
            }
        }
        sync_bytes(c, t);
        if rst || (c.phases.fin[0].is_some() && c.phases.fin[1].is_some()) {
            e.closed = true;
        }
        PacketVerdict {
            conn: Some(c.id),
            dir: d,
            analysis: af,
            rel_seq,
            rel_ack,
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

/// Zeek's endpoint state machine, reduced to what `conn_state` reads.
fn update_states(st: &mut [EndpointState; 2], d: Direction, flags: u16) {
    use EndpointState::*;
    let (me, peer) = (d.index(), d.reverse().index());
    let (syn, ack, fin, rst) = (
        flags & SYN != 0,
        flags & ACK != 0,
        flags & FIN != 0,
        flags & RST != 0,
    );
    if rst {
        st[me] = Reset;
        return;
    }
    if syn {
        if ack {
            if d == Direction::ServerToClient {
                if matches!(st[peer], SynSent | SynAckSent) {
                    st[peer] = Established;
                }
                if !matches!(st[me], Closed | Reset) {
                    st[me] = Established;
                }
            } else if st[me] == Inactive {
                st[me] = SynAckSent;
            }
        } else if matches!(st[me], Inactive | Partial) {
            st[me] = SynSent;
        }
    } else if st[me] == Inactive {
        st[me] = Partial;
    } else if ack && st[me] == SynSent && st[peer] == Established {
        st[me] = Established;
    }
    if fin && st[me] != Reset {
        st[me] = Closed;
    }
}
