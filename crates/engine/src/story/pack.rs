//! The story's records as it holds them while they wait: packed into bytes (see
//! `flow::pack`), ~100 bytes for a short connection or an exchange where the engine's
//! records take ~600 plus their strings.
//!
//! The streaming story ([`StoryStream`](super::StoryStream)) holds every record of its
//! window: gathered per client until a grouping makes their page final, then, per final
//! page, until the page's turn to be told. Packing is lossless (a record unpacks equal
//! in every field, the tests compare them on every shared capture), so grouping and
//! narration read exactly what they would have read from the engine's record, and the
//! story told is the same byte for byte. Records with a part that is not packed (TLS or
//! QUIC summaries, anomalies, a tunnel, ICMP errors) are held whole.

use super::narrate::Narrator;
use super::stream::{story_page, StoryPage};
use super::{AppKind, ConnName, ConnRecord, HttpRecord, NameSource, Page, StoryInput};
use crate::base::{ConnId, PacketId, Timestamp};
use crate::flow::pack::{pack_conn, pack_exact, unpack_conn, Dec, Enc};
use crate::flow::FxHashMap;
use crate::proto::dns::DnsTransaction;
use crate::proto::http::{HttpTransaction, Transfer, Version};

/// A record held packed, or whole when it cannot be packed.
pub(crate) enum Held<T> {
    Packed(Box<[u8]>),
    Whole(Box<T>),
}

/// A record the story can hold packed.
pub(crate) trait Hold: Sized {
    /// Appends the record to `e`; None when it has a part that is not packed.
    fn pack(&self, e: &mut Enc) -> Option<()>;
    fn unpack(d: &mut Dec<'_>) -> Self;

    fn hold(self) -> Held<Self> {
        match pack_exact(|e| self.pack(e)) {
            Some(b) => Held::Packed(b),
            None => Held::Whole(Box::new(self)),
        }
    }
}

/// Packed bytes of a record, when it was packed.
pub(crate) type Bytes = Option<Box<[u8]>>;

impl<T: Hold> Held<T> {
    /// The record, and its bytes when it was packed (a record kept for later is held
    /// again by them, not packed again).
    pub(crate) fn open(self) -> (T, Bytes) {
        match self {
            Held::Packed(b) => (T::unpack(&mut Dec::new(&b)), Some(b)),
            Held::Whole(r) => (*r, None),
        }
    }

    /// `f` of the record, reading it from its bytes when packed.
    pub(crate) fn peek<K>(&self, f: impl Fn(&T) -> K) -> K {
        match self {
            Held::Packed(b) => f(&T::unpack(&mut Dec::new(b))),
            Held::Whole(r) => f(r),
        }
    }

    /// Holds `r` again: by its bytes when it had them.
    pub(crate) fn again(r: T, bytes: Bytes) -> Self {
        match bytes {
            Some(b) => Held::Packed(b),
            None => r.hold(),
        }
    }
}

fn app_code(a: Option<AppKind>) -> u8 {
    match a {
        None => 0,
        Some(AppKind::Http) => 1,
        Some(AppKind::Tls) => 2,
        Some(AppKind::Dns) => 3,
        Some(AppKind::Quic) => 4,
    }
}

fn app_of(c: u8) -> Option<AppKind> {
    match c {
        1 => Some(AppKind::Http),
        2 => Some(AppKind::Tls),
        3 => Some(AppKind::Dns),
        4 => Some(AppKind::Quic),
        _ => None,
    }
}

impl Held<ConnRecord> {
    /// The connection's id, read without unpacking the rest: packed, it is the first
    /// value (`pack_conn` writes it first).
    pub(crate) fn conn_id(&self) -> ConnId {
        match self {
            Held::Packed(b) => ConnId(Dec::new(b).u32()),
            Held::Whole(r) => r.conn.id,
        }
    }
}

impl Hold for ConnRecord {
    fn pack(&self, e: &mut Enc) -> Option<()> {
        if self.tls.is_some() || self.quic.is_some() || !self.tls_anomalies.is_empty() {
            return None;
        }
        pack_conn(&self.conn, e)?;
        e.u8(app_code(self.app));
        e.opt_str(self.http_host.as_deref());
        e.u64(u64::from(self.http_count));
        Some(())
    }

