//! The display-filter language: tshark-compatible expressions over packets and
//! connections.
//!
//! A filter string is tokenised ([`lexer`], nom 8), parsed into a tree with byte spans
//! ([`parse`]), checked against the field registry ([`fields`], [`check`]) and compiled
//! once into a [`Filter`] ([`compile`]), which is then evaluated over any [`Record`]
//! without allocating ([`eval`]). The module knows nothing of packets: the engine
//! implements [`Record`] for whatever it filters.
//!
//! ```
//! use wiretale_engine::filter::{Filter, fields};
//! let f = Filter::compile("tcp.port in {80, 443} and not ip.addr == 10.0.0.0/8").unwrap();
//! assert!(f.fields_used().any(|id| Some(id) == fields::lookup("tcp.port").map(|d| d.id)));
//! let e = Filter::compile("ip.adr == 1.2.3.4").unwrap_err();
//! assert_eq!(e.render("ip.adr == 1.2.3.4").lines().nth(1), Some("^~~~~~"));
//! ```
//!
//! Semantics follow tshark 4.0 where fields are shared; see [`eval`] for multi-valued
//! fields and `!=`. Differences: set members may also be separated by spaces; booleans
//! also compare with `true`/`false`; aliases such as `tls.sni`, `tcp.flags.rst`; no
//! slices, arithmetic, functions or field-to-field comparisons.

pub mod check;
pub mod compile;
pub mod error;
pub mod eval;
pub mod fields;
pub mod lexer;
pub mod parse;

pub use compile::Filter;
pub use error::FilterError;
pub use eval::{Record, Value};
pub use fields::{FieldDef, FieldId, FieldKind};
