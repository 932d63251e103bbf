//! Application-protocol parsers: DNS, HTTP/1.x, HTTP/2, TLS, QUIC and QPACK.
//!
//! Parsers take bytes, a direction and a timestamp and return events; they never import
//! `flow`, so each is testable from byte fixtures alone.

pub mod dns;
pub mod http;
pub mod http2;
pub mod http3;
pub mod netbios;
pub mod qpack;
pub mod quic;
pub mod tls;
