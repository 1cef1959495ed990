//! Orgs, users and bearer tokens in SQLite.

use fieldkit_domain::ids::{OrgId, UserId};
use fieldkit_domain::model::{DataScope, Org, Role, User};
use rusqlite::{OptionalExtension, Transaction, params};

use super::{departments, uuid_col};
use crate::storage::{NewToken, NewUser, StorageError, StorageResult, UserChange};

const USER_COLUMNS: &str = "u.id, u.org_id, u.username, u.display_name, u.role, u.team_id, u.data_scope";

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(4)?;
    let team: Option<String> = row.get(5)?;
    let scope: Option<String> = row.get(6)?;
    Ok(User {
        id: uuid_col(row, 0)?.into(),
        org_id: uuid_col(row, 1)?.into(),
        username: row.get(2)?,
        display_name: row.get(3)?,
        role: Role::parse(&role).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                4,
                rusqlite::types::Type::Text,
                format!("unknown role {role:?}").into(),
            )
        })?,
        team_id: team.map(|_| uuid_col(row, 5)).transpose()?.map(Into::into),
        data_scope: scope
            .map(|s| {
                DataScope::parse(&s).ok_or_else(|| {
                    rusqlite::Error::FromSqlConversionFailure(
                        6,
                        rusqlite::types::Type::Text,
                        format!("unknown data scope {s:?}").into(),
                    )
                })
            })
            .transpose()?,
        department_path: Vec::new(),
    })
}

/// `users` with their place in the org tree filled in.
fn placed(tx: &Transaction<'_>, org_id: OrgId, mut users: Vec<User>) -> StorageResult<Vec<User>> {
    if users.iter().any(|u| u.team_id.is_some()) {
        let tree = departments::tree(tx, org_id)?;
        for user in &mut users {
            user.department_path = user.team_id.map(|t| tree.path_to(t)).unwrap_or_default();
        }
    }
    Ok(users)
}

/// `user` with their place in the org tree filled in.
fn place(tx: &Transaction<'_>, user: Option<User>) -> StorageResult<Option<User>> {
    let Some(user) = user else { return Ok(None) };
    Ok(placed(tx, user.org_id, vec![user])?.pop())
}

pub(super) fn create_org(tx: &Transaction<'_>, slug: &str, name: &str) -> StorageResult<Org> {
    let org = Org { id: OrgId::new(), slug: slug.to_owned(), name: name.to_owned() };
    tx.execute(
        "INSERT INTO orgs (id, slug, name) VALUES (?1, ?2, ?3)",
        params![org.id.to_string(), slug, name],
    )
    .map_err(|e| {
        if is_unique_violation(&e) { StorageError::AlreadyExists(format!("org {slug:?}")) } else { e.into() }
    })?;
    Ok(org)
}

pub(super) fn org_by_slug(tx: &Transaction<'_>, slug: &str) -> StorageResult<Option<Org>> {
    Ok(tx
        .query_row("SELECT id, slug, name FROM orgs WHERE slug = ?1", [slug], |row| {
            Ok(Org { id: uuid_col(row, 0)?.into(), slug: row.get(1)?, name: row.get(2)? })
        })
        .optional()?)
}

