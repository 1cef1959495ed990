//! Orgs, users and bearer tokens in PostgreSQL.

use fieldkit_domain::ids::{OrgId, UserId};
use fieldkit_domain::model::{DataScope, Org, Role, User};
use tokio_postgres::error::SqlState;

use super::{Tx, departments, uuid_col};
use crate::storage::{NewToken, NewUser, StorageError, StorageResult, UserChange};

const USER_COLUMNS: &str = "u.id, u.org_id, u.username, u.display_name, u.role, u.team_id, u.data_scope";

fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

fn user_from_row(row: &tokio_postgres::Row) -> StorageResult<User> {
    let role: String = row.try_get(4)?;
    let team: Option<String> = row.try_get(5)?;
    let scope: Option<String> = row.try_get(6)?;
    Ok(User {
        id: uuid_col(row, 0)?.into(),
        org_id: uuid_col(row, 1)?.into(),
        username: row.try_get(2)?,
        display_name: row.try_get(3)?,
        role: Role::parse(&role).ok_or_else(|| StorageError::Unreadable(format!("role {role:?}")))?,
        team_id: team.map(|_| uuid_col(row, 5)).transpose()?.map(Into::into),
        data_scope: scope
            .map(|s| {
                DataScope::parse(&s).ok_or_else(|| StorageError::Unreadable(format!("data scope {s:?}")))
            })
            .transpose()?,
        department_path: Vec::new(),
    })
}

fn org_from_row(row: &tokio_postgres::Row) -> StorageResult<Org> {
    Ok(Org { id: uuid_col(row, 0)?.into(), slug: row.try_get(1)?, name: row.try_get(2)? })
}

/// `users` with their place in the org tree filled in.
async fn placed(tx: &Tx<'_>, org_id: OrgId, mut users: Vec<User>) -> StorageResult<Vec<User>> {
    if users.iter().any(|u| u.team_id.is_some()) {
        let tree = departments::tree(tx, org_id).await?;
        for user in &mut users {
            user.department_path = user.team_id.map(|t| tree.path_to(t)).unwrap_or_default();
        }
    }
    Ok(users)
}

/// `user` with their place in the org tree filled in.
async fn place(tx: &Tx<'_>, user: Option<User>) -> StorageResult<Option<User>> {
    let Some(user) = user else { return Ok(None) };
    let org_id = user.org_id;
    Ok(placed(tx, org_id, vec![user]).await?.pop())
}

pub(super) async fn create_org(tx: &Tx<'_>, slug: &str, name: &str) -> StorageResult<Org> {
    let org = Org { id: OrgId::new(), slug: slug.to_owned(), name: name.to_owned() };
    tx.execute("INSERT INTO orgs (id, slug, name) VALUES ($1, $2, $3)", &[&org.id.to_string(), &slug, &name])
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StorageError::AlreadyExists(format!("org {slug:?}"))
            } else {
                e.into()
            }
        })?;
    Ok(org)
}

pub(super) async fn org_by_slug(tx: &Tx<'_>, slug: &str) -> StorageResult<Option<Org>> {
    let row = tx.query_opt("SELECT id, slug, name FROM orgs WHERE slug = $1", &[&slug]).await?;
    row.as_ref().map(org_from_row).transpose()
}

pub(super) async fn all(tx: &Tx<'_>) -> StorageResult<Vec<Org>> {
    // `COLLATE "C"`: byte order, as SQLite sorts, whatever the database's locale.
    let rows = tx.query(r#"SELECT id, slug, name FROM orgs ORDER BY slug COLLATE "C""#, &[]).await?;
    rows.iter().map(org_from_row).collect()
}

pub(super) async fn create_user(tx: &Tx<'_>, new: NewUser) -> StorageResult<User> {
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &user.id.to_string(),
            &user.org_id.to_string(),
            &user.username,
            &user.display_name,
            &user.role.as_str(),
            &user.team_id.map(|t| t.to_string()),
            &new.password_hash,
            &user.data_scope.map(DataScope::as_str),
        ],
    )
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StorageError::AlreadyExists(format!("user {:?}", user.username))
        } else if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) {
            StorageError::NotFound(format!("org {}", user.org_id))
        } else {
            e.into()
        }
    })?;
    Ok(place(tx, Some(user)).await?.expect("a user given in is a user out"))
}

pub(super) async fn user(tx: &Tx<'_>, org_id: OrgId, id: UserId) -> StorageResult<Option<User>> {
    let statement = tx
        .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.org_id = $1 AND u.id = $2"))
        .await?;
    let row = tx.query_opt(&statement, &[&org_id.to_string(), &id.to_string()]).await?;
    let user = row.as_ref().map(user_from_row).transpose()?;
    place(tx, user).await
}

pub(super) async fn users(tx: &Tx<'_>, org_id: OrgId) -> StorageResult<Vec<User>> {
    let rows = tx
        .query(
            // `COLLATE "C"`: byte order, as SQLite sorts, whatever the database's locale.
            &format!(
                r#"SELECT {USER_COLUMNS} FROM users u WHERE u.org_id = $1 ORDER BY u.username COLLATE "C""#
            ),
            &[&org_id.to_string()],
        )
        .await?;
    let users = rows.iter().map(user_from_row).collect::<StorageResult<_>>()?;
    placed(tx, org_id, users).await
}

