//! Focus and display filter: the view of packet ids every packet query goes through,
//! and the connection, DNS, HTTP and story lists limited to the focus or the filter.

use super::producer::Shared;
use super::{rows, EngineSource, Filtered, Focused};
use crate::story::Story;
use wiretale_engine::analysis::packet_table::PacketTable;
use wiretale_engine::analysis::{AppKind, ConnVerdicts};
use wiretale_engine::base::{ConnId, PacketId};
use wiretale_engine::capture::FrameStore;
use wiretale_engine::filter::Filter;
use wiretale_engine::proto::dns::DnsTransaction;

impl EngineSource {
    /// Recomputes the focused lists (after a focus change or new records).
    pub(super) fn refocus(&mut self) {
        let Some(c) = self.focus else {
            self.focused = None;
            return;
        };
        let focused = {
            let Ok(sh) = self.shared.read() else {
                return;
            };
            let naming_seq = self
                .conn_pos
                .get(c as usize)
                .and_then(|&p| sh.names.get(p as usize)??.dns_seq);
            // The DNS row that named the connection, found by its query frame.
            let naming_frame = naming_seq.and_then(|seq| {
                let t = sh.dns.iter().find(|t| t.seq == seq)?;
                Some(t.query_pkt.or(t.response_pkt)?.frame_number())
            });
            let base = self.filtered.as_ref();
            let all_conns = base.map_or(&self.all_conns, |f| &f.conns);
            let all_dns = base.map_or(&self.all_dns, |f| &f.dns);
            let all_http = base.map_or(&self.all_http, |f| &f.http);
            let dns_kept = |t: &DnsTransaction| {
                t.conn.map(|x| x.0) == Some(c) || Some(rows::dns_number(t)) == naming_frame
            };
            Focused {
                conns: all_conns.iter().copied().filter(|&id| id == c).collect(),
                dns: all_dns
                    .iter()
                    .copied()
                    .filter(|&p| sh.dns.get(p as usize).is_some_and(dns_kept))
                    .collect(),
                http: all_http
                    .iter()
                    .copied()
                    .filter(|&p| sh.http_conn.get(p as usize) == Some(&c))
                    .collect(),
                story: self.filtered_story().focus(c),
            }
        };
        self.focused = Some(focused);
    }

    pub(super) fn is_matched(&self, id: Option<PacketId>) -> bool {
        id.is_some_and(|p| self.matched.contains(p.0))
    }

    /// The connections of the packets the display filter matched: a connection is kept
    /// when any of its packets is, as the CLI's `-Y` keeps records.
    pub(super) fn matched_conns(&self) -> IdSet {
        let mut hit = IdSet::default();
        for id in self.matched.iter() {
            if let Some(c) = self.table.get(id).and_then(|f| f.conn()) {
                hit.insert(c.0);
            }
        }
        hit
    }

    /// [`matched_conns`](Self::matched_conns), and the connections with a packet the
    /// filter did not match (`missed`): a connection in the first set only had every
    /// packet matched. One pass over the packet table, split over the cores (20 M
    /// packets on the 5 GB capture).
    fn conn_coverage(&self) -> ConnCoverage {
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as u32;
        self.conn_coverage_split(cores.min(self.table.len() as u32 / 1_000_000))
    }

