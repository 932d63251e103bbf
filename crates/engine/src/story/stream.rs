//! Telling the story while the capture is read, in memory that follows a window of
//! capture time, not the length of the file.
//!
//! Why this works: every rule of [`naming`](super::naming) and [`pages`](super::pages)
//! joins records of one client only (pages, naming and lookups are all per client IP),
//! and every rule that joins records across time is bounded by [`QUIET`] or [`LEAD`],
//! or by [`HOLD`] for those that were not (Referer, a lookup naming a later connection,
//! a run of lookups with nothing else). So a page of client C that ended `HOLD` before
//! anything C may still do (an open connection's start, a lookup the DNS pairing still
//! holds, now) cannot change any more. Every [`REGROUP`] of capture time a client's
//! records are grouped; the records of its final pages move out to wait for their turn
//! (narrated only then, and dropped); the rest wait for the next round. Connections are named from one index of every answer
//! seen (an entry per answer), so a connection made long after its lookup is still
//! named by it.
//!
//! Pages come out in order of start (ties: client, then order of creation), as
//! [`tell`](super::tell) orders them (`tests/story_stream.rs` compares the two on every
//! capture): a final page waits until no record still gathered, open connection or held
//! lookup could start a page before it. A connection left open for hours would hold
//! every later page back; past [`MAX_WAITING`] final pages (their records: ~130 MB at
//! most) the earliest are told anyway (a page that started earlier may then follow
//! them), so memory stays bounded.
//!
//! Memory is then what a client does in about `HOLD` + `REGROUP` + the flow table's
//! linger for closed connections (2 s) of capture time: at 10,000 connections a second
//! that is still over 100,000 records. So records are held packed (`story::pack`, ~100
//! bytes where the engine's take ~600 plus their strings): opened for a grouping, held
//! again by the same bytes when kept, and a final page waits with just its own records.
//!
//! [`QUIET`]: super::pages::QUIET
//! [`LEAD`]: super::pages::LEAD

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::IpAddr;
use std::rc::Rc;

use super::narrate::Narrator;
use super::pack::{Bytes, Held, Hold, PagePack};
use super::pages::group_pages;
use super::{ConnName, ConnRecord, Event, HttpRecord, NameIndex, Page, StoryInput};
use crate::base::{ConnId, Timestamp};
use crate::flow::FxHashMap;
use crate::proto::dns::{DnsTransaction, Transport};

/// How long after a page's end anything the client does can no longer change it: a
/// page that ended HOLD before everything still pending for its client is final.
/// Longer than every window a later record can join or pull a page by (`QUIET` 3 s
/// after its end, `LEAD` 1 s before a later page's start); the Referer, lookup-to-
/// connection and lookups-only joins are bounded by it too.
pub const HOLD: i64 = 4_000_000_000;

/// How often (capture time) a client that is never silent for HOLD is grouped again to
/// tell its pages that have become final.
pub const REGROUP: i64 = 2_000_000_000;

/// Finished pages that may wait for an earlier-starting one before they are told anyway.
pub const MAX_WAITING: usize = 65_536;

/// A told page: what the page header shows, and its events in order.
#[derive(Clone, Debug, PartialEq)]
pub struct StoryPage {
    /// Position in the story (0-based), the `page` of its events.
    pub id: u32,
    pub client: IpAddr,
    /// `http://host/uri` of the document, for a page load.
    pub url: Option<String>,
    /// What it is: `page load URL`, `request GET http://host/uri`, `connection`, `lookup`.
    pub title: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub lookups: usize,
    pub connections: usize,
    pub requests: usize,
    /// Not a page's own traffic (see [`Page::background`]).
    pub background: bool,
    pub events: Vec<Event>,
}

/// `1 lookup`, `2 lookups`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `, 1 lookup`, `, 2 lookups` at the end of `out` (a part of a header after another).
fn push_count(out: &mut String, n: usize, one: &str, many: &str) {
    out.push_str(", ");
    super::digits::push_u64(out, n as u64);
    out.push(' ');
    out.push_str(if n == 1 { one } else { many });
}

impl StoryPage {
    /// Is it a page load (a document and what it needed)?
    pub fn is_page_load(&self) -> bool {
        self.url.is_some()
    }

    /// The header line, as the `story` command and the TUI print it (without the
    /// leading rule): `story 2: page load http://…  (client …, 4 lookups, …)`.
    pub fn header(&self) -> String {
        let mut out = String::with_capacity(self.title.len() + 112);
        self.push_header(&mut out);
        out
    }

    /// [`header`](Self::header) at the end of `out` (the `story` command writes its
    /// rule and the header in one buffer: one header per page, 245,000 on a capture of
    /// many short connections).
    pub fn push_header(&self, out: &mut String) {
        // Connections to the resolver (DNS over TCP) are counted apart.
        let dns_tcp = self
            .events
            .iter()
            .filter(|e| {
                e.kind == super::EventKind::Connect && e.text.contains(super::events::DNS_TCP_MARK)
            })
            .count();
        let connections = self.connections.saturating_sub(dns_tcp);
        out.push_str("story ");
        super::digits::push_u64(out, u64::from(self.id) + 1);
        out.push_str(": ");
        out.push_str(&self.title);
        out.push_str("  (client ");
        super::digits::push_ip(out, self.client);
        if self.lookups > 0 || !self.background {
            push_count(out, self.lookups, "lookup", "lookups");
        }
        if connections > 0 || !self.background {
            push_count(out, connections, "connection", "connections");
        }
        if self.requests > 0 || !self.background {
            push_count(out, self.requests, "request", "requests");
        }
        if dns_tcp > 0 {
            push_count(out, dns_tcp, "TCP connection", "TCP connections");
            out.push_str(" to the resolver");
        }
        out.push_str(", ");
        super::phases::push_fixed(out, self.end.secs_since(self.start), 3);
        out.push_str(" s)");
    }
}

