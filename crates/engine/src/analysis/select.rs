//! Display filters in a streaming run (the CLI's `-Y`): [`PacketMatcher`] evaluates a
//! [`Filter`] on each packet as the engine produces it, and on finished connections
//! ([`PacketMatcher::matches_conn`]) for `conns -Y`.
//!
//! `conn.state` and `conn.name` are only known when a connection ends, after its
//! packets were printed. A filter that reads them needs the outcomes up front:
//! [`PacketMatcher::needs_outcomes`] tells the caller to make a first pass over the
//! file collecting them ([`PacketMatcher::set_outcomes`]) and to filter in a second.

use std::collections::HashMap;
use std::net::IpAddr;

use super::engine::{EngineConfig, PacketSummary};
use super::index::{FilterContext, Redecoder};
use super::packet_view::{needs_app, needs_outcome, ConnOutcome, PacketView};
use crate::base::ConnId;
use crate::capture::Frame;
use crate::filter::fields::{self, Field};
use crate::filter::{FieldId, Filter, Record, Value};
use crate::flow::ConnProto;
use crate::story::{AppKind, ConnRecord};

/// A compiled display filter plus the per-file state evaluating it needs.
pub struct PacketMatcher {
    filter: Filter,
    context: FilterContext,
    redecoder: Redecoder,
    app: bool,
    outcome: bool,
    outcomes: HashMap<u32, ConnOutcome>,
}

impl PacketMatcher {
    pub fn new(filter: Filter) -> Self {
        let app = filter.fields_used().any(needs_app);
        let outcome = filter.fields_used().any(needs_outcome);
        PacketMatcher {
            filter,
            context: FilterContext::default(),
            redecoder: Redecoder::default(),
            app,
            outcome,
            outcomes: HashMap::new(),
        }
    }

    /// Turns on what the engine must produce for this filter (application fields only
    /// when `dns.*`, `http.*` or `tls.*` fields are read).
    pub fn configure(&self, cfg: &mut EngineConfig) {
        cfg.want_app_fields |= self.app;
    }

    /// Whether `conn.state`/`conn.name` are used (see the module docs).
    pub fn needs_outcomes(&self) -> bool {
        self.outcome
    }

    pub fn set_outcomes(&mut self, outcomes: HashMap<ConnId, ConnOutcome>) {
        self.outcomes = outcomes.into_iter().map(|(k, v)| (k.0, v)).collect();
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Whether the packet matches. Call for every packet in order (the stream
    /// numbers, timings and DNS query times advance on each call).
    pub fn matches(&mut self, frame: &Frame<'_>, s: &PacketSummary) -> bool {
        let (context, filter, outcomes) = (&mut self.context, &self.filter, &self.outcomes);
        self.redecoder.with(frame, |pkt, whole| {
            let step = context.next(whole.unwrap_or(pkt), s);
            filter.matches(&PacketView {
                id: s.id,
                len: s.len,
                caplen: s.caplen,
                rel: step.rel,
                delta: step.delta,
                pkt,
                whole,
                row: step.row,
                tcp_rel: step.tcp_rel,
                stream: context.stream(step.row.conn()),
                notes: &s.notes,
                tls: s.tls.as_deref(),
                dns_time: step.dns_time,
                outcome: step.row.conn().and_then(|c| outcomes.get(&c.0)),
            })
        })
    }

    /// Whether a finished connection's own fields match (conn.*, the endpoints as
    /// ip/ipv6/tcp/udp fields, its stream number, its application). `conns -Y` keeps a
    /// connection when this holds or any of its packets matched.
    pub fn matches_conn(&self, c: &ConnRecord, name: Option<&str>) -> bool {
        let view = ConnView {
            c,
            name,
            stream: self.context.stream(Some(c.conn.id)),
        };
        self.filter.matches(&view)
    }
}

/// `conns -Y`'s own-fields test over a loaded file's [`super::FilterIndex`] (the TUI's
/// Connections view under `/`): the same [`Record`] as
/// [`PacketMatcher::matches_conn`], with the stream number the index assigned.
pub fn conn_matches(
    index: &super::FilterIndex,
    filter: &Filter,
    c: &ConnRecord,
    name: Option<&str>,
) -> bool {
    filter.matches(&ConnView {
        c,
        name,
        stream: index.stream(c.conn.id),
    })
}

/// A connection as a filter sees it.
struct ConnView<'a> {
    c: &'a ConnRecord,
    name: Option<&'a str>,
    stream: Option<u32>,
}

impl Record for ConnView<'_> {
    fn visit(&self, field: FieldId, f: &mut dyn FnMut(Value<'_>) -> bool) {
        let Some(def) = fields::get(field) else {
            return;
        };
        let c = &self.c.conn;
        let (cl, sv) = (c.client, c.server);
        let tcp = c.proto == ConnProto::Tcp;
        let udp = c.proto == ConnProto::Udp;
        let v4 = cl.ip.is_ipv4();
        let two_ips = |f: &mut dyn FnMut(Value<'_>) -> bool, a: IpAddr, b: IpAddr| {
            let _ = f(Value::Ip(a)) || f(Value::Ip(b));
        };
        match def.field {
            Field::Frame | Field::Conn => {
                f(Value::Present);
            }
            Field::Ip if v4 => {
                f(Value::Present);
            }
            Field::Ipv6 if !v4 => {
                f(Value::Present);
            }
            Field::Tcp if tcp => {
                f(Value::Present);
            }
            Field::Udp if udp => {
                f(Value::Present);
            }
            Field::Dns if self.c.app == Some(AppKind::Dns) => {
                f(Value::Present);
            }
            Field::Http if self.c.app == Some(AppKind::Http) => {
                f(Value::Present);
            }
            Field::Tls if self.c.app == Some(AppKind::Tls) => {
                f(Value::Present);
            }
            Field::IpAddr if v4 => two_ips(f, cl.ip, sv.ip),
            Field::Ipv6Addr if !v4 => two_ips(f, cl.ip, sv.ip),
            Field::TcpPort | Field::UdpPort
                if (tcp && def.field == Field::TcpPort) || (udp && def.field == Field::UdpPort) =>
            {
                let _ = f(Value::UInt(u64::from(cl.port))) || f(Value::UInt(u64::from(sv.port)));
            }
            Field::TcpStream if tcp => {
                if let Some(s) = self.stream {
                    f(Value::UInt(u64::from(s)));
                }
            }
            Field::UdpStream if udp => {
                if let Some(s) = self.stream {
                    f(Value::UInt(u64::from(s)));
                }
            }
            Field::ConnId => {
                f(Value::UInt(u64::from(c.id.0)));
            }
            Field::ConnState => {
                f(Value::Str(c.state().as_bytes()));
            }
            Field::ConnName => {
                if let Some(n) = self.name {
                    f(Value::Str(n.as_bytes()));
                }
            }
            Field::ConnClient => {
                f(Value::Ip(cl.ip));
            }
            Field::ConnServer => {
                f(Value::Ip(sv.ip));
            }
            Field::HttpHost => {
                if let Some(h) = &self.c.http_host {
                    f(Value::Str(h.as_bytes()));
                }
            }
            Field::TlsSni => {
                if let Some(s) = self.c.tls.as_ref().and_then(|t| t.sni.as_ref()) {
                    f(Value::Str(s.as_bytes()));
                }
            }
            _ => {}
        }
    }
}
