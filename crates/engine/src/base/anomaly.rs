//! Anomalies: malformed or surprising input recorded as data, never a stop.

use std::borrow::Cow;
use std::fmt;

pub use super::anomalies::AnomalyKind;

/// Something odd about a packet or a connection: a truncated header, a TCP
/// retransmission, a reassembly limit hit. `kind` says which (the vocabulary is
/// [`AnomalyKind`], listed in `docs/anomalies.md`; [`Anomaly::name`] is its short stable
/// identifier, printed in `--json` `anomalies` lists); `detail` says what exactly.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub detail: Cow<'static, str>,
}

impl Anomaly {
    pub fn new(kind: AnomalyKind, detail: impl Into<Cow<'static, str>>) -> Self {
        Anomaly {
            kind,
            detail: detail.into(),
        }
    }

    /// The short stable identifier (`retransmission`, `dns_truncated`, …).
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detail.is_empty() {
            write!(f, "{}", self.name())
        } else {
            write!(f, "{}: {}", self.name(), self.detail)
        }
    }
}