/// Counts what was told, for the closing line: `3 stories: 1 page load, 1 request,
/// 1 background`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub stories: usize,
    pub page_loads: usize,
    pub background: usize,
    pub other: usize,
}

impl Tally {
    pub fn add(&mut self, p: &StoryPage) {
        self.stories += 1;
        if p.is_page_load() {
            self.page_loads += 1;
        } else if p.background {
            self.background += 1;
        } else {
            self.other += 1;
        }
    }

    /// `3 stories: 1 page load, 1 background, 1 other`; None when nothing was told.
    pub fn line(&self) -> Option<String> {
        if self.stories == 0 {
            return None;
        }
        let mut parts = vec![count(self.page_loads, "page load", "page loads")];
        if self.background > 0 {
            parts.push(format!("{} background", self.background));
        }
        if self.other > 0 {
            parts.push(format!(
                "{} (requests, connections or lookups outside a page load)",
                count(self.other, "other", "others")
            ));
        }
        Some(format!(
            "{}: {}",
            count(self.stories, "story", "stories"),
            parts.join(", ")
        ))
    }
}

/// Records in chunks of a fixed size: growing never moves a record (a `Vec` of
/// 600-byte records that doubles copies all of them, and leaves up to half its room
/// unused), and at most one chunk per list is spare.
struct Chunks<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

/// Records per chunk: small enough that a client's spare room is little, large enough
/// that the chunks' own list stays short.
const CHUNK: usize = 256;

/// Records in a list's first chunk.
const FIRST_CHUNK: usize = 4;

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Chunks {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunks<T> {
    fn push(&mut self, v: T) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < c.capacity() => c.push(v),
            _ => {
                // The first chunks small, growing with the list up to CHUNK: most
                // clients gather a few records between two groupings, and a block of
                // 4 KiB for each of their lists was most of the allocator's work (an
                // allocation that large first merges every small block freed since).
                let mut c = Vec::with_capacity(self.len.clamp(FIRST_CHUNK, CHUNK));
                c.push(v);
                self.chunks.push(c);
            }
        }
        self.len += 1;
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// All records in order of arrival, chunk by chunk.
    fn into_records(self) -> impl Iterator<Item = T> {
        self.chunks.into_iter().flatten()
    }

    /// All records in order of arrival, in one `Vec` of exactly their number.
    fn into_vec(self) -> Vec<T> {
        let mut all = Vec::with_capacity(self.len);
        for c in self.chunks {
            all.extend(c);
        }
        all
    }
}

/// What one client did since its last batch, held packed (see `story::pack`).
#[derive(Default)]
struct Gathering {
    conns: Chunks<Held<ConnRecord>>,
    http: Chunks<Held<HttpRecord>>,
    dns: Chunks<Held<DnsTransaction>>,
    span: Span,
    /// Capture time (ns) of its last grouping.
    grouped_at: i64,
}

/// Earliest and latest instant a set of records mentions.
#[derive(Default)]
struct Span {
    first: Option<Timestamp>,
    last: Timestamp,
}

impl Span {
    /// Everything `o` saw.
    fn merge(&mut self, o: &Span) {
        if let Some(f) = o.first {
            self.saw([f, o.last].into_iter());
        }
    }

    fn saw(&mut self, times: impl Iterator<Item = Timestamp>) {
        for ts in times {
            self.first = Some(self.first.map_or(ts, |f| f.min(ts)));
            self.last = self.last.max(ts);
        }
    }
}

/// The instants a record mentions (what grouping compares).
trait Timed {
    fn times(&self) -> impl Iterator<Item = Timestamp>;
}

impl Timed for ConnRecord {
    fn times(&self) -> impl Iterator<Item = Timestamp> {
        [self.conn.first_ts, self.conn.last_ts].into_iter()
    }
}

impl Timed for HttpRecord {
    fn times(&self) -> impl Iterator<Item = Timestamp> {
        let t = &self.tx;
        [
            t.request_ts,
            t.request_end_ts,
            t.response_ts,
            t.response_end_ts,
        ]
        .into_iter()
        .flatten()
    }
}

impl Timed for DnsTransaction {
    fn times(&self) -> impl Iterator<Item = Timestamp> {
        [self.query_ts, self.response_ts].into_iter().flatten()
    }
}

