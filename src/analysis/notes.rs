//! Per-packet application notes.

/// An application-level label for one packet: the protocol it shows as and its Info.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppNote {
    /// "dns", "http" or "tls".
    pub proto: &'static str,
    /// Info text, already escaped for display.
    pub info: String,
}
