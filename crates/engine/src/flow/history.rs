//! Zeek's connection `history` string and `conn_state` (Zeek `base/protocols/conn`,
//! `Conn::Info`), so wiretale's summaries line up with Zeek's conn.log. The rules are
//! read from Zeek's source (commit a13de64f: `TCPSessionAdapter.cc` `update_history`,
//! `update_window`, `update_last_seq`, the `Update*State` functions; `TCP_Endpoint.cc`;
//! `Session::ScaledHistoryEntry`; `UDP.cc`; `main.zeek` `conn_state`) and checked
//! against Zeek's own baselines by `tests/zeek_conn_states.rs`.
//!
//! History letters: upper case for the originator, lower case for the responder.
//! `S` SYN, `H` SYN+ACK, `A` pure ACK, `D` payload (for UDP: any datagram, even an
//! empty one), `F` FIN, `R` RST, `G` content gap, `T` retransmitted payload, `W` zero
//! window, `I` inconsistent (FIN+RST), `Q` other multi-flag (SYN+FIN, SYN+RST), `^`
//! direction flipped by heuristic. Repeat rules as Zeek has them: `A D I Q` at most once
//! per direction; `S` and `H` share one slot per direction (a side that sent a SYN gets
//! no `H` for its SYN/ACK), repeated only once the side has closed or been reset and
//! the sequence number changed; `F R` again when the sequence number differs from the
//! last packet with that flag; `G T W` (and `C`) logarithmically, the 1st, 10th,
//! 100th, ... occurrence.

use crate::base::Direction;

