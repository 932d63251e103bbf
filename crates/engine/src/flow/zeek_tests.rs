//! One test per rule of Zeek's `conn_state` and `history` (see `history.rs` for where
//! each rule comes from in Zeek's source), with crafted packets through the table.
//! Zeek's own output on real traces is checked by `tests/zeek_conn_states.rs`.

use etherparse::PacketBuilder;

use super::tests::{c, run, run_at, s, CLI, SRV, T};
use super::*;

/// `(conn_state, history)` of the table's first connection.
fn st(p: Vec<T>) -> (&'static str, String) {
    let r = run(&p).1;
    (r.conn(0).state(), r.conn(0).history().to_string())
}

fn hs() -> Vec<T> {
    vec![
        c(1000, 0, "S", b""),
        s(5000, 1001, "SA", b""),
        c(1001, 5001, "A", b""),
    ]
}

fn with(mut p: Vec<T>, more: &[T]) -> Vec<T> {
    p.extend_from_slice(more);
    p
}

/// A packet on other ports than the helpers' 40000 → 80.
fn ports(mut t: T, sp: u16, dp: u16) -> T {
    t.sp = sp;
    t.dp = dp;
    t
}

#[test]
fn s0_attempt_without_reply() {
    assert_eq!(st(vec![c(1000, 0, "S", b"")]), ("S0", "S".into()));
}

#[test]
fn s1_established_not_closed() {
    let p = with(hs(), &[c(1001, 5001, "PA", b"hi")]);
    assert_eq!(st(p), ("S1", "ShAD".into()));
}

#[test]
fn sf_normal_close() {
    let p = with(
        hs(),
        &[
            c(1001, 5001, "FA", b""),
            s(5001, 1002, "FA", b""),
            c(1002, 5002, "A", b""),
        ],
    );
    assert_eq!(st(p), ("SF", "ShAFf".into()));
}

#[test]
fn rst_after_both_fins_stays_sf() {
    // UpdateClosedState: a RST once both sides sent FIN changes nothing.
    let p = with(
        hs(),
        &[
            c(1001, 5001, "FA", b""),
            s(5001, 1002, "FA", b""),
            c(1002, 5002, "R", b""),
        ],
    );
    assert_eq!(st(p), ("SF", "ShAFfR".into()));
}

#[test]
fn fin_then_rst_then_peer_fin_is_sf() {
    // UpdateEstablishedState: the peer's FIN turns a FIN-then-RST side back to CLOSED.
    let p = with(
        hs(),
        &[
            c(1001, 5001, "FA", b""),
            c(1002, 5001, "R", b""),
            s(5001, 1002, "FA", b""),
        ],
    );
    assert_eq!(st(p), ("SF", "ShAFRf".into()));
}

#[test]
fn rej_syn_answered_by_rst() {
    let p = vec![c(1000, 0, "S", b""), s(0, 1001, "RA", b"")];
    assert_eq!(st(p), ("REJ", "Sr".into()));
}

#[test]
fn s2_and_s3_one_side_closed() {
    assert_eq!(st(with(hs(), &[c(1001, 5001, "FA", b"")])).0, "S2");
    assert_eq!(st(with(hs(), &[s(5001, 1001, "FA", b"")])).0, "S3");
}

#[test]
fn rsto_and_rstr() {
    assert_eq!(
        st(with(hs(), &[c(1001, 5001, "R", b"")])),
        ("RSTO", "ShAR".into())
    );
    assert_eq!(
        st(with(hs(), &[s(5001, 1001, "R", b"")])),
        ("RSTR", "ShAr".into())
    );
}

#[test]
fn rstos0_syn_then_own_rst() {
    let p = vec![c(1000, 0, "S", b""), c(1001, 0, "R", b"")];
    assert_eq!(st(p), ("RSTOS0", "SR".into()));
    // Without the SYN it is OTH.
    let p = vec![c(1001, 5001, "PA", b"x"), c(1002, 0, "R", b"")];
    assert_eq!(st(p).0, "OTH");
}

#[test]
fn rstrh_and_shr_responder_only() {
    // A SYN/ACK from a likely server port: Zeek flips at once ("^h").
    let p = vec![s(5000, 1001, "SA", b""), s(5001, 1001, "R", b"")];
    assert_eq!(st(p), ("RSTRH", "^hr".into()));
    let p = vec![s(5000, 1001, "SA", b""), s(5001, 1001, "FA", b"")];
    assert_eq!(st(p), ("SHR", "^hf".into()));
}

#[test]
fn sh_originator_closed_without_reply() {
    let p = vec![c(1000, 0, "S", b""), c(1001, 0, "F", b"")];
    assert_eq!(st(p), ("SH", "SF".into()));
}

#[test]
fn oth_midstream() {
    let p = vec![c(1001, 5001, "PA", b"a"), s(5001, 1002, "PA", b"b")];
    assert_eq!(st(p), ("OTH", "Dd".into()));
}

