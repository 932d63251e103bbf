//! One connection in depth, computed when the user opens it: the phases of its life
//! with their durations, the ladder of its packets, its HTTP exchanges, its TLS hellos,
//! its anomalies; and its reassembled conversation (`follow`). A QUIC connection has
//! QUIC's phases (client Initial → server Initial → handshake confirmed → close or idle,
//! RFC 9000 §7, RFC 9001 §4.1.2), its summary (versions, connection IDs, client
//! addresses) and a ladder of its packets by number space.
//!
//! Both only touch the connection's own packets: their ids come from one scan of the
//! 8-byte packet table, then each frame is read from the store and decoded once.

use super::rows::http_row;
use crate::source::{Arrow, ConnDetail, Phase, QuicArrow, Turn};
use wiretale_engine::analysis::decrypted::{shown_turns, Decrypted, Seg, ShownTurn};
use wiretale_engine::analysis::packet_table::{bit, PacketTable};
use wiretale_engine::analysis::quic_follow::quic_shown;
use wiretale_engine::analysis::{ConnRecord, Follower, HttpRecord, Turn as ATurn};
use wiretale_engine::base::{ConnId, Direction, FieldNode, PacketId, Timestamp};
use wiretale_engine::capture::FrameStore;
use wiretale_engine::decode::{self, tcp_flags, Packet, Transport};
use wiretale_engine::flow::{CloseHow, ConnProto};
use wiretale_engine::proto::dns::DnsTransaction;
use wiretale_engine::proto::quic::header::{split_datagram, LongType, Packet as QuicPacket};
use wiretale_engine::proto::tls::KeyLog;
use wiretale_engine::story::QuicEnd;
use wiretale_engine::story::{ConnName, QuicSummary};

/// Most packets drawn in the ladder (a bulk transfer can have millions).
pub const MAX_ARROWS: usize = 20_000;
/// Most packet anomaly lines listed.
pub const MAX_ANOMALY_LINES: usize = 500;
/// Most conversation bytes `follow` collects (the TUI keeps 16 MiB of them).
pub const FOLLOW_LIMIT: usize = 32 << 20;

/// What a connection's detail is built from.
pub struct DetailInput<'a> {
    pub store: &'a FrameStore,
    pub table: &'a PacketTable,
    pub rec: &'a ConnRecord,
    pub name: Option<&'a ConnName>,
    /// All DNS transactions (the one that named the connection is looked up by seq).
    pub dns: &'a [DnsTransaction],
    /// HTTP records, this connection's among them (those of this connection are
    /// picked out).
    pub http: &'a [HttpRecord],
    /// Timestamp of the capture's first packet.
    pub t0: Timestamp,
}

/// TCP flags as Wireshark lists them: "SYN", "SYN, ACK", "FIN, PSH, ACK".
pub fn flags_text(flags: u16) -> String {
    tcp_flags::names(flags)
}

