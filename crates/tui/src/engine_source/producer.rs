//! The worker side of [`super::EngineSource`]: indexes the frame store in slices, runs the
//! [`Engine`] over the newly indexed frames, and hands the UI one batch per slice.
//!
//! Finished records (connections with their names, DNS transactions, HTTP exchanges)
//! go into [`Shared`] behind a lock rather than through the channel: the story at the end
//! needs all of them, and sharing them avoids holding every record twice (once in the
//! worker for the story, once in the UI for the tables).
//!
//! A live capture takes the same path: libpcap's frames are written to the spill file
//! before a batch is announced, and the producer reads them back from that file through
//! the growing store. Reading from the file rather than from the batches keeps packet
//! ids equal to file positions even when the capture thread had to drop a batch for a
//! slow consumer (those frames are only in the file), so every row can be re-read.
//!
//! TLS keys: the `--tls-keylog` file is given to the engine at the start; the pcapng
//! Decryption Secrets Blocks are indexed apart by the store (a random access never hands
//! them out), so the producer gives each to the engine just before the first packet it
//! serves, as [`Engine::process`] takes them from a file read in order. Live, the key
//! log is re-read every [`KEY_REFRESH_EVERY`], as `capture --tls-keylog` does: the browser
//! writes a session's secrets after its first packets, and connections waiting for keys
//! are decrypted when they arrive.

use std::sync::{Arc, Mutex, RwLock};

use super::cache::{self, FileKey, Miss};
use super::rows;
use super::teller::{Finished, Records, Teller};
use crate::story::Story;
use crate::worker::Produced;
use wiretale_engine::analysis::{
    ConnOutcome, ConnRecord, Engine, EngineConfig, FilterIndex, HttpRecord, PacketTable,
};
use wiretale_engine::base::packed::Packed;
use wiretale_engine::base::PacketId;
use wiretale_engine::capture::{DecryptionSecrets, FrameStore, LiveCapture, LiveStats};
use wiretale_engine::proto::dns::DnsTransaction;
use wiretale_engine::proto::tls::KeyLog;
use wiretale_engine::story::{self, ConnName, NameIndex, StoryInput};

/// Packets indexed and analysed in the first slice (small, so the first screen is fast).
const FIRST_SLICE: usize = 2048;
/// Largest slice: a few milliseconds of indexing, tens of analysis.
const MAX_SLICE: usize = 65_536;
/// How often a live capture's story is retold while records arrive.
const LIVE_STORY_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// How often a live capture re-reads the key log the browser appends to.
const KEY_REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// Capture time (ns) between two looks for story pages that are final, as the `story`
/// command looks (each look walks the open connections).
const ADVANCE_EVERY: i64 = 500_000_000;

/// Records shared between the worker (writer) and the UI (reader). `conns`, `names`
/// and `first_pkt` are parallel, and so are `http` and `http_conn`; all lists only grow
/// (the final names replace `names` in place). Connections and exchanges are held
/// encoded ([`Packed`]): read whole only when a view or the story needs them.
#[derive(Default)]
pub struct Shared {
    pub conns: Packed<ConnRecord>,
    /// Encoded too: a `ConnName` is ~160 bytes plus its strings, and the views read
    /// one (a row's name, a connection's lookup) at a time.
    pub names: Packed<Option<ConnName>>,
    /// Packet id of each connection's first packet.
    pub first_pkt: Vec<u32>,
    pub dns: Vec<DnsTransaction>,
    pub http: Packed<HttpRecord>,
    /// The connection of each exchange in `http` (a connection's exchanges are found
    /// without decoding the others).
    pub http_conn: Vec<u32>,
    /// What display filters read about each packet beyond its bytes (streams, TCP
    /// analysis, application fields, connection outcomes).
    pub index: FilterIndex,
    /// Live only: the connections still open at the last refresh (provisional rows).
    pub open: Vec<ConnRecord>,
    /// Bumped at every refresh of `open`.
    pub open_version: u64,
    /// What the TUI says about TLS keys.
    pub keys: KeyState,
    /// The persisted index of this file (see [`cache`]).
    pub cache: CacheState,
}

