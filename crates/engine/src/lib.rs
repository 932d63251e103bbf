//! # wiretale-engine
//!
//! The analysis of wiretale, a packet-capture analyzer that tells the browser-to-server story as it crossed the
//! wire: the resolver's DNS lookup, the TCP handshake to the answered address, the HTTP
//! messages and the teardown.
//!
//! ## Layers
//!
//! ```text
//!  FrameSource ──► decode ──► flow ──► proto ──► story
//!  (file, live)    (L2–L4)    (conns,   (DNS,     (lookups ↔ conns ↔
//!                             reassembly) HTTP, TLS) transactions, phases)
//!                          \__________ analysis ___________/
//!                                        │ Update batches
//!                               ┌────────┴────────┐
//!                              cli               tui
//!                     (text + JSON Lines)   (ratatui + crossterm)
//! ```
//!
//! ## Import rules
//!
//! Imports point one way only. Inside this crate `tests/layering.rs` checks it; the faces
//! are the crates `wiretale-cli` and `wiretale-tui`, which depend on this one (cargo
//! enforces that direction), and this crate has no terminal code.
//!
//! ```text
//! base ← capture, decode          decode ← flow          base ← proto (proto does NOT import flow)
//! flow, proto ← story             all above ← filter, analysis          analysis ← cli, tui
//! ```
//!
//! * [`base`]: leaf vocabulary (timestamps, ids, endpoints, the field tree, anomalies,
//!   escaping of untrusted text).
//! * [`capture`]: the only module that does capture I/O: pcap/pcapng files over a memory
//!   map, `.gz`, standard input, and live capture through libpcap.
//! * [`decode`]: stateless layers 2–4 (etherparse's lax slicer) plus IP defragmentation.
//! * [`flow`]: connections, TCP reassembly and analysis, lifecycle and phases.
//! * [`proto`]: DNS, HTTP/1.x and TLS hello parsers: bytes, a direction and a time in,
//!   events out.
//! * [`story`]: joins lookups, connections and transactions into page loads.
//! * [`filter`]: the display-filter language.
//! * [`analysis`]: drives the pipeline; no clock, no terminal (threads only inside the re-filter, joined
//!   before it returns); [`analysis::records`] are the typed records
//!   of `--json` output (their JSON Schemas are `docs/schema/`).
//!
//! The faces (`crates/cli`, `crates/tui`) never import each other: the `wiretale` binary
//! hands `wiretale FILE` from the CLI's parser to the TUI.

pub mod analysis;
pub mod base;
pub mod capture;
pub mod decode;
pub mod filter;
pub mod flow;
pub mod proto;
pub mod story;

/// Fixtures shared by the engine's unit tests and the faces' (feature `testutil`).
#[cfg(any(test, feature = "testutil"))]
pub mod testutil;