/// A duration as people read it: `45 µs`, `1.4 ms`, `2.315 s` (as the story says it).
fn human(secs: f64) -> String {
    if secs < 0.001 {
        format!("{:.0} µs", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{secs:.3} s")
    }
}

fn ms(ns: i64) -> String {
    human(ns as f64 / 1e9)
}

/// Builds the Connection view's data; see the module docs.
pub fn conn_detail(d: &DetailInput<'_>) -> ConnDetail {
    let k = &d.rec.conn;
    let quic = d.rec.quic.as_deref();
    let (arrows, mut anomalies, seen) = ladder(d);
    let rel = |t: Timestamp| t.secs_since(d.t0);
    let mut phases = Vec::new();
    let mut ph = |label: &str, ts: Timestamp, dur_ns: Option<i64>, detail: String| {
        phases.push(Phase {
            label: label.to_string(),
            ts_rel: rel(ts),
            duration: dur_ns.map(|n| n as f64 / 1e9),
            detail,
        })
    };
    // The lookup that named it (query → answer), or the fact that none was seen.
    let lookup = d
        .name
        .and_then(|n| n.dns_seq)
        .and_then(|seq| d.dns.iter().find(|t| t.seq == seq));
    match (d.name, lookup) {
        (Some(n), Some(t)) => {
            let mut detail = format!("{} → {}", n.qname, k.server.ip);
            if !n.chain.is_empty() {
                detail.push_str(&format!(" (via {})", n.chain.join(" → ")));
            }
            if let Some(g) = n.gap {
                detail.push_str(&format!(", connected {} later", human(g)));
            }
            if n.ttl_expired {
                detail.push_str(", TTL had expired");
            }
            let ts = t.query_ts.or(t.response_ts).unwrap_or(k.first_ts);
            let dur = match (t.query_ts, t.response_ts) {
                (Some(q), Some(r)) => Some(r.0 - q.0),
                _ => None,
            };
            ph("lookup", ts, dur, detail);
        }
        (Some(n), None) => ph(
            "name",
            k.first_ts,
            None,
            format!("{} (from {}, no lookup seen)", n.qname, n.source.as_str()),
        ),
        (None, _) if d.rec.app != Some(wiretale_engine::analysis::AppKind::Dns) => ph(
            "lookup",
            k.first_ts,
            None,
            format!("no lookup seen for {}", k.server.ip),
        ),
        _ => {}
    }
    if let Some(h) = k.handshake {
        if let Some(t) = h.syn_ts {
            ph(
                "SYN",
                t,
                h.server_rtt_ns(),
                format!("{} → {}", k.client, k.server),
            );
        }
        if let Some(t) = h.synack_ts {
            ph("SYN/ACK", t, h.client_rtt_ns(), String::new());
        }
        if let Some(t) = h.ack_ts {
            let detail = h
                .rtt_ns()
                .map(|n| format!("handshake RTT {}", ms(n)))
                .unwrap_or_default();
            ph("ACK", t, None, detail);
        }
    } else if let Some(q) = quic {
        for p in quic_phases(q, d.rec.tls.as_deref(), &seen, k.first_ts) {
            ph(&p.0, p.1, p.2, p.3);
        }
    } else if k.proto != ConnProto::Tcp {
        ph(
            "first packet",
            k.first_ts,
            None,
            format!("{} → {}", k.client, k.server),
        );
    }
    let mine: Vec<&HttpRecord> = d.http.iter().filter(|h| h.conn == k.id).collect();
    for r in &mine {
        let t = &r.tx;
        if let Some(ts) = t.request_ts {
            ph(
                "request",
                ts,
                t.ttfb(),
                format!(
                    "{} {}{}",
                    t.method.as_deref().unwrap_or("?"),
                    t.host.as_deref().unwrap_or(""),
                    t.uri.as_deref().unwrap_or("")
                ),
            );
        }
        if let Some(ts) = t.response_ts {
            let dur = t.response_end_ts.map(|e| e.0 - ts.0);
            ph(
                "response",
                ts,
                dur,
                format!(
                    "{} {}, {} bytes{}",
                    t.status.map_or("-".into(), |s| s.to_string()),
                    t.reason.as_deref().unwrap_or(""),
                    t.response_body_len,
                    t.content_type
                        .as_deref()
                        .map(|c| format!(", {c}"))
                        .unwrap_or_default()
                ),
            );
        }
    }
    if let Some(c) = k.close {
        let label = match c.how {
            CloseHow::Fin => "FIN",
            CloseHow::Rst => "RST",
        };
        ph(
            label,
            c.ts,
            Some(k.last_ts.0 - c.ts.0),
            format!("by {}", c.by.sender()),
        );
    }
    let last = format!(
        "{} after the first, state {}",
        human(k.duration()),
        k.state()
    );
    match quic {
        Some(q) => {
            for p in quic_end(q, k.last_ts, last) {
                ph(&p.0, p.1, p.2, p.3);
            }
        }
        None => ph("last packet", k.last_ts, None, last),
    }
    if quic.is_some() {
        // HTTP/3 requests can leave with the client's Finished, before the handshake
        // is confirmed: the timeline is in time order.
        phases.sort_by(|a, b| a.ts_rel.total_cmp(&b.ts_rel));
    }

    let mut conn_anoms: Vec<String> = k
        .analysis_counts()
        .map(|(n, c)| format!("{n}: {c} packets"))
        .collect();
    conn_anoms.extend(
        k.anomalies
            .iter()
            .map(|a| format!("{}: {}", a.name(), a.detail)),
    );
    if let Some(q) = quic {
        conn_anoms.extend(q.anomalies.iter().cloned());
    }
    conn_anoms.append(&mut anomalies);
    let tls = d.rec.tls.as_ref().map(|t| {
        let mut s = String::new();
        if let Some(v) = t.version.or(t.client_version) {
            s.push_str(&wiretale_engine::proto::tls::version_name(v));
        } else {
            s.push_str("TLS");
        }
        if let Some(n) = &t.sni {
            s.push_str(&format!("  SNI {n}"));
        }
        if !t.alpn_offered.is_empty() {
            s.push_str(&format!("  ALPN offered {}", t.alpn_offered.join(",")));
        }
        if let Some(a) = &t.alpn {
            s.push_str(&format!("  chosen {a}"));
        }
        s
    });
    ConnDetail {
        phases,
        arrows,
        http: mine.iter().map(|r| http_row(r, d.t0)).collect(),
        tls,
        quic: quic
            .map(|q| quic_lines(q, d.rec.tls.as_deref(), k.first_ts))
            .unwrap_or_default(),
        tunnel: k
            .tunnel
            .iter()
            .flat_map(|t| t.iter().map(|h| h.text()))
            .collect(),
        anomalies: conn_anoms,
    }
}

/// When the ladder met QUIC packets the summary keeps no time for.
#[derive(Default)]
struct QuicSeen {
    /// The server's first Retry (RFC 9000 §17.2.5).
    retry: Option<Timestamp>,
    /// The server's Version Negotiation (RFC 9000 §17.2.1).
    version_negotiation: Option<Timestamp>,
}

/// `handshake 2-RTT (Retry) 20.8 ms` as the story's connect line says it.
fn quic_handshake(q: &QuicSummary) -> String {
    let mut s = format!("handshake {}-RTT", q.round_trips());
    if q.retry {
        s.push_str(" (Retry)");
    }
    if q.version_negotiation.is_some() {
        s.push_str(" (Version Negotiation)");
    }
    match q.client_initial.zip(q.established()) {
        Some((a, b)) if b >= a => s.push_str(&format!(" {}", ms(b.0 - a.0))),
        _ => s.push_str(" not completed in the capture"),
    }
    s
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A phase as (label, time, duration in ns, detail).
type QuicPhase = (String, Timestamp, Option<i64>, String);

/// A QUIC connection's phases: the client's
/// first Initial, the server's Version Negotiation or Retry, its first Initial, and
/// when the handshake was confirmed (HANDSHAKE_DONE when decrypted, else the first
/// 1-RTT packet both ways).
fn quic_phases(
    q: &QuicSummary,
    tls: Option<&wiretale_engine::analysis::TlsSummary>,
    seen: &QuicSeen,
    first: Timestamp,
) -> Vec<QuicPhase> {
    use wiretale_engine::proto::tls::{names, version_name};
    let mut out = Vec::new();
    let established = q.established();
    let answer = [seen.version_negotiation, seen.retry, q.server_initial]
        .into_iter()
        .flatten()
        .min();
    let ci = q.client_initial.unwrap_or(first);
    let mut detail = format!(
        "client Initial, QUIC {}",
        q.version_name().unwrap_or_default()
    );
    if let Some(t) = tls {
        if let Some(sni) = &t.sni {
            detail.push_str(&format!(" SNI {sni}"));
        }
        if !t.alpn_offered.is_empty() {
            detail.push_str(&format!(" ALPN {}", t.alpn_offered.join(",")));
        }
    }
    let dur = |a: Timestamp, b: Option<Timestamp>| b.filter(|b| *b >= a).map(|b| b.0 - a.0);
    out.push(("Initial →".to_string(), ci, dur(ci, answer), detail));
    if let (Some(ts), Some(v)) = (seen.version_negotiation, &q.version_negotiation) {
        let vs: Vec<String> = v
            .iter()
            .map(|&v| wiretale_engine::proto::quic::header::version_name(v))
            .collect();
        out.push((
            "VN ←".to_string(),
            ts,
            None,
            format!("Version Negotiation: the server offers {}", vs.join(", ")),
        ));
    }
    if let Some(ts) = seen.retry {
        out.push((
            "Retry ←".to_string(),
            ts,
            None,
            "server Retry: the client starts again with its token (RFC 9000 §8.1.2)".to_string(),
        ));
    }
    if let Some(si) = q.server_initial {
        let mut detail = "server Initial".to_string();
        if let Some(t) = tls {
            if t.server_hello_ts.is_some() {
                detail.push_str(", Server Hello");
            }
            if let Some(v) = t.version {
                detail.push_str(&format!(" {}", version_name(v)));
            }
            if let Some(c) = t.cipher {
                detail.push_str(&format!(" {}", names::cipher_suite_name(c)));
            }
            if let Some(a) = &t.alpn {
                detail.push_str(&format!(" {a}"));
            }
        }
        out.push(("Initial ←".to_string(), si, dur(si, established), detail));
    }
    if let Some(e) = established {
        let how = if q.handshake_done.is_some() {
            "HANDSHAKE_DONE"
        } else {
            "first 1-RTT packets both ways"
        };
        out.push((
            "confirmed".to_string(),
            e,
            None,
            format!("{how}; {}", quic_handshake(q)),
        ));
    }
    out
}

/// How a QUIC connection ended, as phases: its CONNECTION_CLOSE or stateless reset and
/// the last packet (`last` its detail), or, with neither, the silence of its idle timeout
/// (RFC 9000 §10.1) or the end of the capture.
fn quic_end(q: &QuicSummary, last_ts: Timestamp, last: String) -> Vec<QuicPhase> {
    match &q.end {
        Some(e) => {
            let label = match e {
                QuicEnd::Close { .. } => "close",
                QuicEnd::StatelessReset { .. } => "reset",
            };
            vec![
                (label.into(), e.ts(), Some(last_ts.0 - e.ts().0), e.text()),
                ("last packet".into(), last_ts, None, last),
            ]
        }
        None => vec![(
            "idle".into(),
            last_ts,
            None,
            format!(
                "no CONNECTION_CLOSE in the capture (idle timeout, or the flow went on); last packet {last}"
            ),
        )],
    }
}

/// The QUIC section of the Connection view.
fn quic_lines(
    q: &QuicSummary,
    tls: Option<&wiretale_engine::analysis::TlsSummary>,
    first: Timestamp,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut s = format!("QUIC {}", q.version_name().unwrap_or_else(|| "?".into()));
    if let Some(t) = tls {
        if let Some(sni) = &t.sni {
            s.push_str(&format!("  SNI {sni}"));
        }
        if !t.alpn_offered.is_empty() {
            s.push_str(&format!("  ALPN offered {}", t.alpn_offered.join(",")));
        }
        if let Some(a) = &t.alpn {
            s.push_str(&format!("  chosen {a}"));
        }
    }
    s.push_str(&format!("  {}", quic_handshake(q)));
    out.push(s);
    if let Some(v) = &q.version_negotiation {
        let vs: Vec<String> = v
            .iter()
            .map(|&v| wiretale_engine::proto::quic::header::version_name(v))
            .collect();
        out.push(format!("Version Negotiation offered {}", vs.join(", ")));
    }
    if let Some(d) = &q.original_dcid {
        out.push(format!(
            "original DCID {}  (the client's first Initial: its Initial keys)",
            hex(d)
        ));
    }
    for (side, cids) in ["client", "server"].iter().zip(&q.cids) {
        if !cids.is_empty() {
            let list: Vec<String> = cids.iter().map(|c| hex(c)).collect();
            out.push(format!("{side} CIDs {}", list.join(", ")));
        } else if q.packets.iter().all(|&n| n > 0) {
            // Chromium's client: its peer tells it by address (RFC 9000 §5.1).
            out.push(format!("{side} CID zero-length"));
        }
    }
    if q.paths.len() > 1 {
        // More than one client address: a migration or a NAT rebinding (RFC 9000 §9).
        let list: Vec<String> = q
            .paths
            .iter()
            .map(|(e, ts)| format!("{e} (+{})", human(ts.secs_since(first))))
            .collect();
        out.push(format!("client addresses {}", list.join(", ")));
    }
    let mut p = format!("packets {} →  {} ←", q.packets[0], q.packets[1]);
    if q.decrypted {
        p.push_str("  Handshake and 1-RTT decrypted");
    } else if q.first_short.iter().any(Option::is_some) {
        p.push_str("  Handshake and 1-RTT encrypted: open with --tls-keylog FILE");
    }
    out.push(p);
    out.push(
        "ladder: packets by number space, Initial │ Handshake │ Application (0-RTT, 1-RTT)"
            .to_string(),
    );
    out
}

/// The packets of a QUIC datagram by number space (RFC 9000 §12.3), read from their
/// headers alone: no keys needed.
fn quic_arrow(payload: &[u8], udp_len: u32, ts: Timestamp, seen: &mut QuicSeen) -> QuicArrow {
    // Only the kinds matter here: a short header packet is the datagram's last, so the
    // DCID length its receiver chose does not change where packets start.
    let (packets, err) = split_datagram(payload, 0);
    let mut counts: [Vec<(&'static str, usize)>; 3] = Default::default();
    for p in &packets {
        let (space, name) = match p {
            QuicPacket::Long { ty, .. } => match ty {
                LongType::Initial => (0, "Initial"),
                LongType::Handshake => (1, "Handshake"),
                // 0-RTT shares the Application space with 1-RTT (RFC 9000 §12.3).
                LongType::ZeroRtt => (2, "0-RTT"),
                LongType::Retry => (0, "Retry"),
            },
            QuicPacket::Short { .. } => (2, "1-RTT"),
            QuicPacket::Retry { .. } => {
                seen.retry.get_or_insert(ts);
                (0, "Retry")
            }
            QuicPacket::VersionNegotiation { .. } => {
                seen.version_negotiation.get_or_insert(ts);
                (0, "Version Negotiation")
            }
            QuicPacket::UnknownVersion { .. } => (0, "unknown version"),
        };
        if let Some(col) = counts.get_mut(space) {
            match col.iter_mut().find(|(n, _)| *n == name) {
                Some((_, c)) => *c += 1,
                None => col.push((name, 1)),
            }
        }
    }
    let mut spaces = counts.map(|col| {
        col.iter()
            .map(|(n, c)| {
                if *c > 1 {
                    format!("{n} ×{c}")
                } else {
                    n.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    });
    if err.is_some() {
        // Where the headers stopped making sense (shown in the column that follows).
        let i = counts_next(&spaces);
        if let Some(s) = spaces.get_mut(i) {
            s.push_str(if s.is_empty() {
                "unreadable"
            } else {
                " unreadable"
            });
        }
    }
    QuicArrow {
        spaces,
        len: udp_len,
    }
}

/// The column after the last one holding a packet (the first when none does).
fn counts_next(spaces: &[String; 3]) -> usize {
    spaces
        .iter()
        .rposition(|s| !s.is_empty())
        .map_or(0, |i| (i + 1).min(2))
}

/// The ladder and the per-packet anomaly lines of one connection.
fn ladder(d: &DetailInput<'_>) -> (Vec<Arrow>, Vec<String>, QuicSeen) {
    let conn = d.rec.conn.id.0;
    let is_quic = d.rec.quic.is_some();
    let mut seen = QuicSeen::default();
    let mut arrows = Vec::new();
    let mut lines = Vec::new();
    let mut total = 0usize;
    for id in d.table.packets_of(ConnId(conn), 0) {
        total += 1;
        let Some(f) = d.table.get(id) else { continue };
        let want_arrow = arrows.len() < MAX_ARROWS;
        let want_line = f.has(bit::ANOMALY) && lines.len() < MAX_ANOMALY_LINES;
        if !want_arrow && !want_line {
            continue;
        }
        let Some(frame) = d.store.frame(PacketId(id)) else {
            continue;
        };
        let pkt = decode::decode(frame.meta.link, frame.data);
        let raw = pkt.tcp().map(|t| (t.seq, t.ack));
        let (flags, len) = match pkt.transport {
            Transport::Tcp(t) => (flags_text(t.flags), t.payload_len),
            Transport::Udp(u) => ("UDP".to_string(), u32::from(u.length.saturating_sub(8))),
            Transport::Icmp(_) | Transport::Icmpv6(_) => {
                ("ICMP".to_string(), pkt.payload.len() as u32)
            }
            _ => (String::new(), pkt.payload.len() as u32),
        };
        let analysis: Vec<&'static str> = f.analysis().names().collect();
        if want_line {
            let mut names: Vec<String> = analysis.iter().map(|s| s.to_string()).collect();
            names.extend(
                pkt.anomalies
                    .iter()
                    .map(|a| format!("{}: {}", a.name(), a.detail)),
            );
            if names.is_empty() {
                names.push("ip_reassembly".into());
            }
            lines.push(format!("frame {}: {}", id as u64 + 1, names.join(", ")));
        }
        if want_arrow {
            let quic = match (&pkt.transport, is_quic) {
                (Transport::Udp(_), true) => {
                    Some(quic_arrow(pkt.payload, len, frame.meta.ts, &mut seen))
                }
                _ => None,
            };
            let rel = d.table.rel_numbers(id, raw);
            arrows.push(Arrow {
                number: u64::from(id) + 1,
                ts_rel: frame.meta.ts.secs_since(d.t0),
                c2s: f.has(bit::C2S),
                flags,
                tcp: raw.map(|_| (rel.seq.unwrap_or(0), rel.ack.unwrap_or(0))),
                len,
                analysis,
                quic,
            });
        }
    }
    if total > arrows.len() {
        lines.push(format!(
            "ladder shows the first {} of {} packets",
            arrows.len(),
            total
        ));
    }
    (arrows, lines, seen)
}

/// The conversation of connection `conn`: a private flow table over only its frames,
/// so the first connection it sees is this one (ids restart at 0), decrypted with the
/// session's key log (`--tls-keylog` and the file's DSBs; `None`: the DSBs of `store`
/// alone). A decrypted TLS connection (and cleartext HTTP/2 by
/// prior knowledge) is shown as `wiretale follow` shows it: its handshake, HTTP/1.x
/// plaintext as in the clear, HTTP/2 frame by frame with decoded headers and bodies,
/// and what did not decrypt on lines of its own; those turns' bytes are that text.
/// Without keys the ciphertext turns are shown as before.
pub fn follow_with_keys(
    store: &FrameStore,
    table: &PacketTable,
    conn: u32,
    t0: Timestamp,
    keys: Option<&KeyLog>,
) -> Vec<Turn> {
    let own = file_keys(store, keys);
    // Joining: a migrated QUIC connection's datagrams on another 4-tuple (the index
    // has them under this connection) stay in it.
    let mut f = Follower::joining(FOLLOW_LIMIT).with_key_ref(keys);
    if keys.is_none() && !own.is_empty() {
        f = f.with_keys(own);
    }
    for id in table.packets_of(ConnId(conn), 0) {
        if let Some(frame) = store.frame(PacketId(id)) {
            f.push(&frame);
        }
    }
    let followed = f.finish_followed();
    if let Some(q) = followed.quic.as_ref().filter(|q| q.decrypted) {
        return shown_as_turns(quic_shown(q, None, BODY_LIMIT), t0);
    }
    let plain = match followed.tls {
        Some(d) if d.summary.decrypted => Some(d),
        Some(_) => None,
        None => h2c(&followed.turns),
    };
    if let Some(d) = plain {
        return decrypted_turns(&d, t0);
    }
    followed
        .turns
        .into_iter()
        .map(|t| match t {
            ATurn::Data {
                dir,
                first_pkt,
                ts,
                bytes,
            } => Turn::Data {
                c2s: dir == Direction::ClientToServer,
                first_packet: first_pkt.frame_number(),
                ts_rel: ts.secs_since(t0),
                bytes,
            },
            ATurn::Gap { dir, len } => Turn::Gap {
                c2s: dir == Direction::ClientToServer,
                len,
            },
        })
        .collect()
}

/// Most decoded body bytes shown per message in the Follow view.
const BODY_LIMIT: usize = 4 << 20;

/// The decrypted conversation as the Follow view's turns: each shown turn's text (its
/// heading when it says something, then its lines), wire bytes left unescaped for the
/// view to escape.
fn decrypted_turns(d: &Decrypted, t0: Timestamp) -> Vec<Turn> {
    shown_as_turns(shown_turns(d, None, BODY_LIMIT), t0)
}

/// Shown turns (decrypted TLS, a QUIC connection's streams) as the Follow view's turns.
fn shown_as_turns(shown: Vec<ShownTurn>, t0: Timestamp) -> Vec<Turn> {
    shown
        .into_iter()
        .map(|t| {
            let mut bytes = Vec::new();
            // "N bytes decrypted" and "HTTP/2 (decrypted)" only introduce the lines; a
            // QUIC block's heading (`[stream 0] HEADERS GET /`) says what follows.
            if t.segs.is_empty() || t.head.starts_with("[stream ") {
                bytes.extend_from_slice(t.head.as_bytes());
                if !t.segs.is_empty() {
                    bytes.push(b'\n');
                }
            }
            for seg in &t.segs {
                match seg {
                    Seg::Wire(b) => bytes.extend_from_slice(b),
                    Seg::Said(s) => {
                        if s.starts_with('[') && !bytes.is_empty() && !bytes.ends_with(b"\n") {
                            bytes.push(b'\n');
                        }
                        bytes.extend_from_slice(s.as_bytes());
                    }
                }
            }
            while bytes.ends_with(b"\n") {
                bytes.pop();
            }
            Turn::Data {
                c2s: t.dir == Direction::ClientToServer,
                first_packet: t.pkt.frame_number(),
                ts_rel: t.ts.secs_since(t0),
                bytes,
            }
        })
        .collect()
}

/// Cleartext HTTP/2 by prior knowledge (the client starts with the preface): its turns
/// as blocks, shown frame by frame like decrypted HTTP/2.
fn h2c(turns: &[ATurn]) -> Option<Decrypted> {
    let first = turns.iter().find_map(|t| match t {
        ATurn::Data {
            dir: Direction::ClientToServer,
            bytes,
            ..
        } => Some(bytes),
        _ => None,
    })?;
    if !wiretale_engine::proto::http2::looks_like_h2(first) {
        return None;
    }
    Some(Decrypted::from_turns(turns))
}

/// The TLS record layer of a segment of a TLS connection that carries no hello (its
/// note, if any, is what a decrypted record held): its records, by
/// `tls::tree::tls_tree`. `None` when the connection is not TLS or the segment does not
/// start with a record (it continues one).
pub fn tls_records(
    pkt: &Packet<'_>,
    store: &FrameStore,
    table: &PacketTable,
    id: u32,
) -> Option<FieldNode> {
    if pkt.payload.is_empty() || !matches!(pkt.transport, Transport::Tcp(_)) {
        return None;
    }
    let conn = table.get(id)?.conn()?;
    // The connection is TLS when its first payload (among its first packets) is a
    // handshake record.
    let first = table.packets_of(conn, 0).take(16).find_map(|p| {
        let frame = store.frame(PacketId(p))?;
        let d = decode::decode(frame.meta.link, frame.data);
        (!d.payload.is_empty()).then(|| wiretale_engine::proto::tls::looks_like_tls(d.payload))
    });
    if first != Some(true) {
        return None;
    }
    app_tree(pkt, "tls")
}

/// The file's own keys (its Decryption Secrets Blocks) when the session has none.
fn file_keys(store: &FrameStore, keys: Option<&KeyLog>) -> KeyLog {
    let mut own = KeyLog::new();
    if keys.is_none() {
        for (_, s) in store.secrets() {
            own.add_dsb(s.kind, &s.data);
        }
    }
    own
}

/// Most packets of a connection re-read to decrypt what one packet completed.
pub const MAX_DECRYPT_PACKETS: usize = 100_000;

/// Feeds `f` the connection's packets up to packet `id`; `None` past
/// [`MAX_DECRYPT_PACKETS`] of them (the detail pane gives up rather than stall).
fn replay(
    store: &FrameStore,
    table: &PacketTable,
    conn: ConnId,
    id: u32,
    f: &mut Follower,
) -> Option<()> {
    for (n, p) in table
        .packets_of(conn, 0)
        .take_while(|&p| p <= id)
        .enumerate()
    {
        if n >= MAX_DECRYPT_PACKETS {
            return None;
        }
        if let Some(frame) = store.frame(PacketId(p)) {
            f.push(&frame);
        }
    }
    Some(())
}

/// The "Decrypted TLS" node of packet `id`'s detail: its connection re-read (its own
/// packets up to this one, through the same [`Follower`] as `follow`) with the session's
/// keys (`None`: the file's DSBs), and what the records this packet completed held
/// ([`wiretale_engine::analysis::decrypted::decrypted_tree`]). `None` for a packet that is
/// not TLS, without keys, or past [`MAX_DECRYPT_PACKETS`] of its connection.
pub fn decrypted_tree(
    store: &FrameStore,
    table: &PacketTable,
    id: u32,
    keys: Option<&KeyLog>,
    pkt: &Packet<'_>,
) -> Option<FieldNode> {
    if pkt.payload.is_empty() || !matches!(pkt.transport, Transport::Tcp(_)) {
        return None;
    }
    let conn = table.get(id)?.conn()?;
    let own = file_keys(store, keys);
    if keys.is_none() && own.is_empty() {
        return None;
    }
    let mut f = Follower::new(ConnId(0), FOLLOW_LIMIT).with_key_ref(keys);
    if keys.is_none() {
        f = f.with_keys(own);
    }
    replay(store, table, conn, id, &mut f)?;
    let d = f.finish_followed().tls.filter(|d| d.summary.decrypted)?;
    let range = pkt.payload_offset..pkt.payload_offset + pkt.payload.len();
    wiretale_engine::analysis::decrypted::decrypted_tree(&d, PacketId(id), range)
}

/// The application layer of one packet as a field tree with ranges in the frame:
/// `proto` is what the analysis found in it (the packet's note), so the tree follows
/// the same decision as the Protocol column. `None` when the payload does not start a
/// message of that protocol (a continuation segment stays "Data"). DNS over TCP: the
/// note says a message ended in this segment, so only a segment holding a whole
/// message is read as one.
pub fn app_tree(pkt: &Packet<'_>, proto: &str) -> Option<FieldNode> {
    use wiretale_engine::proto::{dns, http, tls};
    let payload = pkt.payload;
    if payload.is_empty() {
        return None;
    }
    let mut n = match (proto, &pkt.transport) {
        ("dns" | "mdns" | "llmnr", Transport::Tcp(_)) => dns::tree::dns_tcp_tree(payload, true)?,
        ("dns" | "mdns" | "llmnr", _) => dns::tree::dns_tree(payload),
        ("http", Transport::Tcp(_)) => http::tree::http_tree(payload)?,
        ("tls", Transport::Tcp(_)) => tls::tree::tls_tree(payload)?,
        _ => return None,
    };
    shift(&mut n, pkt.payload_offset);
    Some(n)
}

fn shift(n: &mut FieldNode, by: usize) {
    n.range = n.range.start + by..n.range.end + by;
    for c in &mut n.children {
        shift(c, by);
    }
}

/// The QUIC layer of a UDP packet of a QUIC connection: its packets' headers and, with
/// keys (the session's, or the file's DSBs), their decrypted frames
/// ([`wiretale_engine::proto::quic::tree::tree`]), read by re-running the connection (its
/// own packets up to this one, through the same [`Follower`] as `follow`). `None` for
/// a packet that is not QUIC or past [`MAX_DECRYPT_PACKETS`] of its connection.
pub fn quic_tree(
    store: &FrameStore,
    table: &PacketTable,
    id: u32,
    keys: Option<&KeyLog>,
    pkt: &Packet<'_>,
) -> Option<FieldNode> {
    if pkt.payload.is_empty() || !matches!(pkt.transport, Transport::Udp(_)) {
        return None;
    }
    let conn = table.get(id)?.conn()?;
    // The connection is QUIC when its first datagram is a QUIC long header.
    let first = table.packets_of(conn, 0).take(16).find_map(|p| {
        let frame = store.frame(PacketId(p))?;
        let d = decode::decode(frame.meta.link, frame.data);
        (!d.payload.is_empty())
            .then(|| wiretale_engine::proto::quic::header::looks_like_quic(d.payload))
    });
    if first != Some(true) {
        return None;
    }
    let own = file_keys(store, keys);
    let mut f = Follower::joining(FOLLOW_LIMIT)
        .with_key_ref(keys)
        .want_packet(PacketId(id));
    if keys.is_none() && !own.is_empty() {
        f = f.with_keys(own);
    }
    replay(store, table, conn, id, &mut f)?;
    let q = f.finish_followed().quic?;
    let mut nodes = wiretale_engine::proto::quic::tree::tree(&q.seen, pkt.payload_offset);
    match nodes.len() {
        0 => None,
        1 => nodes.pop(),
        k => {
            // Coalesced packets (RFC 9000 §12.2): one node over them all.
            let range = pkt.payload_offset..pkt.payload_offset + pkt.payload.len();
            let mut root = FieldNode::new(format!("QUIC IETF, {k} coalesced packets"), range);
            root.children = nodes;
            Some(root)
        }
    }
}

/// Puts `app` where the frame tree's "Data" node of the payload is (after the
/// transport layer), or at the end of the layers.
pub fn put_app_layer(tree: &mut FieldNode, app: FieldNode, pkt: &Packet<'_>) {
    let payload = pkt.payload_offset..pkt.payload_offset + pkt.payload.len();
    let at = tree
        .children
        .iter()
        .position(|c| c.range == payload && c.label.starts_with("Data ("));
    match at {
        Some(i) => tree.children[i] = app,
        None => tree.children.push(app),
    }
}

#[cfg(test)]
mod follow_tls_tests {
    //! The Follow view of a TLS connection decrypted with the keys of the bundled
    //! capture's Decryption Secrets Block (`captures/lab-https-page.pcapng`).
    use std::path::Path;
    use std::time::Duration;

    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use super::super::EngineSource;
    use crate::action::{Action, Tab};
    use crate::app::App;
    use crate::source::ListRows;
    use crate::views;

    fn app(w: u16, h: u16) -> App {
        let path =
            Path::new(wiretale_engine::testutil::ROOT).join("captures/lab-https-page.pcapng");
        let mut s = EngineSource::open_file(&path)
            .expect("open")
            .named("captures/lab-https-page.pcapng");
        assert!(s.wait_done(Duration::from_secs(30)));
        let mut a = App::new(Box::new(s));
        a.update(Action::Resize(w, h));
        a.apply_updates();
        a
    }

    fn screen(app: &App) -> String {
        let mut t = Terminal::new(TestBackend::new(app.size.0, app.size.1)).expect("terminal");
        t.draw(|f| views::draw(f, app)).expect("draw");
        t.backend().to_string()
    }

    /// Connection 26 (Chromium to secure.lab.glasscom.com, TLS 1.3 + h2): the handshake
    /// and the decrypted HTTP/2 frames with their headers, as `follow` prints them.
    #[test]
    fn decrypted_h2_follow_view() {
        let mut a = app(120, 40);
        a.update(Action::ShowTab(Tab::Conns));
        let i = a
            .source
            .conns()
            .iter()
            .position(|c| c.id == 26)
            .expect("connection 26");
        for _ in 0..i {
            a.update(Action::Down);
        }
        a.update(Action::Follow);
        let s = screen(&a);
        for want in [
            "TLS handshake: ClientHello",
            "[stream 1] HEADERS END_STREAM END_HEADERS PRIORITY",
            ":path: /page.html",
        ] {
            assert!(s.contains(want), "{want:?} not in\n{s}");
        }
        insta::assert_snapshot!("real_follow_tls_h2_120x40", s);
        // Further down: the response, its body decoded.
        for _ in 0..40 {
            a.update(Action::Down);
        }
        let s = screen(&a);
        assert!(s.contains(":status: 200"), "{s}");
        assert!(
            s.contains("[stream 1 body: text/html, 479 bytes decoded from 304 bytes of gzip:]"),
            "{s}"
        );
        insta::assert_snapshot!("real_follow_tls_h2_down_120x40", s);
    }

    /// The packet detail of frame 66 (the client's record carrying the page's GET) has
    /// a "Decrypted TLS" node with the HTTP/2 HEADERS frame and its fields; frame 70
    /// the response's HEADERS, frame 71 its DATA; a frame of the plaintext handshake none.
    #[test]
    fn decrypted_tls_in_the_field_tree() {
        use crate::source::DataSource;
        let path =
            Path::new(wiretale_engine::testutil::ROOT).join("captures/lab-https-page.pcapng");
        let mut s = EngineSource::open_file(&path).expect("open");
        assert!(s.wait_done(Duration::from_secs(30)));
        let labels = |index: usize| -> Vec<String> {
            let d = s.packet_detail(index);
            let mut out = Vec::new();
            for f in &d.fields {
                f.walk(&mut |n, depth| out.push(format!("{}{}", "  ".repeat(depth), n.label)));
            }
            out
        };
        let get = labels(65);
        let at = get
            .iter()
            .position(|l| l == "Decrypted TLS")
            .unwrap_or_else(|| panic!("{get:#?}"));
        let tail = &get[at..];
        assert!(
            tail.contains(
                &"  Decrypted TLS: HTTP/2 HEADERS stream 1 END_STREAM END_HEADERS PRIORITY"
                    .to_string()
            ),
            "{tail:#?}"
        );
        assert!(
            tail.contains(&"    :path: /page.html".to_string()),
            "{tail:#?}"
        );
        let resp = labels(69);
        assert!(resp.contains(&"    :status: 200".to_string()), "{resp:#?}");
        // The record layer of a segment of application data, then what it held.
        for want in [
            "Transport Layer Security",
            "  TLS Record: TLS 1.2, Application Data, length 181",
            "    Encrypted Application Data: 181 bytes",
        ] {
            assert!(
                resp.contains(&want.to_string()),
                "{want:?} not in {resp:#?}"
            );
        }
        let data = labels(70);
        assert!(
            data.contains(
                &"  Decrypted TLS: HTTP/2 DATA stream 1 END_STREAM  304 bytes".to_string()
            ),
            "{data:#?}"
        );
        assert!(!labels(56).iter().any(|l| l == "Decrypted TLS"));
    }
}

#[cfg(test)]
mod quic_tests {
    //! The QUIC section and phases on summaries the lab captures do not have: a
    //! migrated client, a decrypted HANDSHAKE_DONE, a CONNECTION_CLOSE, a stateless
    //! reset, a Version Negotiation, an unfinished handshake.

    use super::*;
    use wiretale_engine::base::Endpoint;

    fn ms(n: i64) -> Timestamp {
        Timestamp(1_000_000_000 + n * 1_000_000)
    }

    fn summary() -> QuicSummary {
        let ep = |port| Endpoint::new("198.18.2.10".parse().unwrap(), port);
        QuicSummary {
            version: Some(1),
            original_dcid: Some(vec![0x19, 0x14]),
            cids: [vec![vec![0xa4]], vec![vec![0x0d], vec![0x0e]]],
            paths: vec![(ep(40000), ms(0)), (ep(40001), ms(30))],
            client_initial: Some(ms(0)),
            server_initial: Some(ms(2)),
            handshake_done: Some(ms(5)),
            first_short: [Some(ms(4)), Some(ms(3))],
            decrypted: true,
            end: Some(QuicEnd::Close {
                by: Direction::ClientToServer,
                ts: ms(40),
                app: true,
                code: 0x100,
                frame_type: None,
                reason: "bye\x1b[2J".into(),
            }),
            packets: [10, 12],
            ..QuicSummary::default()
        }
    }

    #[test]
    fn migration_handshake_done_and_close() {
        let q = summary();
        let lines = quic_lines(&q, None, ms(0));
        assert_eq!(lines[0], "QUIC v1  handshake 1-RTT 5.0 ms");
        assert!(
            lines.contains(&"server CIDs 0d, 0e".to_string()),
            "{lines:?}"
        );
        assert!(
            lines.contains(
                &"client addresses 198.18.2.10:40000 (+0 µs), 198.18.2.10:40001 (+30.0 ms)"
                    .to_string()
            ),
            "{lines:?}"
        );
        assert!(lines.contains(&"packets 10 →  12 ←  Handshake and 1-RTT decrypted".to_string()));
        let ph = quic_phases(&q, None, &QuicSeen::default(), ms(0));
        let labels: Vec<&str> = ph.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(labels, ["Initial →", "Initial ←", "confirmed"]);
        assert_eq!(ph[0].2, Some(2_000_000), "client Initial → server Initial");
        assert_eq!(ph[1].2, Some(3_000_000), "server Initial → HANDSHAKE_DONE");
        assert_eq!(ph[2].1, ms(5));
        assert!(ph[2]
            .3
            .starts_with("HANDSHAKE_DONE; handshake 1-RTT 5.0 ms"));
        let end = quic_end(&q, ms(41), "x".into());
        assert_eq!(end.len(), 2);
        assert_eq!(
            (end[0].0.as_str(), end[0].1, end[0].2),
            ("close", ms(40), Some(1_000_000))
        );
        // Wire text as is: the timeline escapes it where it draws it.
        assert_eq!(end[0].3, "client closed (H3_NO_ERROR) \"bye\x1b[2J\"");
        assert_eq!((end[1].0.as_str(), end[1].1), ("last packet", ms(41)));
    }

    #[test]
    fn version_negotiation_reset_and_an_unfinished_handshake() {
        let mut q = summary();
        q.version_negotiation = Some(vec![1, 0x6b33_43cf]);
        q.handshake_done = None;
        q.first_short = [None, Some(ms(3))];
        q.decrypted = false;
        q.paths.truncate(1);
        let seen = QuicSeen {
            version_negotiation: Some(ms(1)),
            retry: None,
        };
        let ph = quic_phases(&q, None, &seen, ms(0));
        let labels: Vec<&str> = ph.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(labels, ["Initial →", "VN ←", "Initial ←"], "not confirmed");
        assert_eq!(ph[0].2, Some(1_000_000), "to the server's first answer");
        assert_eq!(ph[1].3, "Version Negotiation: the server offers v1, v2");
        let lines = quic_lines(&q, None, ms(0));
        assert_eq!(
            lines[0],
            "QUIC v1  handshake 2-RTT (Version Negotiation) not completed in the capture"
        );
        assert!(lines.contains(&"Version Negotiation offered v1, v2".to_string()));
        assert!(!lines.iter().any(|l| l.starts_with("client addresses")));
        assert!(lines
            .iter()
            .any(|l| l.ends_with("Handshake and 1-RTT encrypted: open with --tls-keylog FILE")));
        q.end = Some(QuicEnd::StatelessReset {
            by: Direction::ServerToClient,
            ts: ms(20),
        });
        let end = quic_end(&q, ms(20), "x".into());
        assert_eq!(end[0].0, "reset");
        assert!(
            end[0].3.starts_with("stateless reset by the server"),
            "{}",
            end[0].3
        );
        q.end = None;
        let end = quic_end(&q, ms(20), "20.0 ms after the first".into());
        assert_eq!(end.len(), 1);
        assert_eq!(end[0].0, "idle");
        assert!(end[0].3.starts_with("no CONNECTION_CLOSE in the capture"));
    }
}

#[cfg(test)]
mod follow_quic_tests {
    //! QUIC in the TUI: the Follow view of an HTTP/3 connection stream by stream, and the
    //! field tree of its packets, on the bundled page load (keys in its Decryption
    //! Secrets Block) and the lab's migrated connection (`--tls-keylog`).
    use std::path::Path;
    use std::time::Duration;

    use super::super::EngineSource;
    use crate::source::{DataSource, ListRows, Turn};
    use wiretale_engine::base::FieldNode;
    use wiretale_engine::proto::tls::KeyLog;

    fn opened(rel: &str, keys: Option<&str>) -> EngineSource {
        let root = Path::new(wiretale_engine::testutil::ROOT);
        let keys_path = keys.map(|k| root.join(k));
        let keys = keys_path
            .as_ref()
            .map(|k| KeyLog::read(k).expect("key log"));
        let mut s = EngineSource::open_file_keyed(&root.join(rel), keys).expect("open");
        // As `--tls-keylog` sets it: Follow and the detail read the file again.
        s.keylog = keys_path;
        assert!(s.wait_done(Duration::from_secs(30)), "analysis finished");
        s
    }

    fn text(turns: &[Turn]) -> String {
        let mut s = String::new();
        for t in turns {
            if let Turn::Data { bytes, .. } = t {
                s.push_str(&String::from_utf8_lossy(bytes));
                s.push('\n');
            }
        }
        s
    }

    fn labels(n: &FieldNode, out: &mut Vec<String>) {
        out.push(n.label.clone());
        for c in &n.children {
            labels(c, out);
        }
    }

    fn quic_conn(s: &EngineSource) -> u32 {
        s.conns()
            .iter()
            .find(|c| c.proto == "UDP" && c.server.port == 443)
            .expect("a QUIC connection")
            .id
    }

    /// All field labels of the packets of connection `conn`, per packet.
    fn trees(s: &EngineSource, conn: u32) -> Vec<Vec<String>> {
        (0..s.packet_count())
            .filter(|&i| s.packet_row(i).conn == Some(conn))
            .map(|i| {
                let mut v = Vec::new();
                for f in &s.packet_detail(i).fields {
                    labels(f, &mut v);
                }
                v
            })
            .collect()
    }

    #[test]
    fn bundled_h3_follow_and_field_tree() {
        let s = opened("captures/lab-h3-page.pcapng", None);
        let conn = quic_conn(&s);
        let t = text(&s.follow(conn));
        for want in [
            "[stream 0] HEADERS GET /static/app.js",
            ":path: /static/app.js",
            "[stream 4] HEADERS 200",
            "content-type: image/png",
            "[PNG image",
        ] {
            assert!(t.contains(want), "{want:?} not in\n{t}");
        }
        let trees = trees(&s, conn);
        // The client's first Initial: header fields, its DCID, its CRYPTO frame.
        let first = &trees[0];
        assert!(
            first.iter().any(|l| l.starts_with("QUIC IETF")),
            "{first:#?}"
        );
        assert!(
            first
                .iter()
                .any(|l| l.starts_with("Destination Connection ID: ")),
            "{first:#?}"
        );
        assert!(first.iter().any(|l| l.contains("CRYPTO")), "{first:#?}");
        // With the DSB's keys, 1-RTT packets show their decrypted STREAM frames.
        assert!(
            trees
                .iter()
                .any(|t| t.iter().any(|l| l.contains("Short Header"))
                    && t.iter().any(|l| l.contains("STREAM"))),
            "no decrypted 1-RTT packet"
        );
    }

    /// The client migrated to another port mid-connection: the Follow view (the index's
    /// packets of the one connection) shows the requests sent from both ports.
    #[test]
    fn migrated_connection_follows_whole() {
        let s = opened(
            "tests/data/quic/lab/aioquic-migrate.pcapng",
            Some("tests/data/quic/lab/aioquic-migrate.keys"),
        );
        let conn = quic_conn(&s);
        let t = text(&s.follow(conn));
        for want in [
            "[stream 0] HEADERS GET /",
            "[stream 4] HEADERS GET /static/site.css",
            "[stream 8] HEADERS GET /dir1/img/photo.png",
            "[stream 12] HEADERS GET /static/app.js",
        ] {
            assert!(t.contains(want), "{want:?} not in\n{t}");
        }
    }
}
