//! ICMP errors in the story: a lookup or a UDP flow the peer refused with port
//! unreachable, the errors a connection met on its way (TTL exceeded, fragmentation
//! needed), and traceroutes folded into one line per destination.
//!
//! A traceroute is recognised by what it gets back, not by its ports: probes (UDP
//! flows, or an echo exchange for `traceroute -I`) from one client to one destination,
//! with no application on them, that met at least one TTL exceeded. The routers that
//! answered are listed in probe order (the order the TTL rose); the line does not number
//! hops, because a silent hop (`* * *`) leaves no packet that would say its number.

use std::collections::HashSet;
use std::fmt::Write;
use std::net::IpAddr;

use super::events::{Event, EventKind, Facts};
use super::phases::{ms, secs};
use super::{Page, StoryInput};
use crate::base::{ConnId, Direction, Timestamp};
use crate::flow::{ConnProto, Connection, IcmpError};
use crate::proto::dns::DnsTransaction;

type Mk<'a> = &'a dyn Fn(Timestamp, EventKind, Option<ConnId>, String) -> Event;

/// The line of a lookup that an ICMP destination unreachable answered instead of the
/// server: "A refused.lab.example: refused (ICMP port unreachable) after 0.021 ms".
pub(super) fn lookup_refused(
    tx: &DnsTransaction,
    qtype: &str,
    qname: &str,
    mk: Mk<'_>,
) -> Option<Event> {
    let (qt, o) = (tx.query_ts?, tx.icmp_outcome.as_ref()?);
    let after = secs(qt, o.ts);
    let mut e = mk(
        o.ts,
        EventKind::Refused,
        tx.conn,
        format!("{qtype} {qname}: {} after {}", o.text, ms(after)),
    );
    e.facts = Facts::Refused {
        client: tx.client,
        server: tx.server,
        after,
    };
    Some(e)
}

/// A UDP flow (or echo exchange) the peer never answered and an ICMP destination
/// unreachable ended: "#4 198.18.4.10:34261 → 198.18.5.80:33436 (udp)  refused (ICMP
/// port unreachable) after 0.011 ms".
pub(super) fn flow_refused(c: &Connection, start: Timestamp, mk: Mk<'_>) -> Option<Event> {
    let outcome = c.icmp_outcome()?;
    let at = c
        .icmp_errors()
        .iter()
        .find(|e| e.is_unreachable())
        .map_or(c.last_ts, |e| e.ts);
    let after = secs(start, at);
    let proto = if c.proto == ConnProto::Udp {
        "udp"
    } else {
        "icmp"
    };
    let mut e = mk(
        at,
        EventKind::Refused,
        Some(c.id),
        format!(
            "#{} {} → {} ({proto})  {outcome} after {}",
            c.id,
            c.client,
            c.server,
            ms(after)
        ),
    );
    e.facts = Facts::Refused {
        client: c.client,
        server: c.server,
        after,
    };
    Some(e)
}

fn error_text(e: &IcmpError) -> String {
    match e.mtu {
        Some(m) => format!("{} (MTU {m}) from {}", e.name(), e.from),
        None => format!("{} from {}", e.name(), e.from),
    }
}

/// One note for the ICMP errors a connection got that did not end it: "#7 ICMP TTL
/// exceeded from 198.18.4.1, fragmentation needed (MTU 1400) from 198.18.4.1 (×3)".
pub(super) fn errors_line(c: &Connection, mk: Mk<'_>) -> Option<Event> {
    let first = c.icmp_errors().first()?;
    let mut seen: Vec<String> = Vec::new();
    for e in c.icmp_errors() {
        let t = error_text(e);
        if !seen.contains(&t) {
            seen.push(t);
        }
    }
    let mut text = format!("#{} ICMP {}", c.id, seen.join(", "));
    // Errors usually answer the client; say so when they answered the server instead
    // (a client that closed its port before the server's late datagrams came).
    if c.icmp_errors()
        .iter()
        .all(|e| e.about == Direction::ServerToClient)
    {
        text.push_str(" about the server's packets");
    }
    if c.icmp_error_count() > 1 {
        let _ = write!(text, " (×{})", c.icmp_error_count());
    }
    Some(mk(first.ts, EventKind::Anomaly, Some(c.id), text))
}

