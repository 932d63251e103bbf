//! Grouping into page loads.
//!
//! A page load starts with a document (an HTML response) and holds the requests the same
//! client made for it: those whose Referer is the document's URL or origin, and, from a
//! browser that sent no Referer, those that follow while the load is still active
//! (within [`QUIET`] of its last activity). A request from another client (curl, a
//! script, an API call) with no document before it on its connection is its own story.
//! Connections belong to the page of their first exchange; connections without any
//! exchange (a refused port, a browser's unused preconnect, TLS) and lookups belong to
//! the page active for that client when they happened, or stand alone.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::stream::HOLD;
use super::{ConnName, StoryInput};
use crate::base::{ConnId, Timestamp};
use crate::flow::{ConnProto, FxHashMap};

/// How long after a page's last activity an unrelated request still joins it.
pub const QUIET: i64 = 3_000_000_000;

/// One page load (or a lone request, connection or lookup when `document` is None).
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub id: u32,
    pub client: IpAddr,
    /// Index into `StoryInput::http` of the document's exchange.
    pub document: Option<usize>,
    /// `http://host/uri` of the document.
    pub url: Option<String>,
    pub start: Timestamp,
    pub end: Timestamp,
    /// Indexes into `StoryInput::conns`.
    pub conns: Vec<usize>,
    /// Indexes into `StoryInput::http`.
    pub http: Vec<usize>,
    /// Indexes into `StoryInput::dns`.
    pub dns: Vec<usize>,
    /// Traffic that is not a page's own: the lookups and connections that happened
    /// during a page load but led to none of its exchanges (a browser's own service
    /// lookups), or lone multicast/broadcast chatter (mDNS, LLMNR, NetBIOS).
    pub background: bool,
    /// For the background of a page load: the id of that page load (the two are final
    /// together in the streaming story, as they were grouped together).
    pub background_of: Option<u32>,
    /// For the background of a page load: that page's URL.
    pub during: Option<String>,
}

/// Browsers all announce themselves as "Mozilla/5.0 (…)".
pub(crate) fn is_browser(ua: Option<&str>) -> bool {
    ua.is_some_and(|u| u.starts_with("Mozilla/"))
}

/// An HTML response: a page (304 counts: the browser loaded it from its cache).
pub(crate) fn is_document(ct: Option<&str>, status: Option<u16>) -> bool {
    ct.is_some_and(|c| {
        c.trim_start()
            .get(..9)
            .is_some_and(|t| t.eq_ignore_ascii_case("text/html"))
    }) && status.is_some_and(|s| (200..300).contains(&s) || s == 304)
}

