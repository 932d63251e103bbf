//! The tables `extract` writes: which record type each is made of, its schema version,
//! and the generated column reference (`docs/schema/parquet.md`).

use schemars::JsonSchema;
use serde::Serialize;

use super::columns::{shapes, Shape, TsRule};
use wiretale_engine::analysis::records::{
    ConnJson, DnsJson, EndpointRecord, EventJson, HttpJson, PacketJson, TlsRecord,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Table {
    Conns,
    Dns,
    Http,
    Tls,
    Story,
    Packets,
}

impl Table {
    pub const ALL: [Table; 6] = [
        Table::Conns,
        Table::Dns,
        Table::Http,
        Table::Tls,
        Table::Story,
        Table::Packets,
    ];

    /// Written unless `--tables` says otherwise (every table but `packets`).
    pub const DEFAULT: [Table; 5] = [
        Table::Conns,
        Table::Dns,
        Table::Http,
        Table::Tls,
        Table::Story,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Conns => "conns",
            Table::Dns => "dns",
            Table::Http => "http",
            Table::Tls => "tls",
            Table::Story => "story",
            Table::Packets => "packets",
        }
    }

    /// The table's `schema_version`: raised whenever a column changes (the generated
    /// `docs/schema/parquet.md` shows it beside the columns, and its staleness test
    /// fails until the doc is regenerated, a reminder to raise it).
    pub fn version(self) -> i32 {
        1
    }

    /// One row is one …
    fn what(self) -> &'static str {
        match self {
            Table::Conns => "connection (`wiretale conns --json`)",
            Table::Dns => "DNS transaction (`wiretale dns --json`)",
            Table::Http => "HTTP exchange, HTTP/1, /2 and /3 (`wiretale http --json`)",
            Table::Tls => "connection that carried TLS (the `tls` object of `conns --json`, with the connection's keys)",
            Table::Story => "story event (`wiretale story --json`)",
            Table::Packets => "packet (`wiretale packets --json`); only with `--tables packets`",
        }
    }

    fn rule(self) -> TsRule {
        TsRule {
            prefix: (self == Table::Conns).then_some("phases_"),
        }
    }

    pub fn json_schema(self) -> schemars::Schema {
        match self {
            Table::Conns => schema::<ConnJson<'static>>(),
            Table::Dns => schema::<DnsJson<'static>>(),
            Table::Http => schema::<HttpJson<'static>>(),
            Table::Tls => schema::<TlsRow<'static>>(),
            Table::Story => schema::<EventJson<'static>>(),
            Table::Packets => schema::<PacketJson<'static>>(),
        }
    }

    /// The record's columns (without `capture` and `schema_version`).
    pub fn shapes(self) -> Vec<(String, String, Shape)> {
        let s = self.json_schema().to_value();
        // The record types are fixed at build time: a schema the walk cannot map is a
        // bug that the unit tests catch for every table.
        shapes(&s, self.rule()).unwrap_or_else(|e| unreachable!("{}: {e}", self.name()))
    }
}

fn schema<T: JsonSchema>() -> schemars::Schema {
    schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
}

/// A row of the `tls` table: the connection's TLS facts (its `tls` object, flattened)
/// beside what joins it to the rest.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct TlsRow<'a> {
    pub client: EndpointRecord,
    /// Community ID v1, seed 0 (as `conns.community_id`).
    pub community_id: String,
    /// The connection id (`conns.id`).
    pub conn: u32,
    /// The connection's first packet.
    pub first_ts: f64,
    /// `tcp` (TLS) or `udp` (QUIC's TLS handshake).
    pub proto: &'static str,
    pub server: EndpointRecord,
    #[serde(flatten)]
    pub tls: TlsRecord<'a>,
}

/// `docs/schema/parquet.md`: every table's columns, types and descriptions, generated
/// from the record types (`cargo run --example schemas` writes it; tests/extract.rs
/// fails when the committed file differs).
pub fn parquet_doc() -> String {
    let mut s = String::from(
        "# Parquet tables written by `wiretale extract`\n\n\
         Generated from the record types by `cargo run --example schemas`; do not edit.\n\
         Layout: `DIR/<table>/date=YYYY-MM-DD/capture=<NAME>/part-<I>.parquet` (README,\n\
         \"Extract to Parquet\"). Columns are the JSON records' fields, nested objects\n\
         flattened with `_`; times are `timestamp(µs, UTC)`, durations float64 seconds;\n\
         every column but `capture` and `schema_version` may be null.\n",
    );
    for t in Table::ALL {
        let rows = super::columns::Rows::new(t.shapes());
        s.push_str(&format!(
            "\n## `{}` (schema_version {})\n\nOne row per {}.\n\n| column | type | description |\n|---|---|---|\n",
            t.name(),
            t.version(),
            t.what()
        ));
        for (n, d, shape) in rows.shapes() {
            s.push_str(&format!(
                "| `{n}` | {} | {} |\n",
                shape.doc_type().replace('|', "\\|"),
                d.replace('|', "\\|")
            ));
        }
    }
    s
}