/// Zeek's TCP endpoint states (`TCP_Endpoint::EndpointState`).
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EndpointState {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

/// The history string plus the counters its repeat rules need. Compact: the string
/// is a small fixed buffer (Zeek's history is short in practice; beyond the buffer,
/// letters are dropped and `overflow` is set).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default)]
pub struct History {
    buf: [u8; 24],
    len: u8,
    pub overflow: bool,
    /// Letters seen once (bit per letter index, per direction).
    once: [u32; 2],
    /// Last seq per repeatable flag letter (S H F R) per direction; valid where
    /// the matching bit of `seq_seen` is set.
    last_seq: [[u32; 4]; 2],
    seq_seen: u8,
    /// Counts for logarithmic letters (G T W) per direction (saturating).
    counts: [[u32; 3]; 2],
}

fn letter(c: u8, dir: Direction) -> u8 {
    match dir {
        Direction::ClientToServer => c.to_ascii_uppercase(),
        Direction::ServerToClient => c.to_ascii_lowercase(),
    }
}

impl History {
    /// Appends the history to `e` (see `flow::pack`): the letters, then the repeat
    /// state (mostly zeros, a byte each).
    pub(crate) fn pack(&self, e: &mut super::pack::Enc) {
        e.str(self.as_str());
        e.bool(self.overflow);
        for v in self.once {
            e.u64(u64::from(v));
        }
        e.u8(self.seq_seen);
        for (i, v) in self.last_seq.iter().flatten().enumerate() {
            // Only where a sequence number was seen (the rest stay zero).
            if self.seq_seen & (1 << i) != 0 {
                e.u64(u64::from(*v));
            }
        }
        for v in self.counts.iter().flatten() {
            e.u64(u64::from(*v));
        }
    }

    /// Reads what [`Self::pack`] wrote.
    pub(crate) fn unpack(d: &mut super::pack::Dec<'_>) -> Self {
        let mut h = History::default();
        let s = d.str();
        for (dst, src) in h.buf.iter_mut().zip(s.as_bytes()) {
            *dst = *src;
        }
        h.len = s.len().min(h.buf.len()) as u8;
        h.overflow = d.bool();
        h.once = [d.u32(), d.u32()];
        h.seq_seen = d.u8();
        for (i, v) in h.last_seq.iter_mut().flatten().enumerate() {
            if h.seq_seen & (1 << i) != 0 {
                *v = d.u32();
            }
        }
        for v in h.counts.iter_mut().flatten() {
            *v = d.u32();
        }
        h
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("")
    }

    fn push(&mut self, c: u8) {
        if (self.len as usize) < self.buf.len() {
            self.buf[self.len as usize] = c;
            self.len += 1;
        } else {
            self.overflow = true;
        }
    }

    /// Adds `^` (Zeek adds it when its heuristic flips the connection's direction).
    pub fn flipped(&mut self) {
        self.push(b'^');
    }

    /// `A`, `D`, `I`, `Q`: once per direction.
    pub fn once(&mut self, c: u8, dir: Direction) {
        let bit = 1u32 << (c.to_ascii_uppercase().wrapping_sub(b'A') & 31);
        let d = dir.index();
        if self.once[d] & bit == 0 {
            self.once[d] |= bit;
            self.push(letter(c, dir));
        }
    }

    /// `F`, `R` (and `S`/`H` through [`Self::syn`]): again when the sequence number
    /// changes.
    pub fn flag(&mut self, c: u8, dir: Direction, seq: u32) {
        let i = match c.to_ascii_uppercase() {
            b'S' | b'H' => 0,
            b'F' => 2,
            _ => 3,
        };
        let bit = 1u8 << (dir.index() * 4 + i);
        let slot = &mut self.last_seq[dir.index()][i];
        if self.seq_seen & bit == 0 || *slot != seq {
            self.seq_seen |= bit;
            *slot = seq;
            self.push(letter(c, dir));
        }
    }

    /// `S` or `H` (`c`): Zeek's one `HIST_SYN_PKT` slot per side. The first SYN of a
    /// side always counts; a later one only when `may_repeat` (the side is closed, or
    /// reset after having been active: Zeek re-bases the relative sequence number on
    /// every other SYN, so it compares equal) and its sequence number differs.
    pub fn syn(&mut self, c: u8, dir: Direction, seq: u32, may_repeat: bool) {
        let bit = 1u8 << (dir.index() * 4);
        if self.seq_seen & bit == 0 || may_repeat {
            self.flag(c, dir, seq);
        } else {
            self.last_seq[dir.index()][0] = seq;
        }
    }

    /// `G`, `T`, `W`: on the 1st, 10th, 100th, ... occurrence.
    pub fn counted(&mut self, c: u8, dir: Direction) {
        let i = match c.to_ascii_uppercase() {
            b'G' => 0,
            b'T' => 1,
            _ => 2,
        };
        let n = &mut self.counts[dir.index()][i];
        *n = n.saturating_add(1);
        let v = *n;
        let mut p = 1u32;
        while p < v {
            p = p.saturating_mul(10);
        }
        if p == v {
            self.push(letter(c, dir));
        }
    }
}

/// Zeek's `likely_server_ports` as a default `zeek` run fills it: the server ports
/// every analyzer of `base/init-default.zeek` registers (`Analyzer::register_for_ports`
/// in `base/protocols/*/main.zeek`) and the UDP tunnel ports of `base/packet-protocols`.
/// Zeek decides which side of a connection without a SYN is the server from this set
/// (`IPBasedAnalyzer::IsLikelyServerPort`), not from "port < 1024": 110/tcp (POP3 has
/// no registered port) is not a likely server port, 8080/tcp is.
pub fn likely_server_port(udp: bool, port: u16) -> bool {
    const TCP: &[u16] = &[
        21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502, 514, 563, 585, 587,
        614, 631, 636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389,
        5222, 5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
    ];
    const UDP: &[u16] = &[
        53, 67, 88, 123, 137, 161, 162, 389, 443, 514, 1812, 2123, 2152, 3389, 3544, 4011, 4754,
        4789, 5060, 5072, 5353, 5355, 6081, 20000,
    ];
    if udp { UDP } else { TCP }.binary_search(&port).is_ok()
}

/// Zeek's `TCPAnalyzer::WantConnection`: does a connection whose first packet is not a
/// plain SYN (a SYN/ACK or no SYN at all) get its roles flipped, so the packet's
/// *destination* is the originator? Only when the source port is a likely server port:
/// if the destination port is one too, only for a non-SYN packet towards a higher port.
pub fn zeek_tcp_flip(syn: bool, sport: u16, dport: u16) -> bool {
    likely_server_port(false, sport)
        && (!likely_server_port(false, dport) || (!syn && sport < dport))
}

/// Zeek's `UDPAnalyzer::WantConnection` + `IPBasedAnalyzer::NewConn`: the first
/// datagram's destination is the originator when the source port is a likely server
/// port and the destination port is not, unless the destination is the IPv4 broadcast
/// address. Two equal well-known ports (NTP 123↔123, DNS 53↔53) are not flipped: the
/// first sender is the originator.
pub fn zeek_udp_flip(dst: std::net::IpAddr, sport: u16, dport: u16) -> bool {
    let broadcast = matches!(dst, std::net::IpAddr::V4(a) if a.is_broadcast());
    likely_server_port(true, sport) && !likely_server_port(true, dport) && !broadcast
}

/// Zeek's `conn_state` for TCP, in Zeek's decision order
/// (`base/protocols/conn/main.zeek`, function `conn_state`). `sizes_zero` is "neither
/// side sent payload" (Zeek's `orig$size == 0 && resp$size == 0`).
pub fn tcp_conn_state(
    os: EndpointState,
    rs: EndpointState,
    sizes_zero: bool,
    history: &str,
) -> &'static str {
    use EndpointState::*;
    let o_inactive = matches!(os, Inactive | Partial);
    let r_inactive = matches!(rs, Inactive | Partial);
    if rs == Reset {
        if matches!(os, SynSent | SynAckSent) || (os == Reset && sizes_zero) {
            "REJ"
        } else if o_inactive {
            "RSTRH"
        } else {
            "RSTR"
        }
    } else if os == Reset {
        if r_inactive {
            if is_rstos0_history(history) {
                "RSTOS0"
            } else {
                "OTH"
            }
        } else {
            "RSTO"
        }
    } else if rs == Closed && os == Closed {
        "SF"
    } else if os == Closed {
        if r_inactive {
            "SH"
        } else {
            "S2"
        }
    } else if rs == Closed {
        if o_inactive {
            "SHR"
        } else {
            "S3"
        }
    } else if os == SynSent && rs == Inactive {
        "S0"
    } else if os == Established && rs == Established {
        "S1"
    } else {
        "OTH"
    }
}

