//! Why a route problem, a matrix or a requested order was refused.

/// A route input that breaks a rule: a bad matrix entry, an unknown location, a window that
/// closes before it opens, an order that misses a window…
///
/// Messages are lower-case and name the offending value; they never carry personal data
/// (locations are matrix indices, stops are indices into the problem's stop list).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RouteError {
    /// A matrix with no locations at all.
    #[error("a travel matrix needs at least one location")]
    EmptyMatrix,
    /// A matrix row with fewer or more entries than there are locations.
    #[error("matrix row {row} has {len} entries, expected {expected}")]
    RowLength {
        /// The row (origin location).
        row: usize,
        /// How many entries the row has.
        len: usize,
        /// How many it should have (the number of rows).
        expected: usize,
    },
    /// A flat matrix whose length is not the square of its size.
    #[error("a flat matrix of {size} locations needs {expected} entries, got {len}")]
    FlatLength {
        /// The number of locations claimed.
        size: usize,
        /// How many entries were given.
        len: usize,
        /// `size * size`.
        expected: usize,
    },
    /// An entry the matrix provider left out (for instance a pair it found no road for).
    #[error("matrix entry {from}->{to} is missing")]
    MissingEntry {
        /// Origin location.
        from: usize,
        /// Destination location.
        to: usize,
    },
    /// An entry that is NaN or infinite.
    #[error("matrix entry {from}->{to} is {value}, not a finite number")]
    NotFinite {
        /// Origin location.
        from: usize,
        /// Destination location.
        to: usize,
        /// The offending value.
        value: f64,
    },
    /// An entry below zero.
    #[error("matrix entry {from}->{to} is {value}, below zero")]
    Negative {
        /// Origin location.
        from: usize,
        /// Destination location.
        to: usize,
        /// The offending value.
        value: f64,
    },
    /// Distance and duration matrices that do not cover the same locations.
    #[error("distance matrix has {distance} locations but duration matrix has {duration}")]
    SizeMismatch {
        /// Locations in the distance matrix.
        distance: usize,
        /// Locations in the duration matrix.
        duration: usize,
    },
    /// A location index outside the matrices.
    #[error("{what} location {location} is outside the matrix of {locations} locations")]
    UnknownLocation {
        /// Which input named it ("start", "end", "stop 3"…).
        what: String,
        /// The offending index.
        location: usize,
        /// How many locations the matrices have.
        locations: usize,
    },
    /// A time or duration that is NaN or infinite (or negative, for durations).
    #[error("{what} is {value} s, not a valid time")]
    BadTime {
        /// Which input held the value ("start time", "service time of stop 2"…).
        what: String,
        /// The offending value in seconds.
        value: f64,
    },
    /// An appointment window that closes before it opens.
    #[error("window of stop {stop} closes at {close} s before it opens at {open} s")]
    BadWindow {
        /// The stop (index into the problem's stops).
        stop: usize,
        /// Opening time in seconds.
        open: f64,
        /// Closing time in seconds.
        close: f64,
    },
    /// A working day that ends before the route starts.
    #[error("the working day ends at {day_end} s, before the route starts at {start} s")]
    DayEndsBeforeStart {
        /// Start time in seconds.
        start: f64,
        /// End of the working day in seconds.
        day_end: f64,
    },
    /// A travel model with a detour factor below 1 or a speed that is not positive.
    #[error("{what} is {value}, outside the accepted range")]
    BadTravelModel {
        /// Which parameter ("detour factor", "speed").
        what: &'static str,
        /// The offending value.
        value: f64,
    },
    /// More stops than the exact solver accepts.
    #[error("{stops} stops are more than the exact solver's limit of {limit}")]
    TooManyStopsForExact {
        /// Stops in the problem.
        stops: usize,
        /// The limit.
        limit: usize,
    },
    /// An order naming a stop the problem does not have.
    #[error("order names stop {stop}, but the problem has {stops} stops")]
    UnknownStop {
        /// The offending stop index.
        stop: usize,
        /// How many stops the problem has.
        stops: usize,
    },
    /// An order naming a stop twice.
    #[error("order names stop {stop} twice")]
    RepeatedStop {
        /// The repeated stop index.
        stop: usize,
    },
    /// An order that reaches a stop after its window closed.
    #[error("stop {stop} is reached at {arrival} s, after its window closed at {close} s")]
    WindowMissed {
        /// The stop.
        stop: usize,
        /// When the order reaches it.
        arrival: f64,
        /// When its window closed.
        close: f64,
    },
    /// An order that finishes after the working day's end.
    #[error("the route finishes at {finish} s, after the working day ends at {day_end} s")]
    DayTooShort {
        /// When the order finishes.
        finish: f64,
        /// The end of the working day.
        day_end: f64,
    },
}
