//! The slab slots of the connections that share one key.
//!
//! Almost every key has exactly one connection; several only on VLAN collisions
//! (one 4-tuple on several VLANs) and for the moment between a port reuse and the old
//! connection's finish. A `Vec<u32>` per key cost one heap allocation and one free per
//! connection (with 267 k short connections, malloc and free were a sixth of the
//! profile), so one slot is kept inline and a list is allocated only for the rare
//! second one.

/// Slots in insertion order (the newest last); never empty while in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Slots {
    One(u32),
    Many(Vec<u32>),
}

impl Slots {
    pub(super) fn new(slot: u32) -> Self {
        Slots::One(slot)
    }

    /// The slots, oldest first.
    pub(super) fn as_slice(&self) -> &[u32] {
        match self {
            Slots::One(s) => std::slice::from_ref(s),
            Slots::Many(v) => v,
        }
    }

    pub(super) fn push(&mut self, slot: u32) {
        match self {
            Slots::One(s) => *self = Slots::Many(vec![*s, slot]),
            Slots::Many(v) => v.push(slot),
        }
    }

    /// Removes `slot`; true when no slot is left (the key leaves the map).
    pub(super) fn remove(&mut self, slot: u32) -> bool {
        match self {
            Slots::One(s) => *s == slot,
            Slots::Many(v) => {
                v.retain(|&s| s != slot);
                match v.as_slice() {
                    [] => true,
                    [one] => {
                        *self = Slots::One(*one);
                        false
                    }
                    _ => false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Slots;

    #[test]
    fn one_slot_stays_inline_and_order_is_kept() {
        let mut s = Slots::new(7);
        assert_eq!(s, Slots::One(7));
        assert_eq!(s.as_slice(), &[7]);
        s.push(9);
        s.push(3);
        assert_eq!(s.as_slice(), &[7, 9, 3]);
        // Removing down to one goes back inline; the newest stays last.
        assert!(!s.remove(9));
        assert!(!s.remove(7));
        assert_eq!(s, Slots::One(3));
        // A slot that is not there leaves the list as it was.
        assert!(!s.remove(5));
        assert!(s.remove(3));
    }

    #[test]
    fn removing_from_a_list_of_two_that_does_not_hold_it_keeps_both() {
        let mut s = Slots::new(1);
        s.push(2);
        assert!(!s.remove(4));
        assert_eq!(s.as_slice(), &[1, 2]);
        assert!(!s.remove(1));
        assert!(s.remove(2));
    }
}
