//! Text for one datagram's QUIC packets: a tshark-like Info column ([`info`]) and the
//! detail-pane field tree ([`tree`]), both made from the [`PacketSeen`]s that
//! [`QuicConnState::datagram`](super::QuicConnState::datagram) returned (so they show
//! the decrypted frames when the key log opened the packets).

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write;

use super::conn::{FrameSeen, PacketSeen, Space};
use crate::base::hexdump::hex_string as hex;
use crate::base::FieldNode;

/// One frame as tshark's Info names it: `STREAM(4)`, `ACK`, `CRYPTO`, …
fn frame_info(f: &FrameSeen, out: &mut String) {
    match f.stream_id {
        Some(id) if f.ty & !7 == 0x08 => {
            let _ = write!(out, "STREAM({id})");
        }
        _ => out.push_str(f.name),
    }
}

/// The Info column of a datagram's QUIC packets, like tshark's: `Initial, DCID=…,
/// SCID=…, PKN: 0, CRYPTO, PADDING`; `Protected Payload (KP0), DCID=…, PKN: 5,
/// STREAM(0), ACK` for an opened short header, `Protected Payload, DCID=…` when it
/// could not be opened (without keys the Key Phase bit is still protected);
/// coalesced packets follow one another.
pub fn info(packets: &[PacketSeen]) -> String {
    let mut out = String::new();
    for p in packets {
        if !out.is_empty() {
            out.push_str(", ");
        }
        match p.kind {
            "1-RTT" => {
                out.push_str("Protected Payload");
                if let Some(kp) = p.key_phase {
                    let _ = write!(out, " (KP{})", u8::from(kp));
                }
            }
            "VersionNegotiation" => out.push_str("Version Negotiation"),
            k => out.push_str(k),
        }
        if !p.dcid.is_empty() {
            let _ = write!(out, ", DCID={}", hex(&p.dcid));
        }
        if let Some(scid) = p.scid.as_deref().filter(|s| !s.is_empty()) {
            let _ = write!(out, ", SCID={}", hex(scid));
        }
        if let Some(pn) = p.pn {
            let _ = write!(out, ", PKN: {pn}");
        }
        for f in &p.frames {
            out.push_str(", ");
            frame_info(f, &mut out);
        }
    }
    out
}

fn frame_label(f: &FrameSeen) -> String {
    let mut s = format!("{} (0x{:02x})", f.name, f.ty);
    let mut parts: Vec<String> = Vec::new();
    if let Some(id) = f.stream_id {
        parts.push(format!("stream {id}"));
    }
    if let Some(o) = f.offset {
        parts.push(format!("offset {o}"));
    }
    if let Some(l) = f.len {
        parts.push(format!("length {l}"));
    }
    if f.fin {
        parts.push("FIN".into());
    }
    if let Some(v) = f.value {
        let what = match f.name {
            "ACK" => "largest acknowledged",
            "RESET_STREAM" | "STOP_SENDING" | "CONNECTION_CLOSE" => "error code",
            "NEW_CONNECTION_ID" | "RETIRE_CONNECTION_ID" => "sequence",
            _ => "maximum",
        };
        parts.push(format!("{what} {v}"));
    }
    if !parts.is_empty() {
        s.push_str(": ");
        s.push_str(&parts.join(", "));
    }
    s
}

/// The field tree of a datagram's QUIC packets, one node per packet. `base` is the
/// offset of the UDP payload in the frame: ranges are frame offsets. Header fields of
/// long headers get their own bytes (RFC 9000 §17.2); frames, which are read from the
/// decrypted payload, point at the packet's payload bytes.
pub fn tree(packets: &[PacketSeen], base: usize) -> Vec<FieldNode> {
    packets
        .iter()
        .map(|p| {
            let start = base + p.offset;
            let all = start..start + p.length;
            let mut n = FieldNode::new(
                format!("QUIC IETF, {}", info(std::slice::from_ref(p))),
                all.clone(),
            );
            let long = p.scid.is_some();
            n.push(
                if long {
                    "Header Form: Long Header (1)"
                } else {
                    "Header Form: Short Header (0)"
                },
                start..start + 1,
            );
            if let Some(v) = p.version {
                n.push(format!("Version: 0x{v:08x}"), start + 1..start + 5);
            }
            if long {
                n.push(format!("Packet Type: {}", p.kind), start..start + 1);
                let d0 = start + 6;
                let d1 = d0 + p.dcid.len();
                n.push(
                    format!("Destination Connection ID Length: {}", p.dcid.len()),
                    start + 5..start + 6,
                );
                n.push(
                    format!("Destination Connection ID: {}", hex(&p.dcid)),
                    d0..d1,
                );
                let scid = p.scid.as_deref().unwrap_or(&[]);
                n.push(
                    format!("Source Connection ID Length: {}", scid.len()),
                    d1..d1 + 1,
                );
                n.push(
                    format!("Source Connection ID: {}", hex(scid)),
                    d1 + 1..d1 + 1 + scid.len(),
                );
            } else {
                n.push(
                    format!("Destination Connection ID: {}", hex(&p.dcid)),
                    start + 1..start + 1 + p.dcid.len(),
                );
            }
            if let Some(t) = p.token_len {
                n.push(format!("Token Length: {t}"), all.clone());
            }
            if p.space != Space::None {
                n.push(format!("Packet Length: {}", p.length), all.clone());
                n.push(format!("Packet Number Space: {}", p.space.name()), 0..0);
            }
            if let Some(kp) = p.key_phase {
                n.push(format!("Key Phase Bit: {}", u8::from(kp)), start..start + 1);
            }
            if let Some(pn) = p.pn {
                n.push(format!("Packet Number: {pn}"), all.clone());
            }
            if p.decrypted {
                let mut frames = FieldNode::new(format!("Frames: {}", p.frames.len()), all.clone());
                for f in &p.frames {
                    frames.push(frame_label(f), all.clone());
                }
                n.children.push(frames);
            } else if p.space != Space::None {
                n.push("Protected Payload (not decrypted)", all.clone());
            }
            n
        })
        .collect()
}
