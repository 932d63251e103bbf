//! The engine-backed [`DataSource`]: a capture file (or a live capture's spill file) in a
//! [`FrameStore`], analysed by the [`wiretale_engine::analysis::Engine`] on a [`Worker`] thread.
//!
//! * The worker ([`producer`]) indexes the store in slices and runs the engine over each
//!   slice, sending one batch per slice: the slice's rows of the
//!   engine's per-packet table ([`PacketTable`]) and progress.
//!   Finished connections, DNS transactions and HTTP exchanges go to a shared,
//!   append-only record list; at the end the worker tells the story and renames the
//!   connections with the story's names.
//! * Rows are built on demand: `packet_row` reads the one frame from the store,
//!   re-decodes it and adds what only the analysis knew (relative seq/ack, the TCP
//!   analysis prefix, the application's Info) from the table. The lists (connections,
//!   DNS, HTTP) hold positions of records, in the order they are listed; a row is
//!   built from its record when a view asks for it (the records stay encoded in
//!   [`Shared`]). The story is one text buffer ([`Story`]).
//! * [`EngineSource::focus_conn`] and display filters produce one `view: Option<Vec<u32>>`
//!   of packet ids; every packet query goes through it.
//!
//! TLS: the `--tls-keylog` file and the pcapng Decryption Secrets Blocks decrypt as in
//! the batch commands (see [`producer`]); the status line warns of key log lines skipped
//! and, when TLS connections are encrypted and no keys were given, says how to give
//! them. Saving writes the saved connections' keys into the new file
//! (`analysis::export_keys`).
//!
//! Nothing here waits for the file: `poll` only drains what the worker has sent.

pub mod cache;
mod detail;
mod producer;
mod rows;
mod teller;
mod view;

#[cfg(test)]
mod cache_tests;
#[cfg(test)]
mod quic_tests;
#[cfg(test)]
mod snapshots;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tls_tests;
#[cfg(test)]
mod view_tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use anyhow::Context;

use self::detail::DetailInput;
pub use self::producer::LiveStatus;
use self::producer::{Batch, LiveHandles, Producer, Shared};
use super::source::{
    ConnDetail, ConnRow, DataSource, DnsRow, HttpRow, PacketDetail, PacketRow, SourceStatus, Turn,
};
use super::story::Story;
use super::worker::{Command, Worker};
use super::TuiOptions;
use wiretale_engine::analysis::export_keys;
use wiretale_engine::analysis::packet_table::{self, bit, proto_code, proto_label, PacketTable};
use wiretale_engine::base::{ConnId, PacketId, Timestamp};
use wiretale_engine::capture::{Delivery, FrameStore, LiveCapture, LiveOptions};
use wiretale_engine::decode::{self, TcpRel};
use wiretale_engine::filter::Filter;
use wiretale_engine::proto::tls::KeyLog;

pub use self::detail::flags_text;

/// Batches waiting in the channel at most (each holds up to 65,536 packets' rows).
const CHANNEL_BATCHES: usize = 4;
/// Batches absorbed per `poll` (keeps one poll short).
const POLL_BATCHES: usize = 8;

/// What a display filter in the TUI answers until the filter integration lands.
/// The engine-backed data source; see the module docs.
pub struct EngineSource {
    name: String,
    store: Arc<RwLock<FrameStore>>,
    shared: Arc<RwLock<Shared>>,
    worker: Worker<Batch>,
    /// Shared with the thread that saves the index (see [`cache`]) once complete.
    table: Arc<PacketTable>,
    t0: Option<Timestamp>,
    /// Position in `Shared::conns` by connection id (`u32::MAX`: not finished yet).
    conn_pos: Vec<u32>,
    seen_conns: usize,
    /// `Shared::open_version` last absorbed, and the rows of the connections still open
    /// (live), by id: shown provisionally, they have no finished record to build from.
    open_version: u64,
    provisional: std::collections::HashMap<u32, ConnRow>,
    seen_dns: usize,
    seen_http: usize,
    /// The connection list: connection ids, in id order (finished ones' rows are built
    /// from `Shared::conns[conn_pos[id]]`, open ones' are in `provisional`).
    all_conns: Vec<u32>,
    /// The DNS list: positions in `Shared::dns`, by query frame number.
    all_dns: Vec<u32>,
    /// The HTTP list: positions in `Shared::http`, by start time then connection.
    all_http: Vec<u32>,
    /// Each exchange's start time (by position in `Shared::http`), for that order.
    http_ts: Vec<f64>,
    /// Positions in `Shared::http` of the exchanges that name no packet (increasing;
    /// usually none): a display filter keeps them on no connection
    /// (`EngineSource::refilter`).
    http_bare: Vec<u32>,
    /// Each finished connection's application kind (by position in `Shared::conns`;
    /// see `view::app_code`): a display filter on it (`dns`) decides the connection
    /// list without decoding the records (`EngineSource::refilter`).
    conn_app: Vec<u8>,
    all_story: Arc<Story>,
    /// The lists limited by the focus (`None`: the filtered or `all_*` lists are shown).
    focused: Option<Focused>,
    /// The lists the display filter keeps, by the rules of `-Y` on the batch commands
    /// (`None`: no filter). The focus then limits these.
    filtered: Option<Filtered>,
    /// Packets of the whole capture that match the filter (a bit per packet id),
    /// whatever the focus: the records a filter keeps are found from them.
    matched: view::IdSet,
    /// The filter's answer on the connections' own fields, as far as the packets told
    /// it (two bits a connection; see `analysis::ConnVerdicts`): the connection list
    /// decodes only the other records.
    conn_verdicts: wiretale_engine::analysis::ConnVerdicts,
    /// A story arrived since the filtered story was last told.
    story_new: bool,
    focus: Option<u32>,
    filter: Option<Filter>,
    /// Packet ids shown, when focus or a filter limits them.
    view: Option<view::Shown>,
    /// Facts already scanned into `view`.
    view_scanned: usize,
    indexed: f64,
    done: bool,
    /// The last batch arrived: shrink the row lists once its records are absorbed.
    shrink_lists: bool,
    error: Option<String>,
    paused: bool,
    live: Option<LiveInfo>,
    /// `--tls-keylog`, re-read when saving (its keys go into the saved file).
    keylog: Option<PathBuf>,
    /// The key log as last read, with the (size, mtime) it had ([`EngineSource::user_keys`]).
    keys_cache: Mutex<Option<KeysStamp>>,
    /// TLS and QUIC connections finished so far, and how many of them were decrypted.
    tls_conns: Encrypted,
    /// The same over the connections still open (live), recounted at each refresh.
    tls_open: Encrypted,
    /// The thread saving the persisted index, while it runs.
    saving: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Connections the status line's key notice counts ([`key_notice`]): TLS ones and QUIC
/// ones that sent Handshake or 1-RTT packets (what a key log would open), and how many
/// of each were decrypted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Encrypted {
    tls: (usize, usize),
    quic: (usize, usize),
}

