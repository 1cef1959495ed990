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