/// Groups `input` into pages, in order of their start.
pub fn group_pages(input: &StoryInput<'_>, names: &[Option<ConnName>]) -> Vec<Page> {
    // Maps looked up for every record use the Fx hash (none is iterated, so their
    // order cannot show).
    let conn_index: FxHashMap<ConnId, usize> = input
        .conns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.conn.id, i))
        .collect();
    let mut pages: Vec<Page> = Vec::new();
    // The page each client is loading now.
    let mut current: FxHashMap<IpAddr, usize> = FxHashMap::default();
    // By connection index (a list, not a map: looked up for every record).
    let mut conn_page: Vec<Option<usize>> = vec![None; input.conns.len()];
    // Indexes that keep every step a lookup, not a scan of all pages (a capture of
    // 250,000 short connections makes as many lone stories).
    let mut by_origin: HashMap<(IpAddr, String), Vec<usize>> = HashMap::new();
    let mut docs: HashMap<IpAddr, Vec<usize>> = HashMap::new();

    // Exchanges in time order decide the pages.
    let mut order: Vec<usize> = (0..input.http.len()).collect();
    order.sort_by_key(|&i| {
        let t = &input.http[i].tx;
        (t.request_ts.or(t.response_ts), input.http[i].conn, t.seq)
    });
    for hi in order {
        let h = &input.http[hi];
        let Some(&ci) = conn_index.get(&h.conn) else {
            continue;
        };
        let client = input.conns[ci].conn.client.ip;
        let ts =
            h.tx.request_ts
                .or(h.tx.response_ts)
                .unwrap_or(input.conns[ci].conn.first_ts);
        let end = h.tx.response_end_ts.or(h.tx.request_end_ts).unwrap_or(ts);

        // Browsers often send only the origin as Referer (strict-origin-when-cross-origin):
        // the latest document page from that origin that began before this request.
        let referred = h.tx.referer.as_deref().and_then(|r| {
            let list = by_origin.get(&(client, origin(r)))?;
            // Bounded by HOLD: the streaming story must know when a page is final.
            list.iter()
                .rev()
                .copied()
                .find(|&p| pages[p].start <= ts && ts.0 - pages[p].end.0 <= HOLD)
        });
        let active = current
            .get(&client)
            .copied()
            .filter(|&p| ts.0 - pages[p].end.0 <= QUIET);
        let doc = is_document(h.tx.content_type.as_deref(), h.tx.status);
        // Only a document's URL is kept (made once per document, not per exchange).
        // Over TLS the page was fetched with https (RFC 9110 §4.2.2).
        let scheme = if input.conns[ci].tls.is_some() {
            "https"
        } else {
            "http"
        };
        let url =
            h.tx.host
                .as_ref()
                .filter(|_| doc)
                .map(|host| format!("{scheme}://{}{}", host, h.tx.uri.as_deref().unwrap_or("/")));
        let page = match (referred, conn_page[ci]) {
            (Some(p), _) => Some(p),
            // Another document on a connection that already told a story (curl's
            // keep-alive fetches) continues that story.
            (None, Some(p)) => Some(p),
            (None, None) if doc => None,
            // No Referer: browsers send one for what a page needs, unless its referrer
            // policy forbids it; then timing within the load decides. Other clients
            // (curl, scripts, API calls) tell their own story per request.
            (None, None) if is_browser(h.tx.user_agent.as_deref()) => active,
            (None, None) => None,
        };
        let p = match page {
            Some(p) => p,
            None => {
                let id = pages.len() as u32;
                pages.push(Page {
                    document: doc.then_some(hi),
                    url: if doc { url.clone() } else { None },
                    ..lone(id, client, ts, end)
                });
                if let (true, Some(u)) = (doc, url.as_deref()) {
                    by_origin
                        .entry((client, origin(u)))
                        .or_default()
                        .push(pages.len() - 1);
                    // Only a browser's page gathers, by timing, the lookups and
                    // connections that carried no exchange of their own.
                    if is_browser(h.tx.user_agent.as_deref()) {
                        docs.entry(client).or_default().push(pages.len() - 1);
                    }
                }
                pages.len() - 1
            }
        };
        let page = &mut pages[p];
        page.http.push(hi);
        page.end = page.end.max(end);
        page.start = page.start.min(ts);
        current.insert(client, p);
        conn_page[ci].get_or_insert(p);
    }

    // Pages by (client, server address) of their exchanges, in order of start: a
    // connection that carried nothing (refused, reset, an unused preconnect) belongs to
    // the exchange the client then made with the same server, if one follows within
    // LEAD (a browser trying https:// first, then http://).
    let mut by_server: HashMap<(IpAddr, IpAddr), Vec<usize>> = HashMap::new();
    for (ci, p) in conn_page.iter().enumerate() {
        let Some(p) = *p else {
            continue;
        };
        let k = &input.conns[ci].conn;
        by_server
            .entry((k.client.ip, k.server.ip))
            .or_default()
            .push(p);
    }
    for list in by_server.values_mut() {
        list.sort_by_key(|&p| (pages[p].start, p));
        list.dedup();
    }
    // Connections: by their first exchange, else by the page active when they opened.
    let mut probe_page: FxHashMap<(IpAddr, IpAddr), usize> = FxHashMap::default();
    for (ci, c) in input.conns.iter().enumerate() {
        let p = match conn_page[ci] {
            Some(p) => p,
            None => {
                let t = c.conn.first_ts;
                let next = by_server
                    .get(&(c.conn.client.ip, c.conn.server.ip))
                    .and_then(|list| {
                        list.iter()
                            .copied()
                            .find(|&p| pages[p].start >= t && pages[p].start.0 - t.0 <= LEAD)
                    });
                if let Some(p) = next {
                    pages[p].conns.push(ci);
                    pages[p].start = pages[p].start.min(t);
                    pages[p].end = pages[p].end.max(c.conn.last_ts);
                    continue;
                }
                let named_by_dns = names
                    .get(ci)
                    .and_then(|n| n.as_ref())
                    .and_then(|n| n.dns_seq)
                    .is_some();
                // A traceroute's probes (flows without an application that got ICMP
                // errors back) to one destination make one story, so the narration can
                // fold them into one line (`story/icmp.rs`).
                let probe = c.conn.proto != ConnProto::Tcp
                    && c.app.is_none()
                    && !c.conn.icmp_errors().is_empty();
                let probe_key = (c.conn.client.ip, c.conn.server.ip);
                match find_active(&pages, &docs, c.conn.client.ip, t) {
                    Some(p) if named_by_dns || c.app.is_none() => p,
                    _ => {
                        if c.app == Some(super::AppKind::Dns) {
                            // DNS connections join the page of the lookups they carried.
                            continue;
                        }
                        if let Some(&p) = probe_page
                            .get(&probe_key)
                            .filter(|&&p| probe && t.0 - pages[p].end.0 <= QUIET)
                        {
                            p
                        } else {
                            if probe {
                                probe_page.insert(probe_key, pages.len());
                            }
                            pages.push(lone(
                                pages.len() as u32,
                                c.conn.client.ip,
                                t,
                                c.conn.last_ts,
                            ));
                            pages.len() - 1
                        }
                    }
                }
            }
        };
        pages[p].conns.push(ci);
        pages[p].end = pages[p].end.max(c.conn.last_ts);
        pages[p].start = pages[p].start.min(c.conn.first_ts);
    }

    // Lookups: with the connection they named, else by time for that client.
    // A lookup joins the page of the connection it named when that connection began
    // within HOLD of it (the bound the streaming story needs to know a page is final).
    let asked: FxHashMap<u64, Timestamp> = input
        .dns
        .iter()
        .map(|tx| (tx.seq, tx.query_ts.or(tx.response_ts).unwrap_or_default()))
        .collect();
    let mut named: FxHashMap<u64, usize> = FxHashMap::default();
    for (ci, n) in names.iter().enumerate() {
        if let Some(seq) = n.as_ref().and_then(|n| n.dns_seq) {
            let near = asked
                .get(&seq)
                .is_some_and(|t| input.conns[ci].conn.first_ts.0 - t.0 <= HOLD);
            if near {
                named.entry(seq).or_insert(ci);
            }
        }
    }
    let mut conn_to_page: Vec<Option<usize>> = vec![None; input.conns.len()];
    for (pi, p) in pages.iter().enumerate() {
        for &ci in &p.conns {
            conn_to_page[ci] = Some(pi);
        }
    }
    // Pages by (client, host name they fetched from), in order of start: a lookup of a
    // name that a page fetches from within LEAD belongs to that page (the HTTPS-record
    // lookup a browser makes before the request, say).
    // Only the names this input's lookups asked for are ever looked up: the hosts of
    // other exchanges are left out (no lowercased copy made per exchange).
    let mut asked_names: HashMap<IpAddr, HashSet<String>> = HashMap::new();
    for tx in input.dns {
        asked_names
            .entry(tx.client.ip)
            .or_default()
            .insert(tx.qname.to_ascii_lowercase());
    }
    let mut by_host: HashMap<(IpAddr, String), Vec<usize>> = HashMap::new();
    for (pi, p) in pages.iter().enumerate() {
        for &hi in &p.http {
            if let (Some(host), Some(&ci)) = (
                &input.http[hi].tx.host,
                conn_index.get(&input.http[hi].conn),
            ) {
                let client = input.conns[ci].conn.client.ip;
                let host = lowercase(host);
                if !asked_names
                    .get(&client)
                    .is_some_and(|n| n.contains(host.as_ref()))
                {
                    continue;
                }
                let key = (client, host.into_owned());
                let list = by_host.entry(key).or_default();
                if list.last() != Some(&pi) {
                    list.push(pi);
                }
            }
        }
    }
    // Where each named lookup went, by (client, name): the lookup that named no
    // connection (the AAAA beside the A that did) follows its sibling.
    let mut siblings: HashMap<(IpAddr, String), Vec<(Timestamp, usize)>> = HashMap::new();
    for tx in input.dns {
        let Some(p) = named.get(&tx.seq).and_then(|&ci| conn_to_page[ci]) else {
            continue;
        };
        let t = tx.query_ts.or(tx.response_ts).unwrap_or_default();
        siblings
            .entry((tx.client.ip, tx.qname.to_ascii_lowercase()))
            .or_default()
            .push((t, p));
    }
    let mut lookups_only: HashMap<IpAddr, usize> = HashMap::new();
    for (di, tx) in input.dns.iter().enumerate() {
        // mDNS announcements, goodbyes and probes are nobody's lookup: `dns` lists them,
        // the story leaves them out.
        if !tx.kind().is_lookup() {
            continue;
        }
        let t = tx.query_ts.or(tx.response_ts).unwrap_or_default();
        let by_conn = named.get(&tx.seq).and_then(|&ci| conn_to_page[ci]);
        let by_name = || {
            by_host
                .get(&(tx.client.ip, tx.qname.to_ascii_lowercase()))?
                .iter()
                .copied()
                .filter(|&p| pages[p].start >= t && pages[p].start.0 - t.0 <= LEAD)
                .min_by_key(|&p| pages[p].start)
        };
        let by_sibling = || {
            siblings
                .get(&(tx.client.ip, tx.qname.to_ascii_lowercase()))?
                .iter()
                .filter(|(ts, _)| (ts.0 - t.0).abs() <= LEAD)
                .min_by_key(|(ts, _)| (ts.0 - t.0).abs())
                .map(|&(_, p)| p)
        };
        let p = match by_conn
            .or_else(by_sibling)
            .or_else(by_name)
            .or_else(|| find_active(&pages, &docs, tx.client.ip, t))
        {
            Some(p) => p,
            None => {
                let end = tx.response_ts.unwrap_or(t);
                // Lookups close together for one client with nothing else going on
                // (a resolver's retries, A and AAAA together) tell one small story.
                match lookups_only
                    .get(&tx.client.ip)
                    .copied()
                    // At most HOLD long: a resolver that never pauses makes a story
                    // every few seconds, not one as long as the capture.
                    .filter(|&p| t.0 - pages[p].end.0 <= QUIET && t.0 - pages[p].start.0 <= HOLD)
                {
                    Some(p) => p,
                    None => {
                        pages.push(lone(pages.len() as u32, tx.client.ip, t, end));
                        lookups_only.insert(tx.client.ip, pages.len() - 1);
                        pages.len() - 1
                    }
                }
            }
        };
        pages[p].dns.push(di);
        pages[p].start = pages[p].start.min(t);
        pages[p].end = pages[p].end.max(tx.response_ts.unwrap_or(t));
    }

    // DNS over TCP: the connection to the resolver joins the page of its first lookup.
    let mut dns_conn_page: FxHashMap<ConnId, usize> = FxHashMap::default();
    for (pi, p) in pages.iter().enumerate() {
        for &di in &p.dns {
            let tx = &input.dns[di];
            if let (Some(c), crate::proto::dns::Transport::Tcp) = (tx.conn, tx.transport) {
                let e = dns_conn_page.entry(c).or_insert(pi);
                if pages[*e].start > p.start {
                    *e = pi;
                }
            }
        }
    }
    for (ci, c) in input.conns.iter().enumerate() {
        if c.app == Some(super::AppKind::Dns) && c.conn.proto == crate::flow::ConnProto::Tcp {
            if let Some(&p) = dns_conn_page.get(&c.conn.id) {
                // Grouping is per client (the streaming story groups one client at a
                // time): a connection whose orientation was guessed otherwise stays out.
                if pages[p].client == c.conn.client.ip && !pages[p].conns.contains(&ci) {
                    pages[p].conns.push(ci);
                    pages[p].start = pages[p].start.min(c.conn.first_ts);
                    pages[p].end = pages[p].end.max(c.conn.last_ts);
                }
            }
        }
    }

    split_background(input, names, &mut pages);

    // Pages of different clients never interact: (start, client, creation) is an order
    // the streaming story, which groups one client at a time, reproduces.
    pages.sort_by_key(|p| (p.start, p.client, p.id));
    let mut new_id = vec![0u32; pages.len()];
    for (i, p) in pages.iter().enumerate() {
        new_id[p.id as usize] = i as u32;
    }
    for (i, p) in pages.iter_mut().enumerate() {
        p.id = i as u32;
        p.background_of = p.background_of.map(|o| new_id[o as usize]);
    }
    pages
}