/// Sorts one kind of record after a grouping by where its page went (`placed`:
/// Some(final?), None when in no page): records of final pages move to `told` (the
/// result gives each record's index there; without `told` they were packed already
/// and are dropped), those of other pages to `kept`, and
/// records in no page stay in `kept` while they mention anything at or after
/// `before`. A record in no page (a DNS flow, an exchange whose connection a filter
/// dropped) could only join a page that starts within LEAD after it, and none still to
/// come can start before `before` + HOLD, so it holds nothing back from earlier than
/// `before` - HOLD.
fn split<T: Timed + Hold>(
    items: Vec<T>,
    bytes: Vec<Bytes>,
    placed: &[Option<bool>],
    before: i64,
    mut told: Option<&mut (Vec<T>, Vec<Bytes>)>,
    kept: &mut Chunks<Held<T>>,
    span: &mut Span,
) -> Vec<usize> {
    let floor = before.saturating_sub(HOLD);
    // Told records wait for their page's turn: exactly their room, no more.
    let n = placed.iter().filter(|f| **f == Some(true)).count();
    if let Some(told) = told.as_mut() {
        told.0.reserve_exact(n);
        told.1.reserve_exact(n);
    }
    let mut at = if told.is_some() {
        vec![usize::MAX; items.len()]
    } else {
        Vec::new()
    };
    for (i, ((r, b), f)) in items.into_iter().zip(bytes).zip(placed).enumerate() {
        match f {
            // Packed already (no `told`): dropped.
            Some(true) => {
                if let Some(told) = told.as_mut() {
                    at[i] = told.0.len();
                    told.0.push(r);
                    told.1.push(b);
                }
            }
            Some(false) => {
                span.saw(r.times());
                kept.push(Held::again(r, b));
            }
            None if r.times().any(|t| t.0 >= before) => {
                span.saw(r.times().map(|t| Timestamp(t.0.max(floor))));
                kept.push(Held::again(r, b));
            }
            None => {}
        }
    }
    at
}

/// A final page waiting for its turn: ordered by (start, client, batch, creation).
/// It is narrated only when told, so no events are held while it waits.
struct Waiting {
    key: (Timestamp, IpAddr, u64, u32),
    turn: Turn,
}

/// What a waiting page is told from.
enum Turn {
    /// Its own records, packed (a batch is split so when none of its connections is
    /// QUIC: only a QUIC connection's narration reads records of other pages).
    Page(Box<PagePack>),
    /// Its batch, whole: page `.1` of it.
    Batch(Rc<Told>, usize),
}

impl Turn {
    fn tell(&self, id: u32, text_only: bool) -> StoryPage {
        match self {
            Turn::Page(p) => p.tell(id, text_only),
            Turn::Batch(t, i) => t.tell(*i, id),
        }
    }
}

/// The final pages of one batch with just their records (renumbered).
#[derive(Default)]
struct Told {
    conns: Vec<ConnRecord>,
    names: Vec<Option<ConnName>>,
    http: Vec<HttpRecord>,
    dns: Vec<DnsTransaction>,
    pages: Vec<Page>,
    narrator: Option<Narrator>,
}

impl Told {
    fn input(&self) -> StoryInput<'_> {
        StoryInput {
            conns: &self.conns,
            dns: &self.dns,
            http: &self.http,
        }
    }

    /// Narrates page `i` as page `id` of the story.
    fn tell(&self, i: usize, id: u32) -> StoryPage {
        let input = self.input();
        let mut p = self.pages[i].clone();
        p.id = id;
        let events = match &self.narrator {
            Some(n) => n.page(&input, &self.names, &p),
            None => Vec::new(),
        };
        story_page(&p, &input, events)
    }
}

impl PartialEq for Waiting {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl Eq for Waiting {}
impl PartialOrd for Waiting {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Waiting {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.key.cmp(&o.key)
    }
}

/// What the engine still holds that could become records: see [`StoryStream::advance`].
#[derive(Clone, Debug, Default)]
pub struct Pending {
    /// Capture time now (the latest packet).
    pub now: Timestamp,
    /// Per client, the earliest start of a connection still open.
    pub open: HashMap<IpAddr, Timestamp>,
    /// The earliest first message of a DNS transaction not yet handed out.
    pub dns_held_since: Option<Timestamp>,
}

/// A finished connection as the story holds it (packed, see `story::pack`), with what
/// [`StoryStream::add_held_conn`] reads of it.
///
/// Packing these on the engine's thread instead of the teller's (the slower of the two
/// on many short connections) was measured: 0.8 s less on manyflows.pcap with two
/// threads, but 8-14 MB more peak RSS (the packed records then live in the engine
/// thread's malloc arena, among its long-lived state). So the teller packs them.
struct HeldConn {
    client: IpAddr,
    id: ConnId,
    times: [Timestamp; 2],
    held: Held<ConnRecord>,
}

impl HeldConn {
    fn new(c: ConnRecord) -> Self {
        HeldConn {
            client: c.conn.client.ip,
            id: c.conn.id,
            times: [c.conn.first_ts, c.conn.last_ts],
            held: c.hold(),
        }
    }
}

/// A finished HTTP exchange as the story holds it (see [`HeldConn`]).
struct HeldHttp {
    conn: ConnId,
    /// The instants it mentions.
    span: Span,
    held: Held<HttpRecord>,
}

impl HeldHttp {
    fn new(h: HttpRecord) -> Self {
        let mut span = Span::default();
        span.saw(h.times());
        HeldHttp {
            conn: h.conn,
            span,
            held: h.hold(),
        }
    }
}

/// Decides which connections are told (`-Y`); the name comes from every answer seen.
pub type KeepConn<'a> = dyn FnMut(&ConnRecord, Option<&ConnName>) -> bool + 'a;

/// The story, told page by page as records arrive. Feed it records as the engine hands
/// them out, call [`advance`](Self::advance) after each batch and
/// [`finish`](Self::finish) at the end.
#[derive(Default)]
pub struct StoryStream {
    names: NameIndex,
    clients: HashMap<IpAddr, Gathering>,
    /// Exchanges whose connection has not finished yet (their client is the
    /// connection's), packed, with the instants they mention.
    orphans: FxHashMap<ConnId, (Span, Vec<Held<HttpRecord>>)>,
    waiting: BinaryHeap<Reverse<Waiting>>,
    /// [`MAX_WAITING`] unless a test says otherwise.
    max_waiting: usize,
    batches: u64,
    told: u32,
    /// Pages told for the text only (see [`StoryStream::for_text`]).
    text_only: bool,
}

impl StoryStream {
    pub fn new() -> Self {
        StoryStream {
            max_waiting: MAX_WAITING,
            ..Self::default()
        }
    }

