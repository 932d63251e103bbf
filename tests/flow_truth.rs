//! Runs classic-pcap captures (Ethernet, null/loop, Linux cooked v1) of the shared corpus through `flow::ConnTable`
//! and compares per-connection facts with tshark 4.0.17's truth
//! (`captures/truth/*/*.json`, `tcp_streams[]`). The pcap reading and L2–L4 slicing
//! here are a minimal test harness (etherparse's lax slicer), not the product's
//! `capture`/`decode` layers.

mod common;

use std::collections::HashMap;
use std::net::IpAddr;

use etherparse::{LaxNetSlice, LaxSlicedPacket, TcpOptionElement, TransportSlice};
use wiretale::base::{ConnId, Direction, PacketId, Timestamp};
use wiretale::flow::{
    ConnTable, Connection, FlowConfig, FlowPacket, StreamSink, TcpAnalysisFlags, L4,
};

type Frames<'a> = Vec<(Timestamp, &'a [u8])>;

/// Classic pcap: link type and records (ts, captured bytes). None for pcapng or a
/// link type the harness does not slice (Ethernet, BSD null/loop, Linux cooked v1).
fn read_pcap(data: &[u8]) -> Option<(u32, Frames<'_>)> {
    let magic = data.get(..4)?;
    let (le, units) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, 1_000_000),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, 1_000_000),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, 1_000_000_000),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, 1_000_000_000),
        _ => return None,
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b: [u8; 4] = data.get(o..o + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let link = u32_at(20)?;
    if ![0, 1, 108, 113].contains(&link) {
        return None;
    }
    let mut out = Vec::new();
    let mut o = 24;
    while o + 16 <= data.len() {
        let (s, f, cap) = (u32_at(o)?, u32_at(o + 4)?, u32_at(o + 8)? as usize);
        let body = data.get(o + 16..o + 16 + cap)?;
        out.push((Timestamp::from_parts(s as i64, f as u64, units), body));
        o += 16 + cap;
    }
    Some((link, out))
}

fn to_flow(link: u32, id: u32, ts: Timestamp, frame: &[u8]) -> Option<FlowPacket<'_>> {
    let p = match link {
        1 => LaxSlicedPacket::from_ethernet(frame).ok()?,
        113 => {
            let et = u16::from_be_bytes(frame.get(14..16)?.try_into().ok()?);
            LaxSlicedPacket::from_ether_type(etherparse::EtherType(et), frame.get(16..)?)
        }
        _ => LaxSlicedPacket::from_ip(frame.get(4..)?).ok()?,
    };
    let mut vlans = [0u16; 2];
    let ids = p.vlan_ids();
    for (i, v) in ids.iter().take(2).enumerate() {
        vlans[i] = v.value();
    }
    // L4 length declared by the IP header (longer than captured when snaplen-cut).
    let (src, dst, l4_len) = match p.net.as_ref()? {
        LaxNetSlice::Ipv4(ip) => {
            let h = ip.header();
            let l = (h.total_len() as u32).saturating_sub(h.ihl() as u32 * 4);
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                l,
            )
        }
        LaxNetSlice::Ipv6(ip) => {
            let h = ip.header();
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                h.payload_length() as u32,
            )
        }
        _ => return None,
    };
    let l4 = match p.transport.as_ref()? {
        TransportSlice::Tcp(t) => {
            let ipp = p.net.as_ref()?.ip_payload_ref()?;
            let declared = if ipp.incomplete {
                l4_len
                    .saturating_sub(t.header_len() as u32)
                    .max(t.payload().len() as u32)
            } else {
                t.payload().len() as u32
            };
            let mut flags = 0u16;
            for (on, bit) in [
                (t.fin(), 1),
                (t.syn(), 2),
                (t.rst(), 4),
                (t.psh(), 8),
                (t.ack(), 16),
                (t.urg(), 32),
                (t.ece(), 64),
                (t.cwr(), 128),
            ] {
                if on {
                    flags |= bit;
                }
            }
            let wscale = t.options_iterator().find_map(|o| match o {
                Ok(TcpOptionElement::WindowScale(w)) => Some(w),
                _ => None,
            });
            L4::Tcp {
                sport: t.source_port(),
                dport: t.destination_port(),
                seq: t.sequence_number(),
                ack: t.acknowledgment_number(),
                flags,
                window: t.window_size(),
                wscale,
                mss: None,
                sack_permitted: false,
                ts: None,
                payload_len: declared,
                payload: t.payload(),
            }
        }
        TransportSlice::Udp(u) => L4::Udp {
            sport: u.source_port(),
            dport: u.destination_port(),
            payload: u.payload(),
        },
        _ => L4::Other { proto: 0 },
    };
    Some(FlowPacket {
        id: PacketId(id),
        ts,
        src,
        dst,
        vlans,
        vlan_count: ids.len().min(2) as u8,
        l4,
    })
}

