//! DNS on ports that are not 53/5353/5355.
//!
//! A datagram that merely parses as DNS is weak evidence (twelve zero bytes are a valid
//! empty header), so a non-standard port is only believed once a clean query and a clean
//! response that answers it (reversed endpoints, same id, same first question) have both
//! been seen. The probe then remembers the server endpoint, and the caller treats further
//! datagrams to or from it as DNS. Queries waiting for confirmation are bounded in number
//! and age, as are confirmed servers.

use std::collections::{HashMap, HashSet, VecDeque};

use super::message::Message;
use super::parse::{header, parse_message, MIN_QUESTION_LEN, MIN_RECORD_LEN};
use crate::base::{Endpoint, Timestamp};

/// Cheap content check for DNS on a non-standard port: a sane header (opcode 0–5,
/// 1..=4 questions, counts the length could hold, QR as hinted when a hint is given)
/// and a message that parses completely with no trailing bytes.
pub fn looks_like_dns(bytes: &[u8], is_response_hint: Option<bool>) -> bool {
    let Ok((_, (_, flags, [qd, an, ns, ar]))) = header(bytes) else {
        return false;
    };
    if is_response_hint.is_some_and(|r| r != flags.qr) || flags.opcode > 5 || flags.z {
        return false;
    }
    if !(1..=4).contains(&qd) {
        return false;
    }
    let min = 12
        + qd as usize * MIN_QUESTION_LEN
        + (an as usize + ns as usize + ar as usize) * MIN_RECORD_LEN;
    if min > bytes.len() {
        return false;
    }
    match parse_message(bytes) {
        Ok(m) => m.trailing == 0 && m.anomalies.is_empty(),
        Err(_) => false,
    }
}

/// Unconfirmed candidate queries kept at most.
pub const MAX_CANDIDATES: usize = 1024;
/// Confirmed non-standard DNS servers kept at most.
pub const MAX_SERVERS: usize = 1024;
/// How long a candidate query waits for its response.
pub const CANDIDATE_TTL_NS: i64 = 5_000_000_000;

/// What the probe concluded about one datagram.
#[derive(Debug, PartialEq)]
pub enum Probe {
    /// Not DNS, or not yet believed to be.
    Unknown,
    /// A response that answers a candidate query: this endpoint pair is DNS. Carries the
    /// query (with its time) and the response so the caller can account both.
    Confirmed {
        query_ts: Timestamp,
        query: Box<Message>,
        response: Box<Message>,
    },
    /// Traffic to or from an already confirmed server.
    Known(Box<Message>),
}

type CandKey = (Endpoint, Endpoint, u16);

/// Content-based DNS detection for non-standard UDP ports; see the module docs.
#[derive(Debug, Default)]
pub struct DnsPortProbe {
    candidates: HashMap<CandKey, (Timestamp, Box<Message>)>,
    order: VecDeque<(Timestamp, CandKey)>,
    servers: HashSet<Endpoint>,
}

impl DnsPortProbe {
    pub fn new() -> Self {
        Self::default()
    }

    /// True when `ep` was confirmed as a DNS server.
    pub fn is_known_server(&self, ep: &Endpoint) -> bool {
        self.servers.contains(ep)
    }

    /// Looks at one UDP datagram from `src` to `dst` on ports that are not DNS ports.
    pub fn observe(
        &mut self,
        ts: Timestamp,
        src: Endpoint,
        dst: Endpoint,
        payload: &[u8],
    ) -> Probe {
        if self.servers.contains(&src) || self.servers.contains(&dst) {
            return match parse_message(payload) {
                Ok(m) => Probe::Known(Box::new(m)),
                Err(_) => Probe::Unknown,
            };
        }
        // Cheap header test first: most non-DNS datagrams stop here.
        if payload.len() < 12 || !looks_like_dns(payload, None) {
            return Probe::Unknown;
        }
        let Ok(m) = parse_message(payload) else {
            return Probe::Unknown;
        };
        self.expire(ts);
        if !m.flags.qr {
            if self.candidates.len() >= MAX_CANDIDATES {
                if let Some((_, k)) = self.order.pop_front() {
                    self.candidates.remove(&k);
                }
            }
            let key = (src, dst, m.id);
            self.order.push_back((ts, key));
            self.candidates.insert(key, (ts, Box::new(m)));
            return Probe::Unknown;
        }
        let key = (dst, src, m.id);
        let matches =
            self.candidates
                .get(&key)
                .is_some_and(|(_, q)| match (q.question(), m.question()) {
                    (Some(a), Some(b)) => {
                        a.qtype == b.qtype
                            && a.qclass == b.qclass
                            && a.name.eq_ignore_ascii_case(&b.name)
                    }
                    _ => false,
                });
        if !matches {
            return Probe::Unknown;
        }
        let Some((query_ts, query)) = self.candidates.remove(&key) else {
            return Probe::Unknown;
        };
        if self.servers.len() < MAX_SERVERS {
            self.servers.insert(src);
        }
        Probe::Confirmed {
            query_ts,
            query,
            response: Box::new(m),
        }
    }