    /// Tells pages for the text timeline only: events without their facts and without
    /// quiet lines ([`Narrator::for_text`]); the `story` command's text.
    pub fn for_text(mut self) -> Self {
        self.text_only = true;
        self
    }

    /// A DNS transaction; `keep` false when a display filter drops it (its answers
    /// still name connections).
    pub fn add_dns(&mut self, tx: DnsTransaction, keep: bool) {
        self.names.add(&tx);
        if !keep {
            return;
        }
        let g = self.clients.entry(tx.client.ip).or_default();
        g.span.saw(tx.times());
        g.dns.push(tx.hold());
    }

    /// A finished connection.
    pub fn add_conn(&mut self, c: ConnRecord) {
        self.add_held_conn(HeldConn::new(c));
    }

    /// A finished connection, packed already (see [`HeldConn`]).
    fn add_held_conn(&mut self, c: HeldConn) {
        let g = self.clients.entry(c.client).or_default();
        g.span.saw(c.times.into_iter());
        if let Some((span, list)) = self.orphans.remove(&c.id) {
            g.span.merge(&span);
            for h in list {
                g.http.push(h);
            }
        }
        g.conns.push(c.held);
    }

    /// A finished HTTP exchange, before its connection's record (the engine hands
    /// exchanges out no later than the connection's end).
    pub fn add_http(&mut self, h: HttpRecord) {
        self.add_held_http(HeldHttp::new(h));
    }

    /// A finished HTTP exchange, packed already (see [`HeldHttp`]).
    fn add_held_http(&mut self, h: HeldHttp) {
        // Most connections carry one exchange: room for one (a default `Vec` makes room
        // for four).
        let (span, list) = self
            .orphans
            .entry(h.conn)
            .or_insert_with(|| (Span::default(), Vec::with_capacity(1)));
        span.merge(&h.span);
        list.push(h.held);
    }

    /// Tells, to `each`, every page that nothing still pending can change or precede.
    /// Returns false when `each` asked to stop.
    pub fn advance(
        &mut self,
        p: &Pending,
        keep: &mut KeepConn<'_>,
        each: &mut dyn FnMut(&StoryPage) -> bool,
    ) -> bool {
        let dns_cut = p.dns_held_since.map_or(i64::MAX, |t| t.0);
        // Per client: pages that ended HOLD before anything it may still do are final.
        let due: Vec<(IpAddr, i64)> = self
            .clients
            .iter()
            .filter_map(|(ip, g)| {
                let cutoff = p
                    .now
                    .0
                    .min(dns_cut)
                    .min(p.open.get(ip).map_or(i64::MAX, |t| t.0));
                let before = cutoff.saturating_sub(HOLD);
                let some_final = g.span.first.is_some_and(|f| f.0 < before);
                let all_final = g.span.last.0 < before;
                (some_final && (all_final || p.now.0 - g.grouped_at >= REGROUP))
                    .then_some((*ip, before))
            })
            .collect();
        for (ip, before) in due {
            if let Some(g) = self.clients.remove(&ip) {
                if let Some(rest) = self.batch(g, Some(before), p.now, keep) {
                    self.clients.insert(ip, rest);
                }
            }
        }
        // Nothing still to come can start before this.
        let mut bar = p.now;
        for g in self.clients.values() {
            bar = bar.min(g.span.first.unwrap_or(g.span.last));
        }
        for &t in p.open.values() {
            bar = bar.min(t);
        }
        if let Some(t) = p.dns_held_since {
            bar = bar.min(t);
        }
        // Every connection still to be named starts after `bar` (less HOLD: slack for
        // timestamps a little out of order).
        self.names
            .forget_before(Timestamp(bar.0.saturating_sub(HOLD)));
        self.tell_until(Some(bar), each)
    }

    /// End of input: every client's batch, every page.
    pub fn finish(
        &mut self,
        keep: &mut KeepConn<'_>,
        each: &mut dyn FnMut(&StoryPage) -> bool,
    ) -> bool {
        let mut all: Vec<(IpAddr, Gathering)> = self.clients.drain().collect();
        all.sort_by_key(|(ip, _)| *ip);
        for (_, g) in all {
            self.batch(g, None, Timestamp::default(), keep);
        }
        self.orphans.clear();
        self.tell_until(None, each)
    }

    fn tell_until(
        &mut self,
        bar: Option<Timestamp>,
        each: &mut dyn FnMut(&StoryPage) -> bool,
    ) -> bool {
        while let Some(Reverse(w)) = self.waiting.peek() {
            let due = bar.is_none_or(|b| w.key.0 < b) || self.waiting.len() > self.max_waiting;
            if !due {
                break;
            }
            let Some(Reverse(w)) = self.waiting.pop() else {
                break;
            };
            let id = self.told;
            self.told += 1;
            let page = w.turn.tell(id, self.text_only);
            if !each(&page) {
                return false;
            }
        }
        self.give_back_waiting_room();
        true
    }

    /// Gives the waiting heap's room back once it is four times what its pages need.
    /// A burst (every client's pages final at once: a capture that goes quiet for
    /// seconds, then resumes) fills it with over 100,000 pages; it is told right away,
    /// but a `BinaryHeap` never shrinks by itself, so 14.7 MB (262,144 × 56 bytes on
    /// manyflows ×4) stayed allocated for the rest of the run.
    fn give_back_waiting_room(&mut self) {
        const SLACK: usize = 4096;
        if self.waiting.capacity() > 4 * self.waiting.len() + SLACK {
            self.waiting.shrink_to(2 * self.waiting.len());
        }
    }

