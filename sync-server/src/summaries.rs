//! Daily, weekly and monthly summaries generated automatically: after a period closes in the
//! org's time zone (`working_hours.offset`), the summary of `GET /v1/reports/summary` is
//! computed for that local day, ISO week (Monday to Sunday) or calendar month, for the whole
//! org and for each team (the users' `team_id`), and stored as a snapshot
//! (`GET /v1/reports/summaries` reads them).
//!
//! Which periods a run looks at ([`candidates`]):
//!
//! - every closed period overlapping the last [`LOOKBACK_DAYS`] days, from the day of the
//!   org's first fact on (so a new org gets no run of empty history, and a snapshot missed
//!   while the server was down is made up);
//! - every closed period holding a fact stored since the org's cursor (the highest fact
//!   sequence number its last complete run saw), or the day before it (a check-out or a
//!   track batch may close a visit or a track of the day before), however old: a phone
//!   offline for weeks still gets its facts into the summaries of the days they happened.
//!
//! Whether a period is built ([`summarize_org`]): each snapshot keeps the mark of the facts
//! it was built from ([`FactMark`]: how many of the org's facts happened from the period's
//! start to a day after its end — check-outs are looked for up to a day later, a track batch
//! is dated by its last point — and their highest sequence number). A period is built when
//! one of its snapshots (the org's or a team's) is missing or its mark's sequence number is
//! below the current one: a fact arrived for it since. Sequence numbers are given in commit
//! order, so a late fact always raises it; facts pruned past retention only lower the count
//! and never unbuild a summary. Building the same period twice replaces its snapshots:
//! one per period and scope. The mark is read before the summary, so a fact that lands
//! while it is computed is caught by the next run.
//!
//! Not rebuilt: a move of a user to another team after the period was built (the snapshot
//! keeps the members it counted), and changes of display names. A period rebuilt after its
//! track points passed the org's track retention counts no distance, as the live report
//! of that period does by then.
//!
//! [`serve`](crate::serve)'s binary runs [`run`] every `--summaries-every-minutes` (15 by
//! default, 0 = off); `fieldkit-server summarize [--org SLUG] [--date YYYY-MM-DD]` runs it
//! once (from cron, or to build the periods of one date).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use fieldkit_domain::geo::{CivilDate, UtcOffset};
use fieldkit_domain::ids::{TeamId, UserId};
use fieldkit_domain::model::Org;
use tokio::sync::watch;

use crate::routes::summaries::summary_between;
use crate::state::AppState;
use crate::storage::{FactChanges, FactMark, ReportSnapshot, SnapshotPeriod, StorageError};

const DAY_MS: i64 = 86_400_000;
/// Every closed period overlapping this many days before today is built when it is missing.
pub const LOOKBACK_DAYS: i64 = 35;
/// Facts that can change a period's summary happen in it or at most this long after it.
const MARGIN_MS: i64 = DAY_MS;

/// What can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// No org has this slug.
    #[error("no org {0:?}")]
    UnknownOrg(String),
    /// A summary could not be computed.
    #[error("the {period} summary from {from} could not be computed: {message}")]
    Compute {
        /// Day, week or month.
        period: &'static str,
        /// The period's first date, `YYYY-MM-DD`.
        from: String,
        /// Why.
        message: String,
    },
}

/// A local day, ISO week or calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    /// Its length.
    pub kind: SnapshotPeriod,
    /// Its first local date.
    pub from: CivilDate,
    /// Its last local date (included).
    pub to: CivilDate,
}

impl Period {
    /// The period of `kind` that holds `date`.
    #[must_use]
    pub fn containing(kind: SnapshotPeriod, date: CivilDate) -> Self {
        let days = date.to_days();
        let (from, to) = match kind {
            SnapshotPeriod::Day => (date, date),
            SnapshotPeriod::Week => {
                // 1970-01-01 was a Thursday: Monday is 3 days before it.
                let monday = days - (days + 3).rem_euclid(7);
                (CivilDate::from_days(monday), CivilDate::from_days(monday + 6))
            }
            SnapshotPeriod::Month => {
                let first = CivilDate::from_days(days - i64::from(date.day()) + 1);
                // The 1st plus 31 days is always in the next month.
                let next = CivilDate::from_days(first.to_days() + 31);
                let next_first = next.to_days() - i64::from(next.day()) + 1;
                (first, CivilDate::from_days(next_first - 1))
            }
        };
        Self { kind, from, to }
    }

    /// When it starts, Unix milliseconds, in `offset`.
    #[must_use]
    pub fn start_ms(self, offset: UtcOffset) -> i64 {
        self.from.to_days() * DAY_MS - i64::from(offset.minutes()) * 60_000
    }