    fn unpack(d: &mut Dec<'_>) -> Self {
        ConnRecord {
            conn: unpack_conn(d),
            app: app_of(d.u8()),
            tls: None,
            tls_anomalies: Vec::new(),
            quic: None,
            http_host: d.opt_str(),
            http_count: d.u32(),
        }
    }
}

fn opt_version(e: &mut Enc, v: Option<Version>) {
    match v {
        None => e.u8(0),
        Some(v) => {
            e.u8(1);
            e.u8(v.major);
            e.u8(v.minor);
        }
    }
}

fn version(d: &mut Dec<'_>) -> Option<Version> {
    match d.u8() {
        0 => None,
        _ => Some(Version {
            major: d.u8(),
            minor: d.u8(),
        }),
    }
}

fn opt_range(e: &mut Enc, r: &Option<std::ops::Range<u64>>) {
    match r {
        None => e.u8(0),
        Some(r) => {
            e.u8(1);
            e.u64(r.start);
            e.u64(r.end);
        }
    }
}

fn range(d: &mut Dec<'_>) -> Option<std::ops::Range<u64>> {
    match d.u8() {
        0 => None,
        _ => Some(d.u64()..d.u64()),
    }
}

fn opt_pkt(e: &mut Enc, p: Option<PacketId>) {
    e.opt_u64(p.map(|p| u64::from(p.0)));
}

fn pkt(d: &mut Dec<'_>) -> Option<PacketId> {
    d.opt_u64().map(|v| PacketId(v as u32))
}

fn transfer_code(t: Transfer) -> u8 {
    match t {
        Transfer::Length => 0,
        Transfer::Chunked => 1,
        Transfer::Close => 2,
        Transfer::None => 3,
    }
}

fn transfer_of(c: u8) -> Transfer {
    match c {
        0 => Transfer::Length,
        1 => Transfer::Chunked,
        2 => Transfer::Close,
        _ => Transfer::None,
    }
}

impl Hold for HttpRecord {
    fn pack(&self, e: &mut Enc) -> Option<()> {
        let t = &self.tx;
        if t.tunnel.is_some() || !t.anomalies.is_empty() {
            return None;
        }
        e.u64(u64::from(self.conn.0));
        // Times from the exchange's first instant.
        let local = t.request_ts.or(t.response_ts).unwrap_or(Timestamp(e.base));
        e.ts(local);
        let outer = e.base;
        e.base = local.0;
        e.u64(u64::from(t.seq));
        e.opt_u64(t.stream.map(u64::from));
        e.opt_str(t.method.as_deref());
        e.opt_str(t.uri.as_deref());
        opt_version(e, t.version);
        e.opt_str(t.host.as_deref());
        e.opt_str(t.user_agent.as_deref());
        e.opt_str(t.referer.as_deref());
        e.opt_ts(t.request_ts);
        e.opt_ts(t.request_end_ts);
        e.u64(t.request_body_len);
        opt_range(e, &t.request_body);
        opt_pkt(e, t.request_first_pkt);
        opt_pkt(e, t.request_head_pkt);
        opt_pkt(e, t.request_last_pkt);
        e.opt_u64(t.status.map(u64::from));
        e.opt_str(t.reason.as_deref());
        opt_version(e, t.response_version);
        e.u64(t.interim.len() as u64);
        t.interim.iter().for_each(|s| e.u64(u64::from(*s)));
        e.opt_ts(t.response_ts);
        e.opt_ts(t.response_end_ts);
        e.u64(t.response_body_len);
        opt_range(e, &t.response_body);
        opt_pkt(e, t.response_first_pkt);
        opt_pkt(e, t.response_head_pkt);
        opt_pkt(e, t.response_last_pkt);
        e.opt_str(t.content_type.as_deref());
        e.opt_str(t.content_encoding.as_deref());
        e.opt_u64(t.content_length);
        e.opt_str(t.transfer_encoding.as_deref());
        e.opt_str(t.alt_svc.as_deref());
        e.u8(transfer_code(t.transfer));
        e.bool(t.partial);
        e.base = outer;
        Some(())
    }

