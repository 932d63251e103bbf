//! One capture's records turned into rows: the same records, in the same order and with
//! the same names, as the JSON commands print (`conns` in id order with its naming
//! window, `dns` by `seq`, `http` as `http` sorts them, the story as `story` tells it).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::columns::Shape;
use super::layout;
use super::split::Split;
use super::tables::{Table, TlsRow};
use super::writer::TableWriter;
use crate::select::{Matched, Selection};
use wiretale_engine::analysis::records::{
    proto_name, ConnJson, DnsJson, EventJson, HttpJson, PacketJson,
};
use wiretale_engine::analysis::shard::Records;
use wiretale_engine::analysis::{ConnRecord, PacketSummary};
use wiretale_engine::base::ConnId;
use wiretale_engine::proto::dns::DnsTransaction;
use wiretale_engine::story::{ConnName, NameIndex, StoryPage, StoryStream};

/// Finished connections held while waiting for an earlier one (as `conns` does).
const REORDER_WINDOW: usize = 16_384;

/// Capture time (ns) between two looks for final story pages (as `story` does).
pub const ADVANCE_EVERY: i64 = 500_000_000;

pub struct Sink {
    out: PathBuf,
    capture: String,
    tables: Vec<Table>,
    part: u32,
    force: bool,
    split: Split,
    shapes: HashMap<Table, Vec<(String, String, Shape)>>,
    /// Opened at the first packet (its date names the partition).
    writers: HashMap<Table, TableWriter>,
    opened: bool,
    pending: BTreeMap<u32, ConnRecord>,
    next_id: u32,
    names: NameIndex,
    /// `--split`: the engine's connections that are another part's.
    others: Others,
    story: Option<StoryStream>,
    last_advance: i64,
    /// Rows written per table (the files' row counts once closed).
    pub counts: BTreeMap<&'static str, u64>,
}

impl Sink {
    pub fn new(out: &Path, file: &Path, tables: &[Table], split: Split, force: bool) -> Sink {
        Sink {
            out: out.to_path_buf(),
            capture: layout::capture_name(file),
            tables: tables.to_vec(),
            part: split.i,
            force,
            split,
            shapes: tables.iter().map(|t| (*t, t.shapes())).collect(),
            writers: HashMap::new(),
            opened: false,
            pending: BTreeMap::new(),
            next_id: 0,
            names: NameIndex::new(),
            others: Others::default(),
            story: tables.contains(&Table::Story).then(StoryStream::new),
            last_advance: i64::MIN,
            counts: BTreeMap::new(),
        }
    }

    fn wants(&self, t: Table) -> bool {
        self.tables.contains(&t)
    }

    pub fn opened(&self) -> bool {
        self.opened
    }

    /// Opens every table's file for a capture whose first packet is at `secs`: first
    /// checks that none exists (unless `--force`), so that a refusal writes nothing.
    pub fn open(&mut self, secs: i64) -> Result<(), String> {
        if self.opened {
            return Ok(());
        }
        self.opened = true;
        let date = layout::utc_date(secs);
        let mut paths = Vec::new();
        for t in &self.tables {
            let dir = layout::part_dir(&self.out, t.name(), &date, &self.capture);
            let dest = layout::part_file(&dir, self.part);
            if !self.force && dest.exists() {
                return Err(format!("{} exists (--force replaces it)", dest.display()));
            }
            paths.push((*t, dest, layout::temp_file(&dir, self.part)));
        }
        for (t, dest, temp) in paths {
            let shapes = self.shapes.remove(&t).unwrap_or_default();
            let w = TableWriter::create(shapes, dest, temp, &self.capture, t.version())?;
            self.writers.insert(t, w);
        }
        Ok(())
    }

