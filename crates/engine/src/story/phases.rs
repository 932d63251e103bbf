//! Per-connection phases, as the story's phase line shows them (`phases: dns 17.6 ms ·
//! wait 2.3 ms · connect 57 µs · …`): the durations ([`PhaseTimes`]), their legend, and how
//! they are measured from a connection, its lookup and its first exchange.

use std::fmt::Write;

use super::{ConnName, StoryInput};
use crate::base::Timestamp;
use crate::flow::ConnProto;
use crate::proto::http::HttpTransaction;

/// A duration as people read it: `45 µs`, `1.4 ms`, `2.315 s`.
pub(crate) fn ms(s: f64) -> String {
    let mut out = String::with_capacity(12);
    push_ms(&mut out, s);
    out
}

/// [`ms`], written at the end of `out`.
pub fn push_ms(out: &mut String, s: f64) {
    if s < 0.001 {
        push_fixed(out, s * 1e6, 0);
        out.push_str(" µs");
    } else if s < 1.0 {
        push_fixed(out, s * 1e3, 1);
        out.push_str(" ms");
    } else {
        push_fixed(out, s, 3);
        out.push_str(" s");
    }
}

/// Writes `x` with `decimals` (at most 3) digits after the point, exactly as
/// `format!("{x:.decimals$}")` does, without the formatter's exact slow path (Grisu,
/// then Dragon with big numbers: ~4 % of telling a story of many short connections).
///
/// The formatter rounds the exact binary value of `x`, half to even. `x·10^d` computed
/// in `f64` is within half an ulp of the exact product, which below 10^9 is under
/// 1.2e-7: when its fraction is more than 1e-6 away from one half, the exact product
/// rounds the same way, and the digits are those of an integer. Anything else (near a
/// tie, negative, -0.0, huge, not finite) goes to the formatter. The tests compare the
/// two over millions of values, ties and near-ties included.
pub fn push_fixed(out: &mut String, x: f64, decimals: usize) {
    const POW: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];
    const POW_INT: [u64; 4] = [1, 10, 100, 1000];
    if let (Some(&p), Some(&pi)) = (POW.get(decimals), POW_INT.get(decimals)) {
        let scaled = x * p;
        if x.is_sign_positive() && scaled < 1e9 {
            let floor = scaled.floor();
            let frac = scaled - floor;
            if (frac - 0.5).abs() > 1e-6 {
                // Below 10^9: the cast is exact.
                let n = floor as u64 + u64::from(frac > 0.5);
                super::digits::push_u64(out, n / pi);
                if decimals > 0 {
                    out.push('.');
                    super::digits::push_padded(out, n % pi, decimals);
                }
                return;
            }
        }
    }
    let _ = write!(out, "{x:.decimals$}");
}

pub(crate) fn secs(a: Timestamp, b: Timestamp) -> f64 {
    b.secs_since(a)
}

/// Per-connection phase durations in seconds (None where the phase did not happen).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseTimes {
    /// The lookup that named the connection (query → answer).
    pub dns: Option<f64>,
    /// Answer → SYN: the client's own delay before connecting.
    pub dns_to_connect: Option<f64>,
    /// SYN → handshake ACK.
    pub connect: Option<f64>,
    /// TLS: the client's first bytes (its Client Hello) → the server's first bytes
    /// (its Server Hello, or the first encrypted data).
    pub tls: Option<f64>,
    /// First request byte → last request byte.
    pub request: Option<f64>,
    /// Last request byte → first response byte.
    pub ttfb: Option<f64>,
    /// First response byte → last response byte.
    pub transfer: Option<f64>,
    /// Last payload byte → first FIN/RST.
    pub idle: Option<f64>,
    /// First FIN/RST → last packet.
    pub close: Option<f64>,
}

impl PhaseTimes {
    /// The phases' labels, in the order of [`summary`](Self::summary), with what each
    /// one measures (`story --help` and the README define them with these words).
    pub const LEGEND: [(&'static str, &'static str); 9] = [
        (
            "dns",
            "the lookup that named the connection: query → answer",
        ),
        ("wait", "answer → the client's SYN (the client's own delay)"),
        (
            "connect",
            "the handshake: SYN → the client's ACK (QUIC: Initial → confirmed)",
        ),
        (
            "tls",
            "TLS hello: Client Hello → Server Hello (or first encrypted data)",
        ),
        ("request", "first → last byte of the first request"),
        ("first byte", "last request byte → first response byte"),
        ("transfer", "first → last byte of the first response"),
        ("idle", "last payload byte → the first FIN or RST"),
        ("close", "first FIN or RST → the connection's last packet"),
    ];

    /// "phases: dns 1.2 ms · wait 230 µs · connect 20.1 ms · …": the phases that
    /// happened, as the `story` command and the TUI print them (under a millisecond in
    /// µs).
    pub fn summary(&self) -> String {
        let mut out = String::new();
        self.push_summary(&mut out);
        out
    }

