//! Anomalies: malformed or surprising input recorded as data, never a stop.

use std::borrow::Cow;
use std::fmt;

/// Something odd about a packet or a connection: a truncated header, a TCP
/// retransmission, a reassembly limit hit. `name` is a short stable identifier (printed in
/// `--json` `anomalies` lists and matched by filters); `detail` says what exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    pub name: &'static str,
    pub detail: Cow<'static, str>,
}

impl Anomaly {
    pub fn new(name: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        Anomaly {
            name,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detail.is_empty() {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{}: {}", self.name, self.detail)
        }
    }
}