    /// [`conn_coverage`](Self::conn_coverage) in `parts` contiguous ranges, each on its
    /// own thread.
    pub(super) fn conn_coverage_split(&self, parts: u32) -> ConnCoverage {
        let (table, matched) = (&*self.table, &self.matched);
        let cover_of = |ids: std::ops::Range<u32>| {
            let mut cover = ConnCoverage::default();
            for id in ids {
                if let Some(c) = table.get(id).and_then(|f| f.conn()) {
                    if matched.contains(id) {
                        cover.hit.insert(c.0);
                    } else {
                        cover.missed.insert(c.0);
                    }
                }
            }
            cover
        };
        let (first, n) = (table.first_id(), table.len() as u32);
        let parts = parts.clamp(1, n.max(1));
        if parts == 1 {
            return cover_of(first..first + n);
        }
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..parts)
                .map(|i| {
                    let (a, b) = (
                        n / parts * i,
                        if i + 1 == parts {
                            n
                        } else {
                            n / parts * (i + 1)
                        },
                    );
                    scope.spawn(move || cover_of(first + a..first + b))
                })
                .collect();
            let mut cover = ConnCoverage::default();
            for w in workers {
                // A panic in a worker is a bug: surface it where it would have been.
                let part = w.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                cover.hit.union(&part.hit);
                cover.missed.union(&part.missed);
            }
            cover
        })
    }

    /// Recomputes the lists the display filter keeps (the `filtered` field),
    /// with the rules of `-Y` on `conns`, `dns`, `http` and `story` (README, "Filters and
    /// export"; `cli::select`): a connection when one of its packets matched or its own
    /// fields match; a DNS transaction when its query or response matched; an HTTP
    /// exchange when a packet that started, completed the head of or ended either side
    /// matched; the story of what those rules keep, retold when `story` (the filter
    /// changed or a new story arrived).
    pub(super) fn refilter(&mut self, story: bool) {
        let Some(filter) = &self.filter else {
            self.filtered = None;
            return;
        };
        let Ok(sh) = self.shared.read() else {
            return;
        };
        let cover = self.conn_coverage();
        let hit_conns = &cover.hit;
        let (verdicts, conn_pos, shared) = (&self.conn_verdicts, &self.conn_pos, &*sh);
        // The filter's answer on a connection's own fields by its application kind,
        // when the kind alone decides it (see `app_code`).
        let by_app = APP_KINDS.map(|k| wiretale_engine::analysis::conn_app_verdict(filter, k));
        let conn_app = &self.conn_app;
        // The whole lists' entries that the rules keep, in the whole lists' order; the
        // records the shortcuts leave are decoded on all cores.
        let conns = par_filter(&self.all_conns, |id| {
            if hit_conns.contains(id) {
                return true;
            }
            // What the packets told of the connection's own fields.
            if let Some(v) = verdicts.get(ConnId(id)) {
                return v;
            }
            let Some(&pos) = conn_pos.get(id as usize) else {
                return false;
            };
            let app = conn_app.get(pos as usize).map(|&a| by_app[usize::from(a)]);
            if let Some(Some(v)) = app {
                return v;
            }
            let name = shared.names.get(pos as usize).flatten();
            shared.conns.get(pos as usize).is_some_and(|c| {
                wiretale_engine::analysis::select::conn_matches(
                    &shared.index,
                    filter,
                    &c,
                    name.as_ref().map(|n| n.qname.as_str()),
                )
            })
        });
        let keep_dns =
            |t: &DnsTransaction| self.is_matched(t.query_pkt) || self.is_matched(t.response_pkt);
        let dns = self
            .all_dns
            .iter()
            .copied()
            .filter(|&p| sh.dns.get(p as usize).is_some_and(keep_dns))
            .collect();
        let matched = &self.matched;
        let keep_http = |r: &wiretale_engine::analysis::HttpRecord| {
            r.tx.packets()
                .into_iter()
                .any(|p| p.is_some_and(|p| matched.contains(p.0)))
        };
        // An exchange's packets are its connection's: one with no matching packet
        // keeps none, one whose every packet matched keeps all that name a packet
        // (`http_bare` lists the others), and their records need not be decoded. Only
        // once every packet is in the table: while loading, an exchange may name one
        // not absorbed yet, and a live ring drops its first packets.
        let whole_table = self.done && self.table.first_id() == 0;
        let bare = &self.http_bare;
        let http = par_filter(&self.all_http, |p| match shared.http_conn.get(p as usize) {
            Some(&c) if !hit_conns.contains(c) => false,
            Some(&c) if whole_table && !cover.missed.contains(c) => bare.binary_search(&p).is_err(),
            _ => shared.http.get(p as usize).is_some_and(|r| keep_http(&r)),
        });
        drop(sh);
        // The filtered story is told when first shown (see `filtered_story`): telling
        // it is most of a re-filter's work (on manyflows.pcap, 14 s of 15).
        let story = match (self.filtered.take(), story) {
            (Some(f), false) => f.story,
            _ => std::cell::OnceCell::new(),
        };
        self.filtered = Some(Filtered {
            conns,
            dns,
            http,
            story,
        });
    }

    /// The story the display filter keeps (told on first use, then kept until the
    /// filter or the story changes), or the whole story when no filter is set.
    pub(super) fn filtered_story(&self) -> &Story {
        match &self.filtered {
            Some(f) => f.story.get_or_init(|| self.tell_filtered()),
            None => &self.all_story,
        }
    }

    /// Tells the story `story -Y` tells with the current filter: the lookups whose
    /// packets match, the exchanges with a matching packet, the connections with a
    /// matching packet or matching connection fields.
    fn tell_filtered(&self) -> Story {
        let Some(filter) = &self.filter else {
            return Story::clone(&self.all_story);
        };
        if self.all_story.is_empty() {
            return Story::default();
        }
        let Ok(sh) = self.shared.read() else {
            return Story::default();
        };
        let hit_conns = self.matched_conns();
        let keep_conn = |c: &wiretale_engine::analysis::ConnRecord, name: Option<&str>| {
            hit_conns.contains(c.conn.id.0)
                || wiretale_engine::analysis::select::conn_matches(&sh.index, filter, c, name)
        };
        let keep_dns =
            |t: &DnsTransaction| self.is_matched(t.query_pkt) || self.is_matched(t.response_pkt);
        let keep_http = |r: &wiretale_engine::analysis::HttpRecord| {
            r.tx.packets().into_iter().any(|p| self.is_matched(p))
        };
        // As `story -Y` tells it: every answer names connections; the filter
        // decides which lookups, exchanges and connections are told.
        let mut stream = wiretale_engine::story::StoryStream::new();
        let mut txs: Vec<&DnsTransaction> = sh.dns.iter().collect();
        txs.sort_by_key(|t| t.seq);
        for t in txs {
            stream.add_dns(t.clone(), keep_dns(t));
        }
        for h in sh.http.iter().filter(|h| keep_http(h)) {
            stream.add_http(h);
        }
        for c in sh.conns.iter() {
            stream.add_conn(c);
        }
        let mut lines = rows::StoryLines::default();
        let mut keep = |c: &wiretale_engine::analysis::ConnRecord,
                        n: Option<&wiretale_engine::story::ConnName>| {
            keep_conn(c, n.map(|n| n.qname.as_str()))
        };
        stream.finish(&mut keep, &mut |p| {
            lines.add(p, false);
            true
        });
        lines.finish()
    }

    /// Rebuilds the packet view from scratch (focus or filter changed).
    pub(super) fn rebuild_view(&mut self) -> Result<(), String> {
        self.view_scanned = 0;
        self.matched.clear();
        self.conn_verdicts = ConnVerdicts::default();
        self.view = if self.focus.is_none() && self.filter.is_none() {
            None
        } else {
            Some(Shown::Ids(Vec::new()))
        };
        self.extend_view()
    }

    /// Adds the packets that arrived since the last scan to the view.
    pub(super) fn extend_view(&mut self) -> Result<(), String> {
        if self.view.is_none() {
            self.view_scanned = self.table.len();
            return Ok(());
        }
        let from = self.view_scanned;
        if let Some(f) = &self.filter {
            // The whole capture's matches (the other views need them), then the focus.
            let st = self.store.read().map_err(|_| "frame store unavailable")?;
            let sh = self.shared.read().map_err(|_| "analysis unavailable")?;
            evaluate_filter(
                f,
                &st,
                &self.table,
                &sh,
                from,
                &mut self.conn_verdicts,
                &mut self.matched,
            )?;
        }
        let new: Vec<u32> = match (&self.filter, self.focus) {
            (Some(_), Some(c)) => self
                .table
                .packets_of(ConnId(c), from)
                .filter(|&id| self.matched.contains(id))
                .collect(),
            // The view reads the matched set itself.
            (Some(_), None) => {
                self.view = Some(Shown::Matched(Ranks::of(&self.matched)));
                Vec::new()
            }
            (None, Some(c)) => self.table.packets_of(ConnId(c), from).collect(),
            (None, None) => (from as u32..self.table.len() as u32).collect(),
        };
        if let Some(Shown::Ids(view)) = &mut self.view {
            view.extend(new);
        }
        self.view_scanned = self.table.len();
        Ok(())
    }
}

