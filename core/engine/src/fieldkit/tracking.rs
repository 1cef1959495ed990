//! Working-hours tracking: the app feeds the fixes the OS delivers; the core keeps only
//! those taken while the rep is on duty inside the org's working hours (the others are
//! dropped at the door, never stored, as are those inside an approved leave or business trip),
//! filters out poor and impossible ones, and batches the rest into track facts for sync. Retention is the org's setting. The rep can list
//! everything recorded about them today.

use fieldkit_domain::geo::{
    CivilDate, DropReason, GateDecision, OffReason, PauseKind, TrackingPolicy, filter_track,
    validate_accuracy,
};
use fieldkit_domain::ids::{FactId, UserId};
use fieldkit_domain::model::{CheckIn, CheckOut, LocationFix, PhotoRecord, TrackBatch, TrackPoint};
use fieldkit_domain::protocol::Fact;
use rusqlite::Transaction;

use super::FieldKit;
use super::approvals::tracking_pauses_of;
use super::settings;
use super::visits::remember_fix;
use crate::error::{Error, Result};
use crate::session;
use crate::store::{facts, meta, outbox, parse_json, tracks};
use crate::time::now_ms;

/// A batch is cut when this many points wait…
const BATCH_POINTS: usize = 50;
/// …or when the oldest waiting point arrived this long ago.
const BATCH_AGE_MS: i64 = 10 * 60_000;
const MS_PER_DAY: i64 = 86_400_000;

/// What became of the fixes fed to [`FieldKit::record_fixes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TrackIntake {
    /// Stored (waiting for their batch, or batched).
    pub kept: u32,
    /// Dropped unseen: the rep was off duty.
    pub off_duty: u32,
    /// Dropped unseen: outside working hours, on a day off or during a pause other than
    /// leave or a trip.
    pub off_hours: u32,
    /// Dropped unseen: an approved leave or business trip of the rep covers the fix (as the
    /// server's `Approval` records on this phone say). Checked after duty: an off-duty fix
    /// counts as `off_duty`.
    pub on_leave: u32,
    /// Dropped by the filters: accuracy radius too large.
    pub poor_accuracy: u32,
    /// Dropped by the filters: an impossible speed from the previous fix.
    pub impossible_speed: u32,
    /// Dropped: not later than a fix already recorded (duplicate or out of order).
    pub out_of_order: u32,
    /// Whether a batch was cut and queued for sync by this call.
    pub batched: bool,
}

/// Everything recorded about the rep today (the org's local date), for the rep to see.
#[derive(Debug, Clone, PartialEq)]
pub struct MyDay {
    /// Today, in the org's time zone.
    pub date: CivilDate,
    /// Whether the rep is on duty now.
    pub on_duty: bool,
    /// Track points recorded today, in time order (batched and waiting).
    pub track: Vec<TrackPoint>,
    /// Check-ins today.
    pub check_ins: Vec<CheckIn>,
    /// Check-outs today.
    pub check_outs: Vec<CheckOut>,
    /// Photos taken today.
    pub photos: Vec<PhotoRecord>,
}

impl FieldKit {
    /// Goes on or off duty. Off duty, no fix is stored, even inside working hours; going off
    /// duty cuts the waiting batch so it syncs.
    pub fn set_on_duty(&self, on_duty: bool) -> Result<()> {
        let rep = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user.id;
        let now = now_ms();
        self.write_local(|tx, _| {
            meta::set(tx, meta::ON_DUTY, if on_duty { "1" } else { "0" })?;
            if !on_duty {
                flush(tx, rep, now)?;
            }
            Ok(())
        })
    }

    /// Whether the rep is on duty.
    pub fn is_on_duty(&self) -> Result<bool> {
        self.store.read(|conn| Ok(meta::get(conn, meta::ON_DUTY)?.as_deref() == Some("1")))
    }