impl Encrypted {
    fn add(&mut self, c: &wiretale_engine::analysis::ConnRecord) {
        match (&c.quic, &c.tls) {
            // A QUIC connection's TLS summary comes from its Initials, which need no keys:
            // what stays hidden without them is its Handshake and 1-RTT packets.
            (Some(q), _) => {
                if q.decrypted || q.first_short.iter().any(Option::is_some) {
                    self.quic.0 += 1;
                    self.quic.1 += usize::from(q.decrypted);
                }
            }
            (None, Some(t)) => {
                self.tls.0 += 1;
                self.tls.1 += usize::from(t.decrypted);
            }
            (None, None) => {}
        }
    }

    fn plus(self, o: Encrypted) -> Encrypted {
        Encrypted {
            tls: (self.tls.0 + o.tls.0, self.tls.1 + o.tls.1),
            quic: (self.quic.0 + o.quic.0, self.quic.1 + o.quic.1),
        }
    }
}

/// The lists limited to one connection: entries of the lists they limit (see
/// `EngineSource::all_conns`, `all_dns`, `all_http`), and that story's lines.
struct Focused {
    conns: Vec<u32>,
    dns: Vec<u32>,
    http: Vec<u32>,
    story: Story,
}

/// The lists a display filter keeps, entries of the whole lists; the story is told
/// when first shown ([`EngineSource::filtered_story`]).
struct Filtered {
    conns: Vec<u32>,
    dns: Vec<u32>,
    http: Vec<u32>,
    story: std::cell::OnceCell<Story>,
}

struct LiveInfo {
    handles: LiveHandles,
    file: PathBuf,
}

impl EngineSource {
    /// Opens what the options name: a file (`-` for standard input), or a live
    /// interface (`interface`, with `bpf` and `write`).
    pub fn open(opts: &TuiOptions) -> anyhow::Result<EngineSource> {
        match (&opts.interface, &opts.file) {
            (Some(i), _) => {
                let keys = read_keys(opts.tls_keylog.as_deref(), true)?;
                let mut s = Self::open_live_with(
                    i,
                    opts.bpf.as_deref(),
                    opts.write.as_deref(),
                    keys,
                    opts.buffer_size,
                )?;
                s.keylog = opts.tls_keylog.clone();
                Ok(s)
            }
            (None, Some(_)) if opts.bpf.is_some() => anyhow::bail!(
                "-f (a capture filter) applies to live capture; to limit a file's packets in \
                 the TUI, use a display filter (/)"
            ),
            (None, Some(f)) => {
                let keys = read_keys(opts.tls_keylog.as_deref(), false)?;
                // The saved index serves plain files opened without a key log (see
                // [`cache`]).
                let dir = (opts.cache && keys.is_none()).then(cache::dir).flatten();
                let mut s = Self::open_file_with(f, keys, dir)?;
                s.keylog = opts.tls_keylog.clone();
                Ok(s)
            }
            (None, None) => anyhow::bail!("nothing to open: give a capture file or -i IFACE"),
        }
    }

    /// The name in the header, as a user who gave `name` on the command line sees it
    /// (tests open files by a path from their crate's directory).
    #[cfg(test)]
    pub(crate) fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Opens a capture file for browsing while it is indexed and analysed.
    pub fn open_file(path: &Path) -> anyhow::Result<EngineSource> {
        Self::open_file_keyed(path, None)
    }

    /// [`EngineSource::open_file`], decrypting TLS with `keys` too (the file's own
    /// Decryption Secrets Blocks are used either way).
    pub fn open_file_keyed(path: &Path, keys: Option<KeyLog>) -> anyhow::Result<EngineSource> {
        Self::open_file_with(path, keys, None)
    }

    /// [`EngineSource::open_file`] with the persisted index in `cache_dir` (see
    /// [`cache`]): read when it is there and whole, written when the analysis had to
    /// be done.
    pub fn open_file_cached(path: &Path, cache_dir: &Path) -> anyhow::Result<EngineSource> {
        Self::open_file_with(path, None, Some(cache_dir.to_path_buf()))
    }

