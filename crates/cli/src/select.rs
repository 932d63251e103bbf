//! `-Y` (display filter) and `-f` (capture filter) for the file subcommands.
//!
//! A display filter is compiled before anything is read: a bad one prints the error
//! with a caret under the offending part and exits with status 1, stdout empty. A
//! capture filter is compiled with libpcap for the file's link types once the file is
//! open, and frames it rejects are skipped before the engine sees them; frame numbers
//! stay those of the file (tcpdump renumbers, tshark ignores `-f` on files: keeping
//! the original numbers lets the output be cross-checked against the full file).

use std::collections::HashMap;
use std::path::Path;

use super::args::FileArgs;
use super::run::{drive_with, Next};
use wiretale_engine::analysis::{
    ConnOutcome, ConnRecord, EngineConfig, HttpRecord, PacketMatcher, PacketSummary,
};
use wiretale_engine::base::{ConnId, PacketId};
use wiretale_engine::filter::Filter;
use wiretale_engine::proto::dns::DnsTransaction;
use wiretale_engine::story::NameIndex;

/// What to read and keep, from `-f` and `-Y`.
pub struct Selection {
    pub bpf: Option<String>,
    pub matcher: Option<PacketMatcher>,
    /// `--tls-keylog`: read when the capture is opened.
    pub keylog: Option<std::path::PathBuf>,
}

impl Selection {
    /// Compiles `-Y`; on error prints it with a caret and returns the exit status.
    pub fn from_args(a: &FileArgs) -> Result<Self, i32> {
        let mut s = Self::new(a.filter.as_deref(), a.bpf.as_deref())?;
        s.keylog.clone_from(&a.tls_keylog);
        Ok(s)
    }

    /// What every file command starts with: the selection from `-Y`/`-f` and the engine
    /// configuration from the limit flags, prepared for the filter. `Ok(Err(code))`: a
    /// bad filter was reported; exit with `code`.
    pub fn for_command(
        a: &FileArgs,
        want_info: bool,
    ) -> anyhow::Result<Result<(Self, EngineConfig), i32>> {
        let mut sel = match Self::from_args(a) {
            Ok(s) => s,
            Err(code) => return Ok(Err(code)),
        };
        let mut cfg = a.limits.engine_config(want_info);
        sel.prepare(&a.file, &mut cfg)?;
        Ok(Ok((sel, cfg)))
    }

    pub fn new(display: Option<&str>, bpf: Option<&str>) -> Result<Self, i32> {
        let matcher = match display {
            None => None,
            Some(expr) => match Filter::compile(expr) {
                Ok(f) => Some(PacketMatcher::new(f)),
                Err(e) => {
                    eprintln!("wiretale: bad display filter\n{}", e.render(expr));
                    return Err(super::EXIT_ERROR);
                }
            },
        };
        Ok(Selection {
            bpf: bpf.map(str::to_string),
            matcher,
            keylog: None,
        })
    }

    pub fn is_filtering(&self) -> bool {
        self.matcher.is_some()
    }

    /// `conns -Y`: a connection is kept when any of its packets matched or its own
    /// fields match (see `analysis::select`).
    pub fn keep_conn(&self, m: &Matched, c: &ConnRecord, name: Option<&str>) -> bool {
        match &self.matcher {
            None => true,
            Some(f) => m.conns.contains(c.conn.id) || f.matches_conn(c, name),
        }
    }

    /// Adjusts the engine configuration and, for `conn.state`/`conn.name`, makes the
    /// first pass that learns how every connection ended (see `analysis::select`).
    pub fn prepare(&mut self, path: &Path, cfg: &mut EngineConfig) -> anyhow::Result<()> {
        let Some(m) = &self.matcher else {
            return Ok(());
        };
        m.configure(cfg);
        if !m.needs_outcomes() {
            return Ok(());
        }
        if path.as_os_str() == "-" {
            anyhow::bail!(
                "conn.state and conn.name need two passes over the input, which standard input cannot give; read from a file"
            );
        }
        let mut first = Selection {
            bpf: self.bpf.clone(),
            matcher: None,
            keylog: self.keylog.clone(),
        };
        let mut conns = Vec::new();
        let mut names = NameIndex::new();
        drive_with(
            path,
            EngineConfig::default(),
            &mut first,
            |_, _, _| Next::Continue,
            |engine, at_end, _| {
                for tx in engine.take_dns(at_end) {
                    names.add(&tx);
                }
                conns.extend(engine.take_conns());
            },
        )?;
        let outcomes: HashMap<ConnId, ConnOutcome> = conns
            .iter()
            .map(|c| {
                let o = ConnOutcome {
                    state: c.conn.state(),
                    name: names.name(c).map(|n| n.qname),
                };
                (c.conn.id, o)
            })
            .collect();
        if let Some(m) = &mut self.matcher {
            m.set_outcomes(outcomes);
        }
        Ok(())
    }
}

/// Which packets and connections the display filter matched so far (everything when
/// there is no filter).
pub struct Matched {
    all: bool,
    pub packets: PacketSet,
    pub conns: ConnSet,
}

impl Matched {
    pub fn new(sel: &Selection) -> Self {
        Matched {
            all: !sel.is_filtering(),
            packets: PacketSet::default(),
            conns: ConnSet::default(),
        }
    }

    /// Call for every packet with the filter's verdict.
    pub fn record(&mut self, s: &PacketSummary, matched: bool) {
        if matched && !self.all {
            self.packets.insert(s.id);
            if let Some(c) = s.conn {
                self.conns.insert(c);
            }
        }
    }

    fn any(&self, pkts: &[Option<PacketId>]) -> bool {
        self.all || pkts.iter().flatten().any(|p| self.packets.contains(*p))
    }

    /// A DNS transaction is kept when its query or response packet matched.
    pub fn dns(&self, t: &DnsTransaction) -> bool {
        self.any(&[t.query_pkt, t.response_pkt])
    }

    /// An HTTP exchange is kept when a packet that started, completed the head of, or
    /// ended its request or response matched.
    pub fn http(&self, r: &HttpRecord) -> bool {
        self.any(&r.tx.packets())
    }
}

/// A growable bit set over packet ids (one bit per packet: 128 KiB per million).
#[derive(Default)]
pub struct PacketSet(Vec<u64>);

impl PacketSet {
    pub fn insert(&mut self, id: PacketId) {
        let (w, b) = (id.0 as usize / 64, id.0 % 64);
        if self.0.len() <= w {
            self.0.resize(w + 1, 0);
        }
        if let Some(x) = self.0.get_mut(w) {
            *x |= 1 << b;
        }
    }

    pub fn contains(&self, id: PacketId) -> bool {
        self.0
            .get(id.0 as usize / 64)
            .is_some_and(|x| x & (1 << (id.0 % 64)) != 0)
    }
}

/// Connection ids with at least one matching packet.
#[derive(Default)]
pub struct ConnSet(PacketSet);

impl ConnSet {
    pub fn insert(&mut self, c: ConnId) {
        self.0.insert(PacketId(c.0));
    }
    pub fn contains(&self, c: ConnId) -> bool {
        self.0.contains(PacketId(c.0))
    }
}