    /// Feeds fixes from the OS. Fixes outside working time or inside an approved leave or
    /// business trip are dropped before anything is written; the rest pass the accuracy and speed filters and wait for their batch (cut
    /// every 50 points, every 10 minutes, and before each sync). A malformed fix (accuracy
    /// not a number, stamped in the future) refuses the whole call and stores nothing.
    pub fn record_fixes(&self, fixes: &[LocationFix]) -> Result<TrackIntake> {
        let rep = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user.id;
        let now = now_ms();
        self.write_local(|tx, _| {
            let settings = settings::load(tx)?;
            let on_duty = meta::get(tx, meta::ON_DUTY)?.as_deref() == Some("1");
            let mut gate = TrackingPolicy::new(settings.working_hours.clone());
            gate.pauses = tracking_pauses_of(tx, rep)?;
            let mut intake = TrackIntake::default();
            let mut inside = Vec::with_capacity(fixes.len());
            for fix in fixes {
                validate_accuracy(fix.accuracy_m)?;
                match gate.gate(fix.fix_time_ms, on_duty, now)? {
                    GateDecision::Record => inside.push(*fix),
                    GateDecision::Drop { reason: OffReason::OffDuty } => intake.off_duty += 1,
                    GateDecision::Drop {
                        reason: OffReason::Paused { kind: PauseKind::Leave | PauseKind::Trip },
                    } => intake.on_leave += 1,
                    GateDecision::Drop { .. } => intake.off_hours += 1,
                }
            }
            inside.sort_by_key(|f| f.fix_time_ms);
            let anchor = latest_kept(tx)?;
            let mut points: Vec<TrackPoint> = anchor.iter().copied().collect();
            points.extend(inside.iter().map(|f| TrackPoint {
                point: f.point,
                accuracy_m: f.accuracy_m,
                time_ms: f.fix_time_ms,
            }));
            let filtered = filter_track(&points, &settings.track_filter);
            for dropped in &filtered.dropped {
                match dropped.reason {
                    DropReason::PoorAccuracy | DropReason::InvalidAccuracy => intake.poor_accuracy += 1,
                    DropReason::ImpossibleSpeed => intake.impossible_speed += 1,
                    DropReason::NotAfterPrevious => intake.out_of_order += 1,
                }
            }
            let kept: Vec<TrackPoint> =
                filtered.kept.into_iter().skip(usize::from(anchor.is_some())).collect();
            intake.kept = u32::try_from(kept.len()).unwrap_or(u32::MAX);
            if let Some(last) = kept.last()
                && let Some(fix) = inside.iter().find(|f| f.fix_time_ms == last.time_ms)
            {
                remember_fix(tx, fix)?;
            }
            if !kept.is_empty() && meta::get_i64(tx, meta::TRACK_BATCH_STARTED_MS)?.is_none() {
                meta::set(tx, meta::TRACK_BATCH_STARTED_MS, &now.to_string())?;
            }
            tracks::add_pending(tx, &kept)?;
            let waiting = tracks::pending(tx)?.len();
            let started = meta::get_i64(tx, meta::TRACK_BATCH_STARTED_MS)?;
            if waiting >= BATCH_POINTS || started.is_some_and(|s| now - s >= BATCH_AGE_MS) {
                intake.batched = flush(tx, rep, now)?;
            }
            tracing::debug!(
                kept = intake.kept,
                off_duty = intake.off_duty,
                off_hours = intake.off_hours,
                on_leave = intake.on_leave,
                "fixes fed"
            );
            Ok(intake)
        })
    }

    /// Cuts the waiting track points into a fact now (done before every sync).
    pub(crate) fn flush_track(&self, rep: UserId) -> Result<bool> {
        let now = now_ms();
        self.store.write(|tx| flush(tx, rep, now))
    }

    /// Everything recorded about the rep today: track points, check-ins and check-outs,
    /// photos. Offline.
    pub fn my_day(&self) -> Result<MyDay> {
        let now = now_ms();
        self.store.read(|conn| {
            let settings = settings::load(conn)?;
            let offset = settings.working_hours.offset;
            let (date, _) = offset.local(now);
            let start = date.to_days() * MS_PER_DAY - i64::from(offset.minutes()) * 60_000;
            let end = start + MS_PER_DAY;
            let today = |t: i64| (start..end).contains(&t);
            let mut day = MyDay {
                date,
                on_duty: meta::get(conn, meta::ON_DUTY)?.as_deref() == Some("1"),
                track: Vec::new(),
                check_ins: Vec::new(),
                check_outs: Vec::new(),
                photos: Vec::new(),
            };
            // Facts are filtered on recording time with a day's slack, then on event time.
            for kind in ["track", "check_in", "check_out", "photo"] {
                for fact in facts::recorded_between(conn, kind, start - MS_PER_DAY, end + MS_PER_DAY)? {
                    match fact {
                        Fact::Track(batch) => {
                            day.track.extend(batch.points.into_iter().filter(|p| today(p.time_ms)));
                        }
                        Fact::CheckIn(c) if today(c.at.device_ms) => day.check_ins.push(c),
                        Fact::CheckOut(c) if today(c.at.device_ms) => day.check_outs.push(c),
                        Fact::Photo(p) if today(p.at.device_ms) => day.photos.push(*p),
                        _ => {}
                    }
                }
            }
            day.track.extend(tracks::pending(conn)?.into_iter().filter(|p| today(p.time_ms)));
            day.track.sort_by_key(|p| p.time_ms);
            Ok(day)
        })
    }
}

/// The latest kept point: the last waiting one, else the rep's last fix.
fn latest_kept(tx: &Transaction<'_>) -> Result<Option<TrackPoint>> {
    if let Some(last) = tracks::pending(tx)?.pop() {
        return Ok(Some(last));
    }
    let last: Option<LocationFix> =
        meta::get(tx, meta::LAST_FIX)?.map(|s| parse_json("last fix", &s)).transpose()?;
    Ok(last.map(|f| TrackPoint { point: f.point, accuracy_m: f.accuracy_m, time_ms: f.fix_time_ms }))
}

/// Turns the waiting points into a queued track fact and applies retention; `false` if
/// nothing was waiting.
fn flush(tx: &Transaction<'_>, rep: UserId, now: i64) -> Result<bool> {
    let points = tracks::pending(tx)?;
    meta::remove(tx, meta::TRACK_BATCH_STARTED_MS)?;
    let retention_ms = settings::load(tx)?.track_retention_ms();
    let pruned = tracks::prune(tx, now - retention_ms)?;
    if pruned > 0 {
        tracing::info!(pruned, "track batches past retention deleted");
    }
    if points.is_empty() {
        return Ok(false);
    }
    let batch = TrackBatch { id: FactId::new(), rep_id: rep, points };
    facts::insert(tx, &Fact::Track(batch.clone()), None, now)?;
    outbox::append(tx, outbox::KIND_FACT, &batch.id.to_string(), now)?;
    tracks::clear_pending(tx)?;
    Ok(true)
}