    /// Packs every final page of a grouping with its own records (`PagePack`), straight
    /// from the grouping's input: None when there is no final page, when one of their
    /// connections is QUIC (its narration reads records of other pages) or when a
    /// record does not pack. The narrator is the one `Told` would make from the final
    /// pages' records alone: each connection's first exchange among the final pages'
    /// exchanges (a connection's records are all in final pages or in none).
    fn pack_final(
        &self,
        input: &StoryInput<'_>,
        names: &[Option<ConnName>],
        pages: &[Page],
        fin: &[bool],
        placed: (&[Option<bool>], &[Option<bool>]),
        bytes: (&[Bytes], &[Bytes]),
    ) -> Option<Vec<PagePack>> {
        if !fin.iter().any(|f| *f) {
            return None;
        }
        let told = |f: &Option<bool>| *f == Some(true);
        if input
            .conns
            .iter()
            .zip(placed.0)
            .any(|(c, f)| told(f) && c.quic.is_some())
        {
            return None;
        }
        // As `Narrator::new` over the final pages' exchanges (in the same order).
        let mut first_http: FxHashMap<ConnId, usize> = FxHashMap::default();
        for (i, h) in input.http.iter().enumerate() {
            if !told(&placed.1[i]) {
                continue;
            }
            let e = first_http.entry(h.conn).or_insert(i);
            if input.http[*e].tx.seq > h.tx.seq {
                *e = i;
            }
        }
        let narrator = Narrator::with_first_http(first_http).for_text(self.text_only);
        pages
            .iter()
            .zip(fin)
            .filter(|(_, f)| **f)
            .map(|(p, _)| PagePack::new(p, input, names, &narrator, bytes))
            .collect()
    }