/// The persisted index as the worker and the UI see it.
#[derive(Clone, Debug, Default)]
pub struct CacheState {
    /// Where entries live; `None`: no cache (`--no-cache`, stdin, live, key log, gzip).
    pub dir: Option<std::path::PathBuf>,
    /// The file's identity, once read (the key the analysis is saved under).
    pub key: Option<FileKey>,
    /// The capture file (its identity is read again before saving).
    pub file: Option<std::path::PathBuf>,
    /// The analysis came from the cache.
    pub hit: bool,
    /// What the status line says about the cache (a corrupt entry, a failed write).
    pub note: Option<String>,
}

impl Shared {
    fn shrink_to_fit(&mut self) {
        self.conns.shrink_to_fit();
        self.names.shrink_to_fit();
        self.first_pkt.shrink_to_fit();
        self.dns.shrink_to_fit();
        self.http.shrink_to_fit();
        self.http_conn.shrink_to_fit();
        self.open.shrink_to_fit();
    }
}

/// TLS keys as the status line tells them.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyState {
    /// Keys were given: `--tls-keylog`, or a Decryption Secrets Block met so far.
    pub given: bool,
    /// Key log lines skipped (the file's and the blocks'), as the engine words them
    /// (line numbers, never the secrets).
    pub warnings: Vec<String>,
    /// The last error re-reading a followed key log (live).
    pub error: Option<String>,
}

/// One update for the UI.
pub struct Batch {
    /// The rows of the packets analysed in this slice (appended to the whole table).
    pub rows: PacketTable,
    /// Fraction of the file walked, 0.0..=1.0.
    pub indexed: f64,
    /// The analysis is complete (end of file, or the live capture ended).
    pub done: bool,
    /// Why reading stopped early (damaged file, capture error).
    pub error: Option<String>,
    /// At the end: the story (the final names are in [`Shared`]).
    pub story: Option<Story>,
}

/// Live capture state the UI shows (updated by the producer each step).
#[derive(Clone, Debug, Default)]
pub struct LiveStatus {
    pub stats: LiveStats,
    pub stopped: bool,
}

/// The producer run by the worker thread.
pub struct Producer {
    store: Arc<RwLock<FrameStore>>,
    shared: Arc<RwLock<Shared>>,
    engine: Engine,
    names: NameIndex,
    /// First packet id of each connection, by connection id.
    conn_first: Vec<u32>,
    processed: usize,
    slice: usize,
    finished: bool,
    live: Option<LiveHandles>,
    /// Records arrived since the story was last told (live capture retells it).
    story_stale: bool,
    last_story: Option<std::time::Instant>,
    /// Decryption secrets of the store already given to the engine.
    secrets_applied: usize,
    /// A key log to re-read (live) and when it last was.
    follow_keys: bool,
    last_key_refresh: Option<std::time::Instant>,
    /// The capture file whose saved index is tried at the first step (see [`cache`]).
    cached_file: Option<std::path::PathBuf>,
    /// A file's story, told on its own thread as records come (see [`super::teller`]);
    /// started at the first slice analysed. A live capture retells the whole story
    /// every [`LIVE_STORY_EVERY`] instead (its open connections are in it too).
    teller: Option<Teller>,
    /// Capture time (ns) the teller was last told what is pending.
    last_advance: i64,
}

/// The live capture (taken out and stopped by the UI at quit, so its file is flushed
/// before the process exits) and the status the producer reports.
#[derive(Clone)]
pub struct LiveHandles {
    pub cap: Arc<Mutex<Option<LiveCapture>>>,
    pub status: Arc<Mutex<LiveStatus>>,
}

impl Producer {
    /// `keys`: the `--tls-keylog` file (made by [`KeyLog::follow`] for a live capture,
    /// which then re-reads it).
    pub fn new(
        store: Arc<RwLock<FrameStore>>,
        shared: Arc<RwLock<Shared>>,
        live: Option<LiveHandles>,
        keys: Option<KeyLog>,
    ) -> Producer {
        let mut engine = Engine::new(EngineConfig {
            want_app_fields: true,
            ..EngineConfig::default()
        });
        let follow_keys = keys.is_some() && live.is_some();
        if let Some(k) = keys {
            engine.set_tls_keys(k);
            if let Ok(mut sh) = shared.write() {
                sh.keys.given = true;
                sh.keys.warnings = engine.key_warnings();
            }
        }
        Producer {
            store,
            shared,
            engine,
            names: NameIndex::new(),
            conn_first: Vec::new(),
            processed: 0,
            slice: FIRST_SLICE,
            finished: false,
            live,
            story_stale: false,
            last_story: None,
            secrets_applied: 0,
            follow_keys,
            last_key_refresh: None,
            cached_file: None,
            teller: None,
            last_advance: i64::MIN,
        }
    }

