//! Which protocols a packet shows, as a few bits: what a re-filter needs to decide a
//! bare protocol test (`http`, `dns`, `tls`, `quic`, `http2`, `http3`, their negations
//! and combinations) without decoding the packet's notes or its frame.
//!
//! The six protocol fields below read only a packet's application notes (which kinds
//! it completed), its TLS facts and, for `dns`, its ports and transport (tshark's
//! `dns` is port 53; see [`PacketView`]). While indexing, the filter index records
//! [`Presence::of`] the packet's own [`PacketView`] for every packet with notes, so a
//! re-filter answers those tests with exactly the values the full evaluation would
//! read ([`Presence`] is a [`Record`] giving only them).

use std::sync::OnceLock;

use super::packet_view::PacketView;
use crate::filter::fields::{self, Field};
use crate::filter::{FieldId, Record, Value};

/// The protocol-presence fields, bit 0 first.
const FIELDS: [Field; 6] = [
    Field::Dns,
    Field::Http,
    Field::Tls,
    Field::Http2,
    Field::Quic,
    Field::Http3,
];

/// The bits of `dns` and `tls` in a [`Presence`].
pub(crate) const DNS: u8 = 1;
pub(crate) const TLS: u8 = 4;

/// The bit of a protocol-presence field, `None` for every other field.
fn bit(field: FieldId) -> Option<u8> {
    let f = field.field()?;
    FIELDS.iter().position(|&x| x == f).map(|i| 1 << i)
}

/// Whether `field` is one of the protocol-presence fields a [`Presence`] tells.
pub(crate) fn is_presence(field: FieldId) -> bool {
    bit(field).is_some()
}

/// The registry ids of [`FIELDS`].
fn ids() -> &'static [FieldId; 6] {
    static IDS: OnceLock<[FieldId; 6]> = OnceLock::new();
    IDS.get_or_init(|| {
        FIELDS.map(|f| {
            fields::all()
                .iter()
                .find(|d| d.field == f)
                .map_or(FieldId(u16::MAX), |d| d.id)
        })
    })
}

/// The protocol-presence fields one packet shows: bit `i` set when `FIELDS[i]` is
/// present. As a [`Record`] it gives those fields (and no other field any value).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Presence(pub(crate) u8);

impl Presence {
    /// What the full evaluation reads of the six fields on `view`.
    pub(crate) fn of(view: &PacketView<'_>) -> Presence {
        let mut bits = 0;
        for (i, &id) in ids().iter().enumerate() {
            let mut present = false;
            view.visit(id, &mut |_| {
                present = true;
                true
            });
            if present {
                bits |= 1 << i;
            }
        }
        Presence(bits)
    }
}

impl Record for Presence {
    fn visit(&self, field: FieldId, f: &mut dyn FnMut(Value<'_>) -> bool) {
        if bit(field).is_some_and(|b| self.0 & b != 0) {
            f(Value::Present);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Filter;

    fn id(name: &str) -> FieldId {
        fields::lookup(name).unwrap().id
    }

    #[test]
    fn bits_of_the_six_protocols_and_nothing_else() {
        let bits: Vec<u8> = ["dns", "http", "tls", "http2", "quic", "http3"]
            .iter()
            .map(|n| bit(id(n)).unwrap())
            .collect();
        assert_eq!(bits, [1, 2, 4, 8, 16, 32]);
        assert_eq!(bit(id("dns")), Some(DNS));
        assert_eq!(bit(id("tls")), Some(TLS));
        for name in [
            "tcp",
            "udp",
            "dns.qry.name",
            "http.host",
            "tls.sni",
            "ip.addr",
        ] {
            assert!(!is_presence(id(name)), "{name}");
        }
        assert!(is_presence(id("ssl")));
        assert!(!is_presence(FieldId(u16::MAX)));
    }

    /// A filter on the six fields alone is decided by the bits; one that reads any
    /// other field is left open unless the bits settle it.
    #[test]
    fn decides_presence_filters() {
        let decide = |expr: &str, bits: u8| {
            Filter::compile(expr)
                .unwrap()
                .decide(&is_presence, &Presence(bits))
        };
        assert_eq!(decide("http", 2), Some(true));
        assert_eq!(decide("http", 1), Some(false));
        assert_eq!(decide("dns || http", 1), Some(true));
        assert_eq!(decide("tls and !http", 4), Some(true));
        assert_eq!(decide("tls and !http", 6), Some(false));
        assert_eq!(decide("!quic", 16), Some(false));
        assert_eq!(decide("http && tcp.port == 80", 1), Some(false));
        assert_eq!(decide("http && tcp.port == 80", 2), None);
        assert_eq!(decide("http.host == \"a\"", 2), None);
    }
}
