//! The TUI's re-filter path (`analysis::filter_index` over a `FrameStore` and a
//! `FilterIndex` built once) selects exactly what `wiretale packets FILE -Y EXPR`
//! prints, for random (capture, expression) pairs from the shared corpus and the
//! differential expression list; and splitting the re-filter across threads changes
//! nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use wiretale::analysis::select::conn_matches;
use wiretale::analysis::{
    conn_app_verdict, filter_index, filter_index_split, filter_index_split_stats, ConnOutcome,
    ConnRecord, Engine, EngineConfig, FilterIndex, PacketTable, Redecoder, RelNumbers,
};
use wiretale::base::PacketId;
use wiretale::capture::FrameStore;
use wiretale::filter::Filter;
use wiretale::story::NameIndex;

fn expressions() -> Vec<String> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/filter-expressions.txt");
    let mut v: Vec<String> = std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    // Connection-outcome fields, which the index answers from `set_outcome`.
    v.push("conn.state == \"SF\" and tcp".into());
    v.push("conn.name contains \"lab\"".into());
    v.extend(flow_expressions().into_iter().map(str::to_string));
    v
}

/// Expressions for the re-filter's per-connection shortcut (`analysis::index`): only
/// flow-constant fields, those mixed with per-packet ones (either side deciding),
/// negations and fields that are missing on most packets.
fn flow_expressions() -> Vec<&'static str> {
    let mut v = vec![
        "tcp.port == 80",
        "tcp.port == 443 or udp.port == 53",
        "tcp.dstport == 80 and ip.src == 10.0.0.0/8",
        "ip.addr == 192.168.0.0/16 && tcp",
        "!(ip.addr == 192.168.0.0/16)",
        "!(tcp.port == 80)",
        "not ipv6.addr == fe80::/10 and udp",
        "ipv6.src == 2001:db8::/32 or ipv6.dst == 2001:db8::/32",
        "udp.stream == 2 or tcp.stream == 3",
        "tcp.stream > 4 and tcp.stream < 9",
        "conn.id == 3 || conn.id == 17",
        "conn.client == 10.0.0.0/8 or conn.server == 192.168.0.0/16",
        "conn and not tcp",
        "!conn",
        "ip.proto == 6 and ipv6",
        "ipv6.nxt == 17",
        "icmp or icmpv6 or gre or vxlan or mpls",
        "vxlan.vni == 1 or gre.key",
        "conn.state == \"S0\" or conn.state == \"REJ\"",
        "tcp.port == 80 && tcp.flags.syn == 1",
        "tcp.port == 80 || tcp.flags.syn == 1",
        "tcp.port != 80 && tcp.len > 0",
        "ip.addr == 10.0.0.1 || http",
        "!(ip.addr == 10.0.0.0/8 and dns)",
        "udp.port == 53 and dns.flags.response == 1",
        "tcp.port in {80 443} and frame.time_delta > 0.1",
        "tcp.stream == 0 and frame.number > 3",
        "tcp.port == 80 and eth.src == 00:00:00:00:00:00",
        "(tcp.port == 80 or udp) and not tcp.analysis.flags",
        "tls.handshake.type == 1 or tcp.port == 443",
        "ip.ttl > 60 and ip.addr == 192.168.0.0/16",
        // Application fields, which a packet without notes shows none of (and `dns`
        // on UDP port 53): mixed with flow-constant ones, negated.
        "tcp.port == 80 && http",
        "dns || tcp.port == 443",
        "!http and udp",
        "http or ip.src == 10.0.0.0/8",
        "dns and ip.src == 192.168.0.0/16",
        "tcp.port == 443 and not tls",
        "udp.port == 53 and !dns.flags.response",
        "http.request or dns.qry.name contains \"a\"",
        "tcp.port == 80 and conn.client == 10.0.0.0/8",
        // Protocol presence mixed with other fields (alone: `presence_only`).
        "http && tcp.port == 80",
        "dns and !udp",
        "tls and tcp.port != 443",
        "quic and http3",
        "http and http.request",
        "!dns and dns.qry.name",
    ];
    v.extend(presence_only());
    v
}

