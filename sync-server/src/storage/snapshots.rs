//! What storage keeps of the summaries generated automatically: one snapshot per org, closed
//! period and scope (the whole org or a team), with the mark of the facts it was built from,
//! and the generator's cursor over each org's facts.

use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::ids::{TeamId, UserId};
use serde::{Deserialize, Serialize};

/// The length of a summarised period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotPeriod {
    /// One local day.
    Day,
    /// An ISO week, Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
}

impl SnapshotPeriod {
    /// Every kind, shortest first.
    pub const ALL: [SnapshotPeriod; 3] = [SnapshotPeriod::Day, SnapshotPeriod::Week, SnapshotPeriod::Month];

    /// The stable text form used in storage and on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotPeriod::Day => "day",
            SnapshotPeriod::Week => "week",
            SnapshotPeriod::Month => "month",
        }
    }

    /// Parses the text form produced by [`SnapshotPeriod::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// How many of an org's facts happened in a window, and the highest sequence number among
/// them: a snapshot built at one mark is stale once the mark's `max_seq` has grown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FactMark {
    /// Facts whose event time falls in the window.
    pub count: u64,
    /// The highest sequence number among them (0: none).
    pub max_seq: u64,
}

/// The org's facts stored after a sequence number, for the generator.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FactChanges {
    /// The highest sequence number of any of the org's facts (the cursor asked about when
    /// there are none after it).
    pub max_seq: u64,
    /// The local days (days since 1970-01-01 in the offset asked for) on which the facts
    /// stored after the cursor happened, each once, in order.
    pub days: Vec<i64>,
    /// The local day of the org's earliest fact, if it has any.
    pub first_day: Option<i64>,
}

/// A stored summary of one period and scope.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSnapshot {
    /// Day, week or month.
    pub period: SnapshotPeriod,
    /// The period's first local date.
    pub from: CivilDate,
    /// The period's last local date (included).
    pub to: CivilDate,
    /// The team summarised (`None`: the whole org).
    pub team_id: Option<TeamId>,
    /// The users whose facts were counted (`None`: everyone in the org).
    pub authors: Option<Vec<UserId>>,
    /// The org's offset the dates were read in, minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// The mark of the org's facts the snapshot was built from.
    pub mark: FactMark,
    /// JSON of the summary (`{"reps": [...], "totals": {...}}`).
    pub body: String,
    /// When it was built, server Unix milliseconds.
    pub generated_ms: i64,
}
