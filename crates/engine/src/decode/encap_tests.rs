//! Crafted frames for the corners of `encap`: each parser's header cut short, the depth
//! bound, the pseudowire control word, PPP's compressed fields, and traffic on tunnel
//! ports that is not a tunnel. The real captures are in tests/tunnels_decode.rs.

use super::packet::{EncapKind, Packet, Transport};
use super::{decode, field_tree};
use crate::base::{AnomalyKind, FieldNode, LinkType};

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = MAC_B.to_vec();
    v.extend_from_slice(&MAC_A);
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut v = vec![0x45, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(payload);
    v
}

fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(&[next, 64]);
    v.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    v.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    v.extend_from_slice(payload);
    v
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = sport.to_be_bytes().to_vec();
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

/// The inner packet every test carries: 10.0.0.1:1111 → 10.0.0.2:2222 over UDP.
fn inner() -> Vec<u8> {
    ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1111, 2222, b"hi"))
}

/// An outer IPv4/UDP packet to `dport` carrying `payload`, in Ethernet.
fn over_udp(dport: u16, payload: &[u8]) -> Vec<u8> {
    eth(
        0x0800,
        &ipv4(
            17,
            [192, 0, 2, 1],
            [192, 0, 2, 2],
            &udp(40000, dport, payload),
        ),
    )
}

fn assert_inner(p: &Packet<'_>) {
    let ip = p.ip.as_ref().expect("inner IP");
    assert_eq!(ip.src.to_string(), "10.0.0.1", "{p:?}");
    assert_eq!(ip.dst.to_string(), "10.0.0.2");
    assert!(
        matches!(p.transport, Transport::Udp(u) if u.sport == 1111 && u.dport == 2222),
        "{:?}",
        p.transport
    );
    assert_eq!(p.payload, b"hi");
}

fn kinds(p: &Packet<'_>) -> Vec<EncapKind> {
    p.tunnels.iter().map(|t| t.kind).collect()
}

fn has(p: &Packet<'_>, kind: AnomalyKind) -> bool {
    p.anomalies.iter().any(|a| a.kind == kind)
}

#[test]
fn mpls_label_stack_down_to_ipv4() {
    // Label 100 (S=0, TTL 64), label 200 (S=1, TTL 63).
    let mut m = vec![0x00, 0x06, 0x40, 64, 0x00, 0x0c, 0x81, 63];
    m.extend(inner());
    let f = eth(0x8847, &m);
    let p = decode(LinkType::ETHERNET, &f);
    assert_inner(&p);
    assert_eq!(kinds(&p), [EncapKind::Mpls, EncapKind::Mpls]);
    let ids: Vec<_> = p.tunnels.iter().map(|t| t.id).collect();
    assert_eq!(ids, [Some(100), Some(200)]);
    assert_eq!(p.tunnels[1].header, 18..22);
    assert!(p.anomalies.is_empty(), "{:?}", p.anomalies);
    // The outermost link layer stays the frame's.
    assert_eq!(p.eth.map(|e| e.src), Some(MAC_A));
    assert_eq!(p.ethertype, Some(0x8847));
}

#[test]
fn mpls_pseudowire_control_word_then_ethernet() {
    let mut m = vec![0x00, 0x01, 0x01, 64]; // label 16, S=1
    m.extend_from_slice(&[0, 0, 0, 7]); // control word, sequence 7
    m.extend(eth(0x0800, &inner()));
    let f = eth(0x8847, &m);
    let p = decode(LinkType::ETHERNET, &f);
    assert_inner(&p);
    assert_eq!(kinds(&p), [EncapKind::Mpls, EncapKind::PwControlWord]);
    let (e, _) = p.tunnels[1].inner_eth.expect("inner Ethernet");
    assert_eq!((e.src, e.dst, e.ethertype), (MAC_A, MAC_B, 0x0800));
}

#[test]
fn mpls_cut_short_and_unknown_payload() {
    // Bottom label never comes: the stack runs off the frame.
    let f = eth(0x8847, &[0x00, 0x06, 0x40, 64, 0x00, 0x0c]);
    let p = decode(LinkType::ETHERNET, &f);
    assert!(p.ip.is_none());
    assert!(has(&p, AnomalyKind::TruncatedTunnel), "{:?}", p.anomalies);
    assert_eq!(
        kinds(&p),
        [EncapKind::Mpls],
        "the label that parsed is kept"
    );
    // Nibble 9 after the bottom label: nothing known.
    let f = eth(0x8847, &[0x00, 0x06, 0x41, 64, 0x90, 0, 0, 0]);
    let p = decode(LinkType::ETHERNET, &f);
    assert!(has(&p, AnomalyKind::TunnelPayloadUnknown));
}

