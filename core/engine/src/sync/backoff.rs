//! Retry delays for the offline queue: exponential backoff with full jitter, so thousands of
//! phones that lost the network together do not all come back in the same second.

/// The first retry waits up to this long.
pub const BASE_MS: u64 = 2_000;
/// No retry waits longer than this.
pub const CAP_MS: u64 = 5 * 60 * 1000;

/// The delay before retry number `attempts` (1 for the first failure): a uniformly random
/// value in `[0, min(CAP, BASE × 2^(attempts−1))]`, drawn by `random_below(n)` (`0..=n`).
pub fn delay_ms(attempts: u32, random_below: impl FnOnce(u64) -> u64) -> u64 {
    let exp = attempts.saturating_sub(1).min(20);
    let ceiling = BASE_MS.saturating_mul(1 << exp).min(CAP_MS);
    random_below(ceiling).min(ceiling)
}

/// [`delay_ms`] with the process's random source.
pub fn jittered_delay_ms(attempts: u32) -> u64 {
    delay_ms(attempts, |n| fastrand::u64(0..=n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_per_attempt_and_stops_at_the_cap() {
        let ceiling = |attempts| delay_ms(attempts, |n| n);
        assert_eq!(ceiling(1), 2_000);
        assert_eq!(ceiling(2), 4_000);
        assert_eq!(ceiling(5), 32_000);
        assert_eq!(ceiling(9), CAP_MS);
        assert_eq!(ceiling(u32::MAX), CAP_MS);
    }

    #[test]
    fn delays_are_spread_between_zero_and_the_ceiling() {
        let delays: Vec<u64> = (0..1_000).map(|_| jittered_delay_ms(3)).collect();
        assert!(delays.iter().all(|d| *d <= 8_000));
        let low = delays.iter().filter(|d| **d < 4_000).count();
        assert!((300..700).contains(&low), "about half below the middle, got {low}");
    }
}
