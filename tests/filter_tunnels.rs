//! The tunnel filters against tshark (issue 17): on the public tunnel captures of
//! tests/data/tunnels, `wiretale packets -Y 'FIELD == ID'` selects exactly the frames in
//! which tshark showed that id (`truth/*.tsv`, made by `truth.py` with tshark 4.0): MPLS
//! labels, VXLAN and Geneve VNIs, GRE keys and GTP-U TEIDs. PPTP's call id is tshark's
//! `gre.key.call_id`, not `gre.key`, so PPTP frames are left out of `gre.key`, as in
//! Wireshark.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

mod common;

/// Frames tshark shows a tunnel id in that wiretale does not treat as a tunnel layer (the
/// differences README "Tunnels and link layers" and tests/tunnels_decode.rs list):
/// GRE keepalives (protocol 0, nothing inside) and CDP carried in GRE
/// (`tunnel_payload_unknown`: the packet stays the outer IP packet).
const NOT_A_LAYER: &[(&str, &[u64])] = &[(
    "tcpdump-various_gre",
    &[12, 17, 42, 47, 49, 63, 65, 71, 88, 93],
)];

/// The filter field for each id the truth files list.
const FIELDS: &[(&str, &str)] = &[
    ("mpls", "mpls.label"),
    ("vxlan", "vxlan.vni"),
    ("geneve", "geneve.vni"),
    ("gre", "gre.key"),
    ("gtp", "gtp.teid"),
];

fn frames(capture: &Path, filter: &str) -> BTreeSet<u64> {
    common::wiretale([
        Path::new("packets"),
        Path::new("-Y"),
        Path::new(filter),
        capture,
    ])
    .lines()
    .filter_map(|l| l.split_whitespace().next()?.parse().ok())
    .collect()
}

#[test]
fn tunnel_id_filters_select_tsharks_frames() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tunnels");
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(dir.join("truth")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let capture = dir.join(format!("{name}.pcap"));
        if !capture.exists() {
            continue;
        }
        // (field, id) → frames tshark showed it in.
        let mut want: BTreeMap<(&str, u64), BTreeSet<u64>> = BTreeMap::new();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let (Some(frame), Some(ids)) = (f.first(), f.get(6)) else {
                continue;
            };
            let frame: u64 = frame.parse().unwrap();
            if NOT_A_LAYER
                .iter()
                .any(|(c, fs)| *c == name && fs.contains(&frame))
            {
                continue;
            }
            for part in ids.split(';').filter(|p| !p.is_empty()) {
                let (kind, values) = part.split_once('=').unwrap();
                let Some((_, field)) = FIELDS.iter().find(|(k, _)| *k == kind) else {
                    continue;
                };
                if *field == "gre.key" && name == "gre-pptp" {
                    continue;
                }
                for v in values.split(',') {
                    want.entry((field, v.parse().unwrap()))
                        .or_default()
                        .insert(frame);
                }
            }
        }
        for ((field, id), frames_want) in &want {
            let got = frames(&capture, &format!("{field} == {id}"));
            checked += 1;
            if &got != frames_want {
                failures.push(format!(
                    "{name}: {field} == {id}: tshark {frames_want:?}, wiretale {got:?}"
                ));
            }
        }
    }
    assert!(checked >= 15, "only {checked} ids checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ip_addr_matches_the_outer_header_and_gre_the_tunnel() {
    // Zeek's gre-sample.pcap: GRE between 172.27.1.66 and 66.59.109.137 carries packets
    // from 66.59.111.190 to several hosts; Wireshark's ip.addr matches either layer.
    let cap = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tunnels/gre-sample.pcap");
    let all = frames(&cap, "frame");
    let gre = frames(&cap, "gre");
    assert!(!gre.is_empty());
    let outer = frames(&cap, "ip.addr == 172.27.1.66");
    let inner = frames(&cap, "ip.addr == 66.59.111.190");
    assert!(
        gre.is_subset(&outer),
        "every GRE packet has the outer address"
    );
    assert!(gre.is_subset(&inner), "and the inner one");
    assert_eq!(
        frames(&cap, "gre && !ip.addr == 172.27.1.66"),
        BTreeSet::new()
    );
    assert!(all.len() >= gre.len());
}
