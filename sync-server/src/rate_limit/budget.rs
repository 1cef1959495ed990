//! A rate-limit budget: how many requests a key may make per unit of time, and how many it
//! may make at once (the burst) before the rate applies. Written `RATE/UNIT[,BURST]` on the
//! command line: `50/s,200` (fifty a second, two hundred at once), `10/min` (ten a minute,
//! ten at once), `100/h,20`.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use governor::Quota;

/// A unit of time a rate is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Per {
    /// Per second (`/s`).
    Second,
    /// Per minute (`/min`).
    Minute,
    /// Per hour (`/h`).
    Hour,
}

impl Per {
    /// The unit's length.
    #[must_use]
    pub fn duration(self) -> Duration {
        Duration::from_secs(match self {
            Self::Second => 1,
            Self::Minute => 60,
            Self::Hour => 3600,
        })
    }

    fn suffix(self) -> &'static str {
        match self {
            Self::Second => "s",
            Self::Minute => "min",
            Self::Hour => "h",
        }
    }
}

/// `rate` requests per `per`, `burst` of them at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Requests per unit of time, sustained.
    pub rate: NonZeroU32,
    /// The unit of time.
    pub per: Per,
    /// Requests allowed at once, after a quiet spell.
    pub burst: NonZeroU32,
}

/// Why a budget does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    /// Not `RATE/UNIT[,BURST]`.
    #[error("rate limit {0:?} is not RATE/UNIT[,BURST] (e.g. 50/s,200 or 10/min)")]
    Shape(String),
    /// The unit is not `s`, `min` or `h`.
    #[error("rate limit unit {0:?} is not one of s, min, h")]
    Unit(String),
    /// A count is not a whole number above zero.
    #[error("rate limit count {0:?} is not a whole number above zero")]
    Count(String),
}

impl Budget {
    /// `rate` a second, `burst` at once.
    #[must_use]
    pub const fn per_second(rate: NonZeroU32, burst: NonZeroU32) -> Self {
        Self { rate, per: Per::Second, burst }
    }

    /// `rate` a minute, `burst` at once.
    #[must_use]
    pub const fn per_minute(rate: NonZeroU32, burst: NonZeroU32) -> Self {
        Self { rate, per: Per::Minute, burst }
    }

    /// The governor quota: one request back every `per / rate`, at most `burst` saved up.
    #[must_use]
    pub fn quota(self) -> Quota {
        let every = self.per.duration() / self.rate.get();
        // A second over billions truncates to zero nanoseconds: one is the shortest period.
        Quota::with_period(every.max(Duration::from_nanos(1)))
            .expect("the period is not zero")
            .allow_burst(self.burst)
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{},{}", self.rate, self.per.suffix(), self.burst)
    }
}

impl FromStr for Budget {
    type Err = BudgetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let (rate, rest) = text.split_once('/').ok_or_else(|| BudgetError::Shape(s.to_owned()))?;
        let (unit, burst) = match rest.split_once(',') {
            Some((unit, burst)) => (unit.trim(), Some(burst.trim())),
            None => (rest.trim(), None),
        };
        let count = |c: &str| c.trim().parse::<NonZeroU32>().map_err(|_| BudgetError::Count(c.to_owned()));
        let per = match unit {
            "s" | "sec" | "second" => Per::Second,
            "m" | "min" | "minute" => Per::Minute,
            "h" | "hour" => Per::Hour,
            other => return Err(BudgetError::Unit(other.to_owned())),
        };
        let rate = count(rate)?;
        let burst = burst.map(count).transpose()?.unwrap_or(rate);
        Ok(Self { rate, per, burst })
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::{Budget, BudgetError, Per};

    fn n(v: u32) -> NonZeroU32 {
        NonZeroU32::new(v).expect("not zero")
    }

    #[test]
    fn a_budget_reads_its_rate_unit_and_burst_and_writes_them_back() {
        let budget: Budget = "50/s,200".parse().expect("parses");
        assert_eq!(budget, Budget::per_second(n(50), n(200)));
        assert_eq!(budget.to_string(), "50/s,200");
        assert_eq!(
            "10/min".parse::<Budget>(),
            Ok(Budget::per_minute(n(10), n(10))),
            "burst defaults to rate"
        );
        assert_eq!(" 3 / h , 5 ".parse::<Budget>().map(|b| (b.per, b.burst)), Ok((Per::Hour, n(5))));
    }

    #[test]
    fn a_budget_with_a_zero_a_bad_unit_or_no_slash_is_refused() {
        assert_eq!("0/s".parse::<Budget>(), Err(BudgetError::Count("0".into())));
        assert_eq!("5/s,0".parse::<Budget>(), Err(BudgetError::Count("0".into())));
        assert_eq!("5/day".parse::<Budget>(), Err(BudgetError::Unit("day".into())));
        assert_eq!("50".parse::<Budget>(), Err(BudgetError::Shape("50".into())));
        assert!(matches!("x/s".parse::<Budget>(), Err(BudgetError::Count(_))));
    }

    #[test]
    fn the_quota_refills_one_request_every_unit_over_rate_and_saves_up_the_burst() {
        let quota = Budget::per_minute(n(10), n(3)).quota();
        assert_eq!(quota.replenish_interval(), std::time::Duration::from_secs(6));
        assert_eq!(quota.burst_size(), n(3));
    }
}