/// Expressions (part of [`flow_expressions`]) that read protocol-presence fields only,
/// which the packets' presence bits decide: a re-filter decodes no packet for them but
/// the irregular ones.
fn presence_only() -> Vec<&'static str> {
    vec![
        "http",
        "dns",
        "tls",
        "quic",
        "!tls",
        "!http",
        "dns || http",
        "tls and !http",
        "http2 or http3",
        "!(dns or tls or quic)",
        "quic or tls",
        "!dns",
    ]
}

/// [`build_index`] as the TUI's loader does it: each connection's outcome recorded as
/// soon as the engine finishes it (the index then forgets its tuple: later packets of
/// it are irregular), with the connections' records and names.
fn build_index_as_the_tui(
    store: &FrameStore,
) -> (PacketTable, FilterIndex, Vec<(ConnRecord, Option<String>)>) {
    let mut conns = Vec::new();
    let (mut table, mut idx) = (PacketTable::default(), FilterIndex::new());
    let mut engine = Engine::new(EngineConfig {
        want_app_fields: true,
        ..EngineConfig::default()
    });
    let mut names = NameIndex::new();
    let mut record = |engine: &mut Engine, idx: &mut FilterIndex, at_end: bool| {
        for t in engine.take_dns(at_end) {
            names.add(&t);
        }
        for c in engine.take_conns() {
            let name = names.name(&c).map(|n| n.qname);
            idx.set_outcome(
                c.conn.id,
                ConnOutcome {
                    state: c.conn.state(),
                    name: name.clone(),
                },
            );
            conns.push((c, name));
        }
    };
    for i in 0..store.len() {
        let frame = store.frame(PacketId(i as u32)).unwrap();
        let s = engine.process(&frame);
        table.push(&s);
        idx.push(&frame, &s);
        record(&mut engine, &mut idx, false);
    }
    engine.finish();
    record(&mut engine, &mut idx, true);
    (table, idx, conns)
}

/// The per-connection shortcut changes no answer: on every shared capture, for every
/// expression, the re-filter (split over threads or not, from the first packet or
/// from the middle as when packets arrive) selects exactly what decoding every packet
/// selects.
#[test]
fn shortcut_equals_full_evaluation_everywhere() {
    use wiretale::analysis::filter_ids;
    use wiretale::analysis::index::filter_ids_exhaustive;
    let exprs = expressions();
    let (mut compared, mut irregular, mut packets, mut hits) = (0, 0, 0, 0);
    let (mut verdicts, mut by_presence, mut by_app) = (0, 0, 0);
    for file in files() {
        let mut store = FrameStore::open(&file).unwrap();
        store.index_all();
        let (table, idx, conns) = build_index_as_the_tui(&store);
        let all: Vec<u32> = (0..store.len() as u32).collect();
        let half = &all[all.len() / 2..];
        irregular += idx.irregular();
        packets += idx.len();
        for expr in &exprs {
            let filter = Filter::compile(expr).unwrap();
            let full = filter_ids_exhaustive(&store, &table, &idx, &filter, &all);
            let at = || format!("{} `{expr}`", file.display());
            for parts in [1, 2, 5] {
                let (got, told, stats) =
                    filter_index_split_stats(&store, &table, &idx, &filter, parts);
                let got: Vec<u32> = got.iter().map(|p| p.0).collect();
                assert_eq!(got, full, "{} in {parts} parts", at());
                by_presence += stats.by_presence;
                if presence_only().contains(&expr.as_str()) {
                    assert!(
                        stats.decoded <= idx.irregular(),
                        "{} in {parts} parts: {stats:?}",
                        at()
                    );
                }
                // What the packets told of a connection's own fields is `conns -Y`'s
                // answer on its record.
                for (c, name) in &conns {
                    if let Some(v) = told.get(c.conn.id) {
                        let want = conn_matches(&idx, &filter, c, name.as_deref());
                        assert_eq!(
                            v,
                            want,
                            "{} connection {} in {parts} parts",
                            at(),
                            c.conn.id.0
                        );
                        verdicts += 1;
                    }
                }
            }
            // A connection's application kind, when it decides the filter on the
            // connection's own fields, gives `conns -Y`'s answer.
            for (c, name) in &conns {
                if let Some(v) = conn_app_verdict(&filter, c.app) {
                    let want = conn_matches(&idx, &filter, c, name.as_deref());
                    assert_eq!(v, want, "{} connection {}", at(), c.conn.id.0);
                    by_app += 1;
                }
            }
            assert_eq!(
                filter_ids(&store, &table, &idx, &filter, &all),
                full,
                "{}",
                at()
            );
            assert_eq!(
                filter_ids(&store, &table, &idx, &filter, half),
                filter_ids_exhaustive(&store, &table, &idx, &filter, half),
                "{} from the middle",
                at()
            );
            hits += full.len();
            compared += 1;
        }
    }
    assert!(compared > 50 * 100, "{compared}");
    // Both kinds of packets were there, and the filters selected something.
    assert!(
        irregular > 100 && irregular * 4 < packets,
        "{irregular} of {packets}"
    );
    assert!(hits > 10_000, "{hits}");
    assert!(verdicts > 10_000, "{verdicts}");
    assert!(by_presence > 100_000, "{by_presence}");
    assert!(by_app > 10_000, "{by_app}");
}

