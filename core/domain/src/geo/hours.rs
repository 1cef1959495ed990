//! The working-hours gate: whether a location fix may be stored at all.
//!
//! China's PIPL treats whereabouts as sensitive personal information, and GDPR guidance
//! wants tracking off outside working time; so a fix is kept only when the rep is on duty,
//! inside one of the org's working windows on a working day, and not on leave or another
//! pause. Everything else is dropped at the door, before it reaches storage.
//!
//! Local time is UTC plus a fixed offset in minutes: China (UTC+8) has had no daylight
//! saving since 1991, and an org that needs DST elsewhere changes its offset with the
//! season. Windows may run past midnight (22:00–06:00): such a window belongs to the day it
//! starts on.

use serde::{Deserialize, Serialize};

use super::{GeoError, validate_accuracy, validate_not_future};
use crate::model::LocationFix;

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_DAY: i64 = 86_400_000;
const MINUTES_PER_DAY: u16 = 1_440;

/// A fixed offset from UTC, in minutes east (China: +480).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct UtcOffset(i32);

impl UtcOffset {
    /// China Standard Time, UTC+8.
    pub const CHINA: Self = Self(480);
    /// UTC.
    pub const UTC: Self = Self(0);

    /// An offset of `minutes` east of UTC; refuses offsets beyond ±14 h.
    pub fn new(minutes: i32) -> Result<Self, GeoError> {
        if (-840..=840).contains(&minutes) { Ok(Self(minutes)) } else { Err(GeoError::BadUtcOffset(minutes)) }
    }

    /// Minutes east of UTC.
    #[must_use]
    pub fn minutes(self) -> i32 {
        self.0
    }

    /// The local date and minute of day of a Unix-millisecond instant.
    #[must_use]
    pub fn local(self, t_ms: i64) -> (CivilDate, u16) {
        let local = t_ms.saturating_add(i64::from(self.0) * MS_PER_MINUTE);
        let days = local.div_euclid(MS_PER_DAY);
        let minute = u16::try_from(local.rem_euclid(MS_PER_DAY) / MS_PER_MINUTE).unwrap_or(0);
        (CivilDate::from_days(days), minute)
    }
}

impl TryFrom<i32> for UtcOffset {
    type Error = GeoError;
    fn try_from(minutes: i32) -> Result<Self, Self::Error> {
        Self::new(minutes)
    }
}

impl From<UtcOffset> for i32 {
    fn from(offset: UtcOffset) -> Self {
        offset.0
    }
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Weekday {
    /// Monday to Friday.
    pub const WORKWEEK: [Weekday; 5] = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];
    /// Every day of the week, Monday first.
    pub const ALL: [Weekday; 7] =
        [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];
}

/// A calendar date (proleptic Gregorian), as the org's calendar names days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawDate")]
pub struct CivilDate {
    year: i32,
    month: u8,
    day: u8,
}

#[derive(Deserialize)]
struct RawDate {
    year: i32,
    month: u8,
    day: u8,
}

impl TryFrom<RawDate> for CivilDate {
    type Error = GeoError;
    fn try_from(raw: RawDate) -> Result<Self, Self::Error> {
        Self::new(raw.year, raw.month, raw.day)
    }
}

/// `YYYY-MM-DD`, as ISO 8601 writes a calendar date.
impl std::fmt::Display for CivilDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Parses `YYYY-MM-DD`; a malformed text or a day that does not exist is refused.
impl std::str::FromStr for CivilDate {
    type Err = GeoError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || GeoError::BadDateText(text.chars().take(16).collect());
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        let parts: Vec<&str> = text.split('-').collect();
        let [y, m, d] = parts[..] else { return Err(bad()) };
        if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
            return Err(bad());
        }
        let (year, month, day) =
            (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
        Self::new(year, month, day)
    }
}

