//! The schema: numbered `.sql` migrations applied in order, tracked by `PRAGMA user_version`.

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use crate::error::{Error, Result};

const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../../migrations/001_init.sql")),
    M::up(include_str!("../../migrations/002_documents.sql")),
    M::up(include_str!("../../migrations/003_blobs.sql")),
    M::up(include_str!("../../migrations/004_kb_search.sql")),
    M::up(include_str!("../../migrations/005_tracks.sql")),
    M::up(include_str!("../../migrations/006_customer_index.sql")),
    M::up(include_str!("../../migrations/007_open_visits.sql")),
    M::up(include_str!("../../migrations/008_facts_by_visit_kind.sql")),
    M::up(include_str!("../../migrations/009_closed_documents.sql")),
];

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Brings `conn` to [`SCHEMA_VERSION`]; refuses a database from a newer build.
/// The pending steps run in one immediate transaction (the connection's default
/// behaviour): a failed step leaves the file at its old version, never between two.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, MIGRATIONS)
}

fn migrate_to(conn: &mut Connection, migrations: &'static [M<'static>]) -> Result<()> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let found = usize::try_from(found).unwrap_or(usize::MAX);
    if found > migrations.len() {
        return Err(Error::SchemaTooNew { found, supported: SCHEMA_VERSION });
    }
    Migrations::from_slice(migrations).to_latest(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(conn: &Connection) -> Vec<(String, String, String)> {
        let mut stmt = conn
            .prepare("SELECT type, name, COALESCE(sql, '') FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn a_database_migrated_step_by_step_equals_a_fresh_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let stepped_path = dir.path().join("stepped.db");
        for step in 1..=MIGRATIONS.len() {
            // Each step is a separate app version opening the file left by the previous one.
            let mut conn = Connection::open(&stepped_path).expect("open");
            migrate_to(&mut conn, &MIGRATIONS[..step]).expect("migrate one step");
            let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
            assert_eq!(version, i64::try_from(step).expect("small"));
        }
        let stepped = Connection::open(&stepped_path).expect("open");
        let mut fresh = Connection::open(dir.path().join("fresh.db")).expect("open");
        migrate(&mut fresh).expect("migrate");
        assert_eq!(schema_of(&stepped), schema_of(&fresh));
        assert!(schema_of(&fresh).iter().any(|(_, name, _)| name == "outbox"));
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("first");
        let before = schema_of(&conn);
        migrate(&mut conn).expect("second");
        assert_eq!(schema_of(&conn), before);
    }
}
