//! The logged-in session, persisted so that the app works offline after one login, and the
//! refresh of its bearer token before the token expires.
//!
//! A sync that starts when less than a quarter of the token's lifetime is left (less than
//! [`UNKNOWN_LIFETIME_WINDOW_MS`] for a session saved before its lifetime was kept) first
//! trades the token for a fresh one (`POST /v1/token/refresh`) and stores the new token and
//! expiry in one transaction. A phone that syncs now and then therefore never has to ask
//! for the password again. A refresh that fails (offline, a revoked device, a token already
//! expired) changes nothing: the sync goes on with the token it has, and an expired one ends
//! in [`Error::SessionExpired`] as before, so the app asks the user to log in again.

use fieldkit_domain::model::User;
use fieldkit_domain::protocol::LoginResponse;
use rusqlite::{Connection, Transaction};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{Store, meta, parse_json, to_json};
use crate::sync::HttpClient;

/// How long before expiry a token of unknown lifetime is refreshed: three days.
pub(crate) const UNKNOWN_LIFETIME_WINDOW_MS: i64 = 3 * 24 * 60 * 60 * 1000;

/// Who is logged in on this phone, and their bearer token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Session {
    pub token: String,
    /// When the token stops working, server Unix milliseconds.
    pub expires_at_ms: i64,
    pub user: User,
    /// When the server issued the token, server Unix milliseconds (`None` in sessions saved
    /// before it was kept).
    #[serde(default)]
    pub issued_at_ms: Option<i64>,
}

impl Session {
    /// The session a login's (or a refresh's) answer starts.
    pub(crate) fn from_answer(answer: LoginResponse) -> Self {
        Self {
            token: answer.token,
            expires_at_ms: answer.expires_at_ms,
            user: answer.user,
            issued_at_ms: Some(answer.server_time_ms),
        }
    }

    /// Whether the token is due for a refresh at server time `now_ms`: less than a quarter
    /// of its lifetime left (or less than [`UNKNOWN_LIFETIME_WINDOW_MS`] if the lifetime is
    /// unknown). An expired token is due too; the server decides.
    pub(crate) fn refresh_due(&self, now_ms: i64) -> bool {
        let window = self.issued_at_ms.map_or(UNKNOWN_LIFETIME_WINDOW_MS, |issued| {
            self.expires_at_ms.saturating_sub(issued).max(0) / 4
        });
        self.expires_at_ms.saturating_sub(now_ms) <= window
    }
}

pub(crate) fn load(conn: &Connection) -> Result<Option<Session>> {
    meta::get(conn, meta::SESSION)?.map(|s| parse_json("session", &s)).transpose()
}

pub(crate) fn save(tx: &Transaction<'_>, session: &Session) -> Result<()> {
    meta::set(tx, meta::SESSION, &to_json(session))
}

/// Refreshes `session`'s token first if it is due at server time `server_now_ms` (see the
/// module doc), and answers the session to sync with. The new session replaces the stored
/// one only if that still holds the old token: a login that happened meanwhile wins, and its
/// session is answered.
pub(crate) async fn refresh_if_due(
    store: &Store,
    client: &HttpClient,
    session: Session,
    server_now_ms: i64,
) -> Result<Session> {
    if !session.refresh_due(server_now_ms) {
        return Ok(session);
    }
    let answer = match client.refresh(&session.token).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(error = %e, "token refresh failed; syncing with the current token");
            return Ok(session);
        }
    };
    let fresh = Session::from_answer(answer);
    store.write(|tx| {
        let stored = load(tx)?.ok_or(Error::NotLoggedIn)?;
        if stored.token != session.token {
            tracing::info!("a login replaced the session during the token refresh; keeping it");
            return Ok(stored);
        }
        save(tx, &fresh)?;
        tracing::info!(expires_at_ms = fresh.expires_at_ms, "session token refreshed");
        Ok(fresh)
    })
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::ids::{OrgId, UserId};
    use fieldkit_domain::model::{Role, User};

    use super::{Session, UNKNOWN_LIFETIME_WINDOW_MS};

    fn session(issued_at_ms: Option<i64>, expires_at_ms: i64) -> Session {
        let user = User {
            id: UserId::new(),
            org_id: OrgId::new(),
            username: "rep".into(),
            display_name: "Rep".into(),
            role: Role::Rep,
            team_id: None,
            data_scope: None,
            department_path: Vec::new(),
        };
        Session { token: "fk_t".into(), expires_at_ms, user, issued_at_ms }
    }

    #[test]
    fn a_token_is_refreshed_once_a_quarter_of_its_lifetime_is_left() {
        let s = session(Some(0), 40_000);
        assert!(!s.refresh_due(29_999), "more than a quarter left");
        assert!(s.refresh_due(30_000), "a quarter left");
        assert!(s.refresh_due(50_000), "expired: the server decides");
    }

    #[test]
    fn a_token_of_unknown_lifetime_is_refreshed_within_three_days_of_expiry() {
        let expiry = 10 * UNKNOWN_LIFETIME_WINDOW_MS;
        let s = session(None, expiry);
        assert!(!s.refresh_due(expiry - UNKNOWN_LIFETIME_WINDOW_MS - 1));
        assert!(s.refresh_due(expiry - UNKNOWN_LIFETIME_WINDOW_MS));
    }

    #[test]
    fn a_session_saved_before_the_issue_time_was_kept_still_reads() {
        let old = r#"{"token":"fk_t","expires_at_ms":5,"user":{"id":"01900000-0000-7000-8000-000000000001","org_id":"01900000-0000-7000-8000-000000000002","username":"rep","display_name":"Rep","role":"rep","team_id":null}}"#;
        let parsed: Session = serde_json::from_str(old).expect("an old session parses");
        assert_eq!((parsed.expires_at_ms, parsed.issued_at_ms), (5, None));
    }
}