    /// [`summary`](Self::summary), written at the end of `out` (nothing when no phase
    /// happened): a printer that reuses one line buffer makes no string per line.
    pub fn push_summary(&self, out: &mut String) {
        let from = out.len();
        for (v, (name, _)) in [
            self.dns,
            self.dns_to_connect,
            self.connect,
            self.tls,
            self.request,
            self.ttfb,
            self.transfer,
            self.idle,
            self.close,
        ]
        .into_iter()
        .zip(Self::LEGEND)
        {
            let Some(s) = v else { continue };
            out.push_str(if out.len() == from {
                "phases: "
            } else {
                " · "
            });
            out.push_str(name);
            out.push(' ');
            push_ms(out, s);
        }
    }
}

pub(crate) fn phase_times(
    input: &StoryInput<'_>,
    ci: usize,
    name: Option<&ConnName>,
    first_http: Option<&HttpTransaction>,
    tls: bool,
) -> PhaseTimes {
    let c = &input.conns[ci].conn;
    let quic = input.conns[ci].quic.as_deref();
    let hs = c.handshake.unwrap_or_default();
    let p = &c.phases;
    let first_req = p.first_payload[0];
    let last_payload = match (p.last_payload[0], p.last_payload[1]) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let close_start = c
        .close
        .map(|cl| cl.ts)
        .or(quic.and_then(|q| q.end.as_ref()).map(|e| e.ts()));
    // QUIC's handshake is its transport's and TLS's at once (RFC 9001 §4): one phase.
    let quic_connect = quic.and_then(|q| Some(secs(q.client_initial?, q.established()?)));
    // Request and response phases come from the first exchange on the connection.
    PhaseTimes {
        dns: name.and_then(|n| n.dns_rtt),
        dns_to_connect: name.and_then(|n| n.gap),
        connect: hs
            .rtt_ns()
            .map(|n| n as f64 / 1e9)
            .or(quic_connect.filter(|d| *d >= 0.0)),
        // TLS: the hello exchange is what can be seen; requests inside are encrypted.
        tls: (tls && quic.is_none() && first_http.is_none())
            .then(|| Some(secs(first_req?, p.first_payload[1]?)))
            .flatten()
            .filter(|d| *d >= 0.0),
        request: first_http
            .and_then(|t| Some(secs(t.request_ts?, t.request_end_ts?)))
            .or_else(|| {
                // A UDP flow's "request" would be all its client's datagrams.
                if tls || c.proto != ConnProto::Tcp {
                    return None;
                }
                Some(secs(first_req?, p.last_payload[0]?))
            }),
        ttfb: first_http.and_then(|t| t.ttfb()).map(|n| n as f64 / 1e9),
        transfer: first_http.and_then(|t| Some(secs(t.response_ts?, t.response_end_ts?))),
        idle: match (last_payload, close_start) {
            (Some(l), Some(cs)) if cs >= l => Some(secs(l, cs)),
            _ => None,
        },
        close: close_start.map(|cs| secs(cs, c.last_ts)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(x: f64, d: usize) -> String {
        let mut s = String::new();
        push_fixed(&mut s, x, d);
        s
    }

    /// Every duration the story can print, in whole nanoseconds (what `secs_since`
    /// divides), prints as the formatter prints it, for 0 to 3 decimals and through
    /// `ms`'s scalings; ties (…5 exactly in nanoseconds) and their neighbours included.
    #[test]
    fn fixed_point_prints_exactly_what_the_formatter_prints() {
        let mut checked = 0u64;
        let mut check = |x: f64| {
            for d in 0..=3 {
                assert_eq!(fixed(x, d), format!("{x:.d$}"), "{x:e} with {d} decimals");
            }
            for y in [x * 1e6, x * 1e3] {
                assert_eq!(fixed(y, 0), format!("{y:.0}"), "{y:e}");
                assert_eq!(fixed(y, 1), format!("{y:.1}"), "{y:e}");
            }
            checked += 1;
        };
        // Every third nanosecond count up to 1.1 ms (across the µs/ms switch), then
        // ties and near-ties at every scale.
        for ns in (0..1_100_000_i64).step_by(3) {
            check(ns as f64 / 1e9);
        }
        for scale in [1_000_i64, 10_000, 100_000, 1_000_000, 1_000_000_000] {
            for k in 0..10_000_i64 {
                let tie = k * scale + scale / 2;
                for ns in [tie - 1, tie, tie + 1, k * scale] {
                    check(ns as f64 / 1e9);
                }
            }
        }
        // Pseudo-random nanosecond counts up to 10^6 s (beyond it the formatter is used).
        let mut r = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..150_000 {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            check((r % 1_000_000_000_000_000) as f64 / 1e9);
            check(f64::from_bits(r >> 2) % 1e7);
        }
        // What the formatter alone handles.
        for x in [
            -0.0,
            -0.0004,
            -1.5,
            f64::NAN,
            f64::INFINITY,
            1e9,
            1e300,
            0.0005,
            2.5,
        ] {
            check(x);
        }
        assert!(checked > 800_000);
    }

    #[test]
    fn durations_read_as_before() {
        assert_eq!(ms(0.000_045), "45 µs");
        assert_eq!(ms(0.0014), "1.4 ms");
        assert_eq!(ms(2.315), "2.315 s");
        assert_eq!(ms(0.000_000_5), "0 µs");
    }
}
