//! What a re-filter tells of the connections' own fields (`conns -Y`'s view of a
//! connection, `select::ConnView`): from the first decoded regular packet of each
//! connection ([`ConnVerdicts`]) or from its application kind alone
//! ([`conn_app_verdict`]), so a filtered connection list decodes only the records
//! these leave open.

use super::{NO, YES};
use crate::base::ConnId;
use crate::filter::{FieldId, Filter};

/// The fields one regular packet of a connection gives as the connection's record
/// does (`FlowTuple`): the protocols up to the transport, `ip.addr`/`ipv6.addr` and the
/// ports (both ends, as sets), the stream number and `conn.id`.
fn flow_tuple_field(field: FieldId) -> bool {
    use crate::filter::fields::Field::*;
    matches!(
        field.field(),
        Some(
            Ip | Ipv6
                | Tcp
                | Udp
                | IpAddr
                | Ipv6Addr
                | TcpPort
                | UdpPort
                | TcpStream
                | UdpStream
                | ConnId
        )
    )
}

/// Whether `conns -Y`'s view of a connection (`select::conn_matches`) gives `field`
/// the values a regular packet of the connection gives it: `frame`, `conn` and the
/// [`flow_tuple_field`]s. A filter these decide on one regular packet is decided for
/// the connection's own fields too ([`ConnVerdicts`]). Not the client/server fields
/// (roles read from the row's direction) nor the outcome ones (recorded apart).
pub(super) fn conn_constant(field: FieldId) -> bool {
    use crate::filter::fields::Field::*;
    matches!(field.field(), Some(Frame | Conn)) || flow_tuple_field(field)
}

/// Whether `conns -Y`'s view of a connection (`select::ConnView`) gives `field` values
/// that its application kind alone decides: `dns`, `http`, `tls` (the kind), `frame`
/// and `conn` (always present) and every field that view never gives a value (absent
/// on every connection). Not the endpoints, stream, id, outcome or the host and SNI
/// the record keeps (`tests/filter_index.rs` checks the list against the view).
fn app_decided(field: FieldId) -> bool {
    use crate::filter::fields::Field::*;
    !(flow_tuple_field(field)
        || matches!(
            field.field(),
            Some(ConnState | ConnName | ConnClient | ConnServer | HttpHost | TlsSni)
        ))
}

/// A connection's fields as far as its application kind tells them (see
/// [`app_decided`]).
struct AppFields(Option<crate::story::AppKind>);

impl crate::filter::Record for AppFields {
    fn visit(&self, field: FieldId, f: &mut dyn FnMut(crate::filter::Value<'_>) -> bool) {
        use crate::filter::fields::Field::*;
        use crate::story::AppKind;
        let present = match field.field() {
            Some(Frame | Conn) => true,
            Some(Dns) => self.0 == Some(AppKind::Dns),
            Some(Http) => self.0 == Some(AppKind::Http),
            Some(Tls) => self.0 == Some(AppKind::Tls),
            _ => false,
        };
        if present {
            f(crate::filter::Value::Present);
        }
    }
}

/// `select::conn_matches`'s answer for every connection whose application kind is
/// `app`, when the kind alone decides it: a connection list then need not decode the
/// record (`dns` over 2.1 M connections of the 5 GB capture).
pub fn conn_app_verdict(filter: &Filter, app: Option<crate::story::AppKind>) -> Option<bool> {
    filter.decide(&app_decided, &AppFields(app))
}

/// What a re-filter learnt of the connections' own fields: for each connection with a
/// regular packet whose tests on [`conn_constant`] fields decide the filter, that
/// answer, which is also `select::conn_matches`'s on its record (so a list of
/// connections need not decode those records). Two bits a connection, only while a
/// filter is set.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct ConnVerdicts {
    decided: Vec<u64>,
    yes: Vec<u64>,
}

impl ConnVerdicts {
    /// The filter's answer on connection `conn`'s own fields, when known.
    pub fn get(&self, conn: ConnId) -> Option<bool> {
        let (w, b) = (conn.0 as usize / 64, conn.0 % 64);
        let decided = self.decided.get(w).is_some_and(|x| x & (1 << b) != 0);
        decided.then(|| self.yes.get(w).is_some_and(|x| x & (1 << b) != 0))
    }

    /// Connections with an answer.
    pub fn len(&self) -> usize {
        self.decided.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// From one byte a connection (`UNSEEN`, `NO`, `YES`, `OPEN`), merged over
    /// the parts of a split re-filter (their answers on one connection agree).
    pub(super) fn from_memos(memos: &[Vec<u8>]) -> ConnVerdicts {
        let n = memos.iter().map(Vec::len).max().unwrap_or(0);
        let words = n.div_ceil(64);
        let mut v = ConnVerdicts {
            decided: vec![0; words],
            yes: vec![0; words],
        };
        for m in memos {
            for (c, &x) in m.iter().enumerate() {
                let (w, b) = (c / 64, c % 64);
                if x == NO || x == YES {
                    v.decided[w] |= 1 << b;
                }
                if x == YES {
                    v.yes[w] |= 1 << b;
                }
            }
        }
        v
    }
}
