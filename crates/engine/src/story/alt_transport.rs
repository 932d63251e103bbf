//! How a browser came to use HTTP/3 and what it raced: the story names the `Alt-Svc`
//! header (RFC 7838) or the DNS HTTPS record with `alpn=h3` (RFC 9460 §7.1) that sent it
//! to QUIC, and when it opened TCP+TLS and QUIC to the same server side by side (a
//! browser races them when it is not sure QUIC gets through), which of the two carried
//! the requests.

use super::StoryInput;
use crate::base::Timestamp;
use crate::flow::ConnProto;
use crate::proto::dns::{RData, SvcParam};

/// Connections to one server opened this close together are a race.
const RACE_WINDOW_NS: i64 = 1_000_000_000;
/// DNS type HTTPS (RFC 9460 §14.2).
const HTTPS: u16 = 65;

fn start(input: &StoryInput<'_>, ci: usize) -> Timestamp {
    let r = &input.conns[ci];
    r.quic
        .as_ref()
        .and_then(|q| q.client_initial)
        .or(r.conn.handshake.and_then(|h| h.syn_ts))
        .unwrap_or(r.conn.first_ts)
}

/// What announced HTTP/3 before the QUIC connection `ci` began: `Alt-Svc on #26` (a
/// response on connection 26 carried it) or `HTTPS record alpn=h3` (the lookup of its
/// name); the latest one before it.
pub(super) fn h3_announced(
    input: &StoryInput<'_>,
    ci: usize,
    name: Option<&str>,
) -> Option<String> {
    let rec = &input.conns[ci];
    rec.quic.as_ref()?;
    let at = start(input, ci);
    let client = rec.conn.client.ip;
    let server = rec.conn.server;
    let sni = rec.tls.as_ref().and_then(|t| t.sni.as_deref());
    let alt_svc = input
        .http
        .iter()
        .filter(|h| {
            h.tx.alt_svc.as_deref().is_some_and(|a| a.contains("h3"))
                && h.tx.response_ts.is_some_and(|t| t <= at)
        })
        .filter(|h| {
            input.conns.iter().any(|c| {
                c.conn.id == h.conn
                    && c.conn.client.ip == client
                    && (c.conn.server == server || sni.is_some() && h.tx.host.as_deref() == sni)
            })
        })
        .max_by_key(|h| h.tx.response_ts)
        .map(|h| {
            (
                h.tx.response_ts.unwrap_or_default(),
                format!("Alt-Svc on #{}", h.conn),
            )
        });
    let names: Vec<&str> = [name, sni].into_iter().flatten().collect();
    let https = input
        .dns
        .iter()
        .filter(|d| {
            d.qtype == HTTPS
                && d.client.ip == client
                && names.contains(&d.qname.as_str())
                && d.response_ts.is_some_and(|t| t <= at)
        })
        .filter(|d| {
            d.response.as_ref().is_some_and(|m| {
                m.answers.iter().any(|r| match &r.data {
                    RData::Svcb { params, .. } => params
                        .iter()
                        .any(|p| matches!(p, SvcParam::Alpn(a) if a.iter().any(|x| x == "h3"))),
                    _ => false,
                })
            })
        })
        .max_by_key(|d| d.response_ts)
        .map(|d| {
            (
                d.response_ts.unwrap_or_default(),
                "HTTPS record alpn=h3".to_string(),
            )
        });
    match (alt_svc, https) {
        (Some(a), Some(h)) => Some(if a.0 >= h.0 { a.1 } else { h.1 }),
        (a, h) => a.or(h).map(|x| x.1),
    }
}