/// [`conn_app_verdict`] knows which fields `conns -Y`'s view of a connection gives
/// values: every field of the registry, tested bare, on every connection of the
/// shared captures, either is left open or gets the view's answer.
#[test]
fn application_kind_decides_exactly_the_fields_it_knows() {
    let (mut checked, mut decided) = (0, 0);
    for file in files().into_iter().take(40) {
        let mut store = FrameStore::open(&file).unwrap();
        store.index_all();
        let (_, idx, conns) = build_index_as_the_tui(&store);
        for def in wiretale::filter::fields::all() {
            let Ok(filter) = Filter::compile(def.name) else {
                continue;
            };
            for (c, name) in &conns {
                let want = conn_matches(&idx, &filter, c, name.as_deref());
                if let Some(v) = conn_app_verdict(&filter, c.app) {
                    assert_eq!(v, want, "{} `{}` {}", file.display(), def.name, c.conn.id.0);
                    decided += 1;
                }
                checked += 1;
            }
        }
    }
    assert!(
        checked > 10_000 && decided * 2 > checked,
        "{decided} of {checked}"
    );
}

fn files() -> Vec<PathBuf> {
    let root = common::shared_root();
    let mut v: Vec<PathBuf> = common::shared_captures()
        .iter()
        .map(|r| root.join(r))
        .collect();
    let lab = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures");
    v.push(lab.join("lab-page.pcap"));
    v.push(lab.join("lab-curl.pcap"));
    v
}

/// What the TUI does once while loading: run the engine over the store's frames and
/// fill the index (with connection outcomes and names).
fn build_index(store: &FrameStore) -> (PacketTable, FilterIndex) {
    let (mut table, mut idx) = (PacketTable::default(), FilterIndex::new());
    let mut engine = Engine::new(EngineConfig {
        want_app_fields: true,
        ..EngineConfig::default()
    });
    let mut conns = Vec::new();
    let mut names = NameIndex::new();
    for i in 0..store.len() {
        let frame = store.frame(PacketId(i as u32)).unwrap();
        let s = engine.process(&frame);
        table.push(&s);
        idx.push(&frame, &s);
    }
    engine.finish();
    for t in engine.take_dns(true) {
        names.add(&t);
    }
    conns.extend(engine.take_conns());
    for c in &conns {
        idx.set_outcome(
            c.conn.id,
            ConnOutcome {
                state: c.conn.state(),
                name: names.name(c).map(|n| n.qname),
            },
        );
    }
    (table, idx)
}

