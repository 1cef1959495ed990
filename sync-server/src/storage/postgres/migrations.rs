//! The PostgreSQL schema's versions: numbered SQL files applied in order, all pending ones in
//! one transaction (a failed step leaves the database as it was), recorded in
//! `schema_migrations`.
//!
//! Several instances may start at once against one database: the whole run holds a
//! transaction-scoped advisory lock, so one instance migrates and the others wait, then find
//! nothing left to do. (rusqlite_migration, used for SQLite, does not speak PostgreSQL; the
//! crates that do, such as refinery, take no such lock.)

use deadpool_postgres::Object;

use crate::storage::{StorageError, StorageResult};

/// The migrations, in order; a migration's version is its position plus one.
const MIGRATIONS: &[&str] = &[include_str!("../../../migrations/postgres/001_schema.sql")];

/// The advisory lock key held while migrating (any constant unique to FieldKit).
const MIGRATION_LOCK: i64 = 0x4669_656c_644b_6974; // "FieldKit"

/// The schema version this build brings a database to.
pub(super) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Applies every migration the database lacks.
pub(super) async fn to_latest(client: &mut Object) -> StorageResult<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let current: i64 =
        tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).await?.try_get(0)?;
    if current > LATEST {
        return Err(StorageError::Refused(format!(
            "database schema version {current} is newer than this server's {LATEST}: upgrade the server"
        )));
    }
    for (version, sql) in (1_i64..).zip(MIGRATIONS) {
        if version <= current {
            continue;
        }
        tracing::info!(version, "applying postgres migration");
        tx.batch_execute(sql).await?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&version]).await?;
    }
    tx.commit().await?;
    Ok(())
}