    fn push<T: serde::Serialize>(&mut self, t: Table, rec: &T) -> Result<(), String> {
        match self.writers.get_mut(&t) {
            Some(w) => {
                w.push(rec)?;
                *self.counts.entry(t.name()).or_default() += 1;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// `--split`: the connection of a packet analysed for its names belongs to another
    /// part (a part's flows never share a connection with another's: the flow key
    /// keeps every packet of a connection on one side).
    pub fn not_owned(&mut self, conn: Option<ConnId>) {
        if let Some(c) = conn {
            self.others.insert(c.0);
        }
    }

    /// Whether this part writes the rows of connection `conn` (local id).
    fn owns(&self, conn: u32) -> bool {
        !self.others.contains(conn)
    }

    /// Whether this part writes and tells a DNS transaction: the one that owns its
    /// connection (every part reads every lookup to name its connections, exactly one
    /// writes it). Another part's lookups and connections stay out of the story too
    /// (`StoryStream::add_dns` with `keep` false names from a lookup without telling
    /// it), so a part tells the story of its own records, each once, named from every
    /// lookup.
    fn owns_dns(&self, tx: &DnsTransaction) -> bool {
        match tx.conn {
            Some(c) => self.owns(c.0),
            None => self.split.i == 0,
        }
    }

    pub fn packet(&mut self, s: &PacketSummary) -> Result<(), String> {
        if !self.wants(Table::Packets) {
            return Ok(());
        }
        let mut j = PacketJson::new(s);
        j.conn = j.conn.map(|c| self.split.id(c)).transpose()?;
        self.push(Table::Packets, &j)
    }

    /// Takes a drain's records (see `run::drive_with`: whatever is left is dropped).
    pub fn drain(
        &mut self,
        engine: &mut dyn Records,
        at_end: bool,
        sel: &Selection,
        m: &Matched,
    ) -> Result<(), String> {
        let mut dns = engine.take_dns(at_end);
        dns.sort_by_key(|t| t.seq);
        for tx in dns {
            // Another part's lookup (`--split`) only names connections.
            let keep = m.dns(&tx) && self.owns_dns(&tx);
            if keep && self.wants(Table::Dns) {
                let mut j = DnsJson::new(&tx);
                j.conn = j.conn.map(|c| self.split.id(c)).transpose()?;
                j.seq = self.split.seq(j.seq);
                j.tc_retry_of = j.tc_retry_of.map(|s| self.split.seq(s));
                j.retried_over_tcp = j.retried_over_tcp.map(|s| self.split.seq(s));
                self.push(Table::Dns, &j)?;
            }
            self.names.add(&tx);
            if let Some(st) = &mut self.story {
                st.add_dns(tx, keep);
            }
        }
        let mut http = engine.take_http();
        http.sort_by_key(|r| (r.tx.request_ts.or(r.tx.response_ts), r.conn, r.tx.seq));
        for h in http {
            if !m.http(&h) || !self.owns(h.conn.0) {
                continue;
            }
            if self.wants(Table::Http) {
                let mut j = HttpJson::new(&h);
                j.conn = self.split.id(j.conn)?;
                self.push(Table::Http, &j)?;
            }
            if let Some(st) = &mut self.story {
                st.add_http(h);
            }
        }
        let conn_rows = self.wants(Table::Conns) || self.wants(Table::Tls);
        for c in engine.take_conns() {
            if !self.owns(c.conn.id.0) {
                continue;
            }
            // Both the conns rows and the story want it: one copy each.
            let (row, told) = match (conn_rows, self.story.is_some()) {
                (true, true) => (Some(c.clone()), Some(c)),
                (true, false) => (Some(c), None),
                (false, _) => (None, Some(c)),
            };
            if let Some(c) = row {
                if c.conn.id.0 < self.next_id {
                    self.conn_row(&c, sel, m)?;
                } else {
                    self.pending.insert(c.conn.id.0, c);
                }
            }
            if let (Some(c), Some(st)) = (told, &mut self.story) {
                st.add_conn(c);
            }
        }
        self.flush_conns(sel, m)?;
        if at_end {
            let rest: Vec<ConnRecord> = std::mem::take(&mut self.pending).into_values().collect();
            for c in &rest {
                self.conn_row(c, sel, m)?;
            }
        }
        self.tell(engine, at_end, sel, m)
    }

    /// Conns in id order, as `conns` prints them (and named at the same moment).
    /// Another part's connections (`--split`) are never written, so none waits for
    /// them: a lookup's connection lingers until its idle timeout, and would hold
    /// every later one back.
    fn flush_conns(&mut self, sel: &Selection, m: &Matched) -> Result<(), String> {
        loop {
            if self.others.contains(self.next_id) {
                self.next_id += 1;
                continue;
            }
            let Some(c) = self.pending.remove(&self.next_id) else {
                break;
            };
            self.conn_row(&c, sel, m)?;
            self.next_id += 1;
        }
        while self.pending.len() > REORDER_WINDOW {
            let Some((id, c)) = self.pending.pop_first() else {
                break;
            };
            self.conn_row(&c, sel, m)?;
            self.next_id = id + 1;
        }
        Ok(())
    }

    fn conn_row(&mut self, c: &ConnRecord, sel: &Selection, m: &Matched) -> Result<(), String> {
        let name = self.names.name(c);
        if !sel.keep_conn(m, c, name.as_ref().map(|n| n.qname.as_str())) {
            return Ok(());
        }
        let id = self.split.id(c.conn.id.0)?;
        let mut j = ConnJson::new(c, name.as_ref());
        j.id = id;
        if self.wants(Table::Conns) {
            self.push(Table::Conns, &j)?;
        }
        if self.wants(Table::Tls) {
            if let Some(tls) = j.tls {
                let row = TlsRow {
                    client: j.client,
                    community_id: j.community_id,
                    conn: id,
                    first_ts: j.first_ts,
                    proto: proto_name(c.conn.proto),
                    server: j.server,
                    tls,
                };
                self.push(Table::Tls, &row)?;
            }
        }
        Ok(())
    }

    /// The story's pages that are final (all of them at the end), as events.
    fn tell(
        &mut self,
        engine: &mut dyn Records,
        at_end: bool,
        sel: &Selection,
        m: &Matched,
    ) -> Result<(), String> {
        let Some(mut st) = self.story.take() else {
            return Ok(());
        };
        let now = engine.now().0;
        let pending =
            (!at_end && now.saturating_sub(self.last_advance) >= ADVANCE_EVERY).then(|| {
                self.last_advance = now;
                engine.pending()
            });
        let mut keep = |c: &ConnRecord, name: Option<&ConnName>| {
            sel.keep_conn(m, c, name.map(|n| n.qname.as_str()))
        };
        let mut failed: Option<String> = None;
        let split = self.split;
        let mut writer = self.writers.get_mut(&Table::Story);
        let mut written = 0u64;
        let mut each = |page: &StoryPage| {
            let Some(w) = writer.as_deref_mut() else {
                return true;
            };
            for e in &page.events {
                let mut j = EventJson::new(e);
                let r = (|| -> Result<(), String> {
                    j.conn = j.conn.map(|c| split.id(c)).transpose()?;
                    j.page = j.page.map(|p| split.page(p)).transpose()?;
                    w.push(&j)
                })();
                if let Err(e) = r {
                    failed = Some(e);
                    return false;
                }
                written += 1;
            }
            true
        };
        if at_end {
            st.finish(&mut keep, &mut each);
        } else if let Some(p) = &pending {
            st.advance(p, &mut keep, &mut each);
        }
        self.story = Some(st);
        *self.counts.entry(Table::Story.name()).or_default() += written;
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Closes every file (renamed to its final name). A capture without a packet
    /// opened none.
    pub fn close(mut self) -> Result<BTreeMap<&'static str, u64>, String> {
        let mut first_err = None;
        let mut ws: Vec<(Table, TableWriter)> = self.writers.drain().collect();
        ws.sort_by_key(|(t, _)| *t);
        for (t, w) in ws {
            if first_err.is_some() {
                w.abandon();
                continue;
            }
            match w.close() {
                Ok(n) => {
                    self.counts.insert(t.name(), n);
                }
                Err(e) => first_err = Some(e),
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(self.counts),
        }
    }

    /// Removes every temporary (an error stopped this capture).
    pub fn abandon(mut self) {
        for (_, w) in self.writers.drain() {
            w.abandon();
        }
    }
}

/// Local connection ids that are another part's (its lookup connections), as a bit
/// set: the engine numbers connections from 0, so this is a bit per connection it made
/// up to the last such id (33 KB for 267 k connections).
#[derive(Default)]
struct Others(Vec<u64>);

impl Others {
    fn insert(&mut self, id: u32) {
        let (w, b) = (id as usize / 64, id % 64);
        if self.0.len() <= w {
            self.0.resize(w + 1, 0);
        }
        if let Some(word) = self.0.get_mut(w) {
            *word |= 1 << b;
        }
    }

    fn contains(&self, id: u32) -> bool {
        self.0
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }
}