    /// When it ends (excluded), Unix milliseconds, in `offset`.
    #[must_use]
    pub fn end_ms(self, offset: UtcOffset) -> i64 {
        (self.to.to_days() + 1) * DAY_MS - i64::from(offset.minutes()) * 60_000
    }

    /// Whether it is over at `now_ms` in `offset`.
    #[must_use]
    pub fn is_closed(self, offset: UtcOffset, now_ms: i64) -> bool {
        self.end_ms(offset) <= now_ms
    }
}

/// The periods of every kind that hold one of `days` (days since 1970-01-01) and are closed
/// at `now_ms` in `offset`.
#[must_use]
pub fn closed_periods(
    days: impl IntoIterator<Item = i64>,
    offset: UtcOffset,
    now_ms: i64,
) -> BTreeSet<Period> {
    let mut out = BTreeSet::new();
    for day in days {
        let date = CivilDate::from_days(day);
        for kind in SnapshotPeriod::ALL {
            let period = Period::containing(kind, date);
            if period.is_closed(offset, now_ms) {
                out.insert(period);
            }
        }
    }
    out
}

/// The periods a run at `now_ms` looks at, given the org's facts stored since its cursor
/// (see the module's documentation).
#[must_use]
pub fn candidates(
    changes: &FactChanges,
    offset: UtcOffset,
    now_ms: i64,
    lookback_days: i64,
) -> BTreeSet<Period> {
    // Nothing happened before the org's first fact: no period before it is summarised.
    let Some(first) = changes.first_day else {
        return BTreeSet::new();
    };
    let today = offset.local(now_ms).0.to_days();
    let recent = first.max(today - lookback_days)..=today - 1;
    let changed = changes.days.iter().flat_map(|d| [d - 1, *d]).filter(|d| *d >= first);
    closed_periods(recent.chain(changed), offset, now_ms)
}

/// What one org's run did.
#[derive(Debug, Clone)]
pub struct OrgRun {
    /// The org.
    pub org: Org,
    /// The periods built (their org and team snapshots stored).
    pub built: Vec<Period>,
    /// The periods looked at whose snapshots were up to date.
    pub unchanged: usize,
}

/// Runs the generator for one org (by slug) or every org at `now_ms`; with `date`, looks
/// only at the periods holding that date (closed ones), leaving the cursor alone.
pub async fn summarize(
    state: &AppState,
    now_ms: i64,
    org: Option<&str>,
    date: Option<CivilDate>,
) -> Result<Vec<OrgRun>, SummaryError> {
    let orgs = match org {
        Some(slug) => vec![
            state
                .storage
                .org_by_slug(slug)
                .await?
                .ok_or_else(|| SummaryError::UnknownOrg(slug.to_owned()))?,
        ],
        None => state.storage.orgs().await?,
    };
    let mut out = Vec::with_capacity(orgs.len());
    for org in orgs {
        out.push(summarize_org(state, &org, now_ms, date).await?);
    }
    Ok(out)
}

/// Builds the org's snapshots that are missing or stale at `now_ms` (see the module's
/// documentation); with `date`, only those of the closed periods holding it.
pub async fn summarize_org(
    state: &AppState,
    org: &Org,
    now_ms: i64,
    date: Option<CivilDate>,
) -> Result<OrgRun, SummaryError> {
    let storage = state.storage.as_ref();
    let offset = storage.org_settings(org.id).await?.working_hours.offset;
    let (periods, advance_to) = match date {
        Some(date) => (closed_periods([date.to_days()], offset, now_ms), None),
        None => {
            let cursor = storage.summary_cursor(org.id).await?;
            let changes = storage.fact_changes(org.id, cursor, offset.minutes()).await?;
            (candidates(&changes, offset, now_ms, LOOKBACK_DAYS), Some(changes.max_seq))
        }
    };
    let mut teams: BTreeMap<TeamId, Vec<UserId>> = BTreeMap::new();
    for user in storage.users(org.id).await? {
        if let Some(team) = user.team_id {
            teams.entry(team).or_default().push(user.id);
        }
    }
    let mut run = OrgRun { org: org.clone(), built: Vec::new(), unchanged: 0 };
    for period in periods {
        if build_if_stale(state, org, period, offset, &teams, now_ms).await? {
            run.built.push(period);
        } else {
            run.unchanged += 1;
        }
    }
    if let Some(seq) = advance_to {
        storage.set_summary_cursor(org.id, seq, now_ms).await?;
    }
    Ok(run)
}

