//! QUIC transport parameters (RFC 9000 §18; the TLS extension quic_transport_parameters,
//! 0x39, RFC 9001 §8.2): a sequence of (id varint, length varint, value). The client's
//! travel in its ClientHello (readable without keys), the server's in its
//! EncryptedExtensions (Handshake packets: with keys only).

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::Cur;

/// Unknown parameters kept (their ids and lengths); more are counted, not kept.
pub const MAX_UNKNOWN: usize = 32;

/// The named parameters (RFC 9000 §18.2, RFC 9221 §3, RFC 9287 §3, RFC 9368 §3);
/// integers in the units of the RFC (milliseconds for timeouts, bytes, counts).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransportParams {
    pub original_destination_connection_id: Option<Vec<u8>>,
    pub max_idle_timeout: Option<u64>,
    pub stateless_reset_token: Option<[u8; 16]>,
    pub max_udp_payload_size: Option<u64>,
    pub initial_max_data: Option<u64>,
    pub initial_max_stream_data_bidi_local: Option<u64>,
    pub initial_max_stream_data_bidi_remote: Option<u64>,
    pub initial_max_stream_data_uni: Option<u64>,
    pub initial_max_streams_bidi: Option<u64>,
    pub initial_max_streams_uni: Option<u64>,
    pub ack_delay_exponent: Option<u64>,
    pub max_ack_delay: Option<u64>,
    pub disable_active_migration: bool,
    /// preferred_address (§18.2): present, raw value.
    pub preferred_address: Option<Vec<u8>>,
    pub active_connection_id_limit: Option<u64>,
    pub initial_source_connection_id: Option<Vec<u8>>,
    pub retry_source_connection_id: Option<Vec<u8>>,
    /// version_information (RFC 9368 §3): the chosen version, then the available ones.
    pub version_information: Option<(u32, Vec<u32>)>,
    /// max_datagram_frame_size (RFC 9221 §3).
    pub max_datagram_frame_size: Option<u64>,
    /// grease_quic_bit (RFC 9287 §3).
    pub grease_quic_bit: bool,
    /// Other parameters: (id, value length), in wire order, GREASE ids (31 × N + 27,
    /// §18.1) included; at most [`MAX_UNKNOWN`].
    pub unknown: Vec<(u64, usize)>,
    /// Why decoding stopped early, if it did.
    pub error: Option<&'static str>,
}

fn int(v: &[u8]) -> Result<u64, &'static str> {
    let mut c = Cur::new(v);
    let n = c.varint().ok_or("integer parameter truncated")?;
    if !c.is_empty() {
        return Err("integer parameter longer than its varint");
    }
    Ok(n)
}

/// Decodes the extension body; parameters before a malformed one are kept and the
/// error is recorded.
pub fn parse(body: &[u8]) -> TransportParams {
    let mut t = TransportParams::default();
    let mut c = Cur::new(body);
    while !c.is_empty() {
        let Some(id) = c.varint() else {
            t.error = Some("parameter id truncated");
            break;
        };
        let Some(len) = c.varint() else {
            t.error = Some("parameter length truncated");
            break;
        };
        let Some(v) = c.take_u64(len) else {
            t.error = Some("parameter value truncated");
            break;
        };
        if let Err(e) = one(&mut t, id, v) {
            t.error = Some(e);
            break;
        }
    }
    t
}

fn one(t: &mut TransportParams, id: u64, v: &[u8]) -> Result<(), &'static str> {
    match id {
        0x00 => t.original_destination_connection_id = Some(v.to_vec()),
        0x01 => t.max_idle_timeout = Some(int(v)?),
        0x02 => {
            t.stateless_reset_token = Some(
                v.try_into()
                    .map_err(|_| "stateless_reset_token not 16 bytes")?,
            )
        }
        0x03 => t.max_udp_payload_size = Some(int(v)?),
        0x04 => t.initial_max_data = Some(int(v)?),
        0x05 => t.initial_max_stream_data_bidi_local = Some(int(v)?),
        0x06 => t.initial_max_stream_data_bidi_remote = Some(int(v)?),
        0x07 => t.initial_max_stream_data_uni = Some(int(v)?),
        0x08 => t.initial_max_streams_bidi = Some(int(v)?),
        0x09 => t.initial_max_streams_uni = Some(int(v)?),
        0x0a => t.ack_delay_exponent = Some(int(v)?),
        0x0b => t.max_ack_delay = Some(int(v)?),
        0x0c => t.disable_active_migration = true,
        0x0d => t.preferred_address = Some(v.to_vec()),
        0x0e => t.active_connection_id_limit = Some(int(v)?),
        0x0f => t.initial_source_connection_id = Some(v.to_vec()),
        0x10 => t.retry_source_connection_id = Some(v.to_vec()),
        0x11 => {
            if v.len() < 4 || !v.len().is_multiple_of(4) {
                return Err("version_information not a list of versions");
            }
            let mut vs = v
                .chunks_exact(4)
                .filter_map(|b| b.try_into().ok().map(u32::from_be_bytes));
            let chosen = vs.next().ok_or("version_information empty")?;
            t.version_information = Some((chosen, vs.collect()));
        }
        0x20 => t.max_datagram_frame_size = Some(int(v)?),
        0x2ab2 => t.grease_quic_bit = true,
        _ => {
            if t.unknown.len() < MAX_UNKNOWN {
                t.unknown.push((id, v.len()));
            }
        }
    }
    Ok(())
}

