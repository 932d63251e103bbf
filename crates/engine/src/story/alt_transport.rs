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
