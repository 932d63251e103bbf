//! The QPACK decoding of the field sections one side sends (RFC 9204 §2.2): its
//! decoder, configured by the *other* side's SETTINGS, and what waits for them.

use std::collections::VecDeque;

use crate::proto::http2::Header;
use crate::proto::qpack::{Decoded, FieldSection, QpackDecoder, QpackError};

/// Something that arrived before the decoder could be configured, kept in arrival
/// order (a section decoded after later insertions could find its entries evicted).
#[derive(Debug)]
pub(super) enum Early {
    Encoder(Vec<u8>),
    Section { stream: u64, bytes: Vec<u8> },
}

/// What became of a field section.
#[derive(Debug)]
pub(super) enum SecResult {
    Ready(Vec<Header>),
    /// Waiting for encoder instructions (or for the SETTINGS that configure the table).
    Blocked,
    Lost(String),
}

#[derive(Debug, Default)]
pub(super) struct QpackSide {
    dec: Option<QpackDecoder>,
    pub early: VecDeque<Early>,
    early_bytes: usize,
    /// The encoder stream lost bytes or failed: no later insertion is known.
    pub enc_dead: bool,
    /// Configured with a guessed capacity (SETTINGS never seen).
    pub guessed: bool,
}

pub(super) fn headers_of(fs: FieldSection) -> Vec<Header> {
    fs.fields
        .into_iter()
        .map(|f| Header::new(f.name, f.value))
        .collect()
}

/// What a batch of encoder-stream bytes did.
#[derive(Debug, Default)]
pub(super) struct EncOutcome {
    pub unblocked: Vec<(u64, Result<FieldSection, QpackError>)>,
    pub inserts: u64,
    pub capacity: Option<u64>,
    pub error: Option<QpackError>,
}

impl QpackSide {
    pub fn configured(&self) -> bool {
        self.dec.is_some()
    }

    pub fn has_early(&self) -> bool {
        !self.early.is_empty()
    }

    pub fn decoder(&self) -> Option<&QpackDecoder> {
        self.dec.as_ref()
    }

    /// Holds early input; false when the bound is reached (the input is dropped).
    pub fn hold(&mut self, e: Early, max: usize) -> bool {
        let n = match &e {
            Early::Encoder(b) => b.len(),
            Early::Section { bytes, .. } => bytes.len(),
        };
        if self.early_bytes + n > max {
            return false;
        }
        self.early_bytes += n;
        self.early.push_back(e);
        true
    }

    pub fn configure(&mut self, dec: QpackDecoder) {
        self.early_bytes = 0;
        self.dec = Some(dec);
    }

    /// Decodes one section now, or says why not.
    pub fn decode(&mut self, stream: u64, bytes: &[u8]) -> SecResult {
        let Some(dec) = self.dec.as_mut() else {
            // Without the receiver's SETTINGS only a section that uses no dynamic entry
            // (encoded Required Insert Count 0, §4.5.1.1) can be decoded.
            if bytes.first() == Some(&0) {
                return match QpackDecoder::new(0, 0).decode(stream, bytes) {
                    Ok(Decoded::Done(fs)) => SecResult::Ready(headers_of(fs)),
                    Ok(Decoded::Blocked { .. }) => SecResult::Blocked,
                    Err(e) => SecResult::Lost(e.to_string()),
                };
            }
            return SecResult::Blocked;
        };
        match dec.decode(stream, bytes) {
            Ok(Decoded::Done(fs)) => SecResult::Ready(headers_of(fs)),
            Ok(Decoded::Blocked {
                required_insert_count,
            }) => {
                if self.enc_dead {
                    dec.cancel_stream(stream);
                    SecResult::Lost(format!(
                        "it needs {required_insert_count} QPACK insertions, and the encoder \
                         stream stopped at {}",
                        dec.insert_count()
                    ))
                } else {
                    SecResult::Blocked
                }
            }
            Err(e) => SecResult::Lost(e.to_string()),
        }
    }

    /// Feeds encoder-stream bytes to a configured decoder.
    pub fn encoder(&mut self, bytes: &[u8]) -> EncOutcome {
        let mut out = EncOutcome::default();
        let Some(dec) = self.dec.as_mut() else {
            return out;
        };
        if self.enc_dead {
            return out;
        }
        let before = dec.insert_count();
        let cap = dec.table_capacity();
        match dec.on_encoder_bytes(bytes) {
            Ok(list) => out.unblocked = list,
            Err(e) => {
                self.enc_dead = true;
                out.error = Some(e);
            }
        }
        out.inserts = dec.insert_count() - before;
        if dec.table_capacity() != cap {
            out.capacity = Some(dec.table_capacity());
        }
        out
    }

    /// The encoder stream lost bytes: sections still waiting can never be decoded.
    /// Returns the streams whose sections are abandoned.
    pub fn encoder_lost(&mut self) -> Vec<u64> {
        self.enc_dead = true;
        let Some(dec) = self.dec.as_mut() else {
            return Vec::new();
        };
        let streams = dec.blocked_streams();
        for s in &streams {
            dec.cancel_stream(*s);
        }
        streams
    }

    pub fn cancel(&mut self, stream: u64) {
        if let Some(d) = self.dec.as_mut() {
            d.cancel_stream(stream);
        }
        self.early.retain(|e| match e {
            Early::Section { stream: s, .. } => *s != stream,
            Early::Encoder(_) => true,
        });
    }
}
