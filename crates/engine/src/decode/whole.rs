//! One frame in, the packet to analyse out: decode, IP defragmentation, and the decode of
//! a datagram that a fragment completed (RFC 791 §3.2 / RFC 8200 §4.5 reassembly is
//! [`Defragmenter`]'s). The engine, the follow reader and the filter's re-decoder all
//! take this one path, so they cannot disagree on which packet a fragment yields.

use super::{decode, DefragResult, Defragmenter, Packet};
use crate::base::{Anomaly, LinkType, Timestamp};

/// What IP defragmentation made of one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fragmentation {
    /// Not a fragment: the frame is the packet.
    None,
    /// A fragment stored until its datagram is complete; only its own layers exist.
    Held(Option<Anomaly>),
    /// A fragment dropped (a bound, an overlap): only its own layers exist.
    Dropped(Anomaly),
    /// The last missing fragment: the datagram is the packet to analyse.
    Completed(Option<Anomaly>),
}

impl Fragmentation {
    /// The defragmenter's anomaly about this frame, if any.
    pub fn anomaly(&self) -> Option<&Anomaly> {
        match self {
            Fragmentation::None => None,
            Fragmentation::Held(a) | Fragmentation::Completed(a) => a.as_ref(),
            Fragmentation::Dropped(a) => Some(a),
        }
    }

    /// A fragment whose datagram is not (or never) available at this frame.
    pub fn is_waiting(&self) -> bool {
        matches!(self, Fragmentation::Held(_) | Fragmentation::Dropped(_))
    }

    /// The packet that goes on to the connection table: the datagram this frame
    /// completed, else the frame itself, or nothing while it is a fragment that waits.
    pub fn analysable<'p, 'a>(
        &self,
        pkt: &'p Packet<'a>,
        whole: Option<&'p Packet<'a>>,
    ) -> Option<&'p Packet<'a>> {
        match whole {
            Some(w) => Some(w),
            None if self.is_waiting() => None,
            None => Some(pkt),
        }
    }
}

/// Decodes `data` and passes it through `defrag`, then calls `f` with the frame decoded
/// on its own, the datagram it completed (decoded as raw IP, with the frame's Ethernet
/// and VLAN layers copied so keys and display match the frame, as tshark shows the
/// datagram on its last fragment) and what defragmentation did.
///
/// Frames must come in capture order. A non-fragment costs one check.
pub fn decode_defragmented<R>(
    defrag: &mut Defragmenter,
    ts: Timestamp,
    link: LinkType,
    data: &[u8],
    f: impl FnOnce(&Packet<'_>, Option<&Packet<'_>>, Fragmentation) -> R,
) -> R {
    let pkt = decode(link, data);
    if !pkt.ip.as_ref().is_some_and(|i| i.is_fragment()) {
        return f(&pkt, None, Fragmentation::None);
    }
    match defrag.push(ts, link, data, &pkt) {
        DefragResult::NotFragment => f(&pkt, None, Fragmentation::None),
        DefragResult::Held { anomaly } => f(&pkt, None, Fragmentation::Held(anomaly)),
        DefragResult::Dropped(a) => f(&pkt, None, Fragmentation::Dropped(a)),
        DefragResult::Complete { datagram, anomaly } => {
            let mut whole = decode(LinkType::RAW, &datagram);
            whole.eth = pkt.eth;
            whole.vlans = pkt.vlans;
            if !pkt.tunnels.is_empty() {
                let own = std::mem::take(&mut whole.tunnels);
                whole.tunnels = pkt.tunnels.iter().cloned().chain(own).collect();
            }
            f(&pkt, Some(&whole), Fragmentation::Completed(anomaly))
        }
    }
}
