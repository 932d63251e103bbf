//! Community ID v1 flow hashing (<https://github.com/corelight/community-id-spec>), so
//! a connection can be matched against Zeek, Suricata or Wireshark logs of the same
//! traffic. SHA-1 and base64 are implemented here (a few dozen lines) rather than
//! pulling crates for one call per connection.

use std::net::IpAddr;

/// SHA-1 (FIPS 180-4). Used only for Community ID, not for anything security-relevant.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let bit_len = (data.len() as u64).wrapping_mul(8);
    let mut msg = Vec::with_capacity(data.len() + 72);
    msg.extend_from_slice(data);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, c) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, v) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// ICMP types that come in request/reply pairs map to their counterpart (spec §"ICMP");
/// `None` means one-way (then the code stands in for the destination port).
fn icmp_counterpart(v6: bool, t: u8) -> Option<u8> {
    let pairs: &[(u8, u8)] = if v6 {
        &[(128, 129), (133, 134), (135, 136), (130, 131), (144, 145)]
    } else {
        &[(8, 0), (13, 14), (15, 16), (10, 9), (17, 18)]
    };
    pairs.iter().find_map(|&(a, b)| {
        if a == t {
            Some(b)
        } else if b == t {
            Some(a)
        } else {
            None
        }
    })
}

/// Community ID v1 for a flow. `proto` is the IP protocol number (6, 17, 1, 58, ...).
/// For ICMP/ICMPv6 pass the type as `sport` and the code as `dport`.
pub fn community_id(
    seed: u16,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
) -> String {
    let (mut sp, mut dp) = (sport, dport);
    let mut one_way = false;
    if proto == 1 || proto == 58 {
        match icmp_counterpart(proto == 58, sport as u8) {
            Some(c) => dp = c as u16,
            None => one_way = true,
        }
    }
    let (mut s, mut d) = (ip_bytes(src), ip_bytes(dst));
    // Order so the "smaller" endpoint comes first, unless the ICMP type is one-way.
    if !one_way && (d.as_slice(), dp) < (s.as_slice(), sp) {
        std::mem::swap(&mut s, &mut d);
        std::mem::swap(&mut sp, &mut dp);
    }
    let mut buf = Vec::with_capacity(2 + 32 + 6);
    buf.extend_from_slice(&seed.to_be_bytes());
    buf.extend_from_slice(&s);
    buf.extend_from_slice(&d);
    buf.push(proto);
    buf.push(0);
    if matches!(proto, 1 | 6 | 17 | 58 | 132) {
        buf.extend_from_slice(&sp.to_be_bytes());
        buf.extend_from_slice(&dp.to_be_bytes());
    }
    format!("1:{}", base64(&sha1(&buf)))
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn sha1_known_answers() {
        // FIPS 180 examples.
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
    }

    #[test]
    fn base64_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn spec_tcp_vector_both_directions() {
        let a: IpAddr = "128.232.110.120".parse().unwrap();
        let b: IpAddr = "66.35.250.204".parse().unwrap();
        assert_eq!(
            community_id(0, a, b, 6, 34855, 80),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            community_id(0, b, a, 6, 80, 34855),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        // A different seed changes the hash.
        assert_ne!(
            community_id(1, a, b, 6, 34855, 80),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
    }

    /// Vectors computed by tshark 4.0.17 (`--enable-protocol communityid`, seed 0) on
    /// the shared corpus (file and frame named per case).
    #[test]
    fn tshark_vectors() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // zeek/http-get-gzip.pcap frame 1 (TCP SYN)
        assert_eq!(
            community_id(0, ip("141.142.228.5"), ip("54.243.118.187"), 6, 50153, 80),
            "1:sSwqNMUITelgfp6OCeS3Fj/C3v4="
        );
        // zeek/dns-edns-ecs.pcap first UDP frame (a DNS response, server first)
        assert_eq!(
            community_id(0, ip("192.168.120.21"), ip("192.168.90.10"), 17, 53, 64006),
            "1:PJHJH5AzGX9Q8zo7qZdttQQQUAg="
        );
        // zeek/icmp-5-pings.pcap frames 1 and 2: request and reply hash alike
        assert_eq!(
            community_id(0, ip("172.16.133.2"), ip("172.217.11.78"), 1, 8, 0),
            "1:gp8b/PCBmrLjQ2f9cKsFjc1+900="
        );
        assert_eq!(
            community_id(0, ip("172.217.11.78"), ip("172.16.133.2"), 1, 0, 0),
            "1:gp8b/PCBmrLjQ2f9cKsFjc1+900="
        );
        // zeek/ipv6-http-atomic-frag.pcap: neighbor advertisement / solicitation, TCP
        assert_eq!(
            community_id(0, ip("2001:db8:1::1"), ip("2001:db8:1::2"), 58, 136, 0),
            "1:on65FKMd1L8JTxiqb1eHl08W6vY="
        );
        assert_eq!(
            community_id(0, ip("2001:db8:1::2"), ip("ff02::1:ff00:1"), 58, 135, 0),
            "1:1xcy2WHsKWPsze9lcUH+U6VVX5A="
        );
        assert_eq!(
            community_id(0, ip("2001:db8:1::1"), ip("2001:db8:1::2"), 6, 80, 36951),
            "1:Lemoi9vhwjyfeAvtAyITzfiUEeo="
        );
    }
}
