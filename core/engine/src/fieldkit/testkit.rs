//! Unit-test fixtures of the facade: an engine over a temp database whose server is never
//! reached, and a session saved as a login would save it.

use fieldkit_domain::ids::{OrgId, TeamId, UserId};
use fieldkit_domain::model::{Role, User};
use tempfile::TempDir;

use super::{Config, FieldKit};
use crate::session::{self, Session};

/// An engine over `phone.db` in `dir`, pointed at a port where nothing listens.
pub(crate) fn open(dir: &TempDir) -> FieldKit {
    FieldKit::open(Config {
        db_path: dir.path().join("phone.db"),
        server_url: "http://127.0.0.1:9".into(),
        org: "acme".into(),
    })
    .expect("the engine opens")
}

/// Saves a rep's session in `team_id` as a login would, and returns the rep.
pub(crate) fn log_in(kit: &FieldKit, team_id: Option<TeamId>) -> User {
    let user = User {
        id: UserId::new(),
        org_id: OrgId::new(),
        username: "rep".into(),
        display_name: "Rep".into(),
        role: Role::Rep,
        team_id,
        data_scope: None,
        department_path: Vec::new(),
    };
    let session =
        Session { token: "token".into(), expires_at_ms: i64::MAX, user: user.clone(), issued_at_ms: None };
    kit.store.write(|tx| session::save(tx, &session)).expect("session saved");
    user
}