    /// Tries the saved index of `file` in `dir` at the first step, and saves the
    /// analysis there when it had to be done (see [`cache`]).
    pub fn with_cache(mut self, dir: std::path::PathBuf, file: std::path::PathBuf) -> Self {
        if let Ok(mut sh) = self.shared.write() {
            sh.cache.dir = Some(dir);
        }
        self.cached_file = Some(file);
        self
    }

    /// The first step with a cache: the whole analysis from the saved index when it is
    /// there and whole (one batch, done), else `None` (and the key to save under).
    fn load_cached(&mut self) -> Option<Batch> {
        let file = self.cached_file.take()?;
        let dir = self.shared.read().ok()?.cache.dir.clone()?;
        let Ok(key) = FileKey::of(&file) else {
            // Unreadable now (it was opened): analyse it, save nothing.
            return None;
        };
        let loaded = cache::load(&dir, &key);
        let mut sh = self.shared.write().ok()?;
        sh.cache.key = Some(key);
        sh.cache.file = Some(file.clone());
        let body = match loaded {
            Ok(b) => b,
            Err(Miss::Absent | Miss::Stale) => return None,
            Err(Miss::Corrupt(why)) => {
                sh.cache.note = Some(format!("index cache ignored ({why}): indexed again"));
                return None;
            }
        };
        let restored = FrameStore::restore(&file, body.store);
        let store = match restored {
            Ok(s) => s,
            Err(e) => {
                sh.cache.note = Some(format!("index cache ignored ({e}): indexed again"));
                return None;
            }
        };
        if let Ok(mut st) = self.store.write() {
            *st = store;
        } else {
            return None;
        }
        sh.conns = body.conns;
        sh.names = body.names;
        sh.first_pkt = body.first_pkt;
        sh.dns = body.dns;
        sh.http = body.http;
        sh.http_conn = body.http_conn;
        sh.index = body.index;
        sh.keys = body.keys;
        sh.cache.hit = true;
        self.processed = body.table.len();
        self.finished = true;
        Some(Batch {
            rows: body.table,
            indexed: 1.0,
            done: true,
            error: body.error,
            story: Some(body.story),
        })
    }