/// The name of a parameter id, for trees and listings.
pub fn name(id: u64) -> Option<&'static str> {
    Some(match id {
        0x00 => "original_destination_connection_id",
        0x01 => "max_idle_timeout",
        0x02 => "stateless_reset_token",
        0x03 => "max_udp_payload_size",
        0x04 => "initial_max_data",
        0x05 => "initial_max_stream_data_bidi_local",
        0x06 => "initial_max_stream_data_bidi_remote",
        0x07 => "initial_max_stream_data_uni",
        0x08 => "initial_max_streams_bidi",
        0x09 => "initial_max_streams_uni",
        0x0a => "ack_delay_exponent",
        0x0b => "max_ack_delay",
        0x0c => "disable_active_migration",
        0x0d => "preferred_address",
        0x0e => "active_connection_id_limit",
        0x0f => "initial_source_connection_id",
        0x10 => "retry_source_connection_id",
        0x11 => "version_information",
        0x20 => "max_datagram_frame_size",
        0x2ab2 => "grease_quic_bit",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::quic::unhex;

    #[test]
    fn the_rfc9001_a2_client_parameters() {
        // The quic_transport_parameters of RFC 9001 Appendix A.2's ClientHello.
        let t = parse(&unhex(
            "0408ffffffffffffffff05048000ffff07048000ffff08011001048000\
             75300901100f088394c8f03e51570806048000ffff",
        ));
        assert_eq!(t.error, None);
        assert_eq!(t.initial_max_data, Some((1 << 62) - 1));
        assert_eq!(t.initial_max_stream_data_bidi_local, Some(0xffff));
        assert_eq!(t.initial_max_stream_data_bidi_remote, Some(0xffff));
        assert_eq!(t.initial_max_stream_data_uni, Some(0xffff));
        assert_eq!(t.initial_max_streams_bidi, Some(16));
        assert_eq!(t.initial_max_streams_uni, Some(16));
        assert_eq!(t.max_idle_timeout, Some(30_000));
        assert_eq!(
            t.initial_source_connection_id,
            Some(unhex("8394c8f03e515708"))
        );
        assert!(t.unknown.is_empty() && !t.disable_active_migration);
    }

    #[test]
    fn every_named_parameter_and_unknown_ones() {
        let mut b = Vec::new();
        b.extend(unhex("0004 01020304")); // odcid
        b.extend(unhex("0210 000102030405060708090a0b0c0d0e0f"));
        b.extend(unhex("0302 44b0")); // 1200
        b.extend(unhex("0c00 0e01 08 0f00 1004 0a0b0c0d"));
        b.extend(unhex("1108 00000001 6b3343cf"));
        b.extend(unhex("2002 4400"));
        b.extend(unhex("0105 01")); // a value cut short
        let t = parse(&b);
        assert_eq!(t.original_destination_connection_id, Some(vec![1, 2, 3, 4]));
        assert_eq!(t.stateless_reset_token.unwrap()[15], 15);
        assert_eq!(t.max_udp_payload_size, Some(1200));
        assert!(t.disable_active_migration);
        assert_eq!(t.active_connection_id_limit, Some(8));
        assert_eq!(t.initial_source_connection_id, Some(vec![]));
        assert_eq!(t.retry_source_connection_id, Some(vec![10, 11, 12, 13]));
        assert_eq!(t.version_information, Some((1, vec![0x6b33_43cf])));
        assert_eq!(t.max_datagram_frame_size, Some(0x400));
        assert_eq!(t.unknown, []);
        assert_eq!(t.error, Some("parameter value truncated"));
        let t = parse(&unhex("0f00 6ab2 00 0201 00"));
        assert_eq!(t.unknown, []);
        assert_eq!(t.error, Some("stateless_reset_token not 16 bytes"));
        assert_eq!(
            parse(&unhex("0102 05")).error,
            Some("parameter value truncated")
        );
        assert_eq!(
            parse(&unhex("0102 0505")).error,
            Some("integer parameter longer than its varint")
        );
        assert_eq!(parse(&unhex("4a")).error, Some("parameter id truncated"));
        // GREASE (31 * 2 + 27 = 89 = 0x59) and grease_quic_bit.
        let t = parse(&unhex("4059 03 616263 6ab2 00"));
        assert_eq!(
            (t.unknown.clone(), t.grease_quic_bit),
            (vec![(0x59, 3)], true)
        );
        assert_eq!(name(0x59), None);
        assert_eq!(name(0x0e), Some("active_connection_id_limit"));
    }
}