/// Builds `period`'s snapshots (the org's and each team's) unless every one exists at the
/// current mark. Returns whether it built them.
async fn build_if_stale(
    state: &AppState,
    org: &Org,
    period: Period,
    offset: UtcOffset,
    teams: &BTreeMap<TeamId, Vec<UserId>>,
    now_ms: i64,
) -> Result<bool, SummaryError> {
    let storage = state.storage.as_ref();
    let mark: FactMark =
        storage.fact_mark(org.id, period.start_ms(offset), period.end_ms(offset) + MARGIN_MS).await?;
    let existing: Vec<ReportSnapshot> = storage
        .report_snapshots(org.id, period.kind, period.from, period.from)
        .await?
        .into_iter()
        .filter(|s| s.from == period.from)
        .collect();
    let scopes: Vec<(Option<TeamId>, Option<Vec<UserId>>)> = std::iter::once((None, None))
        .chain(teams.iter().map(|(team, members)| (Some(*team), Some(members.clone()))))
        .collect();
    let up_to_date = scopes
        .iter()
        .all(|(team, _)| existing.iter().any(|s| s.team_id == *team && s.mark.max_seq >= mark.max_seq));
    if up_to_date {
        return Ok(false);
    }
    let mut snapshots = Vec::with_capacity(scopes.len());
    for (team_id, authors) in scopes {
        let summary = summary_between(state, org.id, (period.from, period.to), authors.clone())
            .await
            .map_err(|e| SummaryError::Compute {
                period: period.kind.as_str(),
                from: period.from.to_string(),
                message: e.message,
            })?;
        snapshots.push(ReportSnapshot {
            period: period.kind,
            from: period.from,
            to: period.to,
            team_id,
            authors,
            utc_offset_minutes: offset.minutes(),
            mark,
            body: serde_json::to_string(&summary).expect("a summary always serializes"),
            generated_ms: now_ms,
        });
    }
    storage.put_report_snapshots(org.id, snapshots).await?;
    tracing::info!(
        org = %org.id,
        period = period.kind.as_str(),
        from = %period.from.to_string(),
        facts = mark.count,
        "summary snapshots built"
    );
    Ok(true)
}

/// Runs the generator for every org now and then every `every`, until `stop` turns true (or
/// its sender is gone); a run in progress is dropped at the stop (each period's snapshots
/// are stored in one transaction, the cursor moves only after a complete run). One org's
/// failure is logged and retried at the next tick.
pub async fn run(state: AppState, every: Duration, stop: watch::Receiver<bool>) {
    crate::periodic::every(every, stop, || run_once(&state)).await;
}