fn cli_frames(file: &Path, expr: &str) -> Vec<u32> {
    let o = Command::new(common::bin())
        .arg("packets")
        .arg(file)
        .args(["--json", "-Y", expr])
        .output()
        .unwrap();
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["n"].as_u64().unwrap() as u32
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn index_filter_equals_packets_y(fi in 0usize..1000, ei in 0usize..1000) {
        let files = files();
        let exprs = expressions();
        let file = &files[fi % files.len()];
        let expr = &exprs[ei % exprs.len()];
        let mut store = FrameStore::open(file).unwrap();
        store.index_all();
        let (table, idx) = build_index(&store);
        let filter = Filter::compile(expr).unwrap();
        let got: Vec<u32> = filter_index(&store, &table, &idx, &filter).iter().map(|p| p.0 + 1).collect();
        prop_assert_eq!(got, cli_frames(file, expr), "{} `{}`", file.display(), expr);
    }
}

#[test]
fn index_filter_equals_packets_y_on_the_lab_page() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/lab-page.pcap");
    let mut store = FrameStore::open(&file).unwrap();
    store.index_all();
    let (table, idx) = build_index(&store);
    let mut nonempty = 0;
    for expr in expressions() {
        let filter = Filter::compile(&expr).unwrap();
        let got: Vec<u32> = filter_index(&store, &table, &idx, &filter)
            .iter()
            .map(|p| p.0 + 1)
            .collect();
        nonempty += usize::from(!got.is_empty());
        assert_eq!(got, cli_frames(&file, &expr), "`{expr}`");
    }
    assert!(nonempty > 30, "only {nonempty} expressions select anything");
}

/// Exhaustive (no sampling): every shared capture × every expression, the index path
/// against the streaming `PacketMatcher` the CLI uses (both in-process).
#[test]
fn index_filter_equals_streaming_matcher_everywhere() {
    use wiretale::analysis::PacketMatcher;
    let exprs = expressions();
    let mut compared = 0;
    for file in files() {
        let mut store = FrameStore::open(&file).unwrap();
        store.index_all();
        let (table, idx) = build_index(&store);
        let outcomes: std::collections::HashMap<_, _> = {
            let mut e = Engine::new(EngineConfig::default());
            for i in 0..store.len() {
                e.process(&store.frame(PacketId(i as u32)).unwrap());
            }
            e.finish();
            let mut names = NameIndex::new();
            for t in e.take_dns(true) {
                names.add(&t);
            }
            e.take_conns()
                .iter()
                .map(|c| {
                    let o = ConnOutcome {
                        state: c.conn.state(),
                        name: names.name(c).map(|n| n.qname),
                    };
                    (c.conn.id, o)
                })
                .collect()
        };
        for expr in &exprs {
            let filter = Filter::compile(expr).unwrap();
            let via_index = filter_index(&store, &table, &idx, &filter);
            // Split into ranges (one thread each), as on a big capture: the same
            // answer, fragments reassembled across the cuts included.
            for parts in [2, 3, 7] {
                let split = filter_index_split(&store, &table, &idx, &filter, parts);
                assert_eq!(
                    split,
                    via_index,
                    "{} `{expr}` in {parts} parts",
                    file.display()
                );
            }
            let mut m = PacketMatcher::new(filter);
            m.set_outcomes(outcomes.clone());
            let mut cfg = EngineConfig::default();
            m.configure(&mut cfg);
            let mut e = Engine::new(cfg);
            let mut streamed = Vec::new();
            for i in 0..store.len() {
                let frame = store.frame(PacketId(i as u32)).unwrap();
                let s = e.process(&frame);
                if m.matches(&frame, &s) {
                    streamed.push(s.id);
                }
            }
            assert_eq!(via_index, streamed, "{} `{expr}`", file.display());
            compared += 1;
        }
    }
    assert!(compared > 50 * 70, "{compared}");
}