#[test]
fn ppp_link_type_with_and_without_address_control_and_compressed_protocol() {
    for prefix in [
        &[0xff, 0x03, 0x00, 0x21][..],
        &[0x00, 0x21],
        &[0x21],
        &[0xff, 0x03, 0x21],
    ] {
        let mut f = prefix.to_vec();
        f.extend(inner());
        let p = decode(LinkType::PPP, &f);
        assert_inner(&p);
        assert_eq!(kinds(&p), [EncapKind::Ppp]);
        assert_eq!(p.tunnels[0].id, Some(0x21));
        assert_eq!(p.tunnels[0].header, 0..prefix.len());
    }
    // LCP is not IP and nothing is wrong with it.
    let p = decode(LinkType::PPP, &[0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]);
    assert!(
        p.ip.is_none() && p.anomalies.is_empty(),
        "{:?}",
        p.anomalies
    );
    assert_eq!(p.tunnels[0].id, Some(0xc021));
    // Only the address byte.
    let p = decode(LinkType::PPP, &[0xff, 0x03]);
    assert!(has(&p, AnomalyKind::TruncatedTunnel));
}

#[test]
fn pppoe_session_link_type_51_and_ethertype() {
    let body = inner();
    let mut s = vec![0x11, 0x00, 0x12, 0x34];
    s.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(&[0x00, 0x21]);
    s.extend(&body);
    let p = decode(LinkType::PPP_ETHER, &s);
    assert_inner(&p);
    assert_eq!(kinds(&p), [EncapKind::Pppoe, EncapKind::Ppp]);
    assert_eq!(p.tunnels[0].id, Some(0x1234));
    let f = eth(0x8864, &s);
    let p = decode(LinkType::ETHERNET, &f);
    assert_inner(&p);
    // Discovery (PADI): not IP, no anomaly.
    let f = eth(0x8863, &[0x11, 0x09, 0, 0, 0, 4, 0x01, 0x01, 0, 0]);
    let p = decode(LinkType::ETHERNET, &f);
    assert_eq!(kinds(&p), [EncapKind::Pppoe]);
    assert!(p.anomalies.is_empty());
    // Cut inside the PPPoE header.
    let fr = eth(0x8864, &[0x11, 0]);
    let p = decode(LinkType::ETHERNET, &fr);
    assert!(has(&p, AnomalyKind::TruncatedTunnel));
}

#[test]
fn gre_with_checksum_key_and_sequence() {
    let mut g = vec![0xb0, 0x00, 0x08, 0x00]; // C, K, S; IPv4
    g.extend_from_slice(&[0, 0, 0, 0]); // checksum + reserved
    g.extend_from_slice(&42u32.to_be_bytes()); // key
    g.extend_from_slice(&7u32.to_be_bytes()); // sequence
    g.extend(inner());
    let f = eth(0x0800, &ipv4(47, [192, 0, 2, 1], [192, 0, 2, 2], &g));
    let p = decode(LinkType::ETHERNET, &f);
    assert_inner(&p);
    assert_eq!(kinds(&p), [EncapKind::Gre]);
    assert_eq!(p.tunnels[0].id, Some(42));
    assert_eq!(p.tunnels[0].header, 34..50);
    let outer = p.tunnels[0].ip.as_ref().expect("outer IP on the GRE layer");
    assert_eq!(outer.src.to_string(), "192.0.2.1");
}

#[test]
fn gre_unknown_protocol_keeps_the_outer_packet() {
    let mut g = vec![0x00, 0x00, 0x12, 0x34];
    g.extend_from_slice(b"opaque");
    let f = eth(0x0800, &ipv4(47, [192, 0, 2, 1], [192, 0, 2, 2], &g));
    let p = decode(LinkType::ETHERNET, &f);
    assert_eq!(
        p.ip.as_ref().map(|i| i.src.to_string()).as_deref(),
        Some("192.0.2.1")
    );
    assert_eq!(p.transport, Transport::Other(47));
    assert!(p.tunnels.is_empty());
    assert!(
        has(&p, AnomalyKind::TunnelPayloadUnknown),
        "{:?}",
        p.anomalies
    );
}

