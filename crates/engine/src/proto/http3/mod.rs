//! HTTP/3 (RFC 9114) over QUIC streams, with QPACK (RFC 9204, [`crate::proto::qpack`]):
//! sans-IO, bounded and panic-free.
//!
//! QUIC stream reassembly (`proto::quic`) hands [`H3Conn`] the in-order bytes of each
//! stream and direction, gaps, resets and the end of the connection; out come
//! [`H3Exchange`]s (one per request stream, in the vocabulary of HTTP/2's exchanges and
//! convertible to [`crate::proto::http::HttpTransaction`] with version `HTTP/3`) and
//! [`H3FrameInfo`] records (one per frame, stream header and QPACK instruction batch,
//! for packet notes and the field tree, [`tree`]).
//!
//! * [`frame`]: stream types, frame types, settings and error codes, control payloads.
//! * `conn`: the per-connection engine (control streams and SETTINGS, QPACK encoder and
//!   decoder streams feeding the decoders with held sections, request and push streams).
//! * `exchange`: [`H3Exchange`] and [`Reset`].
//! * `frame_info`: [`H3FrameInfo`] and its Info text.

mod conn;
mod exchange;
pub mod frame;
mod frame_info;
pub mod tree;

#[cfg(test)]
mod tests;

pub use conn::{
    H3Conn, H3Goaway, DEFAULT_MAX_HEADER_FRAME, MAX_CONTROL_FRAME, MAX_EARLY_QPACK_BYTES,
    MAX_OPEN_STREAMS, MAX_PENDING_FRAMES, MAX_UNI_STREAMS,
};
pub use exchange::{H3Exchange, Reset};
pub use frame_info::{error_code_label, H3FrameDetail, H3FrameInfo};
