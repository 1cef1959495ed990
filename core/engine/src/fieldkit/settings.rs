//! The org's settings as this phone last received them (the defaults before the first sync).

use fieldkit_domain::model::OrgSettings;
use fieldkit_domain::protocol::{Record, RecordKind};
use rusqlite::Connection;

use super::FieldKit;
use crate::error::Result;
use crate::store::records;

impl FieldKit {
    /// The org's check-in rules, working hours and track retention as last synced; the
    /// defaults (200 m, weekdays 09:00–18:00 China time, 30 days) before the first sync.
    pub fn org_settings(&self) -> Result<OrgSettings> {
        self.store.read(load)
    }
}

/// Reads the stored settings, or the defaults.
pub(crate) fn load(conn: &Connection) -> Result<OrgSettings> {
    Ok(match records::get(conn, RecordKind::OrgSettings, OrgSettings::RECORD_ID)? {
        Some(Record::OrgSettings(settings)) => settings,
        _ => OrgSettings::default(),
    })
}
