//! HTTP/2 (RFC 9113) with HPACK (RFC 7541) over a reassembled byte stream: cleartext
//! h2c or the decrypted bytes of TLS with ALPN `h2`.
//!
//! * [`preface`]: how a connection becomes HTTP/2 (prior knowledge, ALPN, Upgrade) and
//!   recognising the client preface by content ([`looks_like_h2`]).
//! * [`frame`]: the frame header and every frame type's payload, with RFC 9113 §6 checks.
//! * [`hpack`]: the field-block decoder of one direction, wiretale's own (RFC 7541),
//!   bounded and panic-free.
//! * [`H2Conn`]: the sans-IO per-connection engine (bytes + packet + time in; frames
//!   and exchanges out), with bounded buffers.
//! * [`H2Exchange`]: one stream as a request/response exchange, convertible to the
//!   HTTP/1-shaped [`crate::proto::http::HttpTransaction`].
//! * [`tree`]: the detail-pane tree of the HTTP/2 frames in one segment.

mod conn;
mod exchange;
pub mod frame;
pub mod hpack;
pub mod preface;
pub mod tree;

#[cfg(test)]
mod tests;

pub use conn::{
    FrameDetail, FrameInfo, Goaway, H2Conn, MAX_BUFFERED_FRAME, MAX_HEADER_BLOCK, MAX_OPEN_STREAMS,
    MAX_PENDING_FRAMES,
};
pub use exchange::{H2Exchange, Reset};
pub use frame::{FrameHeader, FrameType};
pub use hpack::Header;
pub use preface::{looks_like_h2, PREFACE};