/// The packet ids a view shows, increasing.
pub(super) enum Shown {
    /// Listed (a focused connection's packets, with or without a filter).
    Ids(Vec<u32>),
    /// Every packet the display filter matched (`EngineSource::matched`): no list of
    /// ids (80 MB when `tcp.port == 80` selects the 20 M packets of the 5 GB capture).
    Matched(Ranks),
}

impl Shown {
    /// Packets shown.
    pub(super) fn len(&self) -> usize {
        match self {
            Shown::Ids(v) => v.len(),
            Shown::Matched(r) => r.len,
        }
    }

    /// The packet id at position `index` (`matched`: the filter's set).
    pub(super) fn get(&self, index: usize, matched: &IdSet) -> Option<u32> {
        match self {
            Shown::Ids(v) => v.get(index).copied(),
            Shown::Matched(r) => r.nth(matched, index),
        }
    }

    /// The position of packet `id`, when shown.
    pub(super) fn position(&self, id: u32, matched: &IdSet) -> Option<usize> {
        match self {
            Shown::Ids(v) => v.binary_search(&id).ok(),
            Shown::Matched(r) => matched.contains(id).then(|| r.rank(matched, id)),
        }
    }

    /// The ids shown, increasing.
    pub(super) fn ids<'a>(&'a self, matched: &'a IdSet) -> Box<dyn Iterator<Item = u32> + 'a> {
        match self {
            Shown::Ids(v) => Box::new(v.iter().copied()),
            Shown::Matched(_) => Box::new(matched.iter()),
        }
    }
}

