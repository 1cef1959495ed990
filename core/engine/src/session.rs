//! The logged-in session, persisted so that the app works offline after one login.

use fieldkit_domain::model::User;
use rusqlite::{Connection, Transaction};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::{meta, parse_json, to_json};

/// Who is logged in on this phone, and their bearer token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Session {
    pub token: String,
    pub expires_at_ms: i64,
    pub user: User,
}

pub(crate) fn load(conn: &Connection) -> Result<Option<Session>> {
    meta::get(conn, meta::SESSION)?.map(|s| parse_json("session", &s)).transpose()
}

pub(crate) fn save(tx: &Transaction<'_>, session: &Session) -> Result<()> {
    meta::set(tx, meta::SESSION, &to_json(session))
}