#[test]
fn erspan_type_ii_and_iii_with_platform_subheader() {
    let mut g = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1]; // S, seq 1
    g.extend_from_slice(&[0x10, 0x00, 0x00, 0x05, 0, 0, 0, 0]); // version 1, session 5
    g.extend(eth(0x0800, &inner()));
    let f = eth(0x0800, &ipv4(47, [192, 0, 2, 1], [192, 0, 2, 2], &g));
    let p = decode(LinkType::ETHERNET, &f);
    assert_inner(&p);
    assert_eq!(kinds(&p), [EncapKind::Gre, EncapKind::Erspan(2)]);
    assert_eq!(p.tunnels[1].id, Some(5));
    assert!(p.tunnels[1].inner_eth.is_some());

    let mut g = vec![0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1];
    g.extend_from_slice(&[0x20, 0x00, 0x00, 0x09]); // version 2, session 9
    g.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x00, 0x01]); // timestamp, SGT, FT 0, O set
    g.extend_from_slice(&[0; 8]); // platform-specific subheader
    g.extend(eth(0x0800, &inner()));
    let f = eth(0x0800, &ipv4(47, [192, 0, 2, 1], [192, 0, 2, 2], &g));
    let p = decode(LinkType::ETHERNET, &f);
    assert_inner(&p);
    assert_eq!(kinds(&p), [EncapKind::Gre, EncapKind::Erspan(3)]);
    assert_eq!(p.tunnels[1].header.len(), 20);
}

#[test]
fn vxlan_every_cut_keeps_the_outer_udp_packet() {
    let mut v = vec![0x08, 0, 0, 0, 0x00, 0x01, 0x00, 0];
    v.extend(eth(0x0800, &inner()));
    let f = over_udp(4789, &v);
    let p = decode(LinkType::ETHERNET, &f);
    assert_inner(&p);
    assert_eq!(p.tunnels[0].id, Some(256));
    assert_eq!(p.tunnels[0].udp.map(|u| u.dport), Some(4789));
    // Cut anywhere from the VXLAN header to the end of the inner IPv4 header.
    let vx = 14 + 20 + 8;
    for end in vx..vx + 8 + 14 + 20 {
        let p = decode(LinkType::ETHERNET, &f[..end]);
        assert!(!p.anomalies.is_empty(), "cut at {end} silently");
        let ip = p.ip.as_ref().expect("outer IP kept");
        assert_eq!(ip.src.to_string(), "192.0.2.1", "cut at {end}");
        assert!(matches!(p.transport, Transport::Udp(u) if u.dport == 4789));
        assert!(p.tunnels.is_empty());
    }
    // No I flag: not a VNI we can trust.
    let mut bad = v.clone();
    bad[0] = 0;
    let fr = over_udp(4789, &bad);
    let p = decode(LinkType::ETHERNET, &fr);
    assert!(has(&p, AnomalyKind::TunnelPayloadUnknown));
    // Port 8472 only with an exact header: garbage stays plain UDP without an anomaly.
    let fr = over_udp(8472, &v);
    let p = decode(LinkType::ETHERNET, &fr);
    assert_inner(&p);
    let fr = over_udp(8472, b"\x08\x00\x00\x01garbage-not-vxlan");
    let p = decode(LinkType::ETHERNET, &fr);
    assert!(p.tunnels.is_empty() && p.anomalies.is_empty());
}

#[test]
fn geneve_options_skipped_and_ip_protocol_type() {
    let mut g = vec![0x02, 0x00, 0x08, 0x00, 0x12, 0x34, 0x56, 0]; // 2 words of options, IPv4
    g.extend_from_slice(&[0xaa; 8]);
    g.extend(inner());
    let fr = over_udp(6081, &g);
    let p = decode(LinkType::ETHERNET, &fr);
    assert_inner(&p);
    assert_eq!(p.tunnels[0].id, Some(0x123456));
    assert_eq!(p.tunnels[0].header.len(), 16);
    // Options longer than the datagram.
    let fr = over_udp(6081, &g[..12]);
    let p = decode(LinkType::ETHERNET, &fr);
    assert!(has(&p, AnomalyKind::TruncatedTunnel));
}