    fn open_file_with(
        path: &Path,
        keys: Option<KeyLog>,
        cache_dir: Option<PathBuf>,
    ) -> anyhow::Result<EngineSource> {
        let mut store = FrameStore::open(path).with_context(|| path.display().to_string())?;
        // Read the header now: "not a capture at all" is an error for the command
        // line, not a red line in an empty UI (damage later in the file is shown there).
        store.index_more(1);
        if let Some(e) = store.error().filter(|e| !e.is_damage()) {
            anyhow::bail!("{}: {e}", path.display());
        }
        let stdin = path.as_os_str() == "-";
        let name = if stdin {
            "standard input".to_string()
        } else {
            path.display().to_string()
        };
        // Standard input and gzip are spooled: nothing to key a saved index by.
        let cache = cache_dir.filter(|_| !stdin && !cache::is_gzip(path));
        Ok(Self::start(
            name,
            store,
            None,
            keys,
            cache.map(|d| (d, path.to_path_buf())),
        ))
    }

    /// Starts a live capture on `iface`. The packets go to `write`, or to a temporary
    /// file that is kept after quitting (its name is in the status bar and in
    /// [`EngineSource::capture_file`]) so nothing captured is lost.
    pub fn open_live(
        iface: &str,
        bpf: Option<&str>,
        write: Option<&Path>,
    ) -> anyhow::Result<EngineSource> {
        Self::open_live_keyed(iface, bpf, write, None)
    }

    /// [`EngineSource::open_live`] decrypting TLS with `keys` (made by
    /// [`KeyLog::follow`]: re-read as the browser appends to it).
    pub fn open_live_keyed(
        iface: &str,
        bpf: Option<&str>,
        write: Option<&Path>,
        keys: Option<KeyLog>,
    ) -> anyhow::Result<EngineSource> {
        Self::open_live_with(iface, bpf, write, keys, None)
    }

    /// [`EngineSource::open_live_keyed`] with libpcap's ring of `buffer_size` bytes
    /// (`-B`; `None`: [`LiveOptions`]' default).
    fn open_live_with(
        iface: &str,
        bpf: Option<&str>,
        write: Option<&Path>,
        keys: Option<KeyLog>,
        buffer_size: Option<u32>,
    ) -> anyhow::Result<EngineSource> {
        let file = match write {
            Some(p) => p.to_path_buf(),
            None => tempfile::Builder::new()
                .prefix("wiretale-live-")
                .suffix(".pcap")
                .tempfile()
                .context("creating the capture file")?
                .into_temp_path()
                .keep()
                .context("keeping the capture file")?,
        };
        let mut lo = LiveOptions::new(iface);
        lo.filter = bpf.map(str::to_string);
        lo.savefile = Some(file.clone());
        // The producer reads the frames back from the file: the capture must never wait
        // for the analysis (or for a paused UI), which catches up from the file.
        lo.delivery = Delivery::FileOnly;
        if let Some(b) = buffer_size {
            lo.buffer_size = b;
        }
        let cap = LiveCapture::start(lo)?;
        let store = FrameStore::open_growing(&file)
            .with_context(|| format!("reading back {}", file.display()))?;
        let handles = LiveHandles {
            cap: Arc::new(Mutex::new(Some(cap))),
            status: Arc::new(Mutex::new(LiveStatus::default())),
        };
        let mut s = Self::start(iface.to_string(), store, Some(handles.clone()), keys, None);
        s.live = Some(LiveInfo { handles, file });
        Ok(s)
    }

    fn start(
        name: String,
        store: FrameStore,
        live: Option<LiveHandles>,
        keys: Option<KeyLog>,
        cache: Option<(PathBuf, PathBuf)>,
    ) -> EngineSource {
        let store = Arc::new(RwLock::new(store));
        let shared = Arc::new(RwLock::new(Shared::default()));
        let mut p = Producer::new(store.clone(), shared.clone(), live, keys);
        if let Some((dir, file)) = cache {
            p = p.with_cache(dir, file);
        }
        let worker = Worker::spawn(CHANNEL_BATCHES, move || p.step());
        EngineSource {
            name,
            store,
            shared,
            worker,
            table: Arc::default(),
            t0: None,
            conn_pos: Vec::new(),
            seen_conns: 0,
            open_version: 0,
            provisional: std::collections::HashMap::new(),
            seen_dns: 0,
            seen_http: 0,
            all_conns: Vec::new(),
            all_dns: Vec::new(),
            all_http: Vec::new(),
            http_ts: Vec::new(),
            http_bare: Vec::new(),
            conn_app: Vec::new(),
            all_story: Arc::default(),
            focused: None,
            filtered: None,
            matched: view::IdSet::default(),
            conn_verdicts: Default::default(),
            story_new: false,
            focus: None,
            filter: None,
            view: None,
            view_scanned: 0,
            indexed: 0.0,
            done: false,
            shrink_lists: false,
            error: None,
            paused: false,
            live: None,
            keylog: None,
            keys_cache: Mutex::new(None),
            tls_conns: Encrypted::default(),
            tls_open: Encrypted::default(),
            saving: Mutex::new(None),
        }
    }

    /// Where a live capture is written (kept after quitting).
    pub fn capture_file(&self) -> Option<PathBuf> {
        self.live.as_ref().map(|l| l.file.clone())
    }

    /// A live capture's counters as last refreshed: the final ones once this source has
    /// been dropped (which stops the capture).
    pub fn live_status(&self) -> Option<Arc<Mutex<LiveStatus>>> {
        self.live.as_ref().map(|l| l.handles.status.clone())
    }