#[test]
fn synack_then_ack_without_syn_is_s1() {
    // UpdateInactiveState: an ACK towards an established responder establishes.
    let p = vec![s(5000, 1001, "SA", b""), c(1001, 5001, "A", b"")];
    assert_eq!(st(p), ("S1", "^hA".into()));
}

#[test]
fn synack_between_unlikely_ports_flips_late() {
    // 50000 → 40000 is not a likely server port: Zeek keeps the SYN/ACK's sender
    // as originator (SYN_ACK_SENT) until the ACK, then flips ("H" → "^h"); the ACK
    // sender becomes PARTIAL, so OTH, not S1.
    let p = vec![
        ports(s(5000, 1001, "SA", b""), 50000, 40000),
        ports(c(1001, 5001, "A", b""), 40000, 50000),
    ];
    let r = run(&p).1;
    let k = r.conn(0);
    assert_eq!((k.state(), k.history()), ("OTH", "^hA"));
    assert_eq!(k.client.port, 40000);
}

#[test]
fn synack_then_syn_reversed_is_established() {
    // The SYN answering an originator's SYN/ACK: Zeek flips and establishes both.
    let p = vec![
        ports(s(5000, 1001, "SA", b""), 50000, 40000),
        ports(c(1000, 0, "S", b""), 40000, 50000),
        ports(c(1001, 5001, "A", b""), 40000, 50000),
    ];
    assert_eq!(st(p).0, "S1");
}

#[test]
fn syn_and_synack_share_one_letter_per_side() {
    // Zeek's HIST_SYN_PKT: a side that sent a SYN gets no H for a SYN/ACK.
    let p = vec![c(1000, 0, "S", b""), c(1000, 0, "SA", b"")];
    assert_eq!(st(p).1, "S");
}

#[test]
fn fin_and_rst_repeat_only_with_new_sequence_numbers() {
    let p = with(hs(), &[c(1001, 5001, "FA", b""), c(1001, 5001, "FA", b"")]);
    assert_eq!(st(p).1, "ShAF");
    let p = with(hs(), &[c(1001, 5001, "R", b""), c(1001, 5001, "R", b"")]);
    assert_eq!(st(p).1, "ShAR");
    let p = with(hs(), &[c(1001, 5001, "R", b""), c(1002, 5001, "R", b"")]);
    assert_eq!(st(p).1, "ShARR");
}

#[test]
fn multi_flag_letters_i_and_q_once() {
    let p = with(
        hs(),
        &[c(1001, 5001, "FRA", b""), c(1001, 5001, "FRA", b"")],
    );
    assert_eq!(st(p).1, "ShAI");
    let p = vec![c(1000, 0, "SF", b""), c(1000, 0, "SF", b"")];
    assert_eq!(st(p).1, "Q");
}

#[test]
fn data_and_ack_letters_once_per_side() {
    let p = with(
        hs(),
        &[
            c(1001, 5001, "PA", b"a"),
            c(1002, 5001, "PA", b"b"),
            s(5001, 1003, "A", b""),
            s(5001, 1003, "A", b""),
        ],
    );
    assert_eq!(st(p).1, "ShADa");
}

#[test]
fn t_is_payload_not_advancing_the_highest_sequence() {
    // A plain retransmission.
    let p = with(
        hs(),
        &[c(1001, 5001, "PA", b"abc"), c(1001, 5001, "PA", b"abc")],
    );
    assert_eq!(st(p).1, "ShADT");
    // Filling a hole counts too (Zeek has no out-of-order letter).
    let p = with(
        hs(),
        &[
            c(1001, 5001, "PA", b"abc"),
            c(1007, 5001, "PA", b"ghi"),
            c(1004, 5001, "PA", b"def"),
        ],
    );
    assert_eq!(st(p).1, "ShADT");
}

#[test]
fn counted_letters_are_logarithmic() {
    let mut p = with(hs(), &[c(1001, 5001, "PA", b"abc")]);
    for _ in 0..100 {
        p.push(c(1001, 5001, "PA", b"abc"));
    }
    assert_eq!(st(p).1, "ShADTTT");
}

#[test]
fn w_zero_window_rules() {
    // Counted even on a SYN; not with a RST; not after the peer's FIN.
    assert_eq!(st(vec![c(1000, 0, "S", b"").win(0)]).1, "SW");
    let p = with(hs(), &[c(1001, 5001, "R", b"").win(0)]);
    assert_eq!(st(p).1, "ShAR");
    let p = with(
        hs(),
        &[s(5001, 1001, "FA", b""), c(1001, 5002, "A", b"").win(0)],
    );
    assert_eq!(st(p).1, "ShAf");
    let p = with(hs(), &[c(1001, 5001, "A", b"").win(0)]);
    assert_eq!(st(p).1, "ShAW");
}

