//! Small helpers for numbers in words, shared by the rules and every renderer, so that no
//! message says "1 hosts" or shows a measured 0.04 ms as "0.0 ms".

use std::fmt::Display;

/// `n` and the noun, singular for exactly one: `count(1, "host")` is "1 host", `count(3,
/// "host")` "3 hosts". For nouns whose plural is not the singular plus "s", use
/// [`count_irregular`].
pub fn count<N: Display + PartialEq + From<u8>>(n: N, noun: &str) -> String {
    if n == N::from(1) {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `count` with an explicit plural: `count_irregular(2, "entry", "entries")`.
pub fn count_irregular<N: Display + PartialEq + From<u8>>(n: N, one: &str, many: &str) -> String {
    let word = if n == N::from(1) { one } else { many };
    format!("{n} {word}")
}

/// Milliseconds with as many decimals as the value needs to stay visible: 243.4 ms, 3.25 ms,
/// 0.04 ms, 0.003 ms; exactly 0 is "0 ms" (a measured value is never shown as 0.0).
pub fn ms(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0 ms".to_string()
    } else if a >= 10.0 {
        format!("{v:.1} ms")
    } else if a >= 0.1 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.3} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_milliseconds() {
        assert_eq!(count(1u64, "host"), "1 host");
        assert_eq!(count(0u64, "host"), "0 hosts");
        assert_eq!(count(2usize, "connection"), "2 connections");
        assert_eq!(count_irregular(1u64, "entry", "entries"), "1 entry");
        assert_eq!(count_irregular(5u64, "entry", "entries"), "5 entries");
        assert_eq!(ms(243.44), "243.4 ms");
        assert_eq!(ms(3.254), "3.25 ms");
        assert_eq!(ms(0.04), "0.040 ms");
        assert_eq!(ms(0.0), "0 ms");
    }
}