    /// One slice: see the module docs.
    pub fn step(&mut self) -> Produced<Batch> {
        if self.finished {
            return Produced::Done;
        }
        if self.cached_file.is_some() {
            if let Some(b) = self.load_cached() {
                return Produced::Batch(b);
            }
        }
        if self.live.is_none() && self.teller.is_none() && self.processed == 0 {
            self.teller = Teller::spawn(self.shared.clone());
        }
        let mut error = None;
        let mut capture_ended = false;
        if let Some(live) = &self.live {
            // The frames are in the spill file; the batches only say "more is there".
            let mut disconnected = true;
            let mut stats = None;
            if let Ok(guard) = live.cap.lock() {
                if let Some(cap) = guard.as_ref() {
                    disconnected = false;
                    loop {
                        match cap.batches().try_recv() {
                            Ok(_) => {}
                            Err(std::sync::mpsc::TryRecvError::Empty) => break,
                            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                                disconnected = true;
                                break;
                            }
                        }
                    }
                    if let Some(e) = cap.error() {
                        error = Some(e.to_string());
                    }
                    stats = Some(cap.stats());
                }
            }
            capture_ended = disconnected || error.is_some();
            if let Ok(mut s) = live.status.lock() {
                if let Some(st) = stats {
                    s.stats = st;
                }
                s.stopped = capture_ended;
            }
            if let Ok(mut st) = self.store.write() {
                if capture_ended {
                    let _ = st.finish_growing();
                } else if let Err(e) = st.refresh() {
                    error = Some(e.to_string());
                }
            }
        }
        let (complete, indexed) = match self.store.write() {
            Ok(mut st) => {
                st.index_more(self.slice);
                if let Some(e) = st.error() {
                    error.get_or_insert_with(|| e.to_string());
                }
                let frac = if self.live.is_some() || st.file_len() == 0 {
                    1.0
                } else {
                    st.bytes_indexed() as f64 / st.file_len() as f64
                };
                (st.is_complete(), frac)
            }
            Err(_) => return Produced::Done,
        };
        let mut rows = PacketTable::starting_at(self.processed as u32);
        // The filter index grows with the rows; it is moved out of `Shared` for the
        // slice so the UI is not locked out while frames are analysed.
        let mut index = self
            .shared
            .write()
            .map(|mut sh| std::mem::take(&mut sh.index))
            .unwrap_or_default();
        let mut new_secrets = false;
        if self.follow_keys
            && self
                .last_key_refresh
                .is_none_or(|t| t.elapsed() >= KEY_REFRESH_EVERY)
        {
            self.last_key_refresh = Some(std::time::Instant::now());
            let r = self.engine.refresh_keys();
            if let Ok(mut sh) = self.shared.write() {
                sh.keys.error = r.err().map(|e| format!("TLS key log: {e}"));
                sh.keys.warnings = self.engine.key_warnings();
            }
        }
        if let Ok(st) = self.store.read() {
            let end = st.len().min(self.processed + self.slice);
            for id in self.processed..end {
                let Some(frame) = st.frame(PacketId(id as u32)) else {
                    break;
                };
                // The secrets that come before this packet in the file.
                while let Some((at, sec)) = st.secrets().get(self.secrets_applied) {
                    if at.0 as usize > id {
                        break;
                    }
                    self.engine.add_secrets(sec);
                    self.secrets_applied += 1;
                    new_secrets |= sec.kind == DecryptionSecrets::TLS;
                }
                let s = self.engine.process(&frame);
                if let (Some(c), Some(v)) = (s.conn, &s.verdict) {
                    let c = c.0 as usize;
                    if c >= self.conn_first.len() && c < u32::MAX as usize {
                        self.conn_first.resize(c + 1, u32::MAX);
                    }
                    if let Some(slot) = self.conn_first.get_mut(c) {
                        if *slot == u32::MAX || v.new_conn {
                            *slot = id as u32;
                        }
                    }
                }
                rows.push(&s);
                index.push(&frame, &s);
                self.processed = id + 1;
            }
        }
        if let Ok(mut sh) = self.shared.write() {
            sh.index = index;
            if new_secrets {
                sh.keys.given = true;
                sh.keys.warnings = self.engine.key_warnings();
            }
        }
        let at_end = complete && self.processed >= self.store.read().map_or(0, |s| s.len());
        let live_done = self.live.is_none() || capture_ended;
        let done = at_end && live_done;
        if done {
            self.engine.finish();
        }
        self.collect(done);
        // Live, connections still open are shown as they are so far (refreshed with
        // the story), so the views move with the traffic, not only when a connection
        // ends.
        if self.live.is_some() && !rows.is_empty() {
            self.story_stale = true;
        }
        // A live capture has no end to wait for: retell the story every few seconds
        // while records keep arriving (telling it costs time linear in the records).
        let retell = self.live.is_some()
            && self.story_stale
            && self
                .last_story
                .is_none_or(|t| t.elapsed() >= LIVE_STORY_EVERY);
        let story = (done || retell).then(|| {
            self.story_stale = false;
            self.last_story = Some(std::time::Instant::now());
            let open = if done {
                Vec::new()
            } else {
                self.engine.open_conns()
            };
            if let Ok(mut sh) = self.shared.write() {
                sh.open = open;
                sh.open_version += 1;
            }
            match self.teller.take() {
                Some(t) => self.told(t),
                None => self.tell(),
            }
        });
        if done {
            self.finished = true;
            // Nothing more arrives: give back the room the lists grew into by doubling
            // (on manyflows.pcap, 267 k connection records in room for 524 k).
            if let Ok(mut sh) = self.shared.write() {
                sh.shrink_to_fit();
            }
        }
        if rows.is_empty() && !done && error.is_none() && story.is_none() {
            return Produced::Idle;
        }
        self.slice = (self.slice * 2).min(MAX_SLICE);
        Produced::Batch(Batch {
            rows,
            indexed,
            done,
            error,
            story,
        })
    }

    /// Hands what the engine finished to the teller (which stores it in [`Shared`],
    /// then tells the story of it), naming connections by the lookups seen so far (the
    /// story renames them at the end). A live capture stores the records here.
    fn collect(&mut self, at_end: bool) {
        let dns = self.engine.take_dns(at_end);
        let conns = self.engine.take_conns();
        let http = self.engine.take_http();
        let mut r = Records {
            at_end,
            ..Records::default()
        };
        if self.teller.is_some() {
            let now = self.engine.now().0;
            if !at_end && now.saturating_sub(self.last_advance) >= ADVANCE_EVERY {
                self.last_advance = now;
                r.pending = Some(self.engine.pending());
            }
        }
        if !(dns.is_empty() && conns.is_empty() && http.is_empty()) {
            self.story_stale = true;
            for t in &dns {
                self.names.add(t);
            }
            // What display filters read of a finished connection, known at once.
            let Ok(mut sh) = self.shared.write() else {
                return;
            };
            r.conns.reserve_exact(conns.len());
            for c in conns {
                let name = self.names.name(&c);
                sh.index.set_outcome(
                    c.conn.id,
                    ConnOutcome {
                        state: c.conn.state(),
                        name: name.as_ref().map(|n| n.qname.clone()),
                    },
                );
                let first = self
                    .conn_first
                    .get(c.conn.id.0 as usize)
                    .copied()
                    .unwrap_or(u32::MAX);
                r.conns.push(Finished {
                    record: c,
                    name,
                    first,
                });
            }
            r.dns = dns;
            r.http = http;
        }
        match &self.teller {
            Some(t) => t.send(r),
            None => {
                if let Ok(mut sh) = self.shared.write() {
                    r.store(&mut sh);
                }
            }
        }
    }

    /// At the end of a file (all records were sent): the final names, made here once
    /// the teller has stored the last records and while it tells the last pages, and
    /// the story it told; the teller's lists and story are then copied here
    /// ([`rehome`]).
    fn told(&mut self, teller: Teller) -> Story {
        teller.wait_stored();
        let names = self.shared.read().ok().map(|sh| final_names(&sh));
        let story = teller.finish();
        if let (Some(names), Ok(mut sh)) = (names, self.shared.write()) {
            if sh.names.len() == names.len() {
                sh.names = names;
            }
        }
        rehome(&self.shared);
        // The same story in new buffers (see [`rehome`]).
        match story {
            Some(told) => {
                let copy = told.clone();
                drop(told);
                copy
            }
            None => self.tell(),
        }
    }

    /// The story over everything, as the `story` command tells it; also replaces the
    /// provisional names with the story's.
    fn tell(&mut self) -> Story {
        let (story, names) = {
            let Ok(sh) = self.shared.read() else {
                return Story::default();
            };
            // The records whole, connections in id order.
            let mut conns: Vec<(usize, ConnRecord)> = sh.conns.iter().enumerate().collect();
            conns.sort_by_key(|(_, c)| c.conn.id);
            let order: Vec<usize> = conns.iter().map(|(i, _)| *i).collect();
            let mut conns: Vec<ConnRecord> = conns.into_iter().map(|(_, c)| c).collect();
            // Live: the connections still open take part in the story too (after the
            // finished ones, so `names[k]` still lines up with `order`).
            let finished: std::collections::HashSet<u32> =
                conns.iter().map(|c| c.conn.id.0).collect();
            conns.extend(
                sh.open
                    .iter()
                    .filter(|c| !finished.contains(&c.conn.id.0))
                    .cloned(),
            );
            drop(finished);
            let mut dns = sh.dns.clone();
            dns.sort_by_key(|t| t.seq);
            let http: Vec<HttpRecord> = sh.http.iter().collect();
            let input = StoryInput {
                conns: &conns,
                dns: &dns,
                http: &http,
            };
            let (lines, story_names) = tell_whole(&input);
            // names[k] belongs to conns[k] = sh.conns[order[k]].
            let mut names: Vec<Option<ConnName>> = vec![None; sh.conns.len()];
            for (k, n) in story_names.into_iter().enumerate() {
                if let Some(slot) = order.get(k).and_then(|&i| names.get_mut(i)) {
                    *slot = n;
                }
            }
            (lines, names)
        };
        // Finished (its buffers cut to size, a copy) once the records are dropped.
        let story = story.finish();
        if let Ok(mut sh) = self.shared.write() {
            if sh.names.len() == names.len() {
                sh.names = names.into_iter().collect();
            }
        }
        story
    }
}