async fn run_once(state: &AppState) {
    let orgs = match state.storage.orgs().await {
        Ok(orgs) => orgs,
        Err(e) => {
            tracing::error!(error = %e, "summaries: cannot list orgs; retrying at the next tick");
            return;
        }
    };
    for org in orgs {
        if let Err(e) = summarize_org(state, &org, crate::now_ms(), None).await {
            tracing::error!(org = %org.id, error = %e, "summaries failed; retrying at the next tick");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u8, d: u8) -> CivilDate {
        CivilDate::new(y, m, d).expect("a real date")
    }

    /// Unix milliseconds of a local time in `offset`.
    fn local_ms(offset: UtcOffset, d: CivilDate, hour: i64, minute: i64) -> i64 {
        d.to_days() * DAY_MS + (hour * 60 + minute - i64::from(offset.minutes())) * 60_000
    }

    #[test]
    fn weeks_run_monday_to_sunday_and_months_to_their_last_day() {
        let week = Period::containing(SnapshotPeriod::Week, date(2026, 11, 27));
        assert_eq!((week.from, week.to), (date(2026, 11, 23), date(2026, 11, 29)));
        let sunday = Period::containing(SnapshotPeriod::Week, date(2026, 11, 29));
        assert_eq!(sunday, week);
        let across_years = Period::containing(SnapshotPeriod::Week, date(2027, 1, 1));
        assert_eq!((across_years.from, across_years.to), (date(2026, 12, 28), date(2027, 1, 3)));
        for (d, last) in [
            (date(2028, 2, 10), date(2028, 2, 29)),
            (date(2027, 2, 28), date(2027, 2, 28)),
            (date(2026, 12, 31), date(2026, 12, 31)),
            (date(2026, 4, 1), date(2026, 4, 30)),
        ] {
            let month = Period::containing(SnapshotPeriod::Month, d);
            assert_eq!((month.from.day(), month.from.month(), month.to), (1, d.month(), last), "{d:?}");
        }
        let day = Period::containing(SnapshotPeriod::Day, date(2026, 11, 27));
        assert_eq!((day.from, day.to), (date(2026, 11, 27), date(2026, 11, 27)));
    }

    #[test]
    fn a_day_closes_at_local_midnight_in_the_orgs_offset() {
        let china = UtcOffset::CHINA;
        let day = Period::containing(SnapshotPeriod::Day, date(2026, 11, 26));
        let midnight = local_ms(china, date(2026, 11, 27), 0, 0);
        assert_eq!(day.end_ms(china), midnight);
        assert!(!day.is_closed(china, midnight - 1));
        assert!(day.is_closed(china, midnight));
        // The same instant is still the 26th in New York (UTC-5).
        let new_york = UtcOffset::new(-300).expect("a valid offset");
        assert!(!day.is_closed(new_york, midnight));
        assert!(day.is_closed(new_york, local_ms(new_york, date(2026, 11, 27), 0, 0)));
    }

    #[test]
    fn at_an_instant_only_the_periods_already_over_are_closed() {
        let china = UtcOffset::CHINA;
        // Monday 2026-12-07 00:30 in Shanghai, i.e. Sunday 16:30 UTC.
        let now = local_ms(china, date(2026, 12, 7), 0, 30);
        let closed = closed_periods(
            [date(2026, 11, 30), date(2026, 12, 6), date(2026, 12, 7)].map(CivilDate::to_days),
            china,
            now,
        );
        let names: Vec<(SnapshotPeriod, CivilDate)> = closed.iter().map(|p| (p.kind, p.from)).collect();
        assert_eq!(
            names,
            [
                (SnapshotPeriod::Day, date(2026, 11, 30)),
                (SnapshotPeriod::Day, date(2026, 12, 6)),
                (SnapshotPeriod::Week, date(2026, 11, 30)),
                (SnapshotPeriod::Month, date(2026, 11, 1)),
            ],
            "December and the week of the 7th are still open"
        );
        // In UTC it is still Sunday: that day and its week are open.
        let utc = closed_periods([date(2026, 12, 6).to_days()], UtcOffset::UTC, now);
        assert!(utc.is_empty(), "{utc:?}");
    }

    #[test]
    fn a_run_looks_back_from_the_first_fact_and_around_every_late_fact() {
        let china = UtcOffset::CHINA;
        let now = local_ms(china, date(2026, 11, 27), 9, 0);
        let none = FactChanges::default();
        assert!(candidates(&none, china, now, LOOKBACK_DAYS).is_empty(), "no facts, nothing to summarise");

        let first =
            FactChanges { max_seq: 9, days: Vec::new(), first_day: Some(date(2026, 11, 25).to_days()) };
        let days: Vec<CivilDate> = candidates(&first, china, now, LOOKBACK_DAYS)
            .iter()
            .filter(|p| p.kind == SnapshotPeriod::Day)
            .map(|p| p.from)
            .collect();
        assert_eq!(days, [date(2026, 11, 25), date(2026, 11, 26)]);

        let old = FactChanges { max_seq: 9, days: Vec::new(), first_day: Some(date(2025, 1, 1).to_days()) };
        let recent = candidates(&old, china, now, 3);
        let recent_days: Vec<CivilDate> =
            recent.iter().filter(|p| p.kind == SnapshotPeriod::Day).map(|p| p.from).collect();
        assert_eq!(recent_days, [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)]);
        assert_eq!(recent.len(), 3, "their week and month are still open: {recent:?}");
        let month_ago = candidates(&old, china, now, LOOKBACK_DAYS);
        assert!(month_ago.contains(&Period::containing(SnapshotPeriod::Month, date(2026, 10, 1))));
        assert!(month_ago.contains(&Period::containing(SnapshotPeriod::Week, date(2026, 11, 16))));

        // Facts of Tuesday 2026-03-10 and of 2026-01-01, the first day, stored after the
        // cursor: the 9th and 10th of March, their week and month, and New Year's day, its
        // week and month are looked at again; not the day before the first fact.
        let late = FactChanges {
            max_seq: 10,
            days: vec![date(2026, 1, 1).to_days(), date(2026, 3, 10).to_days()],
            first_day: Some(date(2026, 1, 1).to_days()),
        };
        let again: Vec<Period> = candidates(&late, china, now, 0).into_iter().collect();
        let expected = [
            Period::containing(SnapshotPeriod::Day, date(2026, 1, 1)),
            Period::containing(SnapshotPeriod::Day, date(2026, 3, 9)),
            Period::containing(SnapshotPeriod::Day, date(2026, 3, 10)),
            Period::containing(SnapshotPeriod::Week, date(2026, 1, 1)),
            Period::containing(SnapshotPeriod::Week, date(2026, 3, 10)),
            Period::containing(SnapshotPeriod::Month, date(2026, 1, 1)),
            Period::containing(SnapshotPeriod::Month, date(2026, 3, 10)),
        ];
        assert_eq!(again, expected);
    }
}
