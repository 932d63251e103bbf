//! Records held as their postcard encoding, one after another in one buffer, and
//! decoded when read (issue 18).
//!
//! The TUI keeps every finished connection and HTTP exchange, and the per-packet table
//! every packet's application notes, for the whole session (the detail view, the filters
//! and the story read them), but reads only a few at a time once the tables are built.
//! Whole, a connection record takes ~620 bytes and an exchange ~960 with its strings;
//! encoded (varints, no padding, strings inline) they take a fraction of that, in one
//! allocation per list instead of several per record.
//!
//! The encoding is serde's derive over the records' own types, so decoding gives back a
//! record equal in every field to the one pushed, whatever it holds (TLS and QUIC
//! summaries, tunnels, anomalies): nothing is left out, and nothing a view shows can
//! change. The story's own packing (`flow::pack`, `story::pack`) is smaller still but
//! leaves such records whole.

use std::borrow::Borrow;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A list of records of type `T`, each held encoded.
pub struct Packed<T> {
    /// The encodings, back to back.
    bytes: Vec<u8>,
    /// Where each record's encoding ends in `bytes`.
    ends: Vec<u64>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Default for Packed<T> {
    fn default() -> Self {
        Packed {
            bytes: Vec::new(),
            ends: Vec::new(),
            _t: PhantomData,
        }
    }
}

impl<T> Clone for Packed<T> {
    fn clone(&self) -> Self {
        Packed {
            bytes: self.bytes.clone(),
            ends: self.ends.clone(),
            _t: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Packed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packed")
            .field("records", &self.ends.len())
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl<T: Serialize + DeserializeOwned> Packed<T> {
    /// Appends `r` (a `T`, or what a `T` borrows as, such as a slice for a `Vec`: the
    /// encoding is the same). A record that cannot be encoded (none of the engine's:
    /// every field has a derived encoding) would be a bug; it is then held empty and
    /// reads as `None`, which the tests would catch, rather than panicking in the UI.
    pub fn push<Q: Serialize + ?Sized>(&mut self, r: &Q)
    where
        T: Borrow<Q>,
    {
        let start = self.bytes.len();
        if postcard::to_io(r, &mut self.bytes).is_err() {
            self.bytes.truncate(start);
        }
        self.ends.push(self.bytes.len() as u64);
    }

    /// The record at `i`, decoded.
    pub fn get(&self, i: usize) -> Option<T> {
        let end = usize::try_from(*self.ends.get(i)?).ok()?;
        let start = match i.checked_sub(1) {
            Some(p) => usize::try_from(*self.ends.get(p)?).ok()?,
            None => 0,
        };
        postcard::from_bytes(self.bytes.get(start..end)?).ok()
    }

    /// Every record from `from` on, decoded in order (position `from + k` is the
    /// `k`-th: a record that would not decode ends the walk rather than shift them).
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = T> + '_ {
        (from..self.len()).map_while(move |i| self.get(i))
    }

    /// Every record, decoded in order.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        self.iter_from(0)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Appends every record of `more`, in order.
    pub fn append(&mut self, more: Packed<T>) {
        let base = self.bytes.len() as u64;
        self.ends.extend(more.ends.iter().map(|e| e + base));
        self.bytes.extend_from_slice(&more.bytes);
    }

    /// Gives back the room the lists grew into.
    pub fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    /// Bytes held (the encodings and their ends).
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * std::mem::size_of::<u64>()
    }
}

impl<T: Serialize + DeserializeOwned> FromIterator<T> for Packed<T> {
    fn from_iter<I: IntoIterator<Item = T>>(it: I) -> Self {
        let mut p = Packed::default();
        for r in it {
            p.push(&r);
        }
        p
    }
}

/// Saved (the persisted index) as the buffer and the record ends, so loading is two
/// copies, not a decode of every record.
impl<T> Serialize for Packed<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (Bytes(&self.bytes), &self.ends).serialize(s)
    }
}

impl<'de, T> Deserialize<'de> for Packed<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (ByteBuf(bytes), ends) = <(ByteBuf, Vec<u64>)>::deserialize(d)?;
        let fits = ends.windows(2).all(|w| w[0] <= w[1])
            && ends.last().is_none_or(|&e| e == bytes.len() as u64);
        if !fits {
            return Err(serde::de::Error::custom("record ends out of order"));
        }
        Ok(Packed {
            bytes,
            ends,
            _t: PhantomData,
        })
    }
}

/// Bytes serialized as one byte string (postcard: a length and the bytes), not as a
/// sequence of numbers.
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

struct ByteBuf(Vec<u8>);

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct R {
        n: u64,
        s: Option<String>,
        v: Vec<u32>,
    }

    fn sample() -> Vec<R> {
        vec![
            R {
                n: 1,
                s: None,
                v: vec![],
            },
            R {
                n: u64::MAX,
                s: Some("héllo".into()),
                v: vec![1, 2, 300],
            },
            R {
                n: 0,
                s: Some(String::new()),
                v: vec![7],
            },
        ]
    }

    #[test]
    fn records_come_back_equal() {
        let p: Packed<R> = sample().into_iter().collect();
        assert_eq!(p.len(), 3);
        assert_eq!(p.iter().collect::<Vec<_>>(), sample());
        assert_eq!(p.get(1), sample().get(1).cloned());
        assert_eq!(p.iter_from(2).collect::<Vec<_>>(), sample()[2..].to_vec());
        assert_eq!(p.get(3), None);
    }

    #[test]
    fn appended_lists_continue() {
        let mut p: Packed<R> = sample()[..1].iter().cloned().collect();
        p.append(sample()[1..].iter().cloned().collect());
        assert_eq!(p.iter().collect::<Vec<_>>(), sample());
    }

    #[test]
    fn saved_and_loaded_whole() {
        let p: Packed<R> = sample().into_iter().collect();
        let bytes = postcard::to_allocvec(&p).expect("encode");
        let q: Packed<R> = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(q.iter().collect::<Vec<_>>(), sample());
    }

    #[test]
    fn ends_that_do_not_fit_are_refused() {
        let bad = postcard::to_allocvec(&(Bytes(&[1, 2, 3]), vec![2u64, 1])).expect("encode");
        assert!(postcard::from_bytes::<Packed<R>>(&bad).is_err());
        let long = postcard::to_allocvec(&(Bytes(&[1, 2, 3]), vec![4u64])).expect("encode");
        assert!(postcard::from_bytes::<Packed<R>>(&long).is_err());
    }
}
