//! The org's settings that phones need offline: check-in rules, the working calendar that
//! gates tracking, and how long tracks are kept.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::checkin::{CheckInError, CheckInPolicy};
use crate::geo::{FilterConfig, UtcOffset, WorkWindow, WorkingHours};

/// The org's settings, one record per org, sent to every member through the feed.
/// [`Default`] is the field-facts defaults (200 m radius, weekdays 09:00–18:00 China time,
/// tracks kept 30 days).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgSettings {
    /// How check-ins and check-outs are judged.
    pub check_in: CheckInPolicy,
    /// When reps may be tracked (outside it, fixes are dropped at the door).
    pub working_hours: WorkingHours,
    /// Accuracy and speed thresholds for track fixes.
    pub track_filter: FilterConfig,
    /// Days a track point is kept, on the phone and on the server (at least 1).
    pub track_retention_days: u32,
    /// How often each grade of customer is visited, for the generated visit plans.
    #[serde(default)]
    pub visit_frequency: VisitFrequency,
    /// What a check-out with required SOP steps still open does.
    #[serde(default)]
    pub sop_incomplete: SopIncomplete,
}

/// Days between visits per customer grade (A weekly, B every two weeks, C monthly by
/// default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitFrequency {
    /// Days between visits to an A customer.
    pub a_days: u32,
    /// Days between visits to a B customer.
    pub b_days: u32,
    /// Days between visits to a C customer.
    pub c_days: u32,
}

impl Default for VisitFrequency {
    fn default() -> Self {
        Self { a_days: 7, b_days: 14, c_days: 30 }
    }
}

impl VisitFrequency {
    /// Days between visits for `grade`.
    #[must_use]
    pub fn days(&self, grade: crate::model::Grade) -> u32 {
        match grade {
            crate::model::Grade::A => self.a_days,
            crate::model::Grade::B => self.b_days,
            crate::model::Grade::C => self.c_days,
        }
    }
}

/// What a check-out does while required SOP steps are not done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SopIncomplete {
    /// Refuse the check-out until they are done.
    Refuse,
    /// Allow it; the check-out names the missing steps for the manager.
    #[default]
    Flag,
}

/// Settings that break a rule. Messages are lower-case and name the offending value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
    /// A check-in threshold is wrong.
    #[error(transparent)]
    CheckIn(#[from] CheckInError),
    /// A track filter threshold is not a finite, positive number.
    #[error("track filter {field} {value} must be a finite, positive number")]
    BadTrackFilter {
        /// Which threshold.
        field: &'static str,
        /// The offending value.
        value: f64,
    },
    /// Track retention outside 1..=3650 days.
    #[error("track retention of {0} days must be between 1 and 3650")]
    BadRetention(u32),
    /// Days between visits outside 1..=366.
    #[error("visit frequency of {0} days must be between 1 and 366")]
    BadVisitFrequency(u32),
    /// Working hours with no working window: nobody could ever be tracked.
    #[error("working hours need at least one working window")]
    NoWorkWindow,
}

impl OrgSettings {
    /// Checks every rule above.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.check_in.validate()?;
        for (field, value) in [
            ("max accuracy", self.track_filter.max_accuracy_m),
            ("max speed", self.track_filter.max_speed_mps),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(SettingsError::BadTrackFilter { field, value });
            }
        }
        if !(1..=3650).contains(&self.track_retention_days) {
            return Err(SettingsError::BadRetention(self.track_retention_days));
        }
        let f = self.visit_frequency;
        if let Some(days) = [f.a_days, f.b_days, f.c_days].into_iter().find(|d| !(1..=366).contains(d)) {
            return Err(SettingsError::BadVisitFrequency(days));
        }
        if self.working_hours.windows.is_empty() {
            return Err(SettingsError::NoWorkWindow);
        }
        Ok(())
    }

    /// The id of the settings record (one per org, so a fixed id).
    pub const RECORD_ID: Uuid = Uuid::nil();

    /// Track retention in milliseconds.
    #[must_use]
    pub fn track_retention_ms(&self) -> i64 {
        i64::from(self.track_retention_days.max(1)) * 86_400_000
    }
}

impl Default for OrgSettings {
    fn default() -> Self {
        Self {
            check_in: CheckInPolicy::default(),
            working_hours: WorkingHours::weekdays(
                UtcOffset::CHINA,
                WorkWindow::hm(9, 0, 18, 0).expect("09:00-18:00 is a valid window"),
            ),
            track_filter: FilterConfig::default(),
            track_retention_days: 30,
            visit_frequency: VisitFrequency::default(),
            sop_incomplete: SopIncomplete::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_round_trip_through_json() {
        let settings = OrgSettings::default();
        settings.validate().expect("defaults are valid");
        let json = serde_json::to_string(&settings).expect("serializes");
        assert_eq!(serde_json::from_str::<OrgSettings>(&json).expect("parses"), settings);
    }

    #[test]
    fn bad_settings_are_refused_naming_the_value() {
        let mut s = OrgSettings { track_retention_days: 0, ..OrgSettings::default() };
        assert_eq!(s.validate(), Err(SettingsError::BadRetention(0)));
        s.track_retention_days = 7;
        s.track_filter.max_speed_mps = f64::NAN;
        assert!(matches!(s.validate(), Err(SettingsError::BadTrackFilter { field: "max speed", .. })));
        s.track_filter = FilterConfig::default();
        s.check_in.default_radius_m = -1.0;
        assert!(matches!(s.validate(), Err(SettingsError::CheckIn(_))));
        s.check_in = CheckInPolicy::default();
        s.working_hours.windows.clear();
        assert_eq!(s.validate(), Err(SettingsError::NoWorkWindow));
    }
}