pub(super) async fn credentials(
    tx: &Tx<'_>,
    org_slug: &str,
    username: &str,
) -> StorageResult<Option<(User, String)>> {
    let row = tx
        .query_opt(
            &format!(
                "SELECT {USER_COLUMNS}, u.password_hash FROM users u JOIN orgs o ON o.id = u.org_id
                 WHERE o.slug = $1 AND u.username = $2"
            ),
            &[&org_slug, &username],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let (user, hash): (User, String) = (user_from_row(&row)?, row.try_get(7)?);
    Ok(place(tx, Some(user)).await?.map(|user| (user, hash)))
}

pub(super) async fn store_token(tx: &Tx<'_>, token: NewToken) -> StorageResult<()> {
    tx.execute(
        "INSERT INTO tokens (token_sha256, user_id, device_id, expires_at_ms) VALUES ($1, $2, $3, $4)",
        &[
            &token.token_sha256,
            &token.user_id.to_string(),
            &token.device_id.to_string(),
            &token.expires_at_ms,
        ],
    )
    .await?;
    Ok(())
}

/// Deletes the token `old_sha256` and stores `new` in its place, if the old one is known, not
/// expired at `now_ms`, issued to `new`'s user and device, and that device is not revoked in
/// the user's org; answers whether it did. A concurrent refresh of the same token waits on
/// the row's lock and then finds it gone.
pub(super) async fn refresh_token(
    tx: &Tx<'_>,
    old_sha256: &str,
    new: NewToken,
    now_ms: i64,
) -> StorageResult<bool> {
    // The user's org lock first, as every org write takes it: a revocation of the device
    // cannot commit between the check below and the new token.
    let lock = tx
        .prepare_cached("SELECT 1 FROM orgs WHERE id = (SELECT org_id FROM users WHERE id = $1) FOR UPDATE")
        .await?;
    tx.query_opt(&lock, &[&new.user_id.to_string()]).await?;
    let statement = tx
        .prepare_cached(
            "DELETE FROM tokens
             WHERE token_sha256 = $1 AND user_id = $2 AND device_id = $3 AND expires_at_ms > $4
               AND NOT EXISTS (
                 SELECT 1 FROM device_revocations r JOIN users u ON u.org_id = r.org_id
                 WHERE u.id = tokens.user_id AND r.device_id = tokens.device_id)",
        )
        .await?;
    let deleted = tx
        .execute(&statement, &[&old_sha256, &new.user_id.to_string(), &new.device_id.to_string(), &now_ms])
        .await?;
    if deleted == 0 {
        return Ok(false);
    }
    store_token(tx, new).await?;
    Ok(true)
}

pub(super) async fn user_by_token(
    tx: &Tx<'_>,
    token_sha256: &str,
    now_ms: i64,
) -> StorageResult<Option<User>> {
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_sha256 = $1 AND t.expires_at_ms > $2"
        ))
        .await?;
    let row = tx.query_opt(&statement, &[&token_sha256, &now_ms]).await?;
    let user = row.as_ref().map(user_from_row).transpose()?;
    place(tx, user).await
}

/// Applies `change` to the user and returns them as now stored.
pub(super) async fn update_user(
    tx: &Tx<'_>,
    org_id: OrgId,
    id: UserId,
    change: UserChange,
) -> StorageResult<User> {
    let mut user = user(tx, org_id, id).await?.ok_or_else(|| StorageError::NotFound(format!("user {id}")))?;
    if let Some(team) = change.team_id.flatten()
        && !departments::exists(tx, org_id, team).await?
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
        "UPDATE users SET display_name = $3, role = $4, team_id = $5, data_scope = $6
         WHERE org_id = $1 AND id = $2",
        &[
            &org_id.to_string(),
            &id.to_string(),
            &user.display_name,
            &user.role.as_str(),
            &user.team_id.map(|t| t.to_string()),
            &user.data_scope.map(DataScope::as_str),
        ],
    )
    .await?;
    Ok(place(tx, Some(user)).await?.expect("a user given in is a user out"))
}

#[cfg(test)]
mod tests {
    //! Need a PostgreSQL server, as `super::super::tests` explains: without
    //! `FIELDKIT_PG_URL` they print why and pass, unless `FIELDKIT_REQUIRE_POSTGRES=1`.

    use fieldkit_domain::ids::{DeviceId, UserId};
    use fieldkit_domain::model::Role;
    use uuid::Uuid;

    use crate::storage::postgres::PgStorage;
    use crate::storage::{NewToken, NewUser, Storage};

    fn token(name: &str, user: UserId, device: DeviceId, expires_at_ms: i64) -> NewToken {
        NewToken { token_sha256: name.repeat(32), user_id: user, device_id: device.as_uuid(), expires_at_ms }
    }

    #[tokio::test]
    async fn a_refresh_replaces_an_unexpired_token_of_a_device_that_is_not_revoked_and_nothing_else()
    -> anyhow::Result<()> {
        let Some(url) = std::env::var("FIELDKIT_PG_URL").ok().filter(|u| !u.is_empty()) else {
            anyhow::ensure!(
                std::env::var("FIELDKIT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "FIELDKIT_REQUIRE_POSTGRES=1 but FIELDKIT_PG_URL is not set"
            );
            eprintln!("skipped: no PostgreSQL (set FIELDKIT_PG_URL, see scripts/pg-test-cluster)");
            return Ok(());
        };
        let config =
            PgStorage::ensure_database(&url, &format!("fk_unit_{}", Uuid::now_v7().simple())).await?;
        let storage = PgStorage::connect_with(config, 2).await?;
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