#[test]
fn teredo_with_origin_indicator_and_non_ipv6_traffic_on_its_port() {
    let inner6 = ipv6(17, &udp(1111, 2222, b"hi"));
    let mut t = vec![0, 0, 0x12, 0x34, 1, 2, 3, 4]; // origin indication
    t.extend(&inner6);
    let fr = over_udp(3544, &t);
    let p = decode(LinkType::ETHERNET, &fr);
    assert_eq!(kinds(&p), [EncapKind::Teredo]);
    assert_eq!(p.tunnels[0].header.len(), 8);
    assert!(matches!(p.transport, Transport::Udp(u) if u.dport == 2222));
    // A payload length that disagrees with the datagram: not Teredo, and not an anomaly.
    let mut t2 = inner6.clone();
    t2[5] += 1;
    let fr = over_udp(3544, &t2);
    let p = decode(LinkType::ETHERNET, &fr);
    assert!(p.tunnels.is_empty() && p.anomalies.is_empty());
    assert!(matches!(p.transport, Transport::Udp(u) if u.dport == 3544));
}

#[test]
fn gtpu_gpdu_with_extension_header_and_signalling() {
    let body = inner();
    let mut g = vec![0x34, 0xff]; // v1, PT, E; G-PDU
    g.extend_from_slice(&((body.len() + 8) as u16).to_be_bytes());
    g.extend_from_slice(&0xdead_beefu32.to_be_bytes());
    g.extend_from_slice(&[0, 0, 0, 0x85]); // seq, N-PDU, next: PDU session container
    g.extend_from_slice(&[1, 0x10, 0x05, 0x00]); // 4 bytes, next type 0
    g.extend(&body);
    let fr = over_udp(2152, &g);
    let p = decode(LinkType::ETHERNET, &fr);
    assert_inner(&p);
    assert_eq!(p.tunnels[0].id, Some(0xdead_beef));
    assert_eq!(p.tunnels[0].header.len(), 16);
    // Echo request: GTP-U but no user packet.
    let fr = over_udp(2152, &[0x32, 1, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0]);
    let p = decode(LinkType::ETHERNET, &fr);
    assert!(p.tunnels.is_empty() && p.anomalies.is_empty());
    // An extension header of length 0 would loop: an anomaly instead.
    let mut bad = g.clone();
    bad[12] = 0;
    let fr = over_udp(2152, &bad);
    let p = decode(LinkType::ETHERNET, &fr);
    assert!(has(&p, AnomalyKind::TruncatedTunnel));
}

#[test]
fn ip_in_ip_any_version_and_the_depth_bound() {
    let fr = eth(0x86dd, &ipv6(4, &inner()));
    let p = decode(LinkType::ETHERNET, &fr);
    assert_inner(&p);
    assert_eq!(kinds(&p), [EncapKind::IpInIp]);
    // Protocol 41 with an IPv4 packet inside: a contradiction.
    let fr = eth(0x86dd, &ipv6(41, &inner()));
    let p = decode(LinkType::ETHERNET, &fr);
    assert!(has(&p, AnomalyKind::BadIpVersion));
    assert!(p.tunnels.is_empty());
    // Ten IPv4-in-IPv4 layers: eight are opened, then an anomaly.
    let mut pkt = inner();
    for _ in 0..10 {
        pkt = ipv4(4, [192, 0, 2, 1], [192, 0, 2, 2], &pkt);
    }
    let fr = eth(0x0800, &pkt);
    let p = decode(LinkType::ETHERNET, &fr);
    assert_eq!(p.tunnels.len(), super::encap::MAX_ENCAPS);
    assert!(has(&p, AnomalyKind::TunnelTooDeep));
    assert_eq!(p.transport, Transport::Other(4));
}

#[test]
fn pbb_and_fabricpath_carry_ethernet() {
    let mut i = vec![0x00, 0x01, 0x02, 0x03]; // I-SID 0x010203
    i.extend(eth(0x0800, &inner()));
    let fr = eth(0x88e7, &i);
    let p = decode(LinkType::ETHERNET, &fr);
    assert_inner(&p);
    assert_eq!(p.tunnels[0].id, Some(0x010203));
    let mut fp = vec![0x00, 0x20];
    fp.extend(eth(0x0800, &inner()));
    let mut f = vec![0x02, 0x05, 0x2e, 0x87, 0x58, 0x00];
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&[0x89, 0x03]);
    f.extend(fp);
    let p = decode(LinkType::ETHERNET, &f);
    assert_inner(&p);
    assert_eq!(kinds(&p), [EncapKind::FabricPath]);
    assert_eq!(p.tunnels[0].id, Some(0x52e));
}

