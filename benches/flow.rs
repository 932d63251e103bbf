//! Flow-table throughput: many short TCP connections (table churn: create, handshake,
//! request/response, close, finish) and one long connection with 1460-byte segments
//! (in-order reassembly, delivered straight from the packet slice).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wiretale::base::{PacketId, Timestamp};
use wiretale::flow::{ConnTable, FlowConfig, FlowPacket, NullSink, L4};

#[derive(Clone, Copy)]
struct P {
    ts: i64,
    cli: u32,
    sport: u16,
    c2s: bool,
    seq: u32,
    ack: u32,
    flags: u16,
    len: u32,
}

fn pkt<'a>(i: usize, p: &P, payload: &'a [u8]) -> FlowPacket<'a> {
    let c = IpAddr::V4(Ipv4Addr::from(p.cli));
    let s = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80));
    let (src, dst, sport, dport) = if p.c2s {
        (c, s, p.sport, 80)
    } else {
        (s, c, 80, p.sport)
    };
    FlowPacket {
        id: PacketId(i as u32),
        ts: Timestamp(p.ts),
        src,
        dst,
        vlans: [0; 2],
        vlan_count: 0,
        tunnel: 0,
        tunnels: &[],
        l4: L4::Tcp {
            sport,
            dport,
            seq: p.seq,
            ack: p.ack,
            flags: p.flags,
            window: 65535,
            wscale: Some(7),
            mss: None,
            sack_permitted: true,
            ts: None,
            payload_len: p.len,
            payload: &payload[..p.len as usize],
        },
    }
}

/// `n` connections of 8 packets each: handshake, 200-byte request, 1000-byte
/// response, FIN both ways. Client addresses and ports cycle, so tuples are reused.
fn short_conns(n: usize) -> Vec<P> {
    let mut v = Vec::with_capacity(n * 8);
    for k in 0..n {
        let ts = k as i64 * 100_000;
        let cli = 0x0a00_0000 | (k as u32 % 4096);
        let sport = 1024 + (k / 4096) as u16 % 60000;
        let (ci, si) = (k as u32 * 7919, k as u32 * 104729);
        let c = |dt, seq, ack, flags, len| P {
            ts: ts + dt,
            cli,
            sport,
            c2s: true,
            seq,
            ack,
            flags,
            len,
        };
        let s = |dt, seq, ack, flags, len| P {
            ts: ts + dt,
            cli,
            sport,
            c2s: false,
            seq,
            ack,
            flags,
            len,
        };
        v.push(c(0, ci, 0, 0x02, 0));
        v.push(s(10, si, ci + 1, 0x12, 0));
        v.push(c(20, ci + 1, si + 1, 0x10, 0));
        v.push(c(30, ci + 1, si + 1, 0x18, 200));
        v.push(s(40, si + 1, ci + 201, 0x18, 1000));
        v.push(c(50, ci + 201, si + 1001, 0x11, 0));
        v.push(s(60, si + 1001, ci + 202, 0x11, 0));
        v.push(c(70, ci + 202, si + 1002, 0x10, 0));
    }
    v
}

/// One connection: handshake then `n` 1460-byte segments with an ACK every two.
fn long_conn(n: usize) -> Vec<P> {
    let mut v = Vec::with_capacity(n * 3 / 2 + 3);
    let (cli, sport) = (0x0a00_0001, 40000);
    v.push(P {
        ts: 0,
        cli,
        sport,
        c2s: true,
        seq: 1,
        ack: 0,
        flags: 0x02,
        len: 0,
    });
    v.push(P {
        ts: 1,
        cli,
        sport,
        c2s: false,
        seq: 100,
        ack: 2,
        flags: 0x12,
        len: 0,
    });
    v.push(P {
        ts: 2,
        cli,
        sport,
        c2s: true,
        seq: 2,
        ack: 101,
        flags: 0x10,
        len: 0,
    });
    let mut seq = 101u32;
    for k in 0..n {
        v.push(P {
            ts: 3 + k as i64,
            cli,
            sport,
            c2s: false,
            seq,
            ack: 2,
            flags: 0x10,
            len: 1460,
        });
        seq = seq.wrapping_add(1460);
        if k % 2 == 1 {
            v.push(P {
                ts: 3 + k as i64,
                cli,
                sport,
                c2s: true,
                seq: 2,
                ack: seq,
                flags: 0x10,
                len: 0,
            });
        }
    }
    v
}

fn bench(c: &mut Criterion) {
    let payload = vec![0x61u8; 1460];
    let short = short_conns(20_000);
    let mut g = c.benchmark_group("flow");
    g.throughput(Throughput::Elements(short.len() as u64));
    g.bench_function("short_connections_packets", |b| {
        b.iter(|| {
            let mut t = ConnTable::new(FlowConfig::default());
            let mut sink = NullSink;
            for (i, p) in short.iter().enumerate() {
                black_box(t.process(&pkt(i, p, &payload), &mut sink));
            }
            t.finish(&mut sink);
        })
    });
    let long = long_conn(50_000);
    g.throughput(Throughput::Bytes(50_000 * 1460));
    g.bench_function("long_connection_bytes", |b| {
        b.iter(|| {
            let mut t = ConnTable::new(FlowConfig::default());
            let mut sink = NullSink;
            for (i, p) in long.iter().enumerate() {
                black_box(t.process(&pkt(i, p, &payload), &mut sink));
            }
            t.finish(&mut sink);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