#[test]
fn g_when_an_ack_shows_missing_data() {
    let p = with(
        hs(),
        &[
            c(1001, 5001, "PA", b"abc"),
            c(1014, 5001, "PA", b"xyz"),
            s(5001, 1017, "A", b""),
        ],
    );
    assert_eq!(st(p).1, "ShADaG");
    // Data after a hole that no ACK covers: no G (delivered after a gap at the end).
    let p = with(
        hs(),
        &[c(1001, 5001, "PA", b"abc"), c(1014, 5001, "PA", b"xyz")],
    );
    assert_eq!(st(p).1, "ShAD");
    // Not in a partial connection (Zeek trusts gaps only when both are established).
    let p = vec![
        c(1001, 5001, "PA", b"abc"),
        s(5001, 1050, "A", b""),
        s(5001, 1090, "A", b""),
    ];
    assert_eq!(st(p).1, "Da");
}

#[test]
fn orientation_by_zeeks_likely_server_ports() {
    let client = |p: Vec<T>| {
        let r = run(&p).1;
        let k = r.conn(0);
        (k.client.port, k.history().to_string())
    };
    // 80 is a likely server port: flipped.
    assert_eq!(
        client(vec![s(5001, 1001, "PA", b"x")]),
        (40000, "^d".into())
    );
    // 110 (POP3 registers no port) is not: the first sender is the originator.
    assert_eq!(
        client(vec![ports(s(5001, 1001, "PA", b"x"), 110, 40000)]),
        (110, "D".into())
    );
    // Two unlikely ports: first sender, whatever the numbers.
    assert_eq!(
        client(vec![ports(s(5001, 1001, "PA", b"x"), 40000, 50000)]),
        (40000, "D".into())
    );
    // Two likely ports: flipped towards the higher one for non-SYN packets.
    assert_eq!(
        client(vec![ports(s(5001, 1001, "PA", b"x"), 80, 443)]),
        (443, "^d".into())
    );
}

fn udp(sp: u16, dp: u16, src: [u8; 4], dst: [u8; 4], d: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(src, dst, 64)
        .udp(sp, dp)
        .write(&mut out, d)
        .expect("udp packet");
    out
}

#[test]
fn udp_empty_datagrams_count_as_data() {
    let (_, r) = run_at(
        FlowConfig::default(),
        &[
            (0, udp(40000, 9999, CLI, SRV, b"")),
            (1, udp(9999, 40000, SRV, CLI, b"")),
        ],
    );
    let k = r.conn(0);
    assert_eq!((k.state(), k.history()), ("SF", "Dd"));
}

#[test]
fn udp_orientation() {
    let first = |sp, dp, dst| {
        let (_, r) = run_at(FlowConfig::default(), &[(0, udp(sp, dp, SRV, dst, b"x"))]);
        let k = r.conn(0);
        (k.client.port, k.history().to_string(), k.state())
    };
    // NTP 123 ↔ 123, DNS 53 ↔ 5353: both likely, the first sender originates.
    assert_eq!(first(123, 123, CLI), (123, "D".into(), "S0"));
    assert_eq!(first(53, 5353, CLI), (53, "D".into(), "S0"));
    // A reply from 53 to an ephemeral port: flipped.
    assert_eq!(first(53, 40000, CLI), (40000, "^d".into(), "SHR"));
    // DHCP server 67 → 255.255.255.255:68: Zeek never flips towards broadcast.
    assert_eq!(first(67, 68, [255; 4]), (67, "D".into(), "S0"));
}

#[test]
fn attempt_timer_splits_an_unanswered_connection() {
    let b = |t: T| t.bytes();
    // SYN retries within 5 s: one attempt.
    let (_, r) = run_at(
        FlowConfig::default(),
        &[
            (0, b(c(1000, 0, "S", b""))),
            (3000, b(c(1000, 0, "S", b""))),
        ],
    );
    assert_eq!(r.done.len(), 1);
    // 5 s after the first SYN, still unanswered: Zeek has removed it; the client's
    // data starts a new (partial) connection.
    let (_, r) = run_at(
        FlowConfig::default(),
        &[
            (0, b(c(1000, 0, "S", b""))),
            (6000, b(c(1001, 0, "PA", b"x"))),
            (6001, b(c(1002, 0, "FA", b""))),
        ],
    );
    assert_eq!(r.done.len(), 2);
    assert_eq!((r.conn(0).state(), r.conn(0).history()), ("S0", "S"));
    assert_eq!((r.conn(1).state(), r.conn(1).history()), ("SH", "DF"));
    // Answered in time: no split.
    let (_, r) = run_at(
        FlowConfig::default(),
        &[
            (0, b(c(1000, 0, "S", b""))),
            (10, b(s(5000, 1001, "SA", b""))),
            (6000, b(c(1001, 5001, "PA", b"x"))),
        ],
    );
    assert_eq!(r.done.len(), 1);
}