/// The HTTPS page load (keys in its Decryption Secrets Block): every TLS/HTTP/2
/// expression of `tests/data/tls/filter-expressions.txt` selects the same packets
/// through the TUI's index (the TLS facts kept in the `PacketTable`) as through
/// `packets -Y`.
#[test]
fn index_filter_equals_packets_y_on_the_https_page() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let file = root.join("captures/lab-https-page.pcapng");
    let mut store = FrameStore::open(&file).unwrap();
    store.index_all();
    let (mut table, mut idx) = (PacketTable::default(), FilterIndex::new());
    let mut engine = Engine::new(EngineConfig {
        want_app_fields: true,
        ..EngineConfig::default()
    });
    // As the TUI's loader does: each DSB before the first packet it serves.
    let secrets = store.secrets().to_vec();
    for i in 0..store.len() {
        let id = PacketId(i as u32);
        for (_, s) in secrets.iter().filter(|(first, _)| *first == id) {
            engine.add_secrets(s);
        }
        let frame = store.frame(id).unwrap();
        let s = engine.process(&frame);
        table.push(&s);
        idx.push(&frame, &s);
    }
    let text = std::fs::read_to_string(root.join("tests/data/tls/filter-expressions.txt")).unwrap();
    let mut nonempty = 0;
    for expr in text.lines() {
        let filter = Filter::compile(expr).unwrap();
        let got: Vec<u32> = filter_index(&store, &table, &idx, &filter)
            .iter()
            .map(|p| p.0 + 1)
            .collect();
        nonempty += usize::from(!got.is_empty());
        assert_eq!(got, cli_frames(&file, expr), "`{expr}`");
    }
    assert!(nonempty > 40, "only {nonempty} expressions select anything");
}

/// The table keeps one ISN per connection side, not each packet's relative numbers: on
/// every shared capture, for every packet, the numbers a reader derives from the
/// re-decoded segment are exactly the engine's, whether it decodes the frame alone (the
/// TUI's list, field tree and ladder) or defragmented (a re-filter), in a table built
/// whole and in one appended slice by slice as the TUI's loader builds it.
#[test]
fn relative_sequence_numbers_from_the_table_equal_the_engines_everywhere() {
    let (mut numbered, mut files_seen) = (0usize, 0usize);
    for file in files() {
        let mut store = FrameStore::open(&file).unwrap();
        store.index_all();
        let mut engine = Engine::new(EngineConfig {
            want_app_fields: true,
            ..EngineConfig::default()
        });
        let (mut whole, mut sliced) = (PacketTable::default(), PacketTable::default());
        let mut slice = PacketTable::default();
        let mut engines = Vec::new();
        for i in 0..store.len() {
            if i > 0 && i % 61 == 0 {
                let next = PacketTable::starting_at(i as u32);
                assert!(sliced.append(std::mem::replace(&mut slice, next)));
            }
            let s = engine.process(&store.frame(PacketId(i as u32)).unwrap());
            whole.push(&s);
            slice.push(&s);
            engines.push(RelNumbers::of(s.verdict.as_ref()));
        }
        assert!(sliced.append(slice));
        let mut re = Redecoder::default();
        for (i, want) in engines.iter().enumerate() {
            let (id, frame) = (i as u32, store.frame(PacketId(i as u32)).unwrap());
            let raw = |p: &wiretale::decode::Packet<'_>| p.tcp().map(|t| (t.seq, t.ack));
            let alone = raw(&wiretale::decode::decode(frame.meta.link, frame.data));
            let defragmented = re.with(&frame, |p, w| raw(w.unwrap_or(p)));
            let at = || format!("{} frame {}", file.display(), i + 1);
            for t in [&whole, &sliced] {
                assert_eq!(t.rel_numbers(id, alone), *want, "{}", at());
                if defragmented.is_some() {
                    assert_eq!(t.rel_numbers(id, defragmented), *want, "{}", at());
                }
            }
            numbered += usize::from(want.seq.is_some());
        }
        files_seen += 1;
    }
    assert!(
        files_seen > 50 && numbered > 5_000,
        "{files_seen} {numbered}"
    );
}
