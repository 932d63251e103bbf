//! BPF capture filters applied to frames from files (tcpdump's expression language),
//! through libpcap: `pcap_open_dead` + `pcap_compile` + `pcap_offline_filter`.
//!
//! A BPF program is compiled for one link type, and a pcapng file may mix several, so a
//! [`BpfFilter`] keeps one program per link type, compiled the first time a frame of
//! that type is seen.

use pcap::{BpfProgram, Capture, Linktype};

use super::error::{CaptureError, ErrorKind};
use crate::base::LinkType;

/// A compiled capture filter; see the module docs.
pub struct BpfFilter {
    expr: String,
    programs: Vec<(LinkType, BpfProgram)>,
}

impl std::fmt::Debug for BpfFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BpfFilter")
            .field("expr", &self.expr)
            .finish()
    }
}

/// The DLT value libpcap's dead handle wants for a file's LINKTYPE: they are equal except
/// for raw IP, whose LINKTYPE 101 (and the OpenBSD 14) is DLT_RAW 12 on Linux.
fn dlt(link: LinkType) -> i32 {
    match link.0 {
        101 | 14 => 12,
        n => n as i32,
    }
}

fn compile_one(expr: &str, link: LinkType) -> Result<BpfProgram, CaptureError> {
    let bad = |message: String| {
        CaptureError::plain(ErrorKind::Filter {
            expr: expr.to_string(),
            message,
        })
    };
    let dead = Capture::dead(Linktype(dlt(link))).map_err(|e| bad(e.to_string()))?;
    dead.compile(expr, true).map_err(|e| {
        bad(format!(
            "{} (link type {link})",
            e.to_string().trim_start_matches("libpcap error: ")
        ))
    })
}

impl BpfFilter {
    /// Compiles `expr` for `link`. The snapshot length of libpcap's dead handle is fixed at
    /// 65535 by the `pcap` crate; `_snaplen` is accepted for the day that changes and does
    /// not alter which packets match.
    pub fn compile(expr: &str, link: LinkType, _snaplen: u32) -> Result<BpfFilter, CaptureError> {
        let prog = compile_one(expr, link)?;
        Ok(BpfFilter {
            expr: expr.to_string(),
            programs: vec![(link, prog)],
        })
    }

    /// Compiles `expr` for every link type in `links` (e.g. all interfaces of a file).
    pub fn compile_for(expr: &str, links: &[LinkType]) -> Result<BpfFilter, CaptureError> {
        let mut f = BpfFilter {
            expr: expr.to_string(),
            programs: Vec::new(),
        };
        for &l in links {
            f.program(l)?;
        }
        Ok(f)
    }

    pub fn expr(&self) -> &str {
        &self.expr
    }

    fn program(&mut self, link: LinkType) -> Result<&BpfProgram, CaptureError> {
        let i = match self.programs.iter().position(|(l, _)| *l == link) {
            Some(i) => i,
            None => {
                let p = compile_one(&self.expr, link)?;
                self.programs.push((link, p));
                self.programs.len() - 1
            }
        };
        Ok(&self.programs[i].1)
    }