impl CivilDate {
    /// A date; refuses ones that do not exist (2025-02-29, month 13…).
    pub fn new(year: i32, month: u8, day: u8) -> Result<Self, GeoError> {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => 0,
        };
        if day == 0 || day > days_in_month {
            return Err(GeoError::BadDate { year, month, day });
        }
        Ok(Self { year, month, day })
    }

    /// Year.
    #[must_use]
    pub fn year(self) -> i32 {
        self.year
    }

    /// Month, 1–12.
    #[must_use]
    pub fn month(self) -> u8 {
        self.month
    }

    /// Day of month, 1–31.
    #[must_use]
    pub fn day(self) -> u8 {
        self.day
    }

    /// The date `days` days after 1970-01-01 (H. Hinnant's `civil_from_days`).
    #[must_use]
    pub fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            month: u8::try_from(month).unwrap_or(1),
            day: u8::try_from(day).unwrap_or(1),
        }
    }

    /// Days since 1970-01-01 (H. Hinnant's `days_from_civil`).
    #[must_use]
    pub fn to_days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let m = i64::from(self.month);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The day of the week.
    #[must_use]
    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday.
        match (self.to_days() + 3).rem_euclid(7) {
            0 => Weekday::Mon,
            1 => Weekday::Tue,
            2 => Weekday::Wed,
            3 => Weekday::Thu,
            4 => Weekday::Fri,
            5 => Weekday::Sat,
            _ => Weekday::Sun,
        }
    }

    /// The day before.
    #[must_use]
    pub fn pred(self) -> Self {
        Self::from_days(self.to_days() - 1)
    }
}

/// A daily working window in local minutes of the day, `[start, end)`. When `end < start`
/// the window runs past midnight and belongs to the day it starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawWindow")]
pub struct WorkWindow {
    start_min: u16,
    end_min: u16,
}

#[derive(Deserialize)]
struct RawWindow {
    start_min: u16,
    end_min: u16,
}

impl TryFrom<RawWindow> for WorkWindow {
    type Error = GeoError;
    fn try_from(raw: RawWindow) -> Result<Self, Self::Error> {
        Self::new(raw.start_min, raw.end_min)
    }
}

impl WorkWindow {
    /// A window from `start_min` to `end_min` (minutes after local midnight, 0–1440).
    pub fn new(start_min: u16, end_min: u16) -> Result<Self, GeoError> {
        for m in [start_min, end_min] {
            if m > MINUTES_PER_DAY {
                return Err(GeoError::BadMinuteOfDay(m));
            }
        }
        if start_min == end_min {
            return Err(GeoError::EmptyWindow(start_min));
        }
        Ok(Self { start_min, end_min })
    }

    /// A window from `h1:m1` to `h2:m2`.
    pub fn hm(h1: u16, m1: u16, h2: u16, m2: u16) -> Result<Self, GeoError> {
        Self::new(h1 * 60 + m1, h2 * 60 + m2)
    }

    /// Start, minutes after local midnight.
    #[must_use]
    pub fn start_min(self) -> u16 {
        self.start_min
    }

    /// End, minutes after local midnight (earlier than the start for overnight windows).
    #[must_use]
    pub fn end_min(self) -> u16 {
        self.end_min
    }

    fn overnight(self) -> bool {
        self.end_min < self.start_min
    }
}

/// The org's working calendar: which days, which hours, in which time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingHours {
    /// The org's local time.
    pub offset: UtcOffset,
    /// Regular working days.
    pub days: Vec<Weekday>,
    /// Working windows on a working day (e.g. 08:30–12:00 and 13:00–18:00).
    pub windows: Vec<WorkWindow>,
    /// Dates off despite being regular working days (public holidays).
    pub days_off: Vec<CivilDate>,
    /// Dates worked despite not being regular working days (China's make-up days, 调休).
    pub extra_work_days: Vec<CivilDate>,
}

impl WorkingHours {
    /// Monday–Friday, one window, in `offset`.
    #[must_use]
    pub fn weekdays(offset: UtcOffset, window: WorkWindow) -> Self {
        Self {
            offset,
            days: Weekday::WORKWEEK.to_vec(),
            windows: vec![window],
            days_off: Vec::new(),
            extra_work_days: Vec::new(),
        }
    }

    /// Whether `date` is a working day.
    #[must_use]
    pub fn is_working_day(&self, date: CivilDate) -> bool {
        if self.extra_work_days.contains(&date) {
            return true;
        }
        self.days.contains(&date.weekday()) && !self.days_off.contains(&date)
    }

