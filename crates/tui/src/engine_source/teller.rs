//! The story of a capture file told on a thread of its own while the worker indexes it,
//! as the `story` command tells it on two cores (its teller thread).
//!
//! The worker hands each slice's finished records (lookups, exchanges, connections, in
//! the order the engine gave them out) to the teller, with what the engine still holds
//! now and then ([`Pending`]). The teller first stores them in [`Shared`], encoded, for
//! the views (a fifth of the worker's time on manyflows.pcap when the worker did it),
//! then feeds them to a [`StoryStream`], which tells
//! each page once nothing still to come can change it, and turns every told page into
//! the TUI's lines at once ([`StoryLines`]). So the story is ready soon after the last
//! packet, was told on the core the worker leaves idle, and only the records of the
//! pages not yet told are held (never all of them whole at the end: on manyflows.pcap
//! that copy was the peak of the TUI's memory).
//!
//! The story is told for the text ([`StoryStream::for_text`]): the TUI shows what the
//! `story` command prints, and a page's facts and its quiet lines are never shown.
//! The quiet lines not made (a handshake's, a response's) always sit beside a
//! connection's or a request's line that is shown, so no page loses all its lines.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use super::producer::Shared;
use super::rows::StoryLines;
use crate::story::Story;
use wiretale_engine::analysis::{ConnRecord, HttpRecord};
use wiretale_engine::base::packed::Packed;
use wiretale_engine::proto::dns::DnsTransaction;
use wiretale_engine::story::{ConnName, Pending, StoryPage, StoryStream};

/// Batches that may wait for the teller: the worker waits beyond (its records cannot
/// pile up), and a few absorb a slice that finished many connections at once.
const WAITING_BATCHES: usize = 8;

/// One slice's finished records, in the order the engine handed them out.
#[derive(Default)]
pub struct Records {
    pub dns: Vec<DnsTransaction>,
    pub http: Vec<HttpRecord>,
    pub conns: Vec<Finished>,
    /// What the engine still holds, when it is time to look for final pages.
    pub pending: Option<Pending>,
    /// The last records: tell every page.
    pub at_end: bool,
}

/// A finished connection with what the views show beside it.
pub struct Finished {
    pub record: ConnRecord,
    /// Its name from the lookups seen so far (the story's replaces it at the end).
    pub name: Option<ConnName>,
    /// Packet id of its first packet.
    pub first: u32,
}

/// Records encoded for the views' lists, ready to be appended to [`Shared`].
#[derive(Default)]
pub struct Encoded {
    dns: Vec<DnsTransaction>,
    conns: Packed<ConnRecord>,
    names: Packed<Option<ConnName>>,
    first_pkt: Vec<u32>,
    http: Packed<HttpRecord>,
    http_conn: Vec<u32>,
}

impl Records {
    /// The records encoded (see [`Shared`]), done before [`Shared`] is locked: the
    /// worker and the UI wait for its lock, not for the encoding.
    pub fn encode(&self) -> Encoded {
        let mut e = Encoded {
            dns: self.dns.clone(),
            first_pkt: Vec::with_capacity(self.conns.len()),
            http_conn: Vec::with_capacity(self.http.len()),
            ..Encoded::default()
        };
        for c in &self.conns {
            e.names.push(&c.name);
            e.first_pkt.push(c.first);
            e.conns.push(&c.record);
        }
        for h in &self.http {
            e.http.push(h);
            e.http_conn.push(h.conn.0);
        }
        e
    }

    /// Appends the records to the views' lists.
    pub fn store(&self, sh: &mut Shared) {
        self.encode().append_to(sh);
    }
}

impl Encoded {
    pub fn append_to(self, sh: &mut Shared) {
        sh.dns.extend(self.dns);
        sh.conns.append(self.conns);
        sh.names.append(self.names);
        sh.first_pkt.extend(self.first_pkt);
        sh.http.append(self.http);
        sh.http_conn.extend(self.http_conn);
    }
}

/// The story being told from the records given so far.
pub struct Telling {
    stream: StoryStream,
    lines: StoryLines,
}

impl Default for Telling {
    fn default() -> Self {
        Telling {
            stream: StoryStream::new().for_text(),
            lines: StoryLines::default(),
        }
    }
}

impl Telling {
    /// Takes one batch; tells the pages it made final (all of them at the end).
    pub fn take(&mut self, r: Records) {
        for t in r.dns {
            self.stream.add_dns(t, true);
        }
        // Exchanges first: a connection's record gathers the ones before it.
        for h in r.http {
            self.stream.add_http(h);
        }
        for c in r.conns {
            self.stream.add_conn(c.record);
        }
        let mut keep = |_: &ConnRecord, _: Option<&ConnName>| true;
        let lines = &mut self.lines;
        let mut each = |p: &StoryPage| {
            lines.add(p, true);
            true
        };
        if r.at_end {
            self.stream.finish(&mut keep, &mut each);
        } else if let Some(p) = &r.pending {
            self.stream.advance(p, &mut keep, &mut each);
        }
    }

    /// The story, with its closing line (call after the batch `at_end`).
    pub fn finish(self) -> Story {
        self.lines.finish()
    }
}

/// The teller thread and the channels to it.
pub struct Teller {
    tx: Option<SyncSender<Records>>,
    /// Says when the last records are stored in [`Shared`].
    stored: Receiver<()>,
    thread: Option<JoinHandle<Story>>,
}

impl Teller {
    /// Starts the thread, which stores records in `shared` (`None` when the system
    /// refuses a thread: the caller stores them and tells the story itself then).
    pub fn spawn(shared: Arc<RwLock<Shared>>) -> Option<Teller> {
        let (tx, rx) = mpsc::sync_channel::<Records>(WAITING_BATCHES);
        let (stored_tx, stored) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("wiretale-story".into())
            .spawn(move || run(rx, &shared, &stored_tx))
            .ok()?;
        Some(Teller {
            tx: Some(tx),
            stored,
            thread: Some(thread),
        })
    }

    /// Waits until the records of the batch `at_end` are in [`Shared`] (or the thread
    /// is gone).
    pub fn wait_stored(&self) {
        let _ = self.stored.recv();
    }

    /// Hands one batch over (waits while the teller is `WAITING_BATCHES` behind).
    pub fn send(&self, r: Records) {
        if let Some(tx) = &self.tx {
            // Fails only when the thread is gone (it panicked): `finish` says so.
            let _ = tx.send(r);
        }
    }

    /// Waits for the story (after the batch `at_end` was sent); `None` when the thread
    /// failed.
    pub fn finish(mut self) -> Option<Story> {
        drop(self.tx.take());
        self.thread.take()?.join().ok()
    }
}

/// The thread: stores and tells batches until the one at the end (or until the worker
/// is gone: the TUI quit before the end, nothing waits for the story).
fn run(rx: Receiver<Records>, shared: &RwLock<Shared>, stored: &SyncSender<()>) -> Story {
    let mut t = Telling::default();
    for r in rx {
        let e = r.encode();
        if let Ok(mut sh) = shared.write() {
            e.append_to(&mut sh);
        }
        let end = r.at_end;
        if end {
            let _ = stored.send(());
        }
        t.take(r);
        if end {
            break;
        }
    }
    t.finish()
}