    fn unpack(d: &mut Dec<'_>) -> Self {
        unpack_http(d, Open::Whole).unwrap_or_else(unreachable_http)
    }
}

/// How much of an exchange to open from its bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    /// Every field.
    Whole,
    /// What a grouping reads: all but the five strings only narration reads.
    Grouping,
    /// What the grouping of an exchange that is not a document reads: also without its
    /// URI and Content-Type (read only for a document) and with a User-Agent only when
    /// it is a browser's (then just `Mozilla/`, all `pages` asks of it). None when the
    /// exchange may be a document (then opened as `Grouping`).
    Lean,
}

/// Never made: only `Open::Lean` gives up.
fn unreachable_http() -> HttpRecord {
    unreachable!("only a lean open gives up")
}

/// What a grouping reads of an exchange: everything but five strings that only the
/// narration reads (method, reason, content and transfer encodings, Alt-Svc), left
/// out (None) so a regroup does not make and free them (a record is grouped two or
/// three times while its page is not yet final). An exchange that is not a document
/// (most: a capture of many short connections has no page loads) is opened without
/// three more (see `Open::Lean`): on such a capture every regroup made and freed five
/// strings per exchange, the bulk of the grouping's allocations.
pub(crate) fn open_for_grouping(h: Held<HttpRecord>) -> (HttpRecord, Bytes) {
    match h {
        Held::Packed(b) => {
            let r = unpack_http(&mut Dec::new(&b), Open::Lean)
                .or_else(|| unpack_http(&mut Dec::new(&b), Open::Grouping))
                .unwrap_or_else(unreachable_http);
            (r, Some(b))
        }
        Held::Whole(r) => (*r, None),
    }
}

/// A record, whole, from its packed bytes.
pub(crate) fn unpack_whole<T: Hold>(b: &[u8]) -> T {
    T::unpack(&mut Dec::new(b))
}

/// An optional string, made only when `whole` (else skipped: None).
fn opt_str_if(d: &mut Dec<'_>, whole: bool) -> Option<String> {
    if whole {
        return d.opt_str();
    }
    if d.u8() != 0 {
        // A string is written as a blob is: its length, then its bytes.
        let _ = d.blob();
    }
    None
}

/// The bytes of an optional string, to read one by one (past its end: zeros); None
/// when absent. Nothing is allocated.
fn opt_str_bytes<'a>(d: &mut Dec<'a>) -> Option<Dec<'a>> {
    // A string is written as a blob is: its length, then its bytes.
    (d.u8() != 0).then(|| d.blob())
}

/// Does the string in `s` start with `prefix` (ASCII)?
fn starts_with(s: &mut Dec<'_>, prefix: &[u8]) -> bool {
    prefix.iter().all(|&c| s.u8() == c)
}

/// Whether a Content-Type is `text/html` as `pages::is_document` reads it (after
/// leading white space, the first nine bytes, ASCII case ignored); None when a
/// character that is not ASCII comes first (white space beyond ASCII: read the string).
fn html_type(s: &mut Dec<'_>) -> Option<bool> {
    let mut b = s.u8();
    while matches!(b, 0x09..=0x0d | 0x20) {
        b = s.u8();
    }
    if !b.is_ascii() {
        return None;
    }
    let mut html = b.eq_ignore_ascii_case(&b't');
    for c in &b"text/html"[1..] {
        html &= s.u8().eq_ignore_ascii_case(c);
    }
    Some(html)
}