/// `host` of a Host header (`host:port`, `[v6]:port`), lowercased, without a final dot.
fn host_name(h: &str) -> String {
    let h = h.trim();
    let h = if let Some(rest) = h.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else if h.matches(':').count() == 1 {
        h.split(':').next().unwrap_or(h)
    } else {
        h
    };
    lower_name(h)
}

/// `s` in lowercase (ASCII), copied only when it has an uppercase letter.
fn lowercase(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(s.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

fn lower_name(n: &str) -> String {
    n.trim_end_matches('.').to_ascii_lowercase()
}

/// Multicast and broadcast chatter: mDNS (5353), LLMNR (5355), NetBIOS (137, 138), or
/// any packet to a multicast or broadcast address. No page asked for it.
pub fn is_chatter(server: IpAddr, port: u16) -> bool {
    let group = match server {
        IpAddr::V4(a) => a.is_multicast() || a.is_broadcast() || a.octets()[3] == 255,
        IpAddr::V6(a) => a.is_multicast(),
    };
    group || matches!(port, 5353 | 5355 | 137 | 138)
}

/// Moves out of each page load what led to none of its exchanges, into a background
/// page of its own, and marks lone pages of chatter as background.
///
/// A page load keeps: connections that carried its exchanges, connections to the same
/// servers (the refused https:// try, an unused preconnect) or named by its names, and
/// lookups of its names (its hosts, the names and CNAMEs that named its connections),
/// including the resolver's search-list tries (`name.example.edu`). Everything else it
/// gathered by timing alone (a browser's lookups for its own services, refused or never
/// connected to) is background. The page load then starts at its first own record: the
/// lookup or connection that leads to its document.
fn split_background(input: &StoryInput<'_>, names: &[Option<ConnName>], pages: &mut Vec<Page>) {
    let count = pages.len();
    for pi in 0..count {
        let p = &pages[pi];
        if p.document.is_none() {
            let chatter = p.http.is_empty()
                && (!p.conns.is_empty() || !p.dns.is_empty())
                && p.conns.iter().all(|&ci| {
                    let k = &input.conns[ci].conn;
                    is_chatter(k.server.ip, k.server.port)
                })
                && p.dns.iter().all(|&di| {
                    let t = &input.dns[di];
                    is_chatter(t.server.ip, t.server.port) || is_chatter(t.client.ip, t.client.port)
                });
            pages[pi].background = chatter;
            continue;
        }
        let mut own_names: HashSet<String> = HashSet::new();
        let mut servers: HashSet<IpAddr> = HashSet::new();
        let with_http: HashSet<ConnId> = p.http.iter().map(|&hi| input.http[hi].conn).collect();
        for &hi in &p.http {
            if let Some(h) = &input.http[hi].tx.host {
                own_names.insert(host_name(h));
            }
        }
        for &ci in &p.conns {
            let k = &input.conns[ci];
            if with_http.contains(&k.conn.id) {
                servers.insert(k.conn.server.ip);
                if let Some(n) = names.get(ci).and_then(|n| n.as_ref()) {
                    own_names.insert(lower_name(&n.qname));
                    own_names.extend(n.chain.iter().map(|c| lower_name(c)));
                }
            }
        }
        // The name itself, or the name with a search-list suffix (`name.example.edu`):
        // every prefix of it that ends before a dot.
        let own = |n: &str| {
            let n = lower_name(n);
            own_names.contains(&n)
                || n.match_indices('.')
                    .any(|(i, _)| own_names.contains(&n[..i]))
        };
        let (keep_conns, bg_conns): (Vec<usize>, Vec<usize>) = p.conns.iter().partition(|&&ci| {
            let k = &input.conns[ci];
            with_http.contains(&k.conn.id)
                || servers.contains(&k.conn.server.ip)
                || names
                    .get(ci)
                    .and_then(|n| n.as_ref())
                    .is_some_and(|n| own(&n.qname))
        });
        let (keep_dns, bg_dns): (Vec<usize>, Vec<usize>) =
            p.dns.iter().partition(|&&di| own(&input.dns[di].qname));
        // A connection to the resolver stays with the lookups it carried.
        let carried: HashSet<ConnId> = keep_dns
            .iter()
            .filter_map(|&di| input.dns[di].conn)
            .collect();
        let (keep_conns, bg_conns): (Vec<usize>, Vec<usize>) = {
            let (mut k, mut b) = (keep_conns, Vec::new());
            for ci in bg_conns {
                if carried.contains(&input.conns[ci].conn.id) {
                    k.push(ci);
                } else {
                    b.push(ci);
                }
            }
            (k, b)
        };
        if bg_conns.is_empty() && bg_dns.is_empty() {
            continue;
        }
        let client = p.client;
        let mut bg = lone(
            pages.len() as u32,
            client,
            Timestamp::default(),
            Timestamp::default(),
        );
        bg.background = true;
        bg.background_of = Some(pages[pi].id);
        bg.during = pages[pi].url.clone();
        bg.conns = bg_conns;
        bg.dns = bg_dns;
        extent(input, &mut bg);
        let p = &mut pages[pi];
        p.conns = keep_conns;
        p.dns = keep_dns;
        extent(input, p);
        pages.push(bg);
    }
}

/// Sets a page's start and end from its records.
fn extent(input: &StoryInput<'_>, p: &mut Page) {
    let mut times: Vec<Timestamp> = Vec::new();
    for &ci in &p.conns {
        let c = &input.conns[ci].conn;
        times.extend([c.first_ts, c.last_ts]);
    }
    for &hi in &p.http {
        let t = &input.http[hi].tx;
        let ts = t.request_ts.or(t.response_ts);
        times.extend(ts);
        times.extend(t.response_end_ts.or(t.request_end_ts).or(ts));
    }
    for &di in &p.dns {
        let tx = &input.dns[di];
        let t = tx.query_ts.or(tx.response_ts).unwrap_or_default();
        times.extend([t, tx.response_ts.unwrap_or(t)]);
    }
    if let (Some(&a), Some(&b)) = (times.iter().min(), times.iter().max()) {
        p.start = a;
        p.end = b;
    }
}

/// `http://host/` of a URL (scheme, host and port), lowercased.
fn origin(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let scheme = url.split_once("://").map_or("http", |(s, _)| s);
    format!(
        "{}://{}/",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    )
}

/// A page of its own (no document yet, no connections): where every page starts.
fn lone(id: u32, client: IpAddr, start: Timestamp, end: Timestamp) -> Page {
    Page {
        id,
        client,
        document: None,
        url: None,
        start,
        end,
        conns: Vec::new(),
        http: Vec::new(),
        dns: Vec::new(),
        background: false,
        background_of: None,
        during: None,
    }
}

/// The document page of `client` in progress at `t` (started at most QUIET after it,
/// active until QUIET after its end). `docs` lists each client's document pages in
/// order of creation, which is order of start.
fn find_active(
    pages: &[Page],
    docs: &HashMap<IpAddr, Vec<usize>>,
    client: IpAddr,
    t: Timestamp,
) -> Option<usize> {
    let list = docs.get(&client)?;
    // In progress at t: began before it and active until QUIET after its end.
    let began = list.partition_point(|&p| pages[p].start <= t);
    let during = list[..began]
        .iter()
        .rev()
        .take(16)
        .copied()
        .find(|&p| t.0 <= pages[p].end.0 + QUIET);
    // Else the document requested right after (the lookups and connection for it).
    during.or_else(|| {
        list[began..]
            .iter()
            .copied()
            .find(|&p| pages[p].start.0 - t.0 <= LEAD)
    })
}

/// How long before its document's request a lookup or connection still belongs to it.
pub const LEAD: i64 = 1_000_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_compare_without_port_case_or_final_dot() {
        assert_eq!(
            host_name("WWW.Lab.glasscom.com:8080"),
            "www.lab.glasscom.com"
        );
        assert_eq!(host_name("[2001:db8::1]:80"), "2001:db8::1");
        assert_eq!(host_name("2001:db8::1"), "2001:db8::1");
        assert_eq!(lower_name("Example.ORG."), "example.org");
    }

    #[test]
    fn chatter_is_multicast_broadcast_or_a_local_name_service() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(is_chatter(ip("224.0.0.251"), 5353));
        assert!(is_chatter(ip("ff02::fb"), 5353));
        assert!(is_chatter(ip("141.142.220.255"), 137));
        assert!(is_chatter(ip("198.18.0.53"), 5355));
        assert!(!is_chatter(ip("198.18.0.53"), 53));
        assert!(!is_chatter(ip("198.18.1.80"), 80));
    }
}