#[derive(Default)]
struct Collect {
    done: Vec<Connection>,
    bytes: HashMap<(ConnId, Direction), u64>,
}

impl StreamSink for Collect {
    fn data(&mut self, c: ConnId, d: Direction, _: Timestamp, _: PacketId, b: &[u8]) {
        *self.bytes.entry((c, d)).or_default() += b.len() as u64;
    }
    fn gap(&mut self, _: ConnId, _: Direction, _: Timestamp, _: u64) {}
    fn conn_done(&mut self, c: &Connection) {
        self.done.push(c.clone());
    }
}

fn run(rel: &str) -> Option<Collect> {
    let data = std::fs::read(common::shared_root().join(rel)).expect("read capture");
    let (link, frames) = read_pcap(&data)?;
    let mut t = ConnTable::new(FlowConfig::default());
    let mut sink = Collect::default();
    for (i, (ts, f)) in frames.iter().enumerate() {
        if let Some(p) = to_flow(link, i as u32, *ts, f) {
            t.process(&p, &mut sink);
        }
    }
    t.finish(&mut sink);
    Some(sink)
}

fn ep(s: &str) -> (IpAddr, u16) {
    let (ip, port) = s.rsplit_once(':').unwrap();
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    (ip.parse().unwrap(), port.parse().unwrap())
}