    /// Why `t_ms` is outside working time, or `None` inside it.
    #[must_use]
    pub fn off_reason(&self, t_ms: i64) -> Option<OffReason> {
        let (date, minute) = self.offset.local(t_ms);
        let today = self.is_working_day(date);
        let mut yesterday: Option<bool> = None;
        for w in &self.windows {
            let inside = if w.overnight() {
                (today && minute >= w.start_min)
                    || (minute < w.end_min
                        && *yesterday.get_or_insert_with(|| self.is_working_day(date.pred())))
            } else {
                today && minute >= w.start_min && minute < w.end_min
            };
            if inside {
                return None;
            }
        }
        Some(if today { OffReason::OutsideHours } else { OffReason::DayOff { date } })
    }
}

/// Why a tracking pause exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseKind {
    /// Approved leave.
    Leave,
    /// A trip the org does not track (e.g. a business trip outside the territory).
    Trip,
    /// Any other approved pause.
    Other,
}

/// A period during which tracking is paused, `[start, end)` in Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawPause")]
pub struct Pause {
    start_ms: i64,
    end_ms: i64,
    kind: PauseKind,
}

#[derive(Deserialize)]
struct RawPause {
    start_ms: i64,
    end_ms: i64,
    kind: PauseKind,
}

impl TryFrom<RawPause> for Pause {
    type Error = GeoError;
    fn try_from(raw: RawPause) -> Result<Self, Self::Error> {
        Self::new(raw.start_ms, raw.end_ms, raw.kind)
    }
}

impl Pause {
    /// A pause; refuses one that does not end after it starts.
    pub fn new(start_ms: i64, end_ms: i64, kind: PauseKind) -> Result<Self, GeoError> {
        if end_ms <= start_ms {
            return Err(GeoError::BadPeriod { start_ms, end_ms });
        }
        Ok(Self { start_ms, end_ms, kind })
    }

    /// Whether `t_ms` falls in the pause.
    #[must_use]
    pub fn covers(&self, t_ms: i64) -> bool {
        (self.start_ms..self.end_ms).contains(&t_ms)
    }

    /// The kind of pause.
    #[must_use]
    pub fn kind(&self) -> PauseKind {
        self.kind
    }
}

/// Why a fix is not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum OffReason {
    /// The rep is not on duty.
    OffDuty,
    /// A leave or other pause covers the fix time.
    Paused {
        /// What kind of pause.
        kind: PauseKind,
    },
    /// The fix falls on a day off (weekend, holiday).
    DayOff {
        /// The local date.
        date: CivilDate,
    },
    /// A working day, but outside every working window.
    OutsideHours,
}

/// The gate's answer for one fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum GateDecision {
    /// Store the fix.
    Record,
    /// Drop the fix without storing it.
    Drop {
        /// Why.
        reason: OffReason,
    },
}

/// Everything the gate needs: the calendar, the pauses, and how far ahead of `now` a fix
/// may be stamped (clock jitter between the GNSS time and the device clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingPolicy {
    /// The org's working calendar.
    pub hours: WorkingHours,
    /// Leave and other pauses for this rep.
    pub pauses: Vec<Pause>,
    /// Largest lead of a fix time over `now`, milliseconds (default 60 s).
    pub max_future_ms: i64,
}

impl TrackingPolicy {
    /// A policy with no pauses and a 60 s future allowance.
    #[must_use]
    pub fn new(hours: WorkingHours) -> Self {
        Self { hours, pauses: Vec::new(), max_future_ms: 60_000 }
    }

    /// Decides whether a fix taken at `fix_time_ms` may be stored, the rep being `on_duty`
    /// and the device clock reading `now_ms`. A fix from the future is an error, not a
    /// drop: it says the input is wrong, not that the rep is off.
    pub fn gate(&self, fix_time_ms: i64, on_duty: bool, now_ms: i64) -> Result<GateDecision, GeoError> {
        validate_not_future(fix_time_ms, now_ms, self.max_future_ms)?;
        let reason = if !on_duty {
            Some(OffReason::OffDuty)
        } else if let Some(p) = self.pauses.iter().find(|p| p.covers(fix_time_ms)) {
            Some(OffReason::Paused { kind: p.kind })
        } else {
            self.hours.off_reason(fix_time_ms)
        };
        Ok(match reason {
            None => GateDecision::Record,
            Some(reason) => GateDecision::Drop { reason },
        })
    }