    /// Groups one client's records and narrates the pages that are final (all of them
    /// without `before`; else those that ended before it and share no connection with
    /// a page that did not). The final pages wait for their turn; the records of the
    /// others are returned, to be grouped again later.
    fn batch(
        &mut self,
        g: Gathering,
        before: Option<i64>,
        now: Timestamp,
        keep: &mut KeepConn<'_>,
    ) -> Option<Gathering> {
        // Sorted while held (16 bytes each, the key read from the bytes), then opened
        // in order: each whole record is moved as few times as can be. Opened with
        // their bytes: those kept for later are held by them again.
        let mut all = g.conns.into_vec();
        all.sort_by_cached_key(Held::conn_id);
        let mut dns = g.dns.into_vec();
        dns.sort_by_cached_key(|t| t.peek(|t| t.seq));
        let (dns, dns_bytes): (Vec<_>, Vec<_>) = dns.into_iter().map(Held::open).unzip();
        // Exchanges without the strings only narration reads: a batch told whole
        // (below) opens its own again from their bytes.
        // Straight from their chunks: no block of all the held ones first.
        let mut http = Vec::with_capacity(g.http.len);
        let mut http_bytes = Vec::with_capacity(g.http.len);
        for h in g.http.into_records() {
            let (r, b) = super::pack::open_for_grouping(h);
            http.push(r);
            http_bytes.push(b);
        }
        let mut conns = Vec::with_capacity(all.len());
        let mut conn_bytes = Vec::with_capacity(all.len());
        let mut names = Vec::with_capacity(all.len());
        for h in all {
            let (c, b) = h.open();
            let n = self.names.name(&c);
            if keep(&c, n.as_ref()) {
                conns.push(c);
                conn_bytes.push(b);
                names.push(n);
            }
        }
        let input = StoryInput {
            conns: &conns,
            dns: &dns,
            http: &http,
        };
        let pages = group_pages(&input, &names);
        let fin = final_pages(&input, &pages, before);
        // Where each record went: Some(final?) by page, None when in no page (a DNS
        // connection, an exchange whose connection a filter dropped).
        let mut placed = (
            vec![None; conns.len()],
            vec![None; http.len()],
            vec![None; dns.len()],
        );
        for (pi, p) in pages.iter().enumerate() {
            p.conns.iter().for_each(|&i| placed.0[i] = Some(fin[pi]));
            p.http.iter().for_each(|&i| placed.1[i] = Some(fin[pi]));
            p.dns.iter().for_each(|&i| placed.2[i] = Some(fin[pi]));
        }
        let before = before.unwrap_or(i64::MAX);
        let mut rest = Gathering {
            grouped_at: now.0,
            ..Gathering::default()
        };
        // The usual case: each final page packed with its own records straight from
        // this grouping, so they are never copied into a batch of their own first
        // (that copy was a multi-MB block per busy client, see `analysis::chunked`).
        if let Some(packs) = self.pack_final(
            &input,
            &names,
            &pages,
            &fin,
            (&placed.0, &placed.1),
            (&conn_bytes, &http_bytes),
        ) {
            let batch = self.batches;
            self.batches += 1;
            for (p, pack) in pages
                .iter()
                .zip(&fin)
                .filter(|(_, f)| **f)
                .map(|(p, _)| p)
                .zip(packs)
            {
                self.waiting.push(Reverse(Waiting {
                    key: (p.start, p.client, batch, p.id),
                    turn: Turn::Page(Box::new(pack)),
                }));
            }
            split(
                conns,
                conn_bytes,
                &placed.0,
                before,
                None,
                &mut rest.conns,
                &mut rest.span,
            );
            split(
                http,
                http_bytes,
                &placed.1,
                before,
                None,
                &mut rest.http,
                &mut rest.span,
            );
            split(
                dns,
                dns_bytes,
                &placed.2,
                before,
                None,
                &mut rest.dns,
                &mut rest.span,
            );
            let empty = rest.conns.is_empty() && rest.http.is_empty() && rest.dns.is_empty();
            return (!empty).then_some(rest);
        }
        // Else (a QUIC connection, a record that does not pack, no final page): final
        // pages keep their records (renumbered) until told; the rest stay gathered, and
        // records in no page until they are old.
        let mut told = Told {
            names: names
                .into_iter()
                .zip(&placed.0)
                .filter(|(_, f)| **f == Some(true))
                .map(|(n, _)| n)
                .collect(),
            ..Told::default()
        };
        let (mut tc, mut th, mut td) = Default::default();
        let at = (
            split(
                conns,
                conn_bytes,
                &placed.0,
                before,
                Some(&mut tc),
                &mut rest.conns,
                &mut rest.span,
            ),
            split(
                http,
                http_bytes,
                &placed.1,
                before,
                Some(&mut th),
                &mut rest.http,
                &mut rest.span,
            ),
            split(
                dns,
                dns_bytes,
                &placed.2,
                before,
                Some(&mut td),
                &mut rest.dns,
                &mut rest.span,
            ),
        );
        let (conn_bytes, http_bytes): (Vec<Bytes>, Vec<Bytes>);
        (
            (told.conns, conn_bytes),
            (told.http, http_bytes),
            (told.dns, _),
        ) = (tc, th, td);
        for (mut p, _) in pages.into_iter().zip(&fin).filter(|(_, f)| **f) {
            p.conns.iter_mut().for_each(|i| *i = at.0[*i]);
            p.http.iter_mut().for_each(|i| *i = at.1[*i]);
            p.dns.iter_mut().for_each(|i| *i = at.2[*i]);
            told.pages.push(p);
        }
        if !told.pages.is_empty() {
            let narrator = Narrator::new(&told.input()).for_text(self.text_only);
            let batch = self.batches;
            self.batches += 1;
            // Each page packed with its own records, so the batch is not held (unless a
            // connection is QUIC, or a record does not pack).
            let packs: Option<Vec<PagePack>> = if told.conns.iter().any(|c| c.quic.is_some()) {
                None
            } else {
                let input = told.input();
                told.pages
                    .iter()
                    .map(|p| {
                        PagePack::new(
                            p,
                            &input,
                            &told.names,
                            &narrator,
                            (&conn_bytes, &http_bytes),
                        )
                    })
                    .collect()
            };
            match packs {
                Some(packs) => {
                    for (p, pack) in told.pages.iter().zip(packs) {
                        self.waiting.push(Reverse(Waiting {
                            key: (p.start, p.client, batch, p.id),
                            turn: Turn::Page(Box::new(pack)),
                        }));
                    }
                }
                None => {
                    // Narrated from these records: whole again.
                    for (h, b) in told.http.iter_mut().zip(&http_bytes) {
                        if let Some(b) = b {
                            *h = super::pack::unpack_whole(b);
                        }
                    }
                    told.narrator = Some(narrator);
                    let told = Rc::new(told);
                    for (i, p) in told.pages.iter().enumerate() {
                        self.waiting.push(Reverse(Waiting {
                            key: (p.start, p.client, batch, p.id),
                            turn: Turn::Batch(Rc::clone(&told), i),
                        }));
                    }
                }
            }
        }
        let empty = rest.conns.is_empty() && rest.http.is_empty() && rest.dns.is_empty();
        (!empty).then_some(rest)
    }
}

/// Which pages are final: ended before `before` (all, without it), and not sharing a
/// connection with one that is not (a connection belongs to the page of its first
/// exchange, a later exchange on it may belong to another page).
fn final_pages(input: &StoryInput<'_>, pages: &[Page], before: Option<i64>) -> Vec<bool> {
    let Some(before) = before else {
        return vec![true; pages.len()];
    };
    let mut fin: Vec<bool> = pages.iter().map(|p| p.end.0 < before).collect();
    if fin.iter().all(|f| !f) {
        return fin;
    }
    // The pages each connection's records are in, as one list sorted by connection
    // (a list per connection was an allocation per record at every regroup).
    let mut of_conn: Vec<(ConnId, usize)> = Vec::with_capacity(
        pages
            .iter()
            .map(|p| p.conns.len() + p.http.len() + p.dns.len())
            .sum(),
    );
    for (pi, p) in pages.iter().enumerate() {
        for &ci in &p.conns {
            of_conn.push((input.conns[ci].conn.id, pi));
        }
        for &hi in &p.http {
            of_conn.push((input.http[hi].conn, pi));
        }
        // DNS over TCP: the resolver connection joins the page of its first lookup.
        // (TCP only: a UDP flow to the resolver is in no page, and ties nothing.)
        for &di in &p.dns {
            let tx = &input.dns[di];
            if let (Some(c), Transport::Tcp) = (tx.conn, tx.transport) {
                of_conn.push((c, pi));
            }
        }
    }
    of_conn.sort_unstable();
    of_conn.dedup();
    // Only the connections whose records are in more than one page tie pages.
    let mut ties: Vec<&[(ConnId, usize)]> = of_conn
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|list| list.len() > 1)
        .collect();
    // Bounded: each round makes at least one more page not final.
    loop {
        let mut changed = false;
        // A page load and its background were grouped together: final together.
        for (pi, p) in pages.iter().enumerate() {
            if let Some(q) = p.background_of.map(|q| q as usize) {
                if fin[pi] != fin[q] {
                    changed = true;
                    fin[pi] = false;
                    fin[q] = false;
                }
            }
        }
        ties.retain(|list| {
            if list.iter().any(|&(_, p)| fin[p]) && list.iter().any(|&(_, p)| !fin[p]) {
                for &(_, p) in *list {
                    changed |= fin[p];
                    fin[p] = false;
                }
            }
            // A tie whose pages are all not final ties nothing any more.
            list.iter().any(|&(_, p)| fin[p])
        });
        if !changed {
            return fin;
        }
    }
}