    /// True once the whole input has been analysed and the story told.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Polls until the analysis is complete or `timeout` passes (tests, benchmarks).
    pub fn wait_done(&mut self, timeout: Duration) -> bool {
        let t = Instant::now();
        while !self.done && t.elapsed() < timeout {
            if !self.poll() {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        self.done
    }

    fn store(&self) -> Option<RwLockReadGuard<'_, FrameStore>> {
        self.store.read().ok()
    }

    fn t0(&self) -> Timestamp {
        self.t0.unwrap_or_default()
    }

    /// Packet id at view position `index`.
    fn id_at(&self, index: usize) -> Option<u32> {
        match &self.view {
            Some(v) => v.get(index, &self.matched),
            None => (index < self.table.len()).then_some(index as u32),
        }
    }

    /// Absorbs one batch from the worker.
    fn absorb(&mut self, b: Batch) {
        if self.table.is_empty() && b.rows.first_id() == 0 {
            // The first slice, or the whole table from the saved index: no copy.
            self.table = Arc::new(b.rows);
        } else {
            Arc::make_mut(&mut self.table).append(b.rows);
        }
        self.indexed = b.indexed;
        if b.error.is_some() {
            self.error = b.error;
        }
        if let Some(story) = b.story {
            // The story's names are in `Shared::names` already: rows read them there.
            self.all_story = Arc::new(story);
            self.story_new = true;
        }
        if b.done && !self.done {
            // The last batch: the lists are complete, give back their spare room.
            Arc::make_mut(&mut self.table).shrink_to_fit();
            self.shrink_lists = true;
            self.save_index();
        }
        self.done |= b.done;
    }

    /// Turns records that arrived since the last call into rows.
    fn absorb_records(&mut self) -> bool {
        let t0 = self.t0();
        let Ok(sh) = self.shared.read() else {
            return false;
        };
        let (nc, nd, nh) = (sh.conns.len(), sh.dns.len(), sh.http.len());
        let open_changed = sh.open_version != self.open_version;
        if (nc, nd, nh) == (self.seen_conns, self.seen_dns, self.seen_http) && !open_changed {
            return false;
        }
        // Provisional rows of connections still open (live) are replaced at each
        // refresh and whenever a connection finishes.
        let mut unsorted = false;
        if !self.provisional.is_empty() {
            let prov = std::mem::take(&mut self.provisional);
            self.all_conns.retain(|id| !prov.contains_key(id));
        }
        for (i, c) in (self.seen_conns..nc).zip(sh.conns.iter_from(self.seen_conns)) {
            let c = &c;
            let id = c.conn.id.0 as usize;
            if id >= self.conn_pos.len() && id < u32::MAX as usize {
                self.conn_pos.resize(id + 1, u32::MAX);
            }
            if let Some(slot) = self.conn_pos.get_mut(id) {
                *slot = i as u32;
            }
            self.tls_conns.add(c);
            if self.conn_app.len() == i {
                self.conn_app.push(view::app_code(c.app));
            }
            let id = c.conn.id.0;
            unsorted |= self.all_conns.last().is_some_and(|&l| l > id);
            self.all_conns.push(id);
        }
        self.tls_open = Encrypted::default();
        for c in &sh.open {
            let id = c.conn.id.0;
            let finished = self
                .conn_pos
                .get(id as usize)
                .is_some_and(|&p| p != u32::MAX);
            if !finished {
                self.tls_open.add(c);
                let first = self
                    .table
                    .packets_of(ConnId(id), 0)
                    .next()
                    .unwrap_or(u32::MAX);
                self.all_conns.push(id);
                self.provisional
                    .insert(id, rows::conn_row(c, None, first, t0));
                unsorted = true;
            }
        }
        self.open_version = sh.open_version;
        if unsorted {
            // Stable sort: cheap on a sorted prefix plus a short run.
            self.all_conns.sort();
        }
        if nd > self.seen_dns {
            let from = self.all_dns.len();
            self.all_dns.extend(self.seen_dns as u32..nd as u32);
            let number = |p: &u32| sh.dns.get(*p as usize).map_or(0, rows::dns_number);
            let sorted = self
                .all_dns
                .get(from.saturating_sub(1)..)
                .is_some_and(|w| w.windows(2).all(|p| number(&p[0]) <= number(&p[1])));
            if !sorted {
                self.all_dns.sort_by_key(number);
            }
        }
        if nh > self.seen_http {
            let from = self.all_http.len();
            for (p, r) in (self.seen_http..nh).zip(sh.http.iter_from(self.seen_http)) {
                self.http_ts.push(rows::http_ts_rel(&r, t0));
                if r.tx.packets().iter().all(Option::is_none) {
                    self.http_bare.push(p as u32);
                }
            }
            self.all_http.extend(self.seen_http as u32..nh as u32);
            let (ts, conn) = (&self.http_ts, &sh.http_conn);
            let key = |p: u32| {
                let p = p as usize;
                (ts.get(p).copied().unwrap_or(0.0), conn.get(p).copied())
            };
            let order = |a: &u32, b: &u32| {
                let ((ta, ca), (tb, cb)) = (key(*a), key(*b));
                ta.total_cmp(&tb).then(ca.cmp(&cb))
            };
            // Sorted already when the new rows come in order after the old ones (the
            // usual case): no sort of every row at every batch.
            let sorted = self
                .all_http
                .get(from.saturating_sub(1)..)
                .is_some_and(|w| w.windows(2).all(|p| order(&p[0], &p[1]).is_le()));
            if !sorted {
                self.all_http.sort_by(order);
            }
        }
        self.seen_conns = nc;
        self.seen_dns = nd;
        self.seen_http = nh;
        if std::mem::take(&mut self.shrink_lists) {
            self.all_conns.shrink_to_fit();
            self.all_dns.shrink_to_fit();
            self.all_http.shrink_to_fit();
            self.http_ts.shrink_to_fit();
            self.conn_pos.shrink_to_fit();
            self.conn_app.shrink_to_fit();
        }
        true
    }

    /// What the list knows of a TCP segment's numbers (relative to each side's ISN, and
    /// the sender's window scale), from packet `id`'s row; the list and the field tree
    /// both show these.
    fn tcp_rel(
        &self,
        id: u32,
        fact: &packet_table::PacketRow,
        pkt: &decode::Packet<'_>,
    ) -> Option<TcpRel> {
        let t = pkt.tcp()?;
        let rel = self.table.rel_numbers(id, Some((t.seq, t.ack)));
        Some(TcpRel {
            seq_base: t.seq.wrapping_sub(rel.seq?),
            ack_base: t.ack.wrapping_sub(rel.ack.unwrap_or(0)),
            window_shift: if t.syn() {
                None
            } else {
                fact.conn()
                    .and_then(|c| self.table.shift(c.0, fact.has(bit::C2S)))
            },
        })
    }
}

impl EngineSource {
    /// The `--tls-keylog` file as it is now (read again each time: a live browser adds
    /// to it), for views that decrypt one connection on demand (Follow, the field tree).
    /// The file's own secrets blocks are added by those views.
    ///
    /// Read again only when the file's size or modification time changed, so selecting
    /// packets does not re-parse an unchanged key log each time.
    fn user_keys(&self) -> Option<Arc<KeyLog>> {
        let path = self.keylog.as_deref()?;
        let meta = std::fs::metadata(path).ok()?;
        let stamp = (meta.len(), meta.modified().ok());
        let mut cache = self.keys_cache.lock().unwrap_or_else(|e| e.into_inner());
        match &*cache {
            Some((s, k)) if *s == stamp => Some(Arc::clone(k)),
            _ => {
                let k = Arc::new(KeyLog::read(path).ok()?);
                *cache = Some((stamp, Arc::clone(&k)));
                Some(k)
            }
        }
    }
}

/// A key log read at one (size, modification time).
type KeysStamp = ((u64, Option<std::time::SystemTime>), Arc<KeyLog>);

/// Reads `--tls-keylog` as the batch commands do: a file that cannot be read is a
/// one-line error before the TUI opens; lines that do not parse are warnings (shown in
/// the status line). `follow`: a live capture's log, re-read as the browser appends.
fn read_keys(path: Option<&Path>, follow: bool) -> anyhow::Result<Option<KeyLog>> {
    let Some(p) = path else {
        return Ok(None);
    };
    let k = if follow {
        KeyLog::follow(p)
    } else {
        KeyLog::read(p)
    }
    .map_err(|e| anyhow::anyhow!("{}: cannot read the TLS key log: {e}", p.display()))?;
    Ok(Some(k))
}

/// What the status line says about TLS keys: a key log that cannot be re-read, lines
/// skipped, and encrypted TLS and QUIC connections (how to decrypt them when no keys
/// were given).
fn key_notice(keys: &producer::KeyState, n: Encrypted) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(e) = &keys.error {
        parts.push(e.clone());
    }
    if let Some(first) = keys.warnings.first() {
        let n = keys.warnings.len();
        let lines = if n == 1 { "line" } else { "lines" };
        parts.push(format!("TLS key log: {n} {lines} skipped ({first})"));
    }
    let conns = |n: usize, what: &str| {
        if n == 1 {
            format!("1 {what} connection")
        } else {
            format!("{n} {what} connections")
        }
    };
    // "1 TLS connection", "2 QUIC connections", or both joined by "and"; with keys
    // given, each "of" its total.
    let kinds: Vec<String> = [("TLS", n.tls), ("QUIC", n.quic)]
        .into_iter()
        .filter_map(|(what, (all, decrypted))| {
            let encrypted = all.saturating_sub(decrypted);
            (encrypted > 0).then(|| {
                if keys.given {
                    format!("{} of {all}", conns(encrypted, what))
                } else {
                    conns(encrypted, what)
                }
            })
        })
        .collect();
    if !kinds.is_empty() && !keys.given {
        parts.push(format!(
            "{} encrypted: open with --tls-keylog FILE",
            kinds.join(" and ")
        ));
    } else if !kinds.is_empty() {
        parts.push(format!(
            "{} not decrypted (no keys for them)",
            kinds.join(" and ")
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

impl Drop for EngineSource {
    fn drop(&mut self) {
        // Stop the live capture here, not whenever the worker thread gets to it:
        // `stop` joins the capture thread, which flushes the kept file, before the
        // process can exit.
        self.worker.send(Command::Stop);
        let cap = self
            .live
            .as_ref()
            .and_then(|l| l.handles.cap.lock().ok().and_then(|mut g| g.take()));
        if let Some(c) = cap {
            // The final counters, for the line said after quitting.
            if let (Ok(st), Some(l)) = (c.stop(), &self.live) {
                if let Ok(mut s) = l.handles.status.lock() {
                    s.stats = st;
                    s.stopped = true;
                }
            }
        }
        // A quit right after the analysis finished: let the index be saved whole (the
        // temporary file is renamed only when complete either way).
        self.wait_saved();
    }
}

impl DataSource for EngineSource {
    fn packet_count(&self) -> usize {
        match &self.view {
            Some(v) => v.len(),
            None => self.table.len(),
        }
    }

    fn packet_row(&self, index: usize) -> PacketRow {
        let empty = PacketRow {
            number: 0,
            time: 0.0,
            src: String::new(),
            dst: String::new(),
            proto: "",
            len: 0,
            info: String::new(),
            conn: None,
            anomaly: false,
        };
        let Some(id) = self.id_at(index) else {
            return empty;
        };
        let (Some(fact), Some(st)) = (self.table.get(id), self.store()) else {
            return empty;
        };
        let Some(frame) = st.frame(PacketId(id)) else {
            return empty;
        };
        let pkt = decode::decode(frame.meta.link, frame.data);
        let notes = self.table.notes(id);
        let mut info = if fact.conn().is_some() {
            let dup = if fact.has(bit::DUP) {
                self.table.dup_ack(id)
            } else {
                None
            };
            fact.analysis().info_prefix(dup)
        } else {
            String::new()
        };
        let proto = match notes.first() {
            Some(first) => {
                // Several notes of one packet joined as the CLI joins them.
                for (i, n) in notes.iter().enumerate() {
                    if i > 0 {
                        info.push_str(" , ");
                    }
                    info.push_str(&n.info);
                }
                proto_label(proto_code(first.proto))
            }
            None => {
                let rel = self.tcp_rel(id, fact, &pkt);
                info.push_str(&decode::info_with(&pkt, rel.as_ref()));
                proto_label(fact.proto())
            }
        };
        PacketRow {
            number: u64::from(id) + 1,
            time: frame.meta.ts.secs_since(self.t0()),
            src: pkt.src().map(|a| a.to_string()).unwrap_or_default(),
            dst: pkt.dst().map(|a| a.to_string()).unwrap_or_default(),
            proto,
            len: frame.meta.origlen,
            info,
            conn: fact.conn().map(|c| c.0),
            anomaly: fact.has(bit::ANOMALY),
        }
    }

    fn packet_detail(&self, index: usize) -> PacketDetail {
        let Some(id) = self.id_at(index) else {
            return PacketDetail::default();
        };
        let Some(st) = self.store() else {
            return PacketDetail::default();
        };
        let Some(frame) = st.frame(PacketId(id)) else {
            return PacketDetail::default();
        };
        // The root "Frame" node first (its range is the whole frame), then the layers;
        // TCP numbers relative as in the list, and the application layer the analysis
        // found in this packet in place of its "Data" node.
        let fact = self.table.get(id);
        let pkt = decode::decode(frame.meta.link, frame.data);
        let rel = fact.and_then(|f| self.tcp_rel(id, f, &pkt));
        let mut tree = decode::field_tree_with(frame.meta.link, frame.data, rel.as_ref());
        let app = self
            .table
            .notes(id)
            .first()
            .and_then(|n| detail::app_tree(&pkt, n.proto))
            .or_else(|| detail::tls_records(&pkt, &st, &self.table, id));
        if let Some(app) = app {
            detail::put_app_layer(&mut tree, app, &pkt);
        }
        let keys = self.user_keys();
        if let Some(q) = detail::quic_tree(&st, &self.table, id, keys.as_deref(), &pkt) {
            detail::put_app_layer(&mut tree, q, &pkt);
        }
        if let Some(plain) = detail::decrypted_tree(&st, &self.table, id, keys.as_deref(), &pkt) {
            tree.children.push(plain);
        }
        let layers = std::mem::take(&mut tree.children);
        let mut fields = Vec::with_capacity(layers.len() + 1);
        let what = tree.label.strip_prefix("Frame: ").unwrap_or(&tree.label);
        tree.label = format!("Frame {}: {what}", u64::from(id) + 1);
        fields.push(tree);
        fields.extend(layers);
        PacketDetail {
            number: u64::from(id) + 1,
            fields,
            bytes: frame.data.to_vec(),
        }
    }

    fn packet_index(&self, number: u64) -> Option<usize> {
        let id = u32::try_from(number.checked_sub(1)?).ok()?;
        match &self.view {
            None => ((id as usize) < self.table.len()).then_some(id as usize),
            Some(v) => v.position(id, &self.matched),
        }
    }

    fn conn_count(&self) -> usize {
        self.conn_list().len()
    }

    fn conn_id(&self, index: usize) -> Option<u32> {
        self.conn_list().get(index).copied()
    }

    fn conn_row(&self, index: usize) -> Option<ConnRow> {
        self.conn_row_of(self.conn_id(index)?)
    }

    fn conn_detail(&self, conn: u32) -> ConnDetail {
        let Some(&pos) = self.conn_pos.get(conn as usize) else {
            return ConnDetail::default();
        };
        let (Ok(sh), Some(st)) = (self.shared.read(), self.store()) else {
            return ConnDetail::default();
        };
        let Some(rec) = sh.conns.get(pos as usize) else {
            return ConnDetail::default();
        };
        let rec = &rec;
        // Only this connection's exchanges are decoded.
        let http: Vec<wiretale_engine::analysis::HttpRecord> = sh
            .http_conn
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c == conn)
            .filter_map(|(i, _)| sh.http.get(i))
            .collect();
        let mut d = detail::conn_detail(&DetailInput {
            store: &st,
            table: &self.table,
            rec,
            name: sh.names.get(pos as usize).flatten().as_ref(),
            dns: &sh.dns,
            http: &http,
            t0: self.t0(),
        });
        // A QUIC connection's hellos are its Initials, which its own phases show.
        if let (Some(t), None) = (&rec.tls, &rec.quic) {
            rows::add_tls_phases(&mut d.phases, t, self.t0());
        }
        d
    }

    fn follow(&self, conn: u32) -> Vec<Turn> {
        match self.store() {
            Some(st) => {
                let keys = self.user_keys();
                detail::follow_with_keys(&st, &self.table, conn, self.t0(), keys.as_deref())
            }
            None => Vec::new(),
        }
    }

    fn dns_count(&self) -> usize {
        self.dns_list().len()
    }

    fn dns_row(&self, index: usize) -> Option<DnsRow> {
        let &pos = self.dns_list().get(index)?;
        let (sh, st) = (self.shared.read().ok()?, self.store()?);
        Some(rows::dns_row(sh.dns.get(pos as usize)?, &st, self.t0()))
    }

    fn http_count(&self) -> usize {
        self.http_list().len()
    }

    fn http_row(&self, index: usize) -> Option<HttpRow> {
        let &pos = self.http_list().get(index)?;
        let rec = self.shared.read().ok()?.http.get(pos as usize)?;
        Some(rows::http_row(&rec, self.t0()))
    }

    fn story(&self) -> &Story {
        match &self.focused {
            Some(f) => &f.story,
            None => self.filtered_story(),
        }
    }

    fn focus_conn(&mut self, conn: Option<u32>) {
        self.focus = conn;
        self.refocus();
        if self.rebuild_view().is_err() {
            // Only a filter can fail; it was accepted before, so drop it rather than
            // show a wrong view.
            self.filter = None;
            self.filtered = None;
            self.refocus();
            let _ = self.rebuild_view();
        }
    }

    fn apply_filter(&mut self, expr: &str) -> Result<(), String> {
        if expr.trim().is_empty() {
            self.filter = None;
            self.filtered = None;
            self.refocus();
            return self.rebuild_view();
        }
        let f = Filter::compile(expr).map_err(|e| e.render(expr))?;
        let old = self.filter.replace(f);
        let r = self.rebuild_view();
        if r.is_err() {
            self.filter = old;
            let _ = self.rebuild_view();
        }
        self.refilter(true);
        self.refocus();
        r
    }

    fn check_filter(&self, expr: &str) -> Result<(), String> {
        Filter::compile(expr)
            .map(|_| ())
            .map_err(|e| e.render(expr))
    }

    fn status(&self) -> SourceStatus {
        let live = self.live.as_ref();
        let ls = live.and_then(|l| l.handles.status.lock().ok().map(|s| s.clone()));
        SourceStatus {
            name: self.name.clone(),
            packets: self.table.len() as u64,
            indexed: if live.is_some() { 1.0 } else { self.indexed },
            done: self.done || ls.as_ref().is_some_and(|s| s.stopped),
            live: live.is_some(),
            paused: self.paused,
            drops: ls.map(|s| u64::from(s.stats.dropped) + u64::from(s.stats.if_dropped)),
            capture_file: live.map(|l| l.file.clone()),
            error: self.error.clone(),
            notice: self.notice(),
        }
    }

    fn poll(&mut self) -> bool {
        let batches: Vec<Batch> = self.worker.drain(POLL_BATCHES).collect();
        let mut changed = !batches.is_empty();
        for b in batches {
            self.absorb(b);
        }
        if self.t0.is_none() {
            self.t0 = self
                .store()
                .and_then(|s| s.entry(PacketId(0)).map(|e| e.ts));
        }
        changed |= self.absorb_records();
        if changed {
            if self.extend_view().is_err() {
                self.filter = None;
                let _ = self.rebuild_view();
            }
            if self.filter.is_some() || self.filtered.is_some() {
                let story = std::mem::take(&mut self.story_new);
                self.refilter(story);
            }
            if self.focus.is_some() {
                self.refocus();
            }
        }
        changed
    }

    fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
        self.worker.send(Command::Pause(paused));
    }

    fn save_view(&self) -> Result<String, String> {
        self.save_view_to(std::path::Path::new("."))
    }

    fn unfiltered_count(&self, tab: super::action::Tab) -> Option<usize> {
        use super::action::Tab;
        Some(match tab {
            Tab::Packets => self.table.len(),
            Tab::Conns => self.all_conns.len(),
            Tab::Dns => self.all_dns.len(),
            Tab::Http => self.all_http.len(),
            Tab::Story => self.all_story.count_stories(),
        })
    }
}

/// The lists as shown (focused, else filtered, else whole) and their rows.
impl EngineSource {
    fn conn_list(&self) -> &[u32] {
        match (&self.focused, &self.filtered) {
            (Some(f), _) => &f.conns,
            (None, Some(f)) => &f.conns,
            (None, None) => &self.all_conns,
        }
    }

    fn dns_list(&self) -> &[u32] {
        match (&self.focused, &self.filtered) {
            (Some(f), _) => &f.dns,
            (None, Some(f)) => &f.dns,
            (None, None) => &self.all_dns,
        }
    }

    fn http_list(&self) -> &[u32] {
        match (&self.focused, &self.filtered) {
            (Some(f), _) => &f.http,
            (None, Some(f)) => &f.http,
            (None, None) => &self.all_http,
        }
    }

    /// The row of connection `id`: from its finished record (decoded for the row), or
    /// the provisional row of a connection still open.
    fn conn_row_of(&self, id: u32) -> Option<ConnRow> {
        if let Some(r) = self.provisional.get(&id) {
            return Some(r.clone());
        }
        let pos = *self.conn_pos.get(id as usize)? as usize;
        let sh = self.shared.read().ok()?;
        let rec = sh.conns.get(pos)?;
        let name = sh.names.get(pos).flatten();
        let first = sh.first_pkt.get(pos).copied().unwrap_or(u32::MAX);
        Some(rows::conn_row(&rec, name.as_ref(), first, self.t0()))
    }
}

impl EngineSource {
    /// The status line's word on TLS keys (see [`key_notice`]).
    fn notice(&self) -> Option<String> {
        let sh = self.shared.read().ok()?;
        let keys = key_notice(&sh.keys, self.tls_conns.plus(self.tls_open));
        match (keys, sh.cache.note.clone()) {
            (Some(k), Some(c)) => Some(format!("{c}; {k}")),
            (k, c) => k.or(c),
        }
    }

    /// Saves the finished analysis as the file's persisted index on a thread of its
    /// own (encoding a large capture's takes a second or more), unless it came from
    /// there or no cache is used. A failure is said on the status line.
    fn save_index(&self) {
        let (dir, key, file) = match self.shared.read() {
            Ok(sh) if !sh.cache.hit => match (&sh.cache.dir, &sh.cache.key, &sh.cache.file) {
                (Some(d), Some(k), Some(f)) => (d.clone(), k.clone(), f.clone()),
                _ => return,
            },
            _ => return,
        };
        let (table, shared, store) = (self.table.clone(), self.shared.clone(), self.store.clone());
        let (story, error) = (self.all_story.clone(), self.error.clone());
        let job = move || {
            let result = {
                let (Ok(sh), Ok(st)) = (shared.read(), store.read()) else {
                    return;
                };
                // A file that changed while it was analysed (still being written, say)
                // is not saved under the identity it had before: the analysis may
                // cover only part of it.
                let same = cache::FileKey::of(&file).is_ok_and(|k| k == key);
                if !same || st.file_len() != key.size {
                    return;
                }
                let Some(index) = st.index_snapshot() else {
                    return;
                };
                let body = cache::BodyRef {
                    store: &index,
                    table: &table,
                    conns: &sh.conns,
                    names: &sh.names,
                    first_pkt: &sh.first_pkt,
                    dns: &sh.dns,
                    http: &sh.http,
                    http_conn: &sh.http_conn,
                    index: &sh.index,
                    keys: &sh.keys,
                    story: &story,
                    error: &error,
                };
                cache::save(&dir, &key, &body)
            };
            if let (Err(e), Ok(mut sh)) = (result, shared.write()) {
                sh.cache.note = Some(format!("index not saved ({e})"));
            }
        };
        let spawned = std::thread::Builder::new()
            .name("wiretale-index-save".into())
            .spawn(job);
        if let Ok(h) = spawned {
            if let Ok(mut g) = self.saving.lock() {
                *g = Some(h);
            }
        }
    }

    /// Waits for the index being saved, if any (tests; the TUI lets it finish or not).
    pub fn wait_saved(&self) {
        let h = self.saving.lock().ok().and_then(|mut g| g.take());
        if let Some(h) = h {
            let _ = h.join();
        }
    }

    /// What the status line says about the persisted index, if anything.
    pub fn cache_note(&self) -> Option<String> {
        self.shared.read().ok()?.cache.note.clone()
    }

    /// The analysis came from the persisted index.
    pub fn from_cache(&self) -> bool {
        self.shared.read().is_ok_and(|sh| sh.cache.hit)
    }

    /// [`DataSource::save_view`] into `dir` (the current directory for the TUI).
    pub fn save_view_to(&self, dir: &std::path::Path) -> Result<String, String> {
        let st = self
            .store
            .read()
            .map_err(|_| "frame store unavailable".to_string())?;
        let ids: Vec<PacketId> = match &self.view {
            Some(v) => v.ids(&self.matched).map(PacketId).collect(),
            None => (0..self.table.len() as u32).map(PacketId).collect(),
        };
        let what = match (self.focus, &self.filter) {
            (Some(c), _) => format!("conn{c}"),
            (None, Some(_)) => "filtered".to_string(),
            (None, None) => "all".to_string(),
        };
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let out = dir.join(format!("wiretale-{what}-{stamp}.pcapng"));
        // The saved sessions' keys go with them: from the key log (read again, a live
        // browser may have added to it) and the file's own secrets blocks.
        let file_keys = self.keylog.as_deref().and_then(|p| KeyLog::read(p).ok());
        let keys = export_keys::input_keys(&st, file_keys);
        let secrets = export_keys::export_secrets(&st, &ids, &keys);
        // Counted only when there are keys (the count decodes every saved frame again).
        let sessions = if secrets.is_empty() {
            0
        } else {
            export_keys::exported_randoms(&st, &ids)
                .iter()
                .filter(|r| keys.get(r).is_some())
                .count()
        };
        let n = wiretale_engine::capture::write_selection(
            &st,
            ids,
            &out,
            wiretale_engine::capture::ExportFormat::Pcapng,
            &secrets,
        )
        .map_err(|e| e.to_string())?;
        let with_keys = match (secrets.is_empty(), sessions) {
            (true, _) => String::new(),
            (false, 1) => " with the TLS keys of 1 session".to_string(),
            (false, k) => format!(" with the TLS keys of {k} sessions"),
        };
        Ok(format!("saved {n} packets to {}{with_keys}", out.display()))
    }
}
