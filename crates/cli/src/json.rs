//! Writing the typed records of [`wiretale_engine::analysis::records`] as JSON Lines.

use serde::Serialize;

pub use wiretale_engine::analysis::records::guard;

/// One record as one JSON line. The records declare their fields in alphabetical
/// order, the order the output has always had (tests/schema.rs checks every line).
pub fn line<T: Serialize>(record: &T) -> String {
    // Serializing these records cannot fail: no maps with non-string keys, no
    // fallible Serialize impls.
    serde_json::to_string(record).unwrap_or_default()
}

/// One record whose keys are not all declared in order (the story event, whose facts
/// are flattened in) as one JSON line with its keys sorted.
pub fn sorted_line<T: Serialize>(record: &T) -> String {
    serde_json::to_value(record)
        .map(|v| v.to_string())
        .unwrap_or_default()
}