/// Words of an [`IdSet`] per [`Ranks`] block.
const RANK_BLOCK: usize = 8;

/// Where the n-th member of an [`IdSet`] is: the members before each block of
/// [`RANK_BLOCK`] words (512 ids), 4 bytes a block (160 KB for 20 M packets).
pub(super) struct Ranks {
    before: Vec<u32>,
    len: usize,
}

impl Ranks {
    pub(super) fn of(set: &IdSet) -> Ranks {
        let mut before = Vec::with_capacity(set.0.len().div_ceil(RANK_BLOCK));
        let mut len = 0;
        for block in set.0.chunks(RANK_BLOCK) {
            before.push(len as u32);
            len += block.iter().map(|w| w.count_ones() as usize).sum::<usize>();
        }
        Ranks { before, len }
    }

    /// The member at position `n` (0 = the smallest).
    fn nth(&self, set: &IdSet, n: usize) -> Option<u32> {
        if n >= self.len {
            return None;
        }
        let block = self.before.partition_point(|&b| b as usize <= n) - 1;
        let mut left = n - self.before[block] as usize;
        for (i, &w) in set.0.iter().enumerate().skip(block * RANK_BLOCK) {
            let ones = w.count_ones() as usize;
            if left < ones {
                let mut bits = w;
                for _ in 0..left {
                    bits &= bits - 1;
                }
                return Some((i * 64) as u32 + bits.trailing_zeros());
            }
            left -= ones;
        }
        None
    }

    /// Members smaller than `id`.
    fn rank(&self, set: &IdSet, id: u32) -> usize {
        let (w, b) = (id as usize / 64, id % 64);
        let block = w / RANK_BLOCK;
        let Some(&before) = self.before.get(block) else {
            return self.len;
        };
        let words = set.0.get(block * RANK_BLOCK..w).unwrap_or(&[]);
        before as usize
            + words.iter().map(|x| x.count_ones() as usize).sum::<usize>()
            + set
                .0
                .get(w)
                .map_or(0, |x| (x & ((1u64 << b) - 1)).count_ones() as usize)
    }
}

