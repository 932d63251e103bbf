//! The typed records of `--json` output: one type per record kind, so the schema is the
//! type. Each derives `Serialize` (the CLI writes it as one JSON line) and `JsonSchema`
//! (the published schemas in `docs/schema/` are generated from these types; a test
//! keeps the files equal to the types and checks real output against them).
//!
//! | record | command | type |
//! |---|---|---|
//! | packet | `packets --json` | [`PacketJson`] |
//! | connection | `conns --json` | [`ConnJson`] |
//! | DNS transaction | `dns --json` | [`DnsJson`] |
//! | HTTP exchange | `http --json` | [`HttpJson`] |
//! | story event | `story --json` | [`EventJson`] |
//! | follow turn | `follow --json` | [`TurnJson`] |
//!
//! Records borrow from what they describe and are built just before they are written.
//! Field order: the JSON objects have always listed their keys alphabetically, and the
//! structs declare their fields in that order so that output stays byte-identical
//! (the story event, whose facts are flattened in, is written through a sorted map).
//! Strings that came off the wire are [`Wire`]: escaped by [`guard`] when built.

use std::borrow::Cow;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::Serialize;

use crate::base::{escape, Endpoint, Timestamp};

mod conn;
mod dns;
mod follow;
mod http;
mod packet;
mod quic;
mod story;
mod tls;

pub use conn::{
    proto_name, CloseRecord, ConnJson, HalfCloseRecord, HandshakeRecord, NameRecord, PhasesRecord,
};
pub use dns::{DnsFlagsRecord, DnsJson, ResourceRecord};
pub use follow::{json_text, TurnJson};
pub use http::HttpJson;
pub use packet::PacketJson;
pub use quic::{PathRecord, QuicCloseRecord, QuicRecord, QuicTimingsRecord};
pub use story::{EventJson, FactsRecord, PhaseTimesRecord};
pub use tls::{AlertRecord, CertRecord, CountRecord, TlsRecord};

/// A string from the wire, escaped for any consumer that prints it (see [`guard`]).
pub type Wire<'a> = Cow<'a, str>;

/// Replaces characters that must never reach a terminal raw (controls, bidi overrides)
/// with their reversible escapes (`\x1b`, `\u{202e}`), leaving everything else
/// (including backslashes already used by escapes) as it is. JSON escapes control
/// characters itself; this also covers the format characters it would pass through,
/// so a JSON consumer that prints a value cannot be tricked either.
pub fn guard(s: &str) -> Cow<'_, str> {
    if !escape::has_unsafe_char(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() || escape::is_unsafe_char(c) {
            out.push_str(&escape::escape_str(c.encode_utf8(&mut [0; 4])));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`guard`] over a string built here (no copy when nothing needs escaping).
pub fn guard_owned(s: String) -> Wire<'static> {
    match guard(&s) {
        Cow::Borrowed(_) => Cow::Owned(s),
        Cow::Owned(o) => Cow::Owned(o),
    }
}

/// [`guard`] over an optional string.
pub fn wire(s: Option<&str>) -> Option<Wire<'_>> {
    s.map(guard)
}

/// Seconds since the epoch (float, microsecond-or-better precision).
pub fn secs_ts(t: Timestamp) -> f64 {
    t.as_secs_f64()
}

/// Nanoseconds as seconds.
pub fn secs(ns: Option<i64>) -> Option<f64> {
    ns.map(|n| n as f64 / 1e9)
}

/// `{"ip": "198.18.0.10", "port": 41234}`
#[derive(Clone, Copy, Debug, PartialEq, Serialize, JsonSchema)]
pub struct EndpointRecord {
    pub ip: IpAddr,
    pub port: u16,
}

impl From<&Endpoint> for EndpointRecord {
    fn from(e: &Endpoint) -> Self {
        EndpointRecord {
            ip: e.ip,
            port: e.port,
        }
    }
}

/// One value per side of a connection: `{"client": …, "server": …}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, JsonSchema)]
pub struct Sides<T> {
    pub client: T,
    pub server: T,
}

impl<T: Copy> From<[T; 2]> for Sides<T> {
    fn from(v: [T; 2]) -> Self {
        Sides {
            client: v[0],
            server: v[1],
        }
    }
}

/// The published JSON Schemas, generated from the types: the file stem under
/// `docs/schema/` and the schema of that record. `cargo run --example schemas` writes
/// them; tests/schema.rs checks the files are current and real output conforms.
pub fn schemas() -> Vec<(&'static str, schemars::Schema)> {
    vec![
        ("packet", schema::<PacketJson<'static>>()),
        ("connection", schema::<ConnJson<'static>>()),
        ("dns", schema::<DnsJson<'static>>()),
        ("http", schema::<HttpJson<'static>>()),
        ("story-event", schema::<EventJson<'static>>()),
        ("follow-turn", schema::<TurnJson>()),
    ]
}

/// The schema of what is written (not of what a reader would accept): a field is
/// required unless it may be left out (`null` values are always written).
fn schema<T: JsonSchema>() -> schemars::Schema {
    schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
}
