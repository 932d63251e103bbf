//! Numbers and addresses written straight into a line, as `Display` writes them, without
//! the formatter: a story of many short connections writes a dozen of them per page
//! (ids, ports, addresses, counts, milliseconds), and `core::fmt` with its padding
//! logic was ~4 % of telling it.

use std::fmt::Write;
use std::net::IpAddr;

use crate::base::Endpoint;

/// `n`'s decimal digits, at the end of the buffer from the returned index on.
fn decimal(mut n: u64) -> ([u8; 20], usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return (buf, i);
        }
    }
}

/// `n` in decimal, as `{}` writes it.
pub fn push_u64(out: &mut String, n: u64) {
    let (buf, at) = decimal(n);
    out.extend(buf[at..].iter().map(|&b| char::from(b)));
}

/// `n` with a comma between groups of three digits (`2,549`), as
/// `base::elide::thousands` writes it, without its two allocations.
pub fn push_grouped(out: &mut String, n: u64) {
    let (buf, at) = decimal(n);
    let len = buf.len() - at;
    for (i, &d) in buf[at..].iter().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(char::from(d));
    }
}

/// The last `width` decimal digits of `n`, zeros first: `{:0width$}` of an `n` below
/// 10^width.
pub fn push_padded(out: &mut String, mut n: u64, width: usize) {
    let mut buf = [0u8; 20];
    let width = width.min(buf.len());
    for d in buf[..width].iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend(buf[..width].iter().map(|&b| char::from(b)));
}

/// An address as `IpAddr`'s `Display` writes it (IPv6 through it).
pub fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            let [a, b, c, d] = a.octets();
            push_u64(out, a.into());
            out.push('.');
            push_u64(out, b.into());
            out.push('.');
            push_u64(out, c.into());
            out.push('.');
            push_u64(out, d.into());
        }
        IpAddr::V6(_) => {
            let _ = write!(out, "{ip}");
        }
    }
}

/// An endpoint as its `Display` writes it: `198.18.0.10:80`, `[2001:db8::1]:80`.
pub fn push_endpoint(out: &mut String, e: Endpoint) {
    match e.ip {
        IpAddr::V4(_) => {
            push_ip(out, e.ip);
            out.push(':');
            push_u64(out, e.port.into());
        }
        IpAddr::V6(_) => {
            let _ = write!(out, "{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        let mut n: Vec<u64> = (0..2000).collect();
        n.extend([
            9_999,
            10_000,
            99_999_999,
            u64::from(u32::MAX),
            u64::MAX,
            u64::MAX - 1,
        ]);
        n.extend((0..64).map(|s| 1u64 << s));
        for v in n {
            let mut s = String::from("x");
            push_u64(&mut s, v);
            assert_eq!(s, format!("x{v}"));
            for w in 1..=3 {
                let m = v % 10u64.pow(w as u32);
                let mut s = String::new();
                push_padded(&mut s, m, w);
                assert_eq!(s, format!("{m:0w$}"), "{m} {w}");
            }
        }
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        let ips: Vec<IpAddr> = [
            "0.0.0.0",
            "198.18.1.9",
            "255.255.255.255",
            "10.0.100.1",
            "::",
            "::1",
            "2001:db8::1",
            "::ffff:198.18.0.1",
            "fe80::1:2:3:4",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        for ip in ips {
            for port in [0u16, 1, 80, 443, 8080, 65535] {
                let e = Endpoint::new(ip, port);
                let mut s = String::new();
                push_endpoint(&mut s, e);
                assert_eq!(s, e.to_string());
                let mut s = String::new();
                push_ip(&mut s, ip);
                assert_eq!(s, ip.to_string());
            }
        }
    }
}