/// An exchange from its bytes, as much as `open` says; None only for `Open::Lean` when
/// the exchange may be a document.
fn unpack_http(d: &mut Dec<'_>, open: Open) -> Option<HttpRecord> {
    let whole = open == Open::Whole;
    let lean = open == Open::Lean;
    let conn = ConnId(d.u32());
    let local = d.ts();
    let outer = d.base;
    d.base = local.0;
    let seq = d.u32();
    let stream = d.opt_u64().map(|v| v as u32);
    let method = opt_str_if(d, whole);
    let uri = opt_str_if(d, !lean);
    let request_version = version(d);
    let host = d.opt_str();
    let user_agent = if lean {
        opt_str_bytes(d)
            .and_then(|mut ua| starts_with(&mut ua, b"Mozilla/").then(|| "Mozilla/".to_string()))
    } else {
        d.opt_str()
    };
    let referer = d.opt_str();
    let request_ts = d.opt_ts();
    let request_end_ts = d.opt_ts();
    let request_body_len = d.u64();
    let request_body = range(d);
    let request_first_pkt = pkt(d);
    let request_head_pkt = pkt(d);
    let request_last_pkt = pkt(d);
    let status = d.opt_u64().map(|v| v as u16);
    let reason = opt_str_if(d, whole);
    let response_version = version(d);
    let interim = (0..d.u64()).map(|_| d.u16()).collect();
    let response_ts = d.opt_ts();
    let response_end_ts = d.opt_ts();
    let response_body_len = d.u64();
    let response_body = range(d);
    let response_first_pkt = pkt(d);
    let response_head_pkt = pkt(d);
    let response_last_pkt = pkt(d);
    let content_type = if lean {
        // `pages::is_document`: an HTML response with a 2xx or 304 status.
        let may_be_page = status.is_some_and(|s| (200..300).contains(&s) || s == 304);
        let ct = opt_str_bytes(d);
        if let (Some(mut ct), true) = (ct, may_be_page) {
            if html_type(&mut ct) != Some(false) {
                return None;
            }
        }
        None
    } else {
        d.opt_str()
    };
    let tx = HttpTransaction {
        seq,
        stream,
        method,
        uri,
        version: request_version,
        host,
        user_agent,
        referer,
        request_ts,
        request_end_ts,
        request_body_len,
        request_body,
        request_first_pkt,
        request_head_pkt,
        request_last_pkt,
        status,
        reason,
        response_version,
        interim,
        response_ts,
        response_end_ts,
        response_body_len,
        response_body,
        response_first_pkt,
        response_head_pkt,
        response_last_pkt,
        content_type,
        content_encoding: opt_str_if(d, whole),
        content_length: d.opt_u64(),
        transfer_encoding: opt_str_if(d, whole),
        alt_svc: opt_str_if(d, whole),
        transfer: transfer_of(d.u8()),
        partial: d.bool(),
        tunnel: None,
        anomalies: Vec::new(),
    };
    d.base = outer;
    Some(HttpRecord { conn, tx })
}

/// DNS transactions carry whole DNS messages: held whole (a lookup is one of many
/// records on a capture of short connections).
impl Hold for DnsTransaction {
    fn pack(&self, _: &mut Enc) -> Option<()> {
        None
    }

    fn unpack(_: &mut Dec<'_>) -> Self {
        // Never packed (see `pack`): an empty transaction, never reached.
        let nobody = crate::base::Endpoint::new(std::net::IpAddr::from([0, 0, 0, 0]), 0);
        DnsTransaction::blank(crate::proto::dns::Transport::Udp, nobody, nobody)
    }
}

fn strs(e: &mut Enc, v: &[String]) {
    e.u64(v.len() as u64);
    v.iter().for_each(|s| e.str(s));
}

fn strs_of(d: &mut Dec<'_>) -> Vec<String> {
    (0..d.u64()).map(|_| d.str()).collect()
}

fn opt_f64(e: &mut Enc, v: Option<f64>) {
    e.opt_u64(v.map(f64::to_bits));
}

fn f64_of(d: &mut Dec<'_>) -> Option<f64> {
    d.opt_u64().map(f64::from_bits)
}

fn pack_name(e: &mut Enc, n: Option<&ConnName>) {
    let Some(n) = n else {
        e.u8(0);
        return;
    };
    e.u8(1);
    e.str(&n.qname);
    strs(e, &n.chain);
    opt_f64(e, n.dns_rtt);
    opt_f64(e, n.gap);
    e.bool(n.ttl_expired);
    e.opt_u64(n.ttl.map(u64::from));
    e.u8(match n.source {
        NameSource::Dns => 0,
        NameSource::Sni => 1,
        NameSource::Host => 2,
    });
    e.opt_u64(n.dns_seq);
    strs(e, &n.also);
    e.opt_str(n.mismatch.as_deref());
}

fn unpack_name(d: &mut Dec<'_>) -> Option<ConnName> {
    if d.u8() == 0 {
        return None;
    }
    Some(ConnName {
        qname: d.str(),
        chain: strs_of(d),
        dns_rtt: f64_of(d),
        gap: f64_of(d),
        ttl_expired: d.bool(),
        ttl: d.opt_u64().map(|v| v as u32),
        source: match d.u8() {
            0 => NameSource::Dns,
            1 => NameSource::Sni,
            _ => NameSource::Host,
        },
        dns_seq: d.opt_u64(),
        also: strs_of(d),
        mismatch: d.opt_str(),
    })
}

