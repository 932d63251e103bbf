use super::*;
use proptest::prelude::*;

/// First-level encoding (RFC 1001 §14.1) of a 15-character name and its suffix.
fn encode(name: &str, suffix: u8) -> Vec<u8> {
    let mut raw = [b' '; 16];
    raw[..name.len()].copy_from_slice(name.as_bytes());
    raw[15] = suffix;
    let mut out = vec![32u8];
    for b in raw {
        out.push(b'A' + (b >> 4));
        out.push(b'A' + (b & 0x0f));
    }
    out.push(0);
    out
}

/// A broadcast name query (RFC 1002 §4.2.12): RD and B set, one NB/IN question.
fn name_query(id: u16, name: &str, suffix: u8) -> Vec<u8> {
    let mut p = id.to_be_bytes().to_vec();
    p.extend_from_slice(&[0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0]);
    p.extend(encode(name, suffix));
    p.extend_from_slice(&[0x00, 0x20, 0x00, 0x01]);
    p
}

/// A positive name query response (RFC 1002 §4.2.13): AA, RD, RA; one NB answer whose
/// name is a label string pointer to offset 12 would be legal, but responses repeat the
/// name: both are covered.
fn positive_response(id: u16, name: &str, suffix: u8, addrs: &[(u16, [u8; 4])]) -> Vec<u8> {
    let mut p = id.to_be_bytes().to_vec();
    p.extend_from_slice(&[0x85, 0x80, 0, 0, 0, 1, 0, 0, 0, 0]);
    p.extend(encode(name, suffix));
    p.extend_from_slice(&[0x00, 0x20, 0x00, 0x01, 0, 0x04, 0x93, 0xe0]);
    p.extend_from_slice(&((addrs.len() * 6) as u16).to_be_bytes());
    for (f, a) in addrs {
        p.extend_from_slice(&f.to_be_bytes());
        p.extend_from_slice(a);
    }
    p
}

#[test]
fn name_query_decodes_name_type_and_flags() {
    let m = parse_nbns(&name_query(0x8921, "ARBEITSGRUPPE", 0x1b)).unwrap();
    assert_eq!(m.id, 0x8921);
    assert!(!m.flags.qr && m.flags.rd);
    assert!(!m.flags.cd, "the B bit is not DNS's CD");
    assert_eq!(m.questions.len(), 1);
    assert_eq!(m.questions[0].name, "ARBEITSGRUPPE<1b>");
    assert_eq!(m.questions[0].qtype, TYPE_NB);
    assert_eq!(info(&m), "Name query NB ARBEITSGRUPPE<1b>");
}

#[test]
fn positive_response_carries_the_addresses() {
    let b = positive_response(
        7,
        "PRINTER",
        0x20,
        &[(0x6000, [10, 0, 0, 5]), (0x8000, [10, 0, 0, 6])],
    );
    let m = parse_nbns(&b).unwrap();
    assert!(m.flags.qr && m.flags.aa);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].name, "PRINTER<20>");
    assert_eq!(m.answers[0].ttl, 300_000);
    let RData::Nb(a) = &m.answers[0].data else {
        panic!("{:?}", m.answers[0].data)
    };
    assert_eq!(a[0].addr, Ipv4Addr::new(10, 0, 0, 5));
    assert!(!a[0].group() && a[1].group());
    let r = &m.answers[0];
    assert_eq!(
        crate::proto::dns::text::data_text(r),
        "10.0.0.5 10.0.0.6 (group)"
    );
    assert_eq!(crate::proto::dns::text::record_type_name(r), "NB");
    assert_eq!(
        info(&m),
        "Name query response NB PRINTER<20> 10.0.0.5 10.0.0.6"
    );
}

#[test]
fn negative_response_and_pointer_names() {
    // A negative registration response (RFC 1002 §4.2.6: RCODE ACT_ERR) whose RR_NAME
    // is a label string pointer (0xC00C) to a question-less name at offset 12: the
    // pointer must point backwards, so a question is included here.
    let mut p = vec![0x12, 0x34, 0xad, 0x86, 0, 1, 0, 1, 0, 0, 0, 0];
    p.extend(encode("HOST", 0x00));
    p.extend_from_slice(&[0x00, 0x20, 0x00, 0x01]);
    p.extend_from_slice(&[0xc0, 0x0c, 0x00, 0x20, 0x00, 0x01, 0, 0, 0, 0, 0, 6]);
    p.extend_from_slice(&[0x00, 0x00, 192, 0, 2, 1]);
    let m = parse_nbns(&p).unwrap();
    assert_eq!(m.flags.opcode, 5);
    assert_eq!(m.flags.rcode, 6);
    assert_eq!(m.answers[0].name, "HOST<00>");
    assert_eq!(opcode_name(m.flags.opcode), "registration");
    assert_eq!(rcode_name(m.flags.rcode), "ACT_ERR");
    assert!(info(&m).starts_with("Registration response, ACT_ERR NB HOST<00>"));
}