/// Copies the lists the teller thread grew (see [`super::teller`]) into buffers made
/// here, and drops its own: glibc gives a thread's arena back to the system only from
/// the top of each of its heaps, and the teller's long-lived lists sat among the
/// story's transient records all through the run, so they kept every heap the telling
/// had filled resident once it was done (on manyflows.pcap 3 heaps, ~180 MB of
/// RssAnon, most of it free). One list at a time (a read lock while it is copied), so
/// the peak grows by the largest list only. The names are made here already
/// ([`final_names`]).
fn rehome(shared: &RwLock<Shared>) {
    // Nothing else writes these lists any more (the teller is gone, this is the worker).
    macro_rules! copy {
        ($($list:ident),*) => {$(
            let fresh = shared.read().ok().map(|sh| sh.$list.clone());
            if let (Some(fresh), Ok(mut sh)) = (fresh, shared.write()) {
                sh.$list = fresh;
            }
        )*};
    }
    copy!(conns, first_pkt, dns, http, http_conn);
    // The filter index grew on this thread all through the run, among the engine's
    // transient allocations, and pins this thread's arena the same way. It has no
    // `Clone`: saved and loaded as the persisted index is (what a restored index lacks
    // is only used while packets are pushed, and none come after the end).
    let fresh = shared
        .read()
        .ok()
        .and_then(|sh| postcard::to_allocvec(&sh.index).ok())
        .and_then(|b| postcard::from_bytes::<FilterIndex>(&b).ok());
    if let (Some(fresh), Ok(mut sh)) = (fresh, shared.write()) {
        sh.index = fresh;
    }
}