/// One final page with just its records, packed, waiting for its turn: told from them
/// alone (its connections, names, exchanges and lookups, and each connection's first
/// exchange, which may be another page's), so nothing of its batch stays held.
pub(crate) struct PagePack {
    bytes: Box<[u8]>,
    /// Held whole (see `Hold for DnsTransaction`); most pages have none.
    dns: Vec<DnsTransaction>,
}

/// Where an exchange is in a packed page's list (the page's own exchanges, then the
/// `extra` ones its connections' first exchanges add). A page of a few records (most)
/// is searched in place; a long one through a map, as a search per connection would
/// cost the square of its size.
enum Positions {
    Few,
    Many(FxHashMap<usize, usize>),
}

/// Up to this many exchanges and connections, a page is searched in place.
const FEW: usize = 32;

impl Positions {
    fn new(own: &[usize], conns: usize) -> Self {
        if own.len() + conns <= FEW {
            Positions::Few
        } else {
            Positions::Many(own.iter().enumerate().map(|(i, &h)| (h, i)).collect())
        }
    }

    /// The position of exchange `hi`, added to `extra` when it is not in the list yet.
    fn of(&mut self, hi: usize, own: &[usize], extra: &mut Vec<usize>) -> usize {
        match self {
            Positions::Many(at) => *at.entry(hi).or_insert_with(|| {
                extra.push(hi);
                own.len() + extra.len() - 1
            }),
            // The last of equal entries, as a map collected from the list keeps.
            Positions::Few => own
                .iter()
                .rposition(|&h| h == hi)
                .or_else(|| extra.iter().position(|&h| h == hi).map(|i| own.len() + i))
                .unwrap_or_else(|| {
                    extra.push(hi);
                    own.len() + extra.len() - 1
                }),
        }
    }
}

impl PagePack {
    /// Packs page `p` of a batch (`input`, `names`, `narrator` of that batch); None when
    /// one of its records cannot be packed.
    pub(crate) fn new(
        p: &Page,
        input: &StoryInput<'_>,
        names: &[Option<ConnName>],
        narrator: &Narrator,
        bytes: (&[Bytes], &[Bytes]),
    ) -> Option<PagePack> {
        let packed = pack_exact(|e| Self::pack(e, p, input, names, narrator, bytes))?;
        let dns = p
            .dns
            .iter()
            .map(|&di| input.dns.get(di).cloned())
            .collect::<Option<Vec<_>>>()?;
        Some(PagePack { bytes: packed, dns })
    }

    fn pack(
        e: &mut Enc,
        p: &Page,
        input: &StoryInput<'_>,
        names: &[Option<ConnName>],
        narrator: &Narrator,
        bytes: (&[Bytes], &[Bytes]),
    ) -> Option<()> {
        e.u64(u64::from(p.id));
        e.ip(p.client);
        e.opt_u64(p.document.map(|d| d as u64));
        e.opt_str(p.url.as_deref());
        e.ts(p.start);
        e.base = p.start.0;
        e.ts(p.end);
        e.bool(p.background);
        e.opt_u64(p.background_of.map(u64::from));
        e.opt_str(p.during.as_deref());
        // The page's exchanges, then the first exchanges of its connections that are
        // not among them (`extra`).
        let mut extra: Vec<usize> = Vec::new();
        let mut at = Positions::new(&p.http, p.conns.len());
        e.u64(p.conns.len() as u64);
        for &ci in &p.conns {
            let c = input.conns.get(ci)?;
            pack_name(e, names.get(ci).and_then(|n| n.as_ref()));
            e.blob(bytes.0.get(ci)?.as_deref()?);
            let first = narrator
                .first_http(c.conn.id)
                .map(|hi| at.of(hi, &p.http, &mut extra));
            e.opt_u64(first.map(|i| i as u64));
        }
        e.u64(p.http.len() as u64);
        e.u64((p.http.len() + extra.len()) as u64);
        for &hi in p.http.iter().chain(&extra) {
            e.blob(bytes.1.get(hi)?.as_deref()?);
        }
        Some(())
    }

