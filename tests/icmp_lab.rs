//! ICMP errors tied to the connections they quote, in a lab recorded by wiretale's own
//! live capture (tests/lab/icmp.sh): a DNS query to a closed port (the server's kernel
//! answers port unreachable), a datagram to an address nobody has (the router answers
//! host unreachable), and `traceroute` with UDP probes and with echo requests across a
//! router namespace. Needs root (CI runs as root) and `traceroute` (tests/setup.sh);
//! fails rather than pass unrun without them.
//!
//! One lab run (~8 s) is checked by one test: nextest runs each test in its own process.

mod common;

use std::path::Path;

use serde_json::Value;

fn run_lab() -> tempfile::TempDir {
    common::require_root("the ICMP lab (network namespaces)");
    common::run_lab_script("icmp.sh", &[], 90, "wi", false)
}

fn run(args: &[&str], file: &Path) -> String {
    common::wiretale(args.iter().map(Path::new).chain([file]))
}

fn json(args: &[&str], file: &Path) -> Vec<Value> {
    common::json_lines(args.iter().map(Path::new).chain([file]))
}

fn server(c: &Value) -> (String, u64) {
    (
        c["server"]["ip"].as_str().unwrap().to_string(),
        c["server"]["port"].as_u64().unwrap(),
    )
}

#[test]
fn icmp_errors_land_on_the_flows_they_quote() {
    let lab = run_lab();
    let pcap = lab.path().join("lab.pcap");
    let conns = json(&["conns"], &pcap);
    let packets = json(&["packets"], &pcap);
    let icmp_errors: Vec<&Value> = packets
        .iter()
        .filter(|p| {
            p["proto"] == "icmp"
                && p["info"]
                    .as_str()
                    .is_some_and(|i| i.contains("unreachable") || i.contains("exceeded"))
        })
        .collect();
    assert!(
        icmp_errors.len() >= 4,
        "the lab made ICMP errors: {icmp_errors:?}"
    );
    // Every error names a connection, and that connection lists its frame.
    for p in &icmp_errors {
        let id = p["conn"]
            .as_u64()
            .unwrap_or_else(|| panic!("{p} has no conn"));
        let c = &conns[id as usize];
        assert_eq!(c["id"], id);
        let frames: Vec<u64> = c["icmp_errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["frame"].as_u64().unwrap())
            .collect();
        assert!(frames.contains(&p["n"].as_u64().unwrap()), "{c}");
    }

    // The DNS query to the closed port: refused by the server, not counted.
    let dns = conns
        .iter()
        .find(|c| server(c) == ("198.18.5.53".into(), 53))
        .expect("the DNS flow");
    assert_eq!(dns["icmp_outcome"], "refused (ICMP port unreachable)");
    assert_eq!(dns["packets"]["server"], 0);
    assert_eq!(dns["state"], "S0");
    assert_eq!(dns["icmp_errors"][0]["from"], "198.18.5.53");
    assert_eq!(dns["icmp_errors"][0]["name"], "port unreachable");
    assert_eq!(dns["icmp_errors"][0]["about"], "client");
    let lookups = json(&["dns"], &pcap);
    let q = lookups
        .iter()
        .find(|t| t["qname"] == "refused.lab.example")
        .expect("the lookup");
    assert_eq!(q["icmp_outcome"], "refused (ICMP port unreachable)");
    assert_eq!(q["rcode"], Value::Null);
    assert_eq!(q["conn"], dns["id"]);
    let table = run(&["dns"], &pcap);
    assert!(
        table
            .lines()
            .any(|l| l.contains("refused.lab.example")
                && l.contains("refused (ICMP port unreachable)")),
        "{table}"
    );

    // The datagram to nobody: the router says host unreachable.
    let lost = conns
        .iter()
        .find(|c| server(c).0 == "198.18.5.99")
        .expect("the flow to 198.18.5.99");
    assert_eq!(
        lost["icmp_outcome"],
        "unreachable (ICMP host unreachable from 198.18.4.1)"
    );

    // The UDP traceroute: each probe its own flow; the first ones die at the router
    // (TTL exceeded), the later ones reach the server (port unreachable).
    let probes: Vec<&Value> = conns
        .iter()
        .filter(|c| {
            c["proto"] == "udp"
                && server(c).0 == "198.18.5.80"
                && (33434..33534).contains(&server(c).1)
        })
        .collect();
    assert!(probes.len() >= 4, "{probes:?}");
    let names = |c: &Value| -> Vec<(String, String)> {
        c["icmp_errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_string(),
                    e["from"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let first = probes.iter().min_by_key(|c| server(c).1).unwrap();
    assert_eq!(
        names(first),
        [("TTL exceeded".to_string(), "198.18.4.1".to_string())]
    );
    assert_eq!(first["icmp_errors"][0]["quoted_ttl"], 1);
    assert_eq!(first["icmp_outcome"], Value::Null);
    let last = probes.iter().max_by_key(|c| server(c).1).unwrap();
    assert_eq!(last["icmp_outcome"], "refused (ICMP port unreachable)");
    for p in &probes {
        assert_eq!(
            p["packets"]["server"], 0,
            "errors are not the server's packets"
        );
    }

    // traceroute -I: one echo exchange, its first requests met TTL exceeded.
    let echo = conns
        .iter()
        .find(|c| c["proto"] == "icmp" && server(c).0 == "198.18.5.80")
        .expect("the echo exchange");
    assert!(names(echo).contains(&("TTL exceeded".to_string(), "198.18.4.1".to_string())));
    assert!(
        echo["packets"]["server"].as_u64().unwrap() > 0,
        "echo replies"
    );

    // The story: the lookup and the flow told as refused, each traceroute one line.
    let story = run(&["story"], &pcap);
    assert!(
        story.lines().any(|l| l.contains("refused")
            && l.contains("A refused.lab.example: refused (ICMP port unreachable) after")),
        "{story}"
    );
    assert!(
        story.lines().any(|l| l.contains("198.18.5.99:9 (udp)")
            && l.contains("unreachable (ICMP host unreachable from 198.18.4.1) after")),
        "{story}"
    );
    let traces: Vec<&str> = story.lines().filter(|l| l.contains(" trace ")).collect();
    assert_eq!(traces.len(), 2, "{story}");
    assert!(
        traces[0].contains("traceroute 198.18.4.10 → 198.18.5.80 (udp, ")
            && traces[0].contains(": 198.18.4.1 ")
            && traces[0].contains("→ 198.18.5.80 ")
            && traces[0].ends_with("(reached: port unreachable)"),
        "{}",
        traces[0]
    );
    assert!(
        traces[1].contains("traceroute 198.18.4.10 → 198.18.5.80 (icmp, ")
            && traces[1].ends_with(": 198.18.4.1 → 198.18.5.80 (reached: echo reply)"),
        "{}",
        traces[1]
    );
    // The probes' own lines are quiet (in JSON only), folded into the trace lines.
    assert!(!story.contains(":33434 (udp)"), "{story}");
    let events = json(&["story"], &pcap);
    let trace = events
        .iter()
        .find(|e| e["kind"] == "traceroute")
        .expect("a traceroute event");
    assert_eq!(trace["hops"][0]["addr"], "198.18.4.1");
    assert_eq!(trace["reached"], "port unreachable");
    assert_eq!(trace["probes"], probes.len());
}