/// Frames, payload bytes and Wireshark analysis counts per endpoint, for every TCP
/// stream of the classic-pcap captures that have tshark truth.
#[test]
fn tcp_streams_match_tshark() {
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for rel in common::shared_captures() {
        let truth_path = common::shared_root().join(format!("truth/{rel}.json"));
        let Ok(txt) = std::fs::read_to_string(&truth_path) else {
            continue;
        };
        let truth: serde_json::Value = serde_json::from_str(&txt).unwrap();
        let Some(streams) = truth["tcp_streams"].as_array().filter(|s| !s.is_empty()) else {
            continue;
        };
        // VLAN contexts split connections that tshark (ignoring VLANs) merges.
        // The harness does not reassemble IP fragments (decode's job).
        if rel.contains("vlan") || rel.contains("fragment") {
            continue;
        }
        let Some(got) = run(&rel) else { continue };
        let tcp: Vec<&Connection> = got
            .done
            .iter()
            .filter(|c| c.proto == wiretale::flow::ConnProto::Tcp)
            .collect();
        if tcp.len() != streams.len() {
            mismatches.push(format!(
                "{rel}: {} tcp conns, tshark {}",
                tcp.len(),
                streams.len()
            ));
            continue;
        }
        for st in streams {
            let (ci, cp) = ep(st["first_src"].as_str().unwrap());
            let (si, sp) = ep(st["first_dst"].as_str().unwrap());
            let Some(c) = tcp.iter().find(|c| {
                let a = (c.client.ip, c.client.port);
                let b = (c.server.ip, c.server.port);
                (a == (ci, cp) && b == (si, sp)) || (a == (si, sp) && b == (ci, cp))
            }) else {
                mismatches.push(format!("{rel}: stream {} not found", st["stream"]));
                continue;
            };
            for (name, pe) in st["per_endpoint"].as_object().unwrap() {
                let e = ep(name);
                let d = if (c.client.ip, c.client.port) == e {
                    0
                } else {
                    1
                };
                let want = |k: &str| pe[k].as_u64().unwrap();
                if std::env::var_os("FLOW_TRUTH_DEBUG").is_some() && c.missed_bytes > 0 {
                    eprintln!(
                        "{rel} stream {} missed {} lost {}",
                        st["stream"], c.missed_bytes, pe["lost_segment"]
                    );
                }
                let mut checks = vec![("frames", c.packets[d])];
                // Payload sent = new stream bytes + retransmitted bytes (when nothing
                // was missed, so no gap bytes are in `bytes`).
                if c.missed_bytes == 0 {
                    checks.push(("payload_bytes", c.bytes[d] + c.retransmitted_bytes[d]));
                }
                for (k, v) in checks {
                    if want(k) != v {
                        mismatches.push(format!(
                            "{rel} stream {} {name} {k}: got {v}, tshark {}",
                            st["stream"],
                            want(k)
                        ));
                    }
                }
            }
            if st["client_determined_by"] == "syn" {
                let want = ep(st["client"].as_str().unwrap());
                if (c.client.ip, c.client.port) != want || c.orientation_guessed {
                    mismatches.push(format!(
                        "{rel} stream {}: client {} (guessed {})",
                        st["stream"], c.client, c.orientation_guessed
                    ));
                }
            }
            // Wireshark analysis counts, summed over both endpoints.
            let total = |k: &str| -> u64 {
                st["per_endpoint"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|pe| pe[k].as_u64().unwrap())
                    .sum()
            };
            let n = |f: TcpAnalysisFlags| c.analysis_count(f) as u64;
            let ours = [
                (
                    "retransmission",
                    n(TcpAnalysisFlags::RETRANSMISSION)
                        + n(TcpAnalysisFlags::FAST_RETRANSMISSION)
                        + n(TcpAnalysisFlags::SPURIOUS_RETRANSMISSION),
                ),
                (
                    "fast_retransmission",
                    n(TcpAnalysisFlags::FAST_RETRANSMISSION),
                ),
                ("out_of_order", n(TcpAnalysisFlags::OUT_OF_ORDER)),
                ("zero_window", n(TcpAnalysisFlags::ZERO_WINDOW)),
                ("keep_alive", n(TcpAnalysisFlags::KEEP_ALIVE)),
                ("lost_segment", n(TcpAnalysisFlags::LOST_SEGMENT)),
                ("duplicate_ack", n(TcpAnalysisFlags::DUPLICATE_ACK)),
            ];
            for (k, v) in ours {
                if total(k) != v {
                    mismatches.push(format!(
                        "{rel} stream {} {k}: got {v}, tshark {}",
                        st["stream"],
                        total(k)
                    ));
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} streams checked");
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// `zeek/vlan-collisions.pcap` holds one 4-tuple on three VLANs (three connections;
/// tshark, ignoring VLANs, shows one stream); `syn_retransmit_with_ts.pcap` tags one
/// direction only and is one connection.
#[test]
fn vlan_contexts_in_real_captures() {
    let tcp = |rel: &str| -> Vec<Connection> {
        run(rel)
            .expect("ethernet pcap")
            .done
            .into_iter()
            .filter(|c| c.proto == wiretale::flow::ConnProto::Tcp)
            .collect()
    };
    let v = tcp("zeek/vlan-collisions.pcap");
    assert_eq!(
        v.len(),
        3,
        "{:?}",
        v.iter()
            .map(|c| (c.vlans, c.history().to_string()))
            .collect::<Vec<_>>()
    );
    let mut vl: Vec<u16> = v.iter().map(|c| c.vlans[0]).collect();
    vl.sort_unstable();
    vl.dedup();
    assert_eq!(vl.len(), 3);
    let a = tcp("suricata-verify/syn_retransmit_with_ts.pcap");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].state(), "SF", "{}", a[0].history());
}

/// Every classic-pcap capture the harness can slice runs through the table without
/// panicking, and finishing leaves nothing live or buffered.
#[test]
fn every_capture_runs() {
    let mut ran = 0;
    for rel in common::shared_captures() {
        let data = std::fs::read(common::shared_root().join(&rel)).expect("read capture");
        let Some((link, frames)) = read_pcap(&data) else {
            continue;
        };
        let mut t = ConnTable::new(FlowConfig::default());
        let mut sink = Collect::default();
        for (i, (ts, f)) in frames.iter().enumerate() {
            if let Some(p) = to_flow(link, i as u32, *ts, f) {
                t.process(&p, &mut sink);
            }
        }
        t.finish(&mut sink);
        assert_eq!((t.live(), t.buffered_bytes()), (0, 0), "{rel}");
        for c in &sink.done {
            assert!(c.packets[0] + c.packets[1] > 0, "{rel}");
            // Stream bytes handed out never exceed what the summary counts.
            let d = sink
                .bytes
                .get(&(c.id, Direction::ClientToServer))
                .copied()
                .unwrap_or(0);
            assert!(d <= c.bytes[0], "{rel} conn {}", c.id);
        }
        ran += 1;
    }
    assert!(ran >= 25, "only {ran} captures ran");
}