/// The page as it is told, free of indexes into the batch it came from.
pub fn story_page(p: &Page, input: &StoryInput<'_>, events: Vec<Event>) -> StoryPage {
    StoryPage {
        id: p.id,
        client: p.client,
        url: p.url.clone(),
        title: title(p, input),
        start: p.start,
        end: p.end,
        lookups: p.dns.len(),
        connections: p.conns.len(),
        requests: p.http.len(),
        background: p.background,
        events,
    }
}

fn title(p: &Page, input: &StoryInput<'_>) -> String {
    if let Some(u) = &p.during {
        return format!("background during the page load of {u}");
    }
    if p.background {
        return "background (multicast and broadcast chatter)".to_string();
    }
    match &p.url {
        Some(u) => format!("page load {u}"),
        None if !p.http.is_empty() => {
            let h = &input.http[p.http[0]].tx;
            // RFC 9110 §9.3.6: a CONNECT's target is the tunnel's host:port, not a path.
            if h.method.as_deref() == Some("CONNECT") {
                return format!("request CONNECT {}", h.uri.as_deref().unwrap_or("?"));
            }
            format!(
                "request {} http://{}{}",
                h.method.as_deref().unwrap_or("?"),
                h.host.as_deref().unwrap_or("?"),
                h.uri.as_deref().unwrap_or("")
            )
        }
        // Connections to the resolver carry lookups: still a story of lookups.
        None if p
            .conns
            .iter()
            .any(|&ci| input.conns[ci].app != Some(super::AppKind::Dns)) =>
        {
            if p.conns.len() == 1 {
                "connection"
            } else {
                "connections"
            }
            .to_string()
        }
        None if p.dns.len() == 1 => "lookup".to_string(),
        None => "lookups".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::Endpoint;
    use crate::flow::{ConnProto, Connection};
    use crate::story::{EventKind, Facts};

    const S: i64 = 1_000_000_000;

    fn conn(id: u32, client: [u8; 4], at_s: i64) -> ConnRecord {
        let ip = |a: [u8; 4]| IpAddr::from(a);
        ConnRecord {
            conn: Connection::new(
                ConnId(id),
                ConnProto::Tcp,
                Endpoint::new(ip(client), 40_000 + id as u16),
                Endpoint::new(ip([198, 18, 1, 80]), 80),
                Timestamp(at_s * S),
                0,
            ),
            app: None,
            tls_anomalies: Vec::new(),
            tls: None,
            quic: None,
            http_host: None,
            http_count: 0,
        }
    }

    fn pages_told(s: &mut StoryStream, p: &Pending, out: &mut Vec<StoryPage>) {
        let mut keep = |_: &ConnRecord, _: Option<&ConnName>| true;
        s.advance(p, &mut keep, &mut |pg| {
            out.push(pg.clone());
            true
        });
    }

    fn told_page(url: Option<&str>, background: bool) -> StoryPage {
        StoryPage {
            id: 0,
            client: IpAddr::from([198, 18, 0, 10]),
            url: url.map(str::to_string),
            title: String::new(),
            start: Timestamp(0),
            end: Timestamp(S),
            lookups: 1,
            connections: 1,
            requests: 0,
            background,
            events: Vec::new(),
        }
    }

    /// The closing count: page loads apart from background and other stories, plurals
    /// right; headers say "1 connection", not "1 connections".
    #[test]
    fn the_count_of_stories_and_headers_are_plural_right() {
        let mut t = Tally::default();
        assert_eq!(t.line(), None);
        t.add(&told_page(Some("http://a/"), false));
        assert_eq!(t.line().unwrap(), "1 story: 1 page load");
        t.add(&told_page(None, true));
        t.add(&told_page(Some("http://b/"), false));
        assert_eq!(t.line().unwrap(), "3 stories: 2 page loads, 1 background");
        t.add(&told_page(None, false));
        assert!(t.line().unwrap().contains("1 other"));
        let mut p = told_page(Some("http://a/"), false);
        p.title = "page load http://a/".into();
        assert_eq!(
            p.header(),
            "story 1: page load http://a/  (client 198.18.0.10, 1 lookup, 1 connection, 0 requests, 1.000 s)"
        );
    }

    /// A page is told once its client has nothing pending within HOLD of its end, and
    /// only when no other client's open connection could still start an earlier page.
    #[test]
    fn pages_wait_for_earlier_starts_then_come_in_order() {
        let mut s = StoryStream::new();
        // Client A: lone connections at 10 s and 20 s; client B keeps one open from 5 s.
        s.add_conn(conn(1, [198, 18, 0, 1], 10));
        s.add_conn(conn(2, [198, 18, 0, 1], 20));
        let b = IpAddr::from([198, 18, 0, 2]);
        let mut told = Vec::new();
        let mut p = Pending {
            now: Timestamp(30 * S),
            open: HashMap::from([(b, Timestamp(5 * S))]),
            dns_held_since: None,
        };
        pages_told(&mut s, &p, &mut told);
        assert!(
            told.is_empty(),
            "B's open connection may still start a page at 5 s"
        );
        // B's connection ends: it is told first (it started first), then A's.
        s.add_conn(conn(3, [198, 18, 0, 2], 5));
        p.open.clear();
        p.now = Timestamp(40 * S);
        pages_told(&mut s, &p, &mut told);
        let order: Vec<(u32, IpAddr)> = told.iter().map(|t| (t.id, t.client)).collect();
        assert_eq!(order.len(), 3);
        assert_eq!(order[0], (0, b));
        assert_eq!(told[1].start, Timestamp(10 * S));
        assert_eq!(told[2].start, Timestamp(20 * S));
    }

    /// Every page of a stream over `path`, told in full or for the text only.
    fn stream_pages(path: &std::path::Path, text_only: bool) -> Vec<StoryPage> {
        let mut s = StoryStream::new();
        if text_only {
            s = s.for_text();
        }
        let mut pages = Vec::new();
        let Ok(mut src) = crate::capture::open(path) else {
            return pages;
        };
        let mut engine = crate::analysis::Engine::new(crate::analysis::EngineConfig::default());
        let mut keep = |_: &ConnRecord, _: Option<&ConnName>| true;
        while let Ok(Some(f)) = src.next_frame() {
            engine.process(&f);
        }
        engine.finish();
        for t in engine.take_dns(true) {
            s.add_dns(t, true);
        }
        for h in engine.take_http() {
            s.add_held_http(HeldHttp::new(h));
        }
        for c in engine.take_conns() {
            s.add_held_conn(HeldConn::new(c));
        }
        s.finish(&mut keep, &mut |p| {
            pages.push(p.clone());
            true
        });
        pages
    }

    /// Told for the text only, every page shows the same header and the same lines as
    /// told in full, with no facts and no quiet line made (every bundled and shared
    /// capture).
    #[test]
    fn pages_told_for_the_text_show_what_full_pages_show() {
        let shown = |p: &StoryPage| -> Vec<(Timestamp, &'static str, String, Option<String>)> {
            p.events
                .iter()
                .filter(|e| !e.quiet || e.kind == EventKind::Connect)
                .map(|e| {
                    let phases = e.phases.map(|ph| ph.summary());
                    (e.ts, e.kind.as_str(), e.text.clone(), phases)
                })
                .collect()
        };
        let mut lines = 0;
        for path in crate::testutil::all_captures() {
            let full = stream_pages(&path, false);
            let text = stream_pages(&path, true);
            assert_eq!(full.len(), text.len(), "{}", path.display());
            for (f, t) in full.iter().zip(&text) {
                assert_eq!(f.header(), t.header(), "{}", path.display());
                assert_eq!(shown(f), shown(t), "{}", path.display());
                assert!(t.events.iter().all(|e| e.facts == Facts::None
                    || !matches!(e.kind, EventKind::Connect | EventKind::HttpRequest)));
                assert!(t
                    .events
                    .iter()
                    .all(|e| !matches!(e.kind, EventKind::Established | EventKind::HttpResponse)));
                lines += t.events.len();
            }
        }
        assert!(lines > 500, "{lines}");
    }

    /// A connection open for ever cannot hold more than `max_waiting` pages back.
    #[test]
    fn a_connection_left_open_holds_back_at_most_max_waiting_pages() {
        let mut s = StoryStream::new();
        s.max_waiting = 10;
        for i in 0..25 {
            s.add_conn(conn(i, [198, 18, 0, 1], 10 + i as i64));
        }
        let p = Pending {
            now: Timestamp(100 * S),
            open: HashMap::from([(IpAddr::from([198, 18, 0, 2]), Timestamp(S))]),
            dns_held_since: None,
        };
        let mut told = Vec::new();
        pages_told(&mut s, &p, &mut told);
        assert_eq!(told.len(), 15, "all but max_waiting told");
        let mut keep = |_: &ConnRecord, _: Option<&ConnName>| true;
        s.finish(&mut keep, &mut |pg| {
            told.push(pg.clone());
            true
        });
        let starts: Vec<i64> = told.iter().map(|t| t.start.0 / S).collect();
        assert_eq!(starts, (10..35).collect::<Vec<_>>());
        assert!(told.iter().enumerate().all(|(i, t)| t.id as usize == i));
    }

    /// A burst of final pages, once told, does not leave the waiting heap's room
    /// allocated for the rest of the run.
    #[test]
    fn the_waiting_heap_gives_its_room_back_after_a_burst() {
        let mut s = StoryStream::new();
        let n = 20_000;
        for i in 0..n {
            s.add_conn(conn(i, [198, 18, 0, 1], 10 + i64::from(i)));
        }
        // All final at once, but another client's open connection holds them back.
        let mut p = Pending {
            now: Timestamp(100_000 * S),
            open: HashMap::from([(IpAddr::from([198, 18, 0, 2]), Timestamp(S))]),
            dns_held_since: None,
        };
        let mut told = Vec::new();
        pages_told(&mut s, &p, &mut told);
        assert!(told.is_empty());
        assert!(s.waiting.capacity() >= n as usize);
        p.open.clear();
        pages_told(&mut s, &p, &mut told);
        assert_eq!(told.len(), n as usize);
        assert!(s.waiting.capacity() <= 4096, "{}", s.waiting.capacity());
    }
}