    /// Whether a frame of link type `link` matches. The first frame of a new link type
    /// compiles the expression for it, which can fail (e.g. `ether host` on raw IP).
    /// libpcap sees the captured bytes as both captured and original length.
    pub fn matches(&mut self, link: LinkType, data: &[u8]) -> Result<bool, CaptureError> {
        Ok(self.program(link)?.filter(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::open;
    use crate::testutil::shared_capture;

    /// Ethernet (optionally one VLAN tag) → IPv4/IPv6 → TCP ports, decoded by hand.
    fn tcp_ports(d: &[u8]) -> Option<(u16, u16)> {
        let mut off = 12;
        let mut et = u16::from_be_bytes([*d.get(off)?, *d.get(off + 1)?]);
        if et == 0x8100 {
            off += 4;
            et = u16::from_be_bytes([*d.get(off)?, *d.get(off + 1)?]);
        }
        let ip = off + 2;
        let (proto, l4) = match et {
            0x0800 => (*d.get(ip + 9)?, ip + usize::from(d.get(ip)? & 0x0f) * 4),
            0x86dd => (*d.get(ip + 6)?, ip + 40),
            _ => return None,
        };
        if proto != 6 {
            return None;
        }
        Some((
            u16::from_be_bytes([*d.get(l4)?, *d.get(l4 + 1)?]),
            u16::from_be_bytes([*d.get(l4 + 2)?, *d.get(l4 + 3)?]),
        ))
    }

    #[test]
    fn tcp_port_filter_matches_hand_decoding() {
        for (rel, port) in [
            ("zeek/web.pcap", 80u16),
            ("zeek/tls-chrome-34-google.pcap", 443),
            ("zeek/http-post.pcap", 80),
        ] {
            let mut src = open(&shared_capture(rel)).unwrap();
            let mut f =
                BpfFilter::compile(&format!("tcp port {port}"), LinkType::ETHERNET, 65535).unwrap();
            let (mut by_bpf, mut by_hand, mut total) = (0, 0, 0);
            while let Some(fr) = src.next_frame().unwrap() {
                total += 1;
                by_bpf += usize::from(f.matches(fr.meta.link, fr.data).unwrap());
                by_hand +=
                    usize::from(tcp_ports(fr.data).is_some_and(|(s, d)| s == port || d == port));
            }
            assert!(by_hand > 0, "{rel}");
            assert_eq!(by_bpf, by_hand, "{rel}");
            // And its negation takes the rest.
            let mut src = open(&shared_capture(rel)).unwrap();
            let mut n =
                BpfFilter::compile(&format!("not tcp port {port}"), LinkType::ETHERNET, 65535)
                    .unwrap();
            let mut rest = 0;
            while let Some(fr) = src.next_frame().unwrap() {
                rest += usize::from(n.matches(fr.meta.link, fr.data).unwrap());
            }
            assert_eq!(rest, total - by_hand, "{rel}");
        }
    }

    #[test]
    fn one_program_per_link_type() {
        // test006 mixes Ethernet (1) and NULL (0) interfaces; raw IP uses DLT 12.
        let mut src = open(&shared_capture("pcapng-test-generator/test006.pcapng")).unwrap();
        let mut f = BpfFilter::compile("len >= 0", LinkType::ETHERNET, 0).unwrap();
        let mut n = 0;
        while let Some(fr) = src.next_frame().unwrap() {
            n += usize::from(f.matches(fr.meta.link, fr.data).unwrap());
        }
        assert_eq!(n, 5);
        assert_eq!(f.programs.len(), 2);
        let mut src = open(&shared_capture("tcpdump/LINKTYPE_RAW_ipv4.pcap")).unwrap();
        let fr = src.next_frame().unwrap().unwrap();
        assert_eq!(fr.meta.link, LinkType::RAW);
        let mut f = BpfFilter::compile_for("ip", &[LinkType::RAW]).unwrap();
        assert!(f.matches(fr.meta.link, fr.data).unwrap());
        let mut f = BpfFilter::compile_for("ip6", &[LinkType::RAW]).unwrap();
        assert!(!f.matches(fr.meta.link, fr.data).unwrap());
    }

    #[test]
    fn bad_expression_is_a_clear_error() {
        let e = BpfFilter::compile("tcp prot 80", LinkType::ETHERNET, 65535).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("bad capture filter \"tcp prot 80\": "), "{s}");
        assert!(s.contains("syntax error"), "{s}");
        assert!(!s.contains('\n'));
        let e =
            BpfFilter::compile("ether host 00:11:22:33:44:55", LinkType::RAW, 65535).unwrap_err();
        assert!(e.to_string().contains("link type 101"), "{e}");
    }
}
