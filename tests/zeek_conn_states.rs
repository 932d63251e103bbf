//! Conformance with Zeek's own conn.log: `conn_state`, `history`, orientation (who is
//! the originator) and packet counts of every connection of Zeek's btest traces, as
//! Zeek's committed baselines give them (`tests/data/zeek-conn/conn.tsv`, cut from
//! `testing/btest/Baseline/<test>/conn.log` by `tests/data/zeek-conn/extract.py`).
//! Zeek is not run: its baselines are the truth. Frames take the product's path
//! (`capture::MemReader`, `decode::decode_defragmented`, `FlowPacket::from_decoded`).
//!
//! Baselines mask timestamps, so connections are matched by their unordered address
//! pair, protocol and rank among connections of that pair (Zeek logs a reused tuple's
//! connections in the order they ended, which for a reused tuple is the order they
//! started). Every remaining difference is listed in [`ALLOWED`] with its reason.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use wiretale::flow::{ConnProto, Connection, StreamSink};

#[derive(Default)]
struct Collect {
    done: Vec<Connection>,
}

impl StreamSink for Collect {
    fn data(
        &mut self,
        _: wiretale::base::ConnId,
        _: wiretale::base::Direction,
        _: wiretale::base::Timestamp,
        _: wiretale::base::PacketId,
        _: &[u8],
    ) {
    }
    fn gap(
        &mut self,
        _: wiretale::base::ConnId,
        _: wiretale::base::Direction,
        _: wiretale::base::Timestamp,
        _: u64,
    ) {
    }
    fn conn_done(&mut self, c: &Connection) {
        self.done.push(c.clone());
    }
}

fn path_of(rel: &str) -> PathBuf {
    match rel.strip_prefix("../shared/captures/") {
        Some(r) => common::shared_root().join(r),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/zeek-conn")
            .join(rel),
    }
}

/// The table's connections over a whole capture, in start order.
fn run(rel: &str) -> Vec<Connection> {
    let mut sink = Collect::default();
    common::flow_table(&path_of(rel), &mut sink);
    let mut v = sink.done;
    v.sort_by_key(|c| (c.first_ts, c.id));
    v
}

/// One conn.log row as the test compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    orig: (IpAddr, u16),
    resp: (IpAddr, u16),
    proto: String,
    state: String,
    history: String,
    pkts: (u64, u64),
}

impl Row {
    fn line(&self) -> String {
        format!(
            "{}:{} > {}:{} {} {} {} {}/{}",
            self.orig.0,
            self.orig.1,
            self.resp.0,
            self.resp.1,
            self.proto,
            self.state,
            self.history,
            self.pkts.0,
            self.pkts.1
        )
    }
    fn pair(&self) -> (String, (IpAddr, u16), (IpAddr, u16)) {
        let (a, b) = if self.orig <= self.resp {
            (self.orig, self.resp)
        } else {
            (self.resp, self.orig)
        };
        (self.proto.clone(), a, b)
    }
}

fn ours(c: &Connection) -> Row {
    Row {
        orig: (c.client.ip, c.client.port),
        resp: (c.server.ip, c.server.port),
        proto: match c.proto {
            ConnProto::Tcp => "tcp",
            ConnProto::Udp => "udp",
            ConnProto::Icmp => "icmp",
        }
        .into(),
        state: c.state().into(),
        history: c.history().into(),
        pkts: (c.packets[0], c.packets[1]),
    }
}

/// Zeek's rows per capture, in log order.
fn baselines() -> BTreeMap<String, Vec<(String, Row)>> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/zeek-conn/conn.tsv");
    let text = std::fs::read_to_string(p).expect("conn.tsv");
    let mut out: BTreeMap<String, Vec<(String, Row)>> = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 12, "conn.tsv row: {line}");
        let n = |s: &str| s.parse::<u64>().unwrap_or(0);
        let row = Row {
            orig: (f[3].parse().unwrap(), f[4].parse().unwrap()),
            resp: (f[5].parse().unwrap(), f[6].parse().unwrap()),
            proto: f[7].into(),
            state: f[8].into(),
            history: if f[9] == "-" {
                String::new()
            } else {
                f[9].into()
            },
            pkts: (n(f[10]), n(f[11])),
        };
        out.entry(f[1].to_string())
            .or_default()
            .push((f[0].to_string(), row));
    }
    out
}