    /// [`Self::gate`] for a whole fix, also refusing a bad accuracy.
    pub fn gate_fix(&self, fix: &LocationFix, on_duty: bool, now_ms: i64) -> Result<GateDecision, GeoError> {
        validate_accuracy(fix.accuracy_m)?;
        self.gate(fix.fix_time_ms, on_duty, now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LocationProvider, WgsPoint};

    /// Unix ms of a local (UTC+8) date and time.
    fn cst(y: i32, mo: u8, d: u8, h: i64, mi: i64) -> i64 {
        let days = CivilDate::new(y, mo, d).expect("date").to_days();
        days * MS_PER_DAY + (h * 60 + mi) * MS_PER_MINUTE - 480 * MS_PER_MINUTE
    }

    fn nine_to_six() -> TrackingPolicy {
        TrackingPolicy::new(WorkingHours::weekdays(
            UtcOffset::CHINA,
            WorkWindow::hm(9, 0, 18, 0).expect("window"),
        ))
    }

    fn gate(p: &TrackingPolicy, t: i64) -> GateDecision {
        p.gate(t, true, t + 1_000).expect("valid")
    }

    #[test]
    fn a_date_is_written_and_read_as_yyyy_mm_dd() {
        let date = CivilDate::new(2026, 2, 3).expect("exists");
        assert_eq!(date.to_string(), "2026-02-03");
        assert_eq!("2026-02-03".parse::<CivilDate>(), Ok(date));
        for bad in ["2026-2-3", "2026-02-03-01", "+026-02-03", "2026-0a-03", "", "2026-02"] {
            assert!(matches!(bad.parse::<CivilDate>(), Err(GeoError::BadDateText(_))), "{bad:?}");
        }
        assert!(matches!("2025-02-29".parse::<CivilDate>(), Err(GeoError::BadDate { .. })));
    }

    #[test]
    fn dates_and_weekdays() {
        assert_eq!(CivilDate::from_days(0), CivilDate::new(1970, 1, 1).expect("date"));
        assert_eq!(CivilDate::from_days(0).weekday(), Weekday::Thu);
        let d = CivilDate::new(2024, 2, 29).expect("leap day");
        assert_eq!(CivilDate::from_days(d.to_days()), d);
        assert_eq!(d.weekday(), Weekday::Thu);
        assert_eq!(CivilDate::new(2024, 3, 1).expect("date").pred(), d);
        assert!(matches!(CivilDate::new(2025, 2, 29), Err(GeoError::BadDate { .. })));
        assert!(CivilDate::new(2025, 13, 1).is_err());
    }

    #[test]
    fn utc_plus_eight_around_midnight() {
        // 2025-03-03 is a Monday. 23:59 Sunday local is 15:59 Sunday UTC; 00:00 Monday
        // local is still Sunday 16:00 in UTC.
        let sunday_late = cst(2025, 3, 2, 23, 59);
        let monday_midnight = cst(2025, 3, 3, 0, 0);
        assert_eq!(UtcOffset::CHINA.local(sunday_late).0.weekday(), Weekday::Sun);
        assert_eq!(UtcOffset::UTC.local(monday_midnight).0.weekday(), Weekday::Sun);
        assert_eq!(UtcOffset::CHINA.local(monday_midnight), (CivilDate::new(2025, 3, 3).expect("d"), 0));

        let p = nine_to_six();
        assert_eq!(gate(&p, cst(2025, 3, 3, 8, 59)), GateDecision::Drop { reason: OffReason::OutsideHours });
        assert_eq!(gate(&p, cst(2025, 3, 3, 9, 0)), GateDecision::Record);
        assert_eq!(gate(&p, cst(2025, 3, 3, 17, 59)), GateDecision::Record);
        assert_eq!(gate(&p, cst(2025, 3, 3, 18, 0)), GateDecision::Drop { reason: OffReason::OutsideHours });
        let sat = CivilDate::new(2025, 3, 1).expect("d");
        assert_eq!(
            gate(&p, cst(2025, 3, 1, 10, 0)),
            GateDecision::Drop { reason: OffReason::DayOff { date: sat } }
        );
        // An org on UTC working 00:00–12:00 Mon–Fri: 07:00 Monday in Shanghai is still
        // Sunday 23:00 there (dropped), 08:00 Monday in Shanghai is Monday 00:00 (recorded).
        let utc_org = TrackingPolicy::new(WorkingHours::weekdays(
            UtcOffset::UTC,
            WorkWindow::hm(0, 0, 12, 0).expect("window"),
        ));
        let sunday_utc = CivilDate::new(2025, 3, 2).expect("d");
        assert_eq!(
            gate(&utc_org, cst(2025, 3, 3, 7, 0)),
            GateDecision::Drop { reason: OffReason::DayOff { date: sunday_utc } }
        );
        assert_eq!(gate(&utc_org, cst(2025, 3, 3, 8, 0)), GateDecision::Record);
    }

    #[test]
    fn overnight_windows_belong_to_the_day_they_start() {
        let mut hours = WorkingHours::weekdays(UtcOffset::CHINA, WorkWindow::hm(22, 0, 6, 0).expect("w"));
        hours.days = vec![Weekday::Fri];
        let p = TrackingPolicy::new(hours);
        // Friday 2025-03-07 23:30 and Saturday 05:59 are in the Friday shift.
        assert_eq!(gate(&p, cst(2025, 3, 7, 23, 30)), GateDecision::Record);
        assert_eq!(gate(&p, cst(2025, 3, 8, 5, 59)), GateDecision::Record);
        assert!(matches!(gate(&p, cst(2025, 3, 8, 6, 0)), GateDecision::Drop { .. }));
        // Friday 05:00 belongs to Thursday's shift, which does not exist.
        assert!(matches!(gate(&p, cst(2025, 3, 7, 5, 0)), GateDecision::Drop { .. }));
        // 24:00 as an end is allowed.
        assert!(WorkWindow::new(1_200, 1_440).is_ok());
        assert_eq!(WorkWindow::new(600, 600), Err(GeoError::EmptyWindow(600)));
        assert_eq!(WorkWindow::new(0, 1_441), Err(GeoError::BadMinuteOfDay(1_441)));
    }

    #[test]
    fn holidays_make_up_days_pauses_and_duty() {
        let mut p = nine_to_six();
        let national_day = CivilDate::new(2025, 10, 1).expect("d"); // a Wednesday
        let make_up = CivilDate::new(2025, 9, 28).expect("d"); // a Sunday worked (调休)
        p.hours.days_off.push(national_day);
        p.hours.extra_work_days.push(make_up);
        assert_eq!(
            gate(&p, cst(2025, 10, 1, 10, 0)),
            GateDecision::Drop { reason: OffReason::DayOff { date: national_day } }
        );
        assert_eq!(gate(&p, cst(2025, 9, 28, 10, 0)), GateDecision::Record);

        p.pauses
            .push(Pause::new(cst(2025, 9, 29, 0, 0), cst(2025, 9, 30, 0, 0), PauseKind::Leave).expect("p"));
        assert_eq!(
            gate(&p, cst(2025, 9, 29, 10, 0)),
            GateDecision::Drop { reason: OffReason::Paused { kind: PauseKind::Leave } }
        );
        assert_eq!(gate(&p, cst(2025, 9, 30, 10, 0)), GateDecision::Record);
        let t = cst(2025, 9, 30, 10, 0);
        assert_eq!(p.gate(t, false, t), Ok(GateDecision::Drop { reason: OffReason::OffDuty }));
        assert!(Pause::new(5, 5, PauseKind::Trip).is_err());
    }

    #[test]
    fn bad_input_is_refused() {
        let p = nine_to_six();
        let t = cst(2025, 3, 3, 10, 0);
        assert_eq!(
            p.gate(t + 120_000, true, t),
            Err(GeoError::FixFromFuture { fix_ms: t + 120_000, ahead_ms: 120_000, max_ms: 60_000 })
        );
        assert_eq!(p.gate(t + 30_000, true, t), Ok(GateDecision::Record));
        let fix = LocationFix {
            point: WgsPoint::new(31.2, 121.5).expect("valid"),
            accuracy_m: -3.0,
            fix_time_ms: t,
            provider: LocationProvider::Gnss,
            is_mock: false,
        };
        assert_eq!(p.gate_fix(&fix, true, t), Err(GeoError::BadAccuracy(-3.0)));
        assert_eq!(UtcOffset::new(900), Err(GeoError::BadUtcOffset(900)));
        assert!(serde_json::from_str::<UtcOffset>("-900").is_err());
        assert!(serde_json::from_str::<WorkWindow>(r#"{"start_min":1500,"end_min":10}"#).is_err());
    }
}