#[test]
fn wlan_data_frames_qos_protected_and_management() {
    let mut w = vec![0x88, 0x01, 0, 0]; // QoS data, ToDS
    w.extend_from_slice(&MAC_B);
    w.extend_from_slice(&MAC_A);
    w.extend_from_slice(&MAC_B);
    w.extend_from_slice(&[0, 0, 0, 0]); // sequence, QoS control
    w.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
    w.extend(inner());
    let p = decode(LinkType::IEEE802_11, &w);
    assert_inner(&p);
    assert_eq!(kinds(&p), [EncapKind::Ieee80211]);
    // Radiotap in front (8-byte header, no fields).
    let mut r = vec![0, 0, 8, 0, 0, 0, 0, 0];
    r.extend(&w);
    let p = decode(LinkType::IEEE802_11_RADIOTAP, &r);
    assert_inner(&p);
    assert_eq!(p.link_header, 0..8);
    // Protected: said, not decoded.
    let mut prot = w.clone();
    prot[1] |= 0x40;
    let p = decode(LinkType::IEEE802_11, &prot);
    assert!(p.ip.is_none());
    assert!(has(&p, AnomalyKind::Wlan80211Protected));
    // A beacon: nothing to say.
    let p = decode(LinkType::IEEE802_11, &[0x80, 0, 0, 0]);
    assert!(p.anomalies.is_empty() && p.tunnels.is_empty());
    // Cut inside the header.
    let p = decode(LinkType::IEEE802_11, &w[..20]);
    assert!(has(&p, AnomalyKind::TruncatedTunnel));
}

#[test]
fn tunnel_key_is_the_same_both_ways() {
    let mut v = vec![0x08, 0, 0, 0, 0x00, 0x01, 0x00, 0];
    v.extend(eth(0x0800, &inner()));
    let a = over_udp(4789, &v);
    let mut back = vec![0x08, 0, 0, 0, 0x00, 0x01, 0x00, 0];
    back.extend(eth(
        0x0800,
        &ipv4(17, [10, 0, 0, 2], [10, 0, 0, 1], &udp(2222, 1111, b"hi")),
    ));
    let b = eth(
        0x0800,
        &ipv4(17, [192, 0, 2, 2], [192, 0, 2, 1], &udp(50000, 4789, &back)),
    );
    let (pa, pb) = (
        decode(LinkType::ETHERNET, &a),
        decode(LinkType::ETHERNET, &b),
    );
    assert_ne!(pa.tunnel_key(), 0);
    assert_eq!(pa.tunnel_key(), pb.tunnel_key());
}

fn labels(n: &FieldNode, out: &mut Vec<String>) {
    out.push(n.label.clone());
    for c in &n.children {
        labels(c, out);
    }
}

#[test]
fn field_tree_shows_every_layer_in_order_within_the_frame() {
    let mut v = vec![0x08, 0, 0, 0, 0x00, 0x01, 0x00, 0];
    v.extend(eth(0x0800, &inner()));
    let f = over_udp(4789, &v);
    let t = field_tree(LinkType::ETHERNET, &f);
    let tops: Vec<&str> = t.children.iter().map(|c| c.label.as_str()).collect();
    let order = [
        "Ethernet II",
        "Internet Protocol Version 4, Src: 192.0.2.1",
        "User Datagram Protocol, Src Port: 40000, Dst Port: 4789",
        "Virtual eXtensible Local Area Network, VNI: 256 [vxlan]",
        "Ethernet II",
        "Internet Protocol Version 4, Src: 10.0.0.1",
        "User Datagram Protocol, Src Port: 1111, Dst Port: 2222",
    ];
    assert!(tops.len() >= order.len(), "{tops:#?}");
    for (got, want) in tops.iter().zip(order) {
        assert!(got.starts_with(want), "{got:?} is not {want:?}: {tops:#?}");
    }
    assert_eq!(t.children[3].range, 42..50);
    assert_eq!(t.children[4].range, 50..64);
    let mut all = Vec::new();
    labels(&t, &mut all);
    assert!(all
        .iter()
        .any(|l| l == "VXLAN Network Identifier (VNI): 256"));
}

