//! HTTP/1.0 and HTTP/1.1 over reassembled TCP (RFC 9110, RFC 9112).
//!
//! * [`parse`]: streaming nom 8 parsers for start lines and header lines, plus
//!   recognition by content ([`looks_like_http`]).
//! * [`HttpConn`]: the per-connection state machine: framing (Content-Length, chunked,
//!   close), no-body rules, interim responses, Upgrade/CONNECT, pipelining, gaps.
//! * [`HttpTransaction`]: one request/response pair with its timings.
//! * [`tunnel`]: what a CONNECT tunnel carried.
//! * [`body`]: on-demand de-chunking and decompression for display (never on the hot
//!   path).

pub mod body;
mod conn;
mod head;
pub mod parse;
mod transaction;
pub mod tree;
pub mod tunnel;

pub use conn::{AfterUpgrade, HttpConn, Upgrade, MAX_PENDING};
pub use head::{parse_head, Head, HeadError, Start};
pub use parse::{looks_like_http, Version};
pub use transaction::{HttpTransaction, Transfer};
pub use tunnel::Tunnel;