/// Adds the packets from `from` on that match `filter` to `matched`, using the filter
/// index the worker builds beside the packet table (see `analysis::index`). From the
/// first packet, the whole capture is split over the cores (`filter_index_bits`: the
/// same packets as one pass, as bits, which become `matched` as they are); packets that
/// arrived later are filtered on their own (`filter_ids`). From the first packet,
/// `conns` gets what the packets told of the connections' own fields.
fn evaluate_filter(
    filter: &Filter,
    store: &FrameStore,
    table: &PacketTable,
    shared: &Shared,
    from: usize,
    conns: &mut ConnVerdicts,
    matched: &mut IdSet,
) -> Result<(), String> {
    if from == 0 && table.first_id() == 0 {
        let (bits, verdicts) =
            wiretale_engine::analysis::filter_index_bits(store, table, &shared.index, filter);
        *conns = verdicts;
        *matched = IdSet(bits.words);
        return Ok(());
    }
    let ids: Vec<u32> = (from as u32..table.len() as u32).collect();
    for id in wiretale_engine::analysis::filter_ids(store, table, &shared.index, filter, &ids) {
        matched.insert(id);
    }
    Ok(())
}

/// The application kinds a connection record may have, by [`app_code`].
pub(super) const APP_KINDS: [Option<AppKind>; 5] = [
    None,
    Some(AppKind::Http),
    Some(AppKind::Tls),
    Some(AppKind::Dns),
    Some(AppKind::Quic),
];

/// A connection's application kind in a byte: its index in [`APP_KINDS`].
pub(super) fn app_code(app: Option<AppKind>) -> u8 {
    match app {
        None => 0,
        Some(AppKind::Http) => 1,
        Some(AppKind::Tls) => 2,
        Some(AppKind::Dns) => 3,
        Some(AppKind::Quic) => 4,
    }
}

/// The `ids` that `keep` keeps, in order: split over the cores when there are many
/// (`keep` may decode a record, ~0.4 µs).
fn par_filter(ids: &[u32], keep: impl Fn(u32) -> bool + Sync) -> Vec<u32> {
    const MIN_PER_THREAD: usize = 20_000;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let parts = cores.min(ids.len() / MIN_PER_THREAD).max(1);
    if parts == 1 {
        return ids.iter().copied().filter(|&i| keep(i)).collect();
    }
    let keep = &keep;
    std::thread::scope(|scope| {
        let workers: Vec<_> = ids
            .chunks(ids.len().div_ceil(parts))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .copied()
                        .filter(|&i| keep(i))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out = Vec::new();
        for w in workers {
            // A panic in a worker is a bug: surface it where it would have been.
            out.extend(w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
}

/// Which connections had a packet the filter matched, and which had one it did not.
#[derive(Default, Debug, PartialEq, Eq)]
pub(super) struct ConnCoverage {
    pub(super) hit: IdSet,
    pub(super) missed: IdSet,
}

/// A set of dense ids (packet or connection ids: 0, 1, 2, ...), one bit each.
#[derive(Default, Debug, PartialEq, Eq)]
pub(super) struct IdSet(Vec<u64>);

impl IdSet {
    pub(super) fn insert(&mut self, c: u32) {
        let (w, b) = (c as usize / 64, c % 64);
        if self.0.len() <= w {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << b;
    }

    pub(super) fn contains(&self, c: u32) -> bool {
        self.0
            .get(c as usize / 64)
            .is_some_and(|w| w & (1 << (c % 64)) != 0)
    }

    pub(super) fn clear(&mut self) {
        self.0.clear();
    }

    /// Adds every id of `other`.
    fn union(&mut self, other: &IdSet) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (w, &o) in self.0.iter_mut().zip(&other.0) {
            *w |= o;
        }
    }

    /// The ids in the set, increasing.
    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &bits)| {
            let mut b = bits;
            std::iter::from_fn(move || {
                (b != 0).then(|| {
                    let id = (w * 64) as u32 + b.trailing_zeros();
                    b &= b - 1;
                    id
                })
            })
        })
    }
}