/// Every connection's name as the story names it ([`story::name_connections`]: from all
/// the lookups, taken in order of `seq`), read one connection at a time from `sh`.
fn final_names(sh: &Shared) -> Packed<Option<ConnName>> {
    let mut order: Vec<usize> = (0..sh.dns.len()).collect();
    order.sort_by_key(|&i| sh.dns[i].seq);
    let mut idx = NameIndex::new();
    for i in order {
        idx.add(&sh.dns[i]);
    }
    let mut names = Packed::default();
    for c in sh.conns.iter() {
        names.push(&idx.name(&c));
    }
    names
}

/// The story of every record at once, as `story::tell` tells it, and the connections'
/// names (a live capture's retelling). Narrated page by page and each page turned into
/// lines at once: the events of every page are never held together (on manyflows.pcap
/// 1.27 M of them took 650 MB).
pub(super) fn tell_whole(input: &StoryInput<'_>) -> (rows::StoryLines, Vec<Option<ConnName>>) {
    let names = story::name_connections(input);
    let pages = story::group_pages(input, &names);
    let mut lines = rows::StoryLines::default();
    story::narrate_each(input, &names, &pages, |p, events| {
        lines.add(&story::story_page(p, input, events), true);
        true
    });
    (lines, names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::StoryItem;

    /// Lines of a story in tree order, with their depth and connection.
    fn flat(s: &Story) -> Vec<(usize, String, Option<u32>)> {
        fn go(items: &[StoryItem], d: usize, out: &mut Vec<(usize, String, Option<u32>)>) {
            for i in items {
                out.push((d, i.text.clone(), i.conn));
                go(&i.children, d + 1, out);
            }
        }
        let mut out = Vec::new();
        go(&s.to_items(), 0, &mut out);
        out
    }

    /// Analyses `path` as the TUI does (the story told on the teller thread while
    /// the file is analysed, the names made at the end), then tells the whole story at
    /// once from every record as the TUI did before (the `story` command's,
    /// tests/tui_real.rs): both must be the same, names included. Returns the number of
    /// stories (None: not a capture).
    fn told_as_whole(path: &std::path::Path) -> Option<usize> {
        let store = FrameStore::open(path).ok()?;
        let shared = Arc::new(RwLock::new(Shared::default()));
        let mut p = Producer::new(Arc::new(RwLock::new(store)), shared.clone(), None, None);
        let mut told = None;
        loop {
            match p.step() {
                Produced::Batch(b) => told = b.story.or(told),
                Produced::Idle => {}
                Produced::Done => break,
            }
        }
        assert!(
            p.teller.is_none(),
            "{}: the teller finished",
            path.display()
        );
        let told = told.expect("a story at the end");
        let names: Vec<_> = shared.read().unwrap().names.iter().collect();
        let whole = p.tell();
        let whole_names: Vec<_> = shared.read().unwrap().names.iter().collect();
        let (a, b) = (flat(&told), flat(&whole));
        if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
            panic!(
                "{}: line {i} differs: {:?} told, {:?} whole",
                path.display(),
                a.get(i),
                b.get(i)
            );
        }
        assert_eq!(told, whole, "{}", path.display());
        assert_eq!(names.len(), whole_names.len(), "{}", path.display());
        if let Some(i) = (0..names.len()).find(|&i| names[i] != whole_names[i]) {
            panic!(
                "{}: connection {i} named {:?}, whole {:?}",
                path.display(),
                names[i],
                whole_names[i]
            );
        }
        Some(told.count_stories())
    }

    /// The lists copied into new buffers at the end hold the same records, in order.
    #[test]
    fn rehomed_lists_hold_the_same_records() {
        let (mut dns, mut http) = (0, 0);
        for path in wiretale_engine::testutil::all_captures() {
            let Some(mut e) = wiretale_engine::testutil::analysed(&path) else {
                continue;
            };
            let mut r = Records {
                dns: e.take_dns(true),
                http: e.take_http(),
                ..Records::default()
            };
            for (i, record) in e.take_conns().into_iter().enumerate() {
                r.conns.push(Finished {
                    record,
                    name: None,
                    first: i as u32 * 3,
                });
            }
            let shared = RwLock::new(Shared::default());
            r.store(&mut shared.write().unwrap());
            // Compared as their debug text (the records have no `PartialEq`).
            let lists = |sh: &Shared| -> [String; 5] {
                [
                    format!("{:?}", sh.conns.iter().collect::<Vec<_>>()),
                    format!("{:?}", sh.first_pkt),
                    format!("{:?}", sh.dns),
                    format!("{:?}", sh.http.iter().collect::<Vec<_>>()),
                    format!("{:?}", sh.http_conn),
                ]
            };
            let counts = |sh: &Shared| (sh.conns.len(), sh.dns.len(), sh.http.len());
            let before = lists(&shared.read().unwrap());
            let n = counts(&shared.read().unwrap());
            rehome(&shared);
            let after = lists(&shared.read().unwrap());
            assert_eq!(n, counts(&shared.read().unwrap()), "{}", path.display());
            assert_eq!(n.0, r.conns.len(), "{}", path.display());
            for (i, (b, a)) in before.iter().zip(&after).enumerate() {
                assert!(b == a, "{}: list {i} changed", path.display());
            }
            dns += n.1;
            http += n.2;
        }
        assert!(dns > 0 && http > 0, "{dns} lookups, {http} exchanges");
    }

    /// On every bundled and shared capture.
    #[test]
    fn the_story_told_as_records_come_is_the_whole_story() {
        let mut stories = 0;
        for path in wiretale_engine::testutil::all_captures() {
            stories += told_as_whole(&path).unwrap_or(0);
        }
        assert!(stories > 100, "{stories} stories");
    }

    /// On the captures listed in `WIRETALE_STORY_CHECK` (comma-separated; the large
    /// bench captures, too slow for every run).
    #[test]
    #[ignore = "a by-hand check of big files: set WIRETALE_STORY_CHECK=FILE,… (the bench captures take minutes)"]
    fn the_story_told_as_records_come_is_the_whole_story_on_given_files() {
        let files = std::env::var("WIRETALE_STORY_CHECK").unwrap_or_default();
        assert!(
            !files.is_empty(),
            "set WIRETALE_STORY_CHECK to the captures to check, comma-separated"
        );
        for f in files.split(',').filter(|f| !f.is_empty()) {
            let n = told_as_whole(std::path::Path::new(f));
            assert!(n.is_some(), "{f}: not a capture");
            eprintln!("{f}: {n:?} stories, the same");
        }
    }
}
