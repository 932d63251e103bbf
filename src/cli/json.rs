//! Small helpers shared by the JSON Lines printers.

use serde_json::{json, Value};

use crate::base::{escape, Endpoint, Timestamp};

/// `{"ip": "198.18.0.10", "port": 41234}`
pub fn endpoint(e: &Endpoint) -> Value {
    json!({"ip": e.ip.to_string(), "port": e.port})
}

/// Seconds since the epoch as a float with microsecond-or-better precision.
pub fn ts(t: Timestamp) -> Value {
    json!(t.as_secs_f64())
}

pub fn opt_ts(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, ts)
}

/// Nanoseconds as seconds.
pub fn secs(ns: Option<i64>) -> Value {
    ns.map_or(Value::Null, |n| json!(n as f64 / 1e9))
}

/// A string from the wire as JSON. serde_json escapes control characters; we also
/// escape bidirectional overrides and other format characters so a JSON consumer that
/// prints the value cannot be tricked either (the escape is reversible: `\u{202e}`).
pub fn wire(s: Option<&str>) -> Value {
    match s {
        None => Value::Null,
        Some(s) if escape::is_safe(s) => Value::String(s.to_string()),
        Some(s) => Value::String(guard(s).into_owned()),
    }
}

/// Replaces characters that must never reach a terminal raw (controls, bidi overrides),
/// leaving everything else (including backslashes already used by escapes) as it is.
pub fn guard(s: &str) -> std::borrow::Cow<'_, str> {
    if !s
        .chars()
        .any(|c| c.is_control() || escape::is_unsafe_char(c))
    {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() || escape::is_unsafe_char(c) {
            out.push_str(&escape::escape_str(c.encode_utf8(&mut [0; 4])));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}