/// Deliberate or known differences: (capture, Zeek's row as `Row::line` prints it,
/// wiretale's row, why). A listed pair that no longer differs fails the test, so the
/// list stays exact.
const ALLOWED: &[(&str, &str, &str, &str)] = &[
    (
        "globus-url-copy.pcap",
        "192.168.57.103:35391 > 192.168.57.101:55968 tcp S1 ShADad 7/6",
        "192.168.57.103:35391 > 192.168.57.101:55968 tcp SF ShADadfF 9/9",
        "Zeek's GridFTP script stops processing a data channel once it is detected \
         (`GridFTP::skip_data`, `skip_further_processing`): Zeek never sees its end",
    ),
    (
        "ntp-misordered.pcap",
        "192.168.1.95:123 > 17.253.4.253:123 udp S0 D^ 2/0",
        "17.253.4.253:123 > 192.168.1.95:123 udp SF Dd 1/1",
        "Zeek's NTP analyzer flips a connection whose first message is a server-mode \
         reply (DNS does the same for a response first); wiretale orients UDP by \
         Zeek's port rule only (both 123: first sender). Zeek's counters and UDP \
         states are not swapped by that late flip (2/0, S0 for one datagram each way)",
    ),
];

#[test]
fn conn_state_and_history_match_zeek_baselines() {
    let base = baselines();
    assert!(base.len() >= 20, "expected the committed Zeek baselines");
    let mut diffs = Vec::new();
    let mut compared = 0;
    for (rel, rows) in &base {
        let conns: Vec<Row> = run(rel).iter().map(ours).collect();
        // Zeek's rank of each row among rows of its pair; same for ours (start order).
        let mut rank: BTreeMap<_, Vec<&Row>> = BTreeMap::new();
        for r in &conns {
            rank.entry(r.pair()).or_default().push(r);
        }
        let mut seen: BTreeMap<_, usize> = BTreeMap::new();
        // Zeek logs at removal; sort a pair's rows by nothing else we know: keep order.
        for (test, z) in rows {
            let k = seen.entry(z.pair()).or_default();
            let got = rank.get(&z.pair()).and_then(|v| v.get(*k)).copied();
            *k += 1;
            compared += 1;
            let got_line = got.map(Row::line).unwrap_or_else(|| "(none)".into());
            if got != Some(z) {
                diffs.push((rel.clone(), test.clone(), z.line(), got_line));
            }
        }
        for (pair, v) in &rank {
            let n = seen.get(pair).copied().unwrap_or(0);
            for extra in v.iter().skip(n) {
                diffs.push((rel.clone(), "-".into(), "(none)".into(), extra.line()));
            }
        }
    }
    let mut unexpected = Vec::new();
    let mut used = vec![false; ALLOWED.len()];
    for (rel, test, z, w) in &diffs {
        match ALLOWED
            .iter()
            .position(|(c, az, aw, _)| c == rel && az == z && aw == w)
        {
            Some(i) => used[i] = true,
            None => unexpected.push(format!(
                "{rel} ({test})\n   zeek:     {z}\n   wiretale: {w}"
            )),
        }
    }
    for (i, u) in used.iter().enumerate() {
        if !u {
            unexpected.push(format!(
                "allow-list entry no longer differs: {:?}",
                ALLOWED[i]
            ));
        }
    }
    assert!(compared > 100, "only {compared} Zeek connections compared");
    assert!(
        unexpected.is_empty(),
        "{} difference(s) from Zeek's conn.log:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}
