//! The retry delays after failed exchanges: exponential, capped, with jitter drawn from a
//! seeded generator (the scheduler never asks the platform for randomness).

use std::time::Duration;

/// Exponential backoff with "equal jitter".
///
/// After the `n`-th failure in a row (`n` ≥ 1) the nominal delay is
/// `d = min(max, first × 2^(n-1))`, and the delay used is drawn uniformly from **`[d/2, d]`**
/// (whole milliseconds): never longer than the unjittered backoff, never shorter than half of
/// it. Tabs that failed together (a server restart) therefore spread their retries over the
/// second half of each step instead of arriving at once. With the defaults (0.5 s doubling to
/// 30 s) the delays are in [250 ms, 500 ms], [500 ms, 1 s], [1 s, 2 s], … and from the 7th
/// failure on in [15 s, 30 s].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The nominal delay after the first failure (default 500 ms).
    pub first: Duration,
    /// The largest nominal delay (default 30 s).
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The nominal (unjittered) delay after `failures` failures in a row (`failures` ≥ 1; 0 is
    /// treated as 1).
    pub fn nominal(&self, failures: u32) -> Duration {
        let first = millis(self.first);
        let max = millis(self.max).max(1);
        let shift = failures.saturating_sub(1).min(63);
        let d = first.checked_shl(shift).filter(|d| d >> shift == first);
        Duration::from_millis(d.map_or(max, |d| d.min(max)).max(1))
    }

    /// The delay to wait after `failures` failures in a row: uniform in
    /// `[nominal/2, nominal]` (see the type's docs), drawn from `jitter`.
    pub fn delay(&self, failures: u32, jitter: &mut Jitter) -> Duration {
        let d = millis(self.nominal(failures));
        let low = d / 2;
        Duration::from_millis(low + jitter.up_to(d - low))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A small seeded generator (SplitMix64) for backoff jitter: the driver seeds it once (from
/// `Math.random()` in the browser; a fixed seed in tests), so the scheduler itself stays a
/// pure function of its inputs. Not for anything that needs unpredictability.
#[derive(Clone, Debug)]
pub struct Jitter(u64);

impl Jitter {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Jitter(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..=n`, close to uniform (the modulo bias is below 2^-40 for the
    /// millisecond ranges backoff asks for).
    pub fn up_to(&mut self, n: u64) -> u64 {
        match n.checked_add(1) {
            Some(m) => self.next_u64() % m,
            None => self.next_u64(),
        }
    }
}