/// Folds each traceroute of page `p` into one line (see the module docs); returns the
/// probes' connections, whose own lines the caller makes quiet.
pub(super) fn traceroutes(
    input: &StoryInput<'_>,
    p: &Page,
    mk: Mk<'_>,
    ev: &mut Vec<Event>,
) -> HashSet<ConnId> {
    // (client, destination, protocol) → the probes, in order of the page's connections.
    type Group<'c> = ((IpAddr, IpAddr, ConnProto), Vec<&'c Connection>);
    let mut groups: Vec<Group<'_>> = Vec::new();
    for &ci in &p.conns {
        let Some(r) = input.conns.get(ci) else {
            continue;
        };
        let c = &r.conn;
        if c.proto == ConnProto::Tcp || r.app.is_some() || c.icmp_errors().is_empty() {
            continue;
        }
        let key = (c.client.ip, c.server.ip, c.proto);
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(c),
            None => groups.push((key, vec![c])),
        }
    }
    let mut probes = HashSet::new();
    for ((client, server, proto), mut conns) in groups {
        let probing = |e: &IcmpError| e.is_ttl_exceeded() && e.about == Direction::ClientToServer;
        if !conns.iter().any(|c| c.icmp_errors().iter().any(probing)) {
            continue;
        }
        conns.sort_by_key(|c| (c.first_ts, c.server.port, c.id));
        let mut hops: Vec<(IpAddr, Option<f64>)> = Vec::new();
        let mut reached: Option<&'static str> = None;
        let mut reached_rtt: Option<f64> = None;
        let min = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        for c in &conns {
            probes.insert(c.id);
            // A probe's send time is known when the flow is that one probe.
            let one = c.packets[0] == 1;
            for e in c
                .icmp_errors()
                .iter()
                .filter(|e| e.about == Direction::ClientToServer)
            {
                let rtt = one.then(|| secs(c.first_ts, e.ts));
                if e.is_ttl_exceeded() {
                    match hops.iter_mut().find(|h| h.0 == e.from) {
                        Some(h) => h.1 = min(h.1, rtt),
                        None => hops.push((e.from, rtt)),
                    }
                } else if e.from == server && e.is_refusal() {
                    reached.get_or_insert(e.name());
                    reached_rtt = min(reached_rtt, rtt);
                }
            }
            if c.proto == ConnProto::Icmp && c.packets[1] > 0 {
                reached.get_or_insert("echo reply");
            }
        }
        let sent: u64 = conns.iter().map(|c| c.packets[0]).sum();
        let proto_name = if proto == ConnProto::Udp {
            "udp"
        } else {
            "icmp"
        };
        let hop = |ip: IpAddr, rtt: Option<f64>| match rtt {
            Some(r) => format!("{ip} {}", ms(r)),
            None => ip.to_string(),
        };
        let mut path: Vec<String> = hops.iter().map(|&(ip, r)| hop(ip, r)).collect();
        match reached {
            Some(how) => path.push(format!("{} (reached: {how})", hop(server, reached_rtt))),
            None => path.push(format!("no answer from {server}")),
        }
        let mut text = format!(
            "traceroute {client} → {server} ({proto_name}, {}): {}",
            super::stream::count(sent as usize, "probe", "probes"),
            path.join(" → ")
        );
        if conns
            .iter()
            .any(|c| c.icmp_error_count() as usize > c.icmp_errors().len())
        {
            text.push_str("  (more answers than kept)");
        }
        let start = conns.iter().map(|c| c.first_ts).min().unwrap_or_default();
        let mut e = mk(start, EventKind::Traceroute, None, text);
        e.facts = Facts::Traceroute {
            client,
            server,
            proto: proto_name,
            probes: sent,
            hops,
            reached,
            reached_rtt,
        };
        ev.push(e);
    }
    probes
}