    fn expire(&mut self, now: Timestamp) {
        while let Some((t, k)) = self.order.front() {
            if now.0.saturating_sub(t.0) <= CANDIDATE_TTL_NS && self.order.len() <= MAX_CANDIDATES {
                break;
            }
            // The candidate may have been replaced by a newer query with the same key.
            if self.candidates.get(k).is_some_and(|(ct, _)| ct == t) {
                self.candidates.remove(k);
            }
            self.order.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::dns::fixture;

    #[test]
    fn looks_like_dns_on_real_and_junk() {
        let mut n = 0;
        for (r, b) in fixture::messages() {
            if r.capture == "tcpdump/dns_udp_2.pcap" && r.frame == 2 {
                continue;
            }
            let m = parse_message(&b).unwrap();
            if m.questions.is_empty() || m.questions.len() > 4 {
                continue;
            }
            assert!(
                looks_like_dns(&b, Some(m.flags.qr)),
                "{} #{}",
                r.capture,
                r.frame
            );
            assert!(!looks_like_dns(&b, Some(!m.flags.qr)));
            n += 1;
        }
        assert!(n > 300);
        assert!(!looks_like_dns(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", None));
        assert!(!looks_like_dns(&[0u8; 12], None));
        assert!(!looks_like_dns(
            &[0x16, 3, 1, 0, 0x2c, 1, 0, 0, 0x28, 3, 3, 0],
            None
        ));
    }

    fn moved(ep: Endpoint) -> Endpoint {
        Endpoint::new(ep.ip, if ep.port == 53 { 8053 } else { ep.port })
    }

    #[test]
    fn real_exchange_on_port_8053_is_confirmed_by_its_answer() {
        // tcpdump/dns_udp.pcap frames 1 and 2, moved from port 53 to 8053.
        let rows: Vec<_> = fixture::rows()
            .into_iter()
            .filter(|r| r.capture == "tcpdump/dns_udp.pcap")
            .collect();
        let mut p = DnsPortProbe::new();
        let (q, r) = (&rows[0], &rows[1]);
        assert_eq!(
            p.observe(q.ts, moved(q.src), moved(q.dst), &q.bytes),
            Probe::Unknown
        );
        match p.observe(r.ts, moved(r.src), moved(r.dst), &r.bytes) {
            Probe::Confirmed {
                query_ts,
                query,
                response,
            } => {
                assert_eq!(query_ts, q.ts);
                assert_eq!(query.id, 0x5934);
                assert_eq!(response.answers.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        assert!(p.is_known_server(&moved(r.src)));
        assert!(matches!(
            p.observe(q.ts, moved(q.src), moved(q.dst), &q.bytes),
            Probe::Known(_)
        ));
    }

    #[test]
    fn a_response_alone_or_for_another_question_proves_nothing() {
        let rows: Vec<_> = fixture::rows()
            .into_iter()
            .filter(|r| r.capture == "zeek/ipv6-fragmented-dns.pcap")
            .collect();
        let mut p = DnsPortProbe::new();
        // Frame 2 (response to frame 1) without its query.
        let r = &rows[1];
        assert_eq!(
            p.observe(r.ts, moved(r.src), moved(r.dst), &r.bytes),
            Probe::Unknown
        );
        // Query of frame 3, then the response of frame 2 (different id and question).
        let q = &rows[2];
        assert_eq!(
            p.observe(q.ts, moved(q.src), moved(q.dst), &q.bytes),
            Probe::Unknown
        );
        assert_eq!(
            p.observe(r.ts, moved(r.src), moved(r.dst), &r.bytes),
            Probe::Unknown
        );
        assert!(!p.is_known_server(&moved(r.src)));
        // Non-DNS bytes never count.
        assert_eq!(
            p.observe(r.ts, moved(r.src), moved(r.dst), b"GET / HTTP/1.1\r\n\r\n"),
            Probe::Unknown
        );
    }

    #[test]
    fn candidates_are_bounded() {
        let (r, b) = fixture::messages().into_iter().next().unwrap();
        let mut p = DnsPortProbe::new();
        for i in 0..(MAX_CANDIDATES as u16 + 100) {
            let mut m = b.clone();
            m[..2].copy_from_slice(&i.to_be_bytes());
            let _ = p.observe(r.ts, moved(r.src), moved(r.dst), &m);
            assert!(p.candidates.len() <= MAX_CANDIDATES);
            assert!(p.order.len() <= MAX_CANDIDATES);
        }
        // All expire after their TTL.
        p.expire(Timestamp(r.ts.0 + CANDIDATE_TTL_NS + 1));
        assert!(p.candidates.is_empty());
    }
}
