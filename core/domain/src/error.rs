//! Validation errors raised when a value breaks a domain rule.

/// A value that breaks a rule of the domain model.
///
/// Messages are lower-case, name the offending value and never carry personal data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// A latitude outside −90..=90 or not a finite number.
    #[error("latitude {0} is outside -90..=90")]
    LatitudeOutOfRange(f64),
    /// A longitude outside −180..=180 or not a finite number.
    #[error("longitude {0} is outside -180..=180")]
    LongitudeOutOfRange(f64),
    /// A distance or accuracy that is negative or not finite.
    #[error("{field} must be a finite, non-negative number of metres, got {value}")]
    BadMetres {
        /// Which field held the value.
        field: &'static str,
        /// The offending value.
        value: f64,
    },
    /// A currency code that is not three upper-case ASCII letters.
    #[error("currency code {0:?} is not three upper-case letters")]
    BadCurrency(String),
    /// An amount of money that does not fit in 64 bits of minor units.
    #[error("amount overflows: {0}")]
    AmountOverflow(&'static str),
    /// A required text field was empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// A remote clock stamp too far ahead of local physical time to be trusted.
    #[error(
        "remote clock {remote_ms} ms is {ahead_ms} ms ahead of local time, more than the {max_ms} ms allowed"
    )]
    ClockTooFarAhead {
        /// The remote physical time in Unix milliseconds.
        remote_ms: u64,
        /// How far ahead of the local clock it is.
        ahead_ms: u64,
        /// The largest skew accepted.
        max_ms: u64,
    },
}
