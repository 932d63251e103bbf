//! ICMP errors tied to the flows they quote, on real captures: Zeek's ICMP test traces
//! (tests/data/icmperr, see SOURCES.md there) and tcpdump's afs.pcap from the shared
//! corpus (ICMP port unreachable quoting Rx over UDP).
//!
//! Zeek's traces hold only the error. Each is checked twice: alone (the error stays a
//! packet of no connection, and its quoted context is Zeek's), and after the packet it
//! quotes, rebuilt from the quote itself (the error's own bytes, cut to what it quotes
//! as a snaplen would), so the error must land on that flow.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/icmperr")
        .join(name)
}

fn json(args: &[&str], file: &Path) -> Vec<Value> {
    common::json_lines(args.iter().map(Path::new).chain([file]))
}

/// The one record of a little-endian microsecond pcap: (seconds, micros, frame).
fn only_frame(pcap: &[u8]) -> (u32, u32, Vec<u8>) {
    assert_eq!(&pcap[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
    assert_eq!(u32::from_le_bytes(pcap[20..24].try_into().unwrap()), 1);
    let r = &pcap[24..];
    let le = |i: usize| u32::from_le_bytes(r[i..i + 4].try_into().unwrap());
    let caplen = le(8) as usize;
    assert_eq!(r.len(), 16 + caplen, "one record");
    (le(0), le(4), r[16..16 + caplen].to_vec())
}

/// A pcap holding first the packet the error quotes (rebuilt: the error's Ethernet
/// addresses swapped, then the quoted bytes, cut there, its original length from the
/// quoted IP header), 1 ms before the error itself.
fn with_quoted_packet(name: &str) -> tempfile::TempPath {
    let bytes = std::fs::read(data(name)).unwrap();
    let (sec, usec, err) = only_frame(&bytes);
    let v6 = err[12..14] == [0x86, 0xdd];
    let ip_len = if v6 {
        assert_eq!(err[14 + 6], 58, "ICMPv6 straight after the IPv6 header");
        40
    } else {
        usize::from(err[14] & 0x0f) * 4
    };
    let quoted = &err[14 + ip_len + 8..];
    let orig_len = 14
        + if v6 {
            40 + usize::from(u16::from_be_bytes([quoted[4], quoted[5]]))
        } else {
            usize::from(u16::from_be_bytes([quoted[2], quoted[3]]))
        };
    let mut probe = Vec::new();
    probe.extend_from_slice(&err[6..12]);
    probe.extend_from_slice(&err[0..6]);
    probe.extend_from_slice(&err[12..14]);
    probe.extend_from_slice(quoted);
    let mut out = bytes[..24].to_vec();
    let (psec, pusec) = if usec >= 1000 {
        (sec, usec - 1000)
    } else {
        (sec - 1, usec + 999_000)
    };
    for (s, u, f, len) in [
        (psec, pusec, &probe, orig_len.max(probe.len())),
        (sec, usec, &err, err.len()),
    ] {
        for v in [s, u, f.len() as u32, len as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, &out).unwrap();
    file.into_temp_path()
}

#[test]
fn alone_an_error_is_a_packet_of_no_connection_with_zeeks_context() {
    // Zeek's icmp_context ids (Baseline/core.icmp.icmp-context and icmp6-context).
    for (name, about) in [
        (
            "icmp-destunreach-udp.pcap",
            Some("(about 192.168.1.1 → 192.168.1.102 UDP 53 → 59207)"),
        ),
        (
            "icmp6-destunreach-ip6ext-udp.pcap",
            Some("(about fe80::beef → fe80::dead UDP 30000 → 13000)"),
        ),
        (
            "icmp-destunreach-ip.pcap",
            Some("(about 10.0.0.2 → 10.0.0.1)"),
        ),
        ("icmp-destunreach-no-context.pcap", None),
    ] {
        let p = json(&["packets"], &data(name));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0]["conn"], Value::Null, "{name}");
        let info = p[0]["info"].as_str().unwrap();
        match about {
            Some(a) => assert!(info.ends_with(a), "{name}: {info}"),
            None => assert!(!info.contains("about"), "{name}: {info}"),
        }
        assert!(json(&["conns"], &data(name)).is_empty(), "{name}");
    }
}

#[test]
fn after_the_packet_it_quotes_the_error_is_on_that_flow() {
    // (trace, [client ip, port], [server ip, port], about, name, from, mtu, quoted ttl,
    // outcome): the quoted 5-tuples are Zeek's; MTU and quoted TTL are tshark's
    // (`tshark -r F -T fields -e ip.ttl -e ipv6.hlim -e icmpv6.mtu`, the second TTL).
    type Case<'a> = (
        &'a str,
        (&'a str, u64),
        (&'a str, u64),
        &'a str,
        &'a str,
        &'a str,
        Value,
        u64,
        Value,
    );
    let cases: [Case<'_>; 4] = [
        (
            // A DNS answer to a port already closed: the client refuses the server.
            "icmp-destunreach-udp.pcap",
            ("192.168.1.102", 59207),
            ("192.168.1.1", 53),
            "server",
            "port unreachable",
            "192.168.1.102",
            Value::Null,
            64,
            "refused (ICMP port unreachable)".into(),
        ),
        (
            "icmp-timeexceeded.pcap",
            ("10.0.0.2", 30000),
            ("10.0.0.1", 13000),
            "client",
            "TTL exceeded",
            "10.0.0.1",
            Value::Null,
            64,
            Value::Null,
        ),
        (
            "icmp6-destunreach-ip6ext-udp.pcap",
            ("fe80::beef", 30000),
            ("fe80::dead", 13000),
            "client",
            "no route",
            "fe80::dead",
            Value::Null,
            64,
            "unreachable (ICMP no route from fe80::dead)".into(),
        ),
        (
            "icmp6-toobig.pcap",
            ("fe80::beef", 30000),
            ("fe80::dead", 13000),
            "client",
            "packet too big",
            "fe80::dead",
            1280.into(),
            64,
            Value::Null,
        ),
    ];
    for (name, client, server, about, what, from, mtu, ttl, outcome) in cases {
        let file = with_quoted_packet(name);
        let conns = json(&["conns"], &file);
        assert_eq!(conns.len(), 1, "{name}: {conns:?}");
        let c = &conns[0];
        let ep = |e: &Value| {
            (
                e["ip"].as_str().unwrap().to_string(),
                e["port"].as_u64().unwrap(),
            )
        };
        assert_eq!(ep(&c["client"]), (client.0.to_string(), client.1), "{name}");
        assert_eq!(ep(&c["server"]), (server.0.to_string(), server.1), "{name}");
        assert_eq!(c["proto"], "udp");
        let total: u64 = ["client", "server"]
            .iter()
            .map(|s| c["packets"][s].as_u64().unwrap())
            .sum();
        assert_eq!(total, 1, "{name}: the error is not the flow's packet");
        assert_eq!(c["icmp_error_count"], 1, "{name}");
        let e = &c["icmp_errors"][0];
        assert_eq!(e["about"], about, "{name}");
        assert_eq!(e["name"], what, "{name}");
        assert_eq!(e["from"], from, "{name}");
        assert_eq!(e["mtu"], mtu, "{name}");
        assert_eq!(e["quoted_ttl"], ttl, "{name}");
        assert_eq!(e["frame"], 2, "{name}");
        assert_eq!(c["icmp_outcome"], outcome, "{name}");
        let p = json(&["packets"], &file);
        assert_eq!(p[1]["conn"], 0, "{name}: the error's packet names the flow");
        let f = json(&["packets", "-Y", "conn.id == 0"], &file);
        assert_eq!(
            f.len(),
            2,
            "{name}: `conn.id == 0` shows the error with its flow"
        );
    }
}

#[test]
fn afs_port_unreachables_are_on_the_rx_flows_they_quote() {
    let afs = common::shared_root().join("tcpdump/afs.pcap");
    let packets = json(&["packets"], &afs);
    // tshark: `tshark -r afs.pcap -Y icmp` lists 25 port unreachables.
    let icmp: Vec<&Value> = packets.iter().filter(|p| p["proto"] == "icmp").collect();
    assert_eq!(icmp.len(), 25);
    let conns = json(&["conns"], &afs);
    let total: u64 = conns
        .iter()
        .map(|c| c["icmp_error_count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 25, "every error found its flow");
    for p in &icmp {
        let c = &conns[p["conn"].as_u64().expect("an error with its flow") as usize];
        // tshark's quoted addresses and ports (`-e ip.src -e udp.srcport …`, second of
        // each) are this flow's, from the side the error went to.
        let info = p["info"].as_str().unwrap();
        let side = if c["client"]["ip"] == p["dst"] {
            "client"
        } else {
            "server"
        };
        let other = if side == "client" { "server" } else { "client" };
        assert!(
            info.contains(&format!(
                "(about {} → {} UDP {} → {})",
                c[side]["ip"].as_str().unwrap(),
                c[other]["ip"].as_str().unwrap(),
                c[side]["port"],
                c[other]["port"]
            )),
            "{info} on {c}"
        );
    }
    // 131.151.1.60 never answered 131.151.32.21's packets to port 4444: refused.
    let refused: Vec<&Value> = conns
        .iter()
        .filter(|c| !c["icmp_outcome"].is_null())
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["server"]["ip"], "131.151.1.60");
    assert_eq!(refused[0]["server"]["port"], 4444);
    assert_eq!(
        refused[0]["icmp_outcome"],
        "refused (ICMP port unreachable)"
    );
    // The story: the refused flow on a `refused` line, the others noted with their errors.
    let out = Command::new(common::bin())
        .arg("story")
        .arg(&afs)
        .output()
        .unwrap();
    let story = String::from_utf8(out.stdout).unwrap();
    assert!(
        story.lines().any(|l| l.contains(" refused ")
            && l.contains("#12 131.151.32.21:1799 → 131.151.1.60:4444 (udp)  refused (ICMP port unreachable) after ")),
        "{story}"
    );
    assert!(
        story.lines().any(|l| l.ends_with(
            "#4 ICMP port unreachable from 131.151.32.21 about the server's packets (×11)"
        )),
        "{story}"
    );
    // The others were answered: their errors are about late packets, not outcomes.
    assert!(conns
        .iter()
        .filter(|c| c["icmp_error_count"].as_u64().unwrap() > 0 && c["icmp_outcome"].is_null())
        .all(|c| c["packets"]["client"].as_u64().unwrap() > 0
            && c["packets"]["server"].as_u64().unwrap() > 0));
}