pub(super) fn all(tx: &Transaction<'_>) -> StorageResult<Vec<Org>> {
    let mut stmt = tx.prepare("SELECT id, slug, name FROM orgs ORDER BY slug")?;
    let rows = stmt.query_map([], |row| {
        Ok(Org { id: uuid_col(row, 0)?.into(), slug: row.get(1)?, name: row.get(2)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn create_user(tx: &Transaction<'_>, new: NewUser) -> StorageResult<User> {
    let user = User {
        id: UserId::new(),
        org_id: new.org_id,
        username: new.username,
        display_name: new.display_name,
        role: new.role,
        team_id: new.team_id,
        data_scope: new.data_scope,
        department_path: Vec::new(),
    };
    tx.execute(
        "INSERT INTO users (id, org_id, username, display_name, role, team_id, password_hash, data_scope)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            user.id.to_string(),
            user.org_id.to_string(),
            user.username,
            user.display_name,
            user.role.as_str(),
            user.team_id.map(|t| t.to_string()),
            new.password_hash,
            user.data_scope.map(DataScope::as_str),
        ],
    )
    .map_err(|e| match e {
        e if is_unique_violation(&e) => StorageError::AlreadyExists(format!("user {:?}", user.username)),
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
        {
            StorageError::NotFound(format!("org {}", user.org_id))
        }
        e => e.into(),
    })?;
    Ok(place(tx, Some(user))?.expect("a user given in is a user out"))
}

pub(super) fn user(tx: &Transaction<'_>, org_id: OrgId, id: UserId) -> StorageResult<Option<User>> {
    let user = tx
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.org_id = ?1 AND u.id = ?2"),
            [org_id.to_string(), id.to_string()],
            user_from_row,
        )
        .optional()?;
    place(tx, user)
}

pub(super) fn users(tx: &Transaction<'_>, org_id: OrgId) -> StorageResult<Vec<User>> {
    let mut stmt =
        tx.prepare(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.org_id = ?1 ORDER BY u.username"))?;
    let rows = stmt.query_map([org_id.to_string()], user_from_row)?;
    placed(tx, org_id, rows.collect::<Result<_, _>>()?)
}

pub(super) fn credentials(
    tx: &Transaction<'_>,
    org_slug: &str,
    username: &str,
) -> StorageResult<Option<(User, String)>> {
    let found = tx
        .query_row(
            &format!(
                "SELECT {USER_COLUMNS}, u.password_hash FROM users u JOIN orgs o ON o.id = u.org_id
                 WHERE o.slug = ?1 AND u.username = ?2"
            ),
            [org_slug, username],
            |row| Ok((user_from_row(row)?, row.get(7)?)),
        )
        .optional()?;
    let Some((user, hash)) = found else { return Ok(None) };
    Ok(place(tx, Some(user))?.map(|user| (user, hash)))
}

pub(super) fn store_token(tx: &Transaction<'_>, token: NewToken) -> StorageResult<()> {
    tx.execute(
        "INSERT INTO tokens (token_sha256, user_id, device_id, expires_at_ms) VALUES (?1, ?2, ?3, ?4)",
        params![
            token.token_sha256,
            token.user_id.to_string(),
            token.device_id.to_string(),
            token.expires_at_ms
        ],
    )?;
    Ok(())
}

/// Deletes the token `old_sha256` and stores `new` in its place, if the old one is known, not
/// expired at `now_ms`, issued to `new`'s user and device, and that device is not revoked in
/// the user's org; answers whether it did.
pub(super) fn refresh_token(
    tx: &Transaction<'_>,
    old_sha256: &str,
    new: NewToken,
    now_ms: i64,
) -> StorageResult<bool> {
    let deleted = tx
        .prepare_cached(
            "DELETE FROM tokens
             WHERE token_sha256 = ?1 AND user_id = ?2 AND device_id = ?3 AND expires_at_ms > ?4
               AND NOT EXISTS (
                 SELECT 1 FROM device_revocations r JOIN users u ON u.org_id = r.org_id
                 WHERE u.id = tokens.user_id AND r.device_id = tokens.device_id)",
        )?
        .execute(params![old_sha256, new.user_id.to_string(), new.device_id.to_string(), now_ms])?;
    if deleted == 0 {
        return Ok(false);
    }
    store_token(tx, new)?;
    Ok(true)
}

pub(super) fn user_by_token(
    tx: &Transaction<'_>,
    token_sha256: &str,
    now_ms: i64,
) -> StorageResult<Option<User>> {
    let user = tx
        .query_row(
            &format!(
                "SELECT {USER_COLUMNS} FROM tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.token_sha256 = ?1 AND t.expires_at_ms > ?2"
            ),
            params![token_sha256, now_ms],
            user_from_row,
        )
        .optional()?;
    place(tx, user)
}

/// Applies `change` to the user and returns them as now stored.
pub(super) fn update_user(
    tx: &Transaction<'_>,
    org_id: OrgId,
    id: UserId,
    change: UserChange,
) -> StorageResult<User> {
    let mut user = user(tx, org_id, id)?.ok_or_else(|| StorageError::NotFound(format!("user {id}")))?;
    if let Some(team) = change.team_id.flatten()
        && !departments::exists(tx, org_id, team)?
    {
        return Err(StorageError::NotFound(format!("department {team}")));
    }
    if let Some(name) = change.display_name {
        user.display_name = name;
    }
    if let Some(role) = change.role {
        user.role = role;
    }
    if let Some(team) = change.team_id {
        user.team_id = team;
    }
    if let Some(scope) = change.data_scope {
        user.data_scope = scope;
    }
    tx.execute(
        "UPDATE users SET display_name = ?3, role = ?4, team_id = ?5, data_scope = ?6
         WHERE org_id = ?1 AND id = ?2",
        params![
            org_id.to_string(),
            id.to_string(),
            user.display_name,
            user.role.as_str(),
            user.team_id.map(|t| t.to_string()),
            user.data_scope.map(DataScope::as_str),
        ],
    )?;
    Ok(place(tx, Some(user))?.expect("a user given in is a user out"))
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::ids::{DeviceId, UserId};
    use fieldkit_domain::model::Role;

    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::{NewToken, NewUser, Storage};

    fn token(name: &str, user: UserId, device: DeviceId, expires_at_ms: i64) -> NewToken {
        NewToken { token_sha256: name.repeat(32), user_id: user, device_id: device.as_uuid(), expires_at_ms }
    }

    #[tokio::test]
    async fn a_refresh_replaces_an_unexpired_token_of_a_device_that_is_not_revoked_and_nothing_else()
    -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let storage = SqliteStorage::open(&dir.path().join("db.sqlite3"))?;
        let acme = storage.create_org("acme", "Acme").await?;
        let new_user = |username: &str| NewUser {
            org_id: acme.id,
            username: username.into(),
            display_name: username.into(),
            role: Role::Admin,
            team_id: None,
            data_scope: None,
            password_hash: "x".into(),
        };
        let (user, other) =
            (storage.create_user(new_user("a")).await?, storage.create_user(new_user("b")).await?);
        let device = DeviceId::new();
        storage.store_token(token("aa", user.id, device, 10_000)).await?;

        let wrong_user = token("bb", other.id, device, 20_000);
        assert!(!storage.refresh_token(&"aa".repeat(32), wrong_user, 5_000).await?, "another user's");
        let wrong_device = token("bb", user.id, DeviceId::new(), 20_000);
        assert!(!storage.refresh_token(&"aa".repeat(32), wrong_device, 5_000).await?, "another device's");
        let late = token("bb", user.id, device, 20_000);
        assert!(!storage.refresh_token(&"aa".repeat(32), late, 10_000).await?, "expired at 10 000");
        assert!(storage.user_by_token(&"aa".repeat(32), 5_000).await?.is_some(), "refusals changed nothing");

        assert!(storage.refresh_token(&"aa".repeat(32), token("bb", user.id, device, 20_000), 5_000).await?);
        assert!(storage.user_by_token(&"aa".repeat(32), 5_000).await?.is_none(), "the old one is gone");
        assert_eq!(storage.user_by_token(&"bb".repeat(32), 15_000).await?.map(|u| u.id), Some(user.id));
        assert!(!storage.refresh_token(&"aa".repeat(32), token("cc", user.id, device, 30_000), 5_000).await?);

        storage.revoke_device(acme.id, device, 6_000, other.id).await?;
        assert!(!storage.refresh_token(&"bb".repeat(32), token("dd", user.id, device, 30_000), 7_000).await?);
        assert!(
            storage.user_by_token(&"dd".repeat(32), 7_000).await?.is_none(),
            "a revoked device gets none"
        );
        Ok(())
    }
}