/// The TCP connection the QUIC connection `ci` raced: from the same client to the same
/// server address and port, opened within [`RACE_WINDOW_NS`]; says which of the two
/// carried requests ("the requests went over #N"), or that neither did. Told on the
/// QUIC connection's line only, so a capture without QUIC pays nothing for it.
pub(super) fn race(input: &StoryInput<'_>, ci: usize) -> Option<String> {
    let rec = &input.conns[ci];
    rec.quic.as_ref()?;
    let at = start(input, ci);
    // The nearest in time: the connection the browser opened alongside, not an older
    // one that happened to be still open.
    let (_, other) = input
        .conns
        .iter()
        .enumerate()
        .filter(|(oi, o)| {
            *oi != ci
                && o.quic.is_none()
                && o.conn.proto == ConnProto::Tcp
                && o.conn.client.ip == rec.conn.client.ip
                && o.conn.server == rec.conn.server
                && (start(input, *oi).0 - at.0).abs() <= RACE_WINDOW_NS
        })
        .min_by_key(|(oi, _)| (start(input, *oi).0 - at.0).abs())?;
    let ours = rec.http_count;
    let theirs = other.http_count;
    let carried = match (ours > 0, theirs > 0) {
        (true, false) => format!("the requests went over this one ({ours})"),
        (false, true) => format!("the requests went over #{} ({theirs})", other.conn.id),
        (true, true) => format!("requests went over both ({ours} here, {theirs} there)"),
        (false, false) => "neither carried a request the capture shows".to_string(),
    };
    Some(format!(
        "raced with #{} over TCP+TLS: {carried}",
        other.conn.id
    ))
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::base::{ConnId, Endpoint, PacketId};
    use crate::flow::Connection;
    use crate::proto::dns::{parse_message, DnsMeta, DnsTracker, Transport};
    use crate::story::{ConnRecord, QuicSummary};

    const MS: i64 = 1_000_000;

    /// A DNS message for `quic.lab` type HTTPS: the query, or the answer carrying one
    /// ServiceMode record (RFC 9460 §2.2) with `alpn=h3`.
    fn https(answer: bool) -> Vec<u8> {
        let mut b = vec![0x12, 0x34];
        b.extend(if answer { [0x81, 0x80] } else { [0x01, 0x00] });
        b.extend([0, 1, 0, u8::from(answer), 0, 0, 0, 0]);
        b.extend(b"\x04quic\x03lab\x00\x00\x41\x00\x01");
        if answer {
            // name (pointer), HTTPS, IN, TTL 300, RDATA: priority 1, target ".",
            // key 1 (alpn) = ["h3"].
            b.extend([0xc0, 0x0c, 0, 0x41, 0, 1, 0, 0, 1, 0x2c, 0, 10]);
            b.extend([0, 1, 0, 0, 1, 0, 3, 2, b'h', b'3']);
        }
        b
    }

    #[test]
    fn an_https_record_with_alpn_h3_is_named_and_a_tcp_connection_beside_is_a_race() {
        let ip = |a: [u8; 4]| IpAddr::from(a);
        let client = Endpoint::new(ip([198, 18, 2, 10]), 50000);
        let resolver = Endpoint::new(ip([198, 18, 2, 53]), 53);
        let server = Endpoint::new(ip([198, 18, 2, 80]), 443);
        let mut dns = DnsTracker::with_limits(16, 5_000 * MS);
        for (answer, at) in [(false, 0), (true, MS)] {
            let msg = parse_message(&https(answer)).unwrap();
            let (src, dst) = if answer {
                (resolver, client)
            } else {
                (client, resolver)
            };
            let meta = DnsMeta {
                ts: Timestamp(at),
                pkt: PacketId(0),
                conn: None,
                transport: Transport::Udp,
                src,
                dst,
                after_gap: false,
            };
            dns.on_message(meta, &msg);
        }
        let dns = dns.finish();
        let conn = |id: u32, proto: ConnProto, port: u16, at: i64| {
            let c = Connection::new(
                ConnId(id),
                proto,
                Endpoint::new(client.ip, port),
                server,
                Timestamp(at),
                0,
            );
            ConnRecord {
                conn: c,
                app: None,
                tls: None,
                tls_anomalies: Vec::new(),
                quic: None,
                http_host: None,
                http_count: 0,
            }
        };
        let mut quic = conn(0, ConnProto::Udp, 40000, 3 * MS);
        quic.quic = Some(Box::new(QuicSummary {
            client_initial: Some(Timestamp(3 * MS)),
            ..QuicSummary::default()
        }));
        quic.http_count = 2;
        let tcp = conn(1, ConnProto::Tcp, 40001, 4 * MS);
        let far = conn(2, ConnProto::Tcp, 40002, 5_000 * MS);
        let conns = [quic, tcp, far];
        let input = StoryInput {
            conns: &conns,
            dns: &dns,
            http: &[],
        };
        assert_eq!(
            h3_announced(&input, 0, Some("quic.lab")).as_deref(),
            Some("HTTPS record alpn=h3")
        );
        // Another name's record says nothing about this connection.
        assert_eq!(h3_announced(&input, 0, Some("other.lab")), None);
        assert_eq!(
            race(&input, 0).as_deref(),
            Some("raced with #1 over TCP+TLS: the requests went over this one (2)")
        );
        // TCP connections are told nothing (the QUIC line tells the race).
        assert_eq!(race(&input, 1), None);
    }
}
