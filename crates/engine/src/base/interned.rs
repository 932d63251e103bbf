//! Deserialising `&'static str` fields (protocol names, connection states): the values
//! are literals of this program, so a read value is looked up among the strings
//! already interned and leaked once when new. What reads them is the TUI's index cache
//! (`wiretale-tui`'s `cache` module), whose files this program wrote and checksummed:
//! the set of distinct values stays the handful of literals the code uses.

use std::collections::HashSet;
use std::sync::Mutex;

use serde::{Deserialize, Deserializer};

static INTERNED: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);

/// The `&'static str` equal to `s` (the same one every time).
pub fn intern(s: &str) -> &'static str {
    let Ok(mut g) = INTERNED.lock() else {
        return Box::leak(s.to_owned().into_boxed_str());
    };
    let set = g.get_or_insert_with(HashSet::new);
    if let Some(&v) = set.get(s) {
        return v;
    }
    let v: &'static str = Box::leak(s.to_owned().into_boxed_str());
    set.insert(v);
    v
}

/// `#[serde(deserialize_with = "crate::base::interned::deserialize")]`
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let s = String::deserialize(d)?;
    Ok(intern(&s))
}

/// The same for `Option<&'static str>`.
pub fn deserialize_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'static str>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    Ok(s.map(|s| intern(&s)))
}

/// `&'static str` under another name for fields read with [`deserialize`]: serde's
/// derive treats a field spelled `&str` as borrowed from the input (`'de: 'static`),
/// which no owned buffer satisfies; the alias keeps it from looking.
pub type StaticStr = &'static str;

#[cfg(test)]
mod tests {
    #[test]
    fn interning_gives_one_pointer_per_value() {
        let a = super::intern("tcp-cache-test");
        let b = super::intern(&String::from("tcp-cache-test"));
        assert_eq!(a, "tcp-cache-test");
        assert!(std::ptr::eq(a, b));
    }
}
