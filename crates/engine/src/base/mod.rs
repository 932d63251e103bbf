//! Leaf vocabulary shared by every layer: time, identities, endpoints, link types,
//! the dissection tree and anomalies. `base` imports nothing else from the crate.

mod anomalies;
mod anomaly;
pub mod elide;
pub mod escape;
mod field;
pub mod hexdump;
mod ids;
pub mod interned;
mod leb128;
pub mod packed;
pub mod time;
mod wire_text;

pub use anomaly::{Anomaly, AnomalyKind};
pub use field::FieldNode;
pub use ids::{ConnId, Direction, Endpoint, LinkType, PacketId};
pub use time::Timestamp;
pub use wire_text::{wire_string, wire_text};
