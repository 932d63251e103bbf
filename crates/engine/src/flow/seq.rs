//! TCP sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4: comparisons are done
//! with wraparound, a difference below 2^31 counts as "after").

/// Signed distance from `b` to `a` (positive when `a` is after `b`).
#[inline]
pub fn diff(a: u32, b: u32) -> i64 {
    a.wrapping_sub(b) as i32 as i64
}

/// `a` is strictly after `b`.
#[inline]
pub fn gt(a: u32, b: u32) -> bool {
    diff(a, b) > 0
}

/// `a` is strictly before `b`.
#[inline]
pub fn lt(a: u32, b: u32) -> bool {
    diff(a, b) < 0
}

/// `a` is at or after `b`.
#[inline]
pub fn ge(a: u32, b: u32) -> bool {
    diff(a, b) >= 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_around() {
        assert!(gt(5, u32::MAX - 5));
        assert!(lt(u32::MAX - 5, 5));
        assert_eq!(diff(5, u32::MAX), 6);
        assert!(ge(7, 7));
        assert!(!gt(7, 7));
    }
}