#[test]
fn node_status_response_lists_the_name_table() {
    // RFC 1002 §4.2.18: NUM_NAMES, names (16 raw bytes + NAME_FLAGS), statistics.
    let mut p = vec![0x00, 0x01, 0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 0];
    let mut star = [0u8; 16];
    star[0] = b'*';
    p.push(32);
    for b in star {
        p.push(b'A' + (b >> 4));
        p.push(b'A' + (b & 0x0f));
    }
    p.push(0);
    p.extend_from_slice(&[0x00, 0x21, 0x00, 0x01, 0, 0, 0, 0]);
    let mut rd = vec![2u8];
    rd.extend_from_slice(b"FILESERVER     \x20\x04\x00");
    rd.extend_from_slice(b"WORKGROUP      \x00\x84\x00");
    rd.extend_from_slice(&[0x00, 0x0c, 0x29, 0x01, 0x02, 0x03]);
    rd.extend_from_slice(&[0u8; 40]);
    p.extend_from_slice(&(rd.len() as u16).to_be_bytes());
    p.extend(rd);
    let m = parse_nbns(&p).unwrap();
    assert_eq!(m.answers[0].name, "*<00>");
    let r = &m.answers[0];
    assert_eq!(crate::proto::dns::text::record_type_name(r), "NBSTAT");
    assert_eq!(
        crate::proto::dns::text::data_text(r),
        "FILESERVER<20> WORKGROUP<00> unit 00:0c:29:01:02:03"
    );
}

#[test]
fn odd_names_are_escaped_and_non_encoded_labels_kept() {
    let raw = *b"\x01\x02__MSBROWSE__\x02\x01";
    assert_eq!(
        display_netbios_name(&raw),
        "\\x01\\x02__MSBROWSE__\\x02<01>"
    );
    let mut esc = [b' '; 16];
    esc[0] = 0x1b;
    esc[1] = b'[';
    assert_eq!(display_netbios_name(&esc), "\\x1b[<20>");
    assert_eq!(decode_name("not-encoded.example"), "not-encoded.example");
    let label = encode("USER", 0);
    let scoped = format!("{}.corp", std::str::from_utf8(&label[1..33]).unwrap());
    assert_eq!(decode_name(&scoped), "USER<00>.corp");
}

#[test]
fn truncated_and_hostile_packets_are_errors() {
    let q = name_query(1, "WPAD", 0);
    for n in 0..q.len() {
        assert!(parse_nbns(&q[..n]).is_err(), "{n} bytes");
    }
    // A count of 65535 answers in a 12-byte packet: an error, not an allocation.
    let p = [0, 1, 0x85, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0];
    assert_eq!(parse_nbns(&p), Err(DnsError::Truncated));
    // A pointer to itself.
    let p = [
        0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 0x20, 0, 1,
    ];
    assert!(parse_nbns(&p).is_err());
}

/// Every name service packet of the real captures (tcpdump's eapon1.pcap: queries and
/// registrations; zeek/wikipedia.pcap: queries) decodes, with tshark's names
/// (tests/data/namesvc/nbns-tshark.tsv, see make-truth.sh there).
#[test]
fn real_packets_match_tshark_names() {
    let truth = std::fs::read_to_string(format!(
        "{}/tests/data/namesvc/nbns-tshark.tsv",
        crate::testutil::ROOT
    ))
    .unwrap();
    let mut compared = 0;
    for line in truth.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let (capture, frame, name, info_line) = (f[0], f[1].parse::<usize>().unwrap(), f[2], f[3]);
        let path = if capture.starts_with("namesvc/") {
            std::path::PathBuf::from(crate::testutil::ROOT)
                .join("tests/data")
                .join(capture)
        } else {
            crate::testutil::shared_capture(capture)
        };
        let frames = crate::testutil::read_frames(&path);
        let bytes = &frames.frames[frame - 1].1;
        let sliced = etherparse::SlicedPacket::from_ethernet(bytes).unwrap();
        let Some(etherparse::TransportSlice::Udp(u)) = sliced.transport else {
            panic!("{capture} {frame}: not UDP")
        };
        let m = parse_nbns(u.payload()).unwrap_or_else(|e| panic!("{capture} {frame}: {e}"));
        let ours = m
            .questions
            .first()
            .map(|q| q.name.clone())
            .or(m.answers.first().map(|r| r.name.clone()))
            .unwrap();
        assert_eq!(tshark_form(&ours), name, "{capture} {frame}");
        assert_eq!(tshark_form(&info(&m)), info_line, "{capture} {frame}");
        compared += 1;
    }
    assert!(compared >= 40, "{compared}");
}

/// tshark shows unprintable name bytes as `<xx>`; we escape them as `\xNN` (a `<` in a
/// name would otherwise be ambiguous).
fn tshark_form(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(p) = rest.find("\\x") {
        out.push_str(&rest[..p]);
        out.push('<');
        out.push_str(&rest[p + 2..p + 4]);
        out.push('>');
        rest = &rest[p + 4..];
    }
    out.push_str(rest);
    out
}

proptest! {
    /// Arbitrary bytes never panic.
    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_nbns(&b);
    }

    /// Valid packets with bytes flipped never panic; the untouched ones decode.
    #[test]
    fn mutated_packets_never_panic(
        which in 0usize..3,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        name in "[A-Z0-9]{1,15}",
        suffix in any::<u8>(),
    ) {
        let mut p = match which {
            0 => name_query(9, &name, suffix),
            1 => positive_response(9, &name, suffix, &[(0, [1, 2, 3, 4])]),
            _ => positive_response(9, &name, suffix, &[]),
        };
        if flips.is_empty() {
            let m = parse_nbns(&p).unwrap();
            let n = m.questions.first().map(|q| &q.name).or(m.answers.first().map(|r| &r.name)).unwrap().clone();
            prop_assert_eq!(n, format!("{name}<{suffix:02x}>"));
        }
        for (i, v) in flips {
            let len = p.len();
            p[i % len] = v;
        }
        let _ = parse_nbns(&p);
    }
}