    /// Narrates the page as page `id` of the story (for the text only: see
    /// [`Narrator::for_text`]).
    pub(crate) fn tell(&self, id: u32, text_only: bool) -> StoryPage {
        let mut d = Dec::new(&self.bytes);
        let _ = d.u32();
        let client = d.ip();
        let document = d.opt_u64().map(|v| v as usize);
        let url = d.opt_str();
        let start = d.ts();
        d.base = start.0;
        let end = d.ts();
        let background = d.bool();
        let background_of = d.opt_u64().map(|v| v as u32);
        let during = d.opt_str();
        let nc = d.u64() as usize;
        let mut names = Vec::with_capacity(nc);
        let mut conns = Vec::with_capacity(nc);
        let mut first = FxHashMap::with_capacity_and_hasher(nc, Default::default());
        for _ in 0..nc {
            names.push(unpack_name(&mut d));
            let c = ConnRecord::unpack(&mut d.blob());
            if let Some(i) = d.opt_u64() {
                first.insert(c.conn.id, i as usize);
            }
            conns.push(c);
        }
        let own = d.u64() as usize;
        let nh = d.u64() as usize;
        let http: Vec<HttpRecord> = (0..nh).map(|_| HttpRecord::unpack(&mut d.blob())).collect();
        let page = Page {
            id,
            client,
            document,
            url,
            start,
            end,
            conns: (0..nc).collect(),
            http: (0..own).collect(),
            dns: (0..self.dns.len()).collect(),
            background,
            background_of,
            during,
        };
        let input = StoryInput {
            conns: &conns,
            dns: &self.dns,
            http: &http,
        };
        let events = Narrator::with_first_http(first)
            .for_text(text_only)
            .page(&input, &names, &page);
        story_page(&page, &input, events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::story::name_connections;
    use crate::story::pages::{group_pages, is_browser, is_document};

    fn dbg<T: std::fmt::Debug>(t: &T) -> String {
        format!("{t:?}")
    }

    fn exchange(status: Option<u16>, ct: Option<&str>, ua: Option<&str>) -> HttpRecord {
        HttpRecord {
            conn: ConnId(7),
            tx: HttpTransaction {
                seq: 1,
                method: Some("GET".into()),
                uri: Some("/a?b".into()),
                host: Some("example.test".into()),
                user_agent: ua.map(str::to_string),
                referer: Some("http://example.test/".into()),
                request_ts: Some(Timestamp(5)),
                status,
                reason: Some("OK".into()),
                content_type: ct.map(str::to_string),
                ..HttpTransaction::default()
            },
        }
    }

    /// The lean open of an exchange tells documents and browsers apart exactly as
    /// `pages` does, white space, case and characters beyond ASCII included: whatever
    /// `pages` reads is the same whichever way an exchange was opened.
    #[test]
    fn an_exchange_opened_for_grouping_is_a_document_and_a_browser_as_when_whole() {
        let types = [
            None,
            Some(""),
            Some("text/html"),
            Some("TEXT/HTML; charset=utf-8"),
            Some(" \t\r\n\x0b\x0ctext/htmlx"),
            Some("\u{a0}text/html"),
            Some("\u{2003}\u{a0} Text/Html"),
            Some("\u{e9}text/html"),
            Some("text/htm"),
            Some("text/html\u{e9}"),
            Some("text/plain"),
            Some("application/json"),
            Some("t"),
            Some("\0text/html"),
        ];
        let agents = [
            None,
            Some(""),
            Some("Mozilla/5.0 (X11)"),
            Some("Mozilla/"),
            Some("Mozilla"),
            Some("mozilla/5.0"),
            Some("curl/8.5.0"),
            Some("\u{e9}Mozilla/"),
        ];
        let statuses = [
            None,
            Some(100),
            Some(200),
            Some(204),
            Some(299),
            Some(304),
            Some(404),
        ];
        let mut documents = 0;
        for ct in types {
            for ua in agents {
                for status in statuses {
                    let h = exchange(status, ct, ua);
                    let want = (
                        is_document(h.tx.content_type.as_deref(), h.tx.status),
                        is_browser(h.tx.user_agent.as_deref()),
                    );
                    let Held::Packed(b) = h.clone().hold() else {
                        panic!("an exchange without tunnel or anomaly packs");
                    };
                    let (got, _) = open_for_grouping(Held::Packed(b));
                    let t = &got.tx;
                    let seen = (
                        is_document(t.content_type.as_deref(), t.status),
                        is_browser(t.user_agent.as_deref()),
                    );
                    assert_eq!(seen, want, "{ct:?} {ua:?} {status:?}");
                    // A document keeps what its page's URL is made of.
                    if want.0 {
                        documents += 1;
                        assert_eq!(t.uri, h.tx.uri, "{ct:?}");
                        assert_eq!(t.user_agent, h.tx.user_agent, "{ua:?}");
                    }
                    assert_eq!((&t.host, &t.referer), (&h.tx.host, &h.tx.referer));
                    assert_eq!(
                        (t.seq, t.status, t.request_ts),
                        (1, status, Some(Timestamp(5)))
                    );
                }
            }
        }
        assert!(documents > 0);
    }

    /// The pages grouped from exchanges opened for grouping are those grouped from the
    /// whole exchanges, on every capture.
    #[test]
    fn pages_from_exchanges_opened_for_grouping_are_those_of_whole_ones_on_every_capture() {
        let mut grouped = 0;
        for path in crate::testutil::all_captures() {
            let Some(mut engine) = crate::testutil::analysed(&path) else {
                continue;
            };
            let conns = engine.take_conns();
            let dns = engine.take_dns(true);
            let http = engine.take_http();
            let opened: Vec<HttpRecord> = http
                .iter()
                .map(|h| open_for_grouping(h.clone().hold()).0)
                .collect();
            let whole = StoryInput {
                conns: &conns,
                dns: &dns,
                http: &http,
            };
            let names = name_connections(&whole);
            let want = group_pages(&whole, &names);
            let input = StoryInput {
                http: &opened,
                ..whole
            };
            assert_eq!(group_pages(&input, &names), want, "{}", path.display());
            grouped += usize::from(!want.is_empty());
        }
        assert!(grouped > 0);
    }

    /// Every connection and exchange of the shared and bundled captures that packs
    /// unpacks equal in every field, with every byte read (and most do pack).
    #[test]
    fn records_unpack_equal_to_what_was_packed_on_every_capture() {
        let mut n = [0usize; 4];
        for path in crate::testutil::all_captures() {
            let Some(mut engine) = crate::testutil::analysed(&path) else {
                continue;
            };
            let at = path.display();
            for c in engine.take_conns() {
                let want = dbg(&c);
                n[0] += 1;
                let id = c.conn.id;
                let held = c.hold();
                assert_eq!(held.conn_id(), id, "{at}");
                if let Held::Packed(b) = held {
                    n[1] += 1;
                    let mut d = Dec::new(&b);
                    let got = ConnRecord::unpack(&mut d);
                    assert!(d.is_empty(), "{at}");
                    assert_eq!(dbg(&got), want, "{at}");
                }
            }
            for h in engine.take_http() {
                let want = dbg(&h);
                n[2] += 1;
                let mut grouped = h.clone();
                let t = &mut grouped.tx;
                (t.method, t.reason, t.content_encoding) = (None, None, None);
                (t.transfer_encoding, t.alt_svc) = (None, None);
                if let Held::Packed(b) = h.hold() {
                    n[3] += 1;
                    let mut d = Dec::new(&b);
                    let got = HttpRecord::unpack(&mut d);
                    assert!(d.is_empty(), "{at}");
                    assert_eq!(dbg(&got), want, "{at}");
                    assert_eq!(dbg(&unpack_whole::<HttpRecord>(&b)), want, "{at}");
                    // Opened for a grouping: all but the five strings narration reads,
                    // and for an exchange that is no document, see `Open::Lean`.
                    let (got, bytes) = open_for_grouping(Held::Packed(b));
                    let t = &mut grouped.tx;
                    if !is_document(t.content_type.as_deref(), t.status) {
                        (t.uri, t.content_type) = (None, None);
                        let browser = is_browser(t.user_agent.as_deref());
                        t.user_agent = browser.then(|| "Mozilla/".to_string());
                    }
                    assert_eq!(dbg(&got), dbg(&grouped), "{at}");
                    assert!(bytes.is_some(), "{at}");
                }
            }
        }
        // Most records pack: connections [all, packed], exchanges [all, packed].
        assert!(n[1] * 2 > n[0] && n[3] * 2 > n[2], "{n:?}");
    }
}