/// Zeek's `/\^?S[^HAFGIQ]*R.*/` without a regex engine.
fn is_rstos0_history(h: &str) -> bool {
    let b = h.strip_prefix('^').unwrap_or(h);
    let Some(rest) = b.strip_prefix('S') else {
        return false;
    };
    for c in rest.chars() {
        if c == 'R' {
            return true;
        }
        if "HAFGIQ".contains(c) {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use EndpointState::*;
    const C: Direction = Direction::ClientToServer;
    const S: Direction = Direction::ServerToClient;

    #[test]
    fn history_repeat_rules() {
        let mut h = History::default();
        h.flag(b'S', C, 100);
        h.flag(b'S', C, 100); // same seq: not repeated
        h.flag(b'H', S, 7);
        h.once(b'A', C);
        h.once(b'A', C);
        h.once(b'D', C);
        h.once(b'D', S);
        for _ in 0..100 {
            h.counted(b'T', S);
        }
        h.flag(b'F', C, 5);
        h.flag(b'F', C, 6); // new seq: repeated
        assert_eq!(h.as_str(), "ShADdtttFF");
    }

    #[test]
    fn history_is_bounded() {
        let mut h = History::default();
        for i in 0..1000 {
            h.flag(b'S', C, i);
        }
        assert_eq!(h.as_str().len(), 24);
        assert!(h.overflow);
    }

    #[test]
    fn every_conn_state() {
        assert_eq!(tcp_conn_state(SynSent, Inactive, true, "S"), "S0");
        assert_eq!(
            tcp_conn_state(Established, Established, false, "ShAD"),
            "S1"
        );
        assert_eq!(tcp_conn_state(Closed, Closed, false, "ShADFf"), "SF");
        assert_eq!(tcp_conn_state(SynSent, Reset, true, "Sr"), "REJ");
        assert_eq!(tcp_conn_state(Closed, Established, false, "ShADF"), "S2");
        assert_eq!(tcp_conn_state(Established, Closed, false, "ShADf"), "S3");
        assert_eq!(tcp_conn_state(Reset, Established, false, "ShADR"), "RSTO");
        assert_eq!(tcp_conn_state(Established, Reset, false, "ShADr"), "RSTR");
        assert_eq!(tcp_conn_state(Reset, Inactive, true, "SR"), "RSTOS0");
        assert_eq!(tcp_conn_state(Inactive, Reset, true, "hr"), "RSTRH");
        assert_eq!(tcp_conn_state(Closed, Inactive, true, "SF"), "SH");
        assert_eq!(tcp_conn_state(Inactive, Closed, true, "hf"), "SHR");
        assert_eq!(tcp_conn_state(Partial, Partial, false, "Dd"), "OTH");
        assert_eq!(tcp_conn_state(Reset, Inactive, true, "DR"), "OTH");
    }

    #[test]
    fn zeek_likely_server_ports_and_flips() {
        assert!(likely_server_port(false, 80) && likely_server_port(false, 8080));
        assert!(!likely_server_port(false, 110) && !likely_server_port(false, 40000));
        assert!(likely_server_port(true, 123) && likely_server_port(true, 5353));
        assert!(!likely_server_port(true, 68) && !likely_server_port(true, 80));
        // SYN/ACK from a likely port to an unlikely one: flipped; both likely: not.
        assert!(zeek_tcp_flip(true, 443, 50000));
        assert!(!zeek_tcp_flip(true, 80, 443));
        assert!(zeek_tcp_flip(false, 80, 443) && !zeek_tcp_flip(false, 443, 80));
        let ip = |a: [u8; 4]| std::net::IpAddr::from(a);
        assert!(zeek_udp_flip(ip([10, 0, 0, 1]), 53, 40000));
        assert!(!zeek_udp_flip(ip([10, 0, 0, 1]), 123, 123));
        assert!(!zeek_udp_flip(ip([255; 4]), 67, 68));
    }

    #[test]
    fn rstos0_pattern() {
        assert!(is_rstos0_history("SR"));
        assert!(is_rstos0_history("^STTR"));
        assert!(!is_rstos0_history("SAR"));
        assert!(!is_rstos0_history("R"));
    }
}
