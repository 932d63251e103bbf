//! Tunnels in the lab (issue 17): `tests/lab/tunnel.sh` makes VXLAN tunnels with the
//! kernel between network namespaces — two of them carrying the same inner addresses —
//! and captures the underlay with wiretale's own live capture. What the user must see:
//! the inner connections and lookups as if there were no tunnel, the tunnel in
//! `conns --json`, one connection per tunnel for one inner 4-tuple, and the filters.
//!
//! Needs root (network namespaces); fails, never passes unrun, without it.

mod common;

use serde_json::Value;

use common::{json_lines, wiretale};

fn run_tunnel_lab() -> tempfile::TempDir {
    common::require_root("the tunnel lab (network namespaces)");
    common::run_lab_script("tunnel.sh", &[], 120, "tn", true)
}

fn endpoint(v: &Value) -> String {
    format!("{}:{}", v["ip"].as_str().unwrap(), v["port"])
}

#[test]
fn vxlan_tunnels_show_their_inner_connections_and_keep_two_tunnels_apart() {
    let dir = run_tunnel_lab();
    let pcap = dir.path().join("tunnel.pcap");
    let pcap = pcap.to_str().unwrap();
    let conns = json_lines(["conns", pcap]);

    // No connection is the tunnel itself: every VXLAN datagram was opened.
    for c in &conns {
        assert_ne!(c["server"]["port"], 4789, "an undecoded VXLAN flow: {c}");
        assert!(
            c["tunnel"].as_array().is_some_and(|t| !t.is_empty()),
            "every connection here rode a tunnel: {c}"
        );
    }

    // The same inner 4-tuple in VNI 42 and VNI 43: two connections, each with its tunnel.
    let same: Vec<&Value> = conns
        .iter()
        .filter(|c| {
            endpoint(&c["client"]) == "198.19.42.1:40042"
                && endpoint(&c["server"]) == "198.19.42.2:8080"
        })
        .collect();
    assert_eq!(same.len(), 2, "one connection per tunnel: {same:#?}");
    let mut vnis = Vec::new();
    for c in &same {
        assert_eq!(c["proto"], "tcp");
        assert_eq!(c["state"], "SF", "{c}");
        assert!(
            c["history"].as_str().unwrap().starts_with("ShAD"),
            "a whole handshake inside the tunnel: {c}"
        );
        let t = &c["tunnel"][0];
        assert_eq!(t["kind"], "vxlan", "{c}");
        let vni = t["id"].as_u64().unwrap();
        let (oc, os) = (
            t["outer_client"]["ip"].as_str().unwrap(),
            t["outer_server"]["ip"].as_str().unwrap(),
        );
        let want = match vni {
            42 => ("198.18.60.11", "198.18.60.21"),
            43 => ("198.18.60.12", "198.18.60.22"),
            other => panic!("unexpected VNI {other}"),
        };
        assert_eq!((oc, os), want, "outer endpoints of VNI {vni}");
        assert_eq!(t["outer_server"]["port"], 4789);
        vnis.push(vni);
    }
    vnis.sort();
    assert_eq!(vnis, [42, 43]);

    // The lookup inside the tunnel is a lookup, and it named the connection after it.
    let dns = json_lines(["dns", pcap]);
    let lookup = dns
        .iter()
        .find(|d| d["qname"] == "web.tunnel.lab" && d["qtype"] == "A")
        .unwrap_or_else(|| panic!("no lookup of web.tunnel.lab: {dns:#?}"));
    assert!(
        lookup["answers"].to_string().contains("198.19.42.2"),
        "{lookup}"
    );
    let named: Vec<&Value> = conns
        .iter()
        .filter(|c| c["name"]["qname"] == "web.tunnel.lab")
        .collect();
    assert_eq!(named.len(), 1, "the fetch by name is named: {conns:#?}");
    assert_eq!(endpoint(&named[0]["server"]), "198.19.42.2:8080");
    let http = json_lines(["http", pcap]);
    assert_eq!(http.len(), 3, "three GETs: {http:#?}");
    assert!(http.iter().all(|h| h["status"] == 200), "{http:#?}");

    // Filters: the VNI picks one tunnel's packets; ip.addr matches the outer header.
    let count = |filter: &str| wiretale(["packets", "-Y", filter, pcap]).lines().count();
    let all = count("tcp");
    let (v42, v43) = (
        count("tcp && vxlan.vni == 42"),
        count("tcp && vxlan.vni == 43"),
    );
    assert!(
        v42 > 0 && v43 > 0 && v42 + v43 == all,
        "{v42} + {v43} != {all}"
    );
    assert_eq!(count("tcp && ip.addr == 198.18.60.12"), v43);
    assert_eq!(count("vxlan && !udp.port == 4789"), 0);
    assert_eq!(count("vxlan"), count("udp.port == 4789"));
}