fn within(n: &FieldNode, len: usize, path: &str) {
    assert!(
        n.range.start <= n.range.end && n.range.end <= len,
        "{path} > {}: {:?} outside a {len}-byte frame",
        n.label,
        n.range
    );
    for c in &n.children {
        within(c, len, &format!("{path} > {}", n.label));
    }
}

/// Every frame of every tunnel capture: the tree has one node per encapsulation (its
/// kind in the title) and every node's bytes lie inside the frame.
#[test]
fn field_tree_on_the_tunnel_captures() {
    let dir = std::path::Path::new(crate::testutil::ROOT).join("tests/data/tunnels");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/data/tunnels")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    names.sort();
    let mut nodes = 0;
    for path in &names {
        let fr = crate::testutil::read_frames(path);
        for (i, (_, data)) in fr.frames.iter().enumerate() {
            let p = decode(fr.links[i], data);
            let t = field_tree(fr.links[i], data);
            within(
                &t,
                data.len(),
                &format!("{} frame {}", path.display(), i + 1),
            );
            let mut all = Vec::new();
            labels(&t, &mut all);
            for e in p.tunnels.iter().filter(|e| e.kind != EncapKind::IpInIp) {
                let tag = format!("[{}]", e.kind.name());
                assert!(
                    all.iter().any(|l| l.ends_with(&tag)),
                    "{} frame {}: no {tag} node in {all:#?}",
                    path.display(),
                    i + 1
                );
                nodes += 1;
            }
        }
    }
    assert!(nodes > 1000, "only {nodes} encapsulation nodes");
}

/// IPv4 fragments carried in GRE: reassembled from the inner headers, and the datagram
/// keeps the GRE layer (its key) so it lands in the tunnel's connection.
#[test]
fn fragments_inside_a_tunnel_reassemble_with_the_tunnel() {
    use super::{decode_defragmented, DefragLimits, Defragmenter};
    use crate::base::Timestamp;
    let whole_udp = udp(1111, 2222, &[7u8; 24]);
    let frag = |off: usize, more: bool, piece: &[u8]| {
        let mut ip = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], piece);
        let word = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
        ip[6..8].copy_from_slice(&word.to_be_bytes());
        let mut g = vec![0x20, 0x00, 0x08, 0x00];
        g.extend_from_slice(&9u32.to_be_bytes());
        g.extend(ip);
        eth(0x0800, &ipv4(47, [192, 0, 2, 1], [192, 0, 2, 2], &g))
    };
    let f1 = frag(0, true, &whole_udp[..16]);
    let f2 = frag(16, false, &whole_udp[16..]);
    let mut d = Defragmenter::new(DefragLimits::default());
    let ts = Timestamp::default();
    let first = decode_defragmented(&mut d, ts, LinkType::ETHERNET, &f1, |p, w, _| {
        (kinds(p), w.is_some())
    });
    assert_eq!(first, (vec![EncapKind::Gre], false));
    let (kinds_whole, sport, key) =
        decode_defragmented(&mut d, ts, LinkType::ETHERNET, &f2, |_, w, _| {
            let w = w.expect("datagram completed");
            let sport = match w.transport {
                Transport::Udp(u) => u.sport,
                _ => 0,
            };
            (kinds(w), sport, w.tunnel_key())
        });
    assert_eq!(kinds_whole, [EncapKind::Gre]);
    assert_eq!(sport, 1111);
    assert_eq!(key, decode(LinkType::ETHERNET, &f1).tunnel_key());
}

/// Encapsulations with no IP inside say what they are in the Info column.
#[test]
fn info_names_an_encapsulation_without_ip() {
    let p = decode(LinkType::PPP, &[0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]);
    assert_eq!(super::info(&p), "PPP protocol 0xc021 (LCP)");
    let fr = eth(0x8863, &[0x11, 0x09, 0, 0, 0, 4, 0x01, 0x01, 0, 0]);
    assert_eq!(
        super::info(&decode(LinkType::ETHERNET, &fr)),
        "PPPoE, session 0x0000"
    );
}
