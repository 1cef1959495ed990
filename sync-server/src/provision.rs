//! Creating orgs and users: used by the operator's CLI, the demo and the tests.

use fieldkit_domain::ids::{OrgId, TeamId};
use fieldkit_domain::model::{DataScope, Org, Role, User};

use crate::auth;
use crate::storage::{NewUser, Storage, StorageError};

/// Why provisioning failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// A value was refused.
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Creates an org. The slug is what users type when they log in: lower-case ASCII letters,
/// digits and dashes.
pub async fn create_org(storage: &dyn Storage, slug: &str, name: &str) -> Result<Org, ProvisionError> {
    let ok = !slug.is_empty()
        && slug.len() <= 64
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(ProvisionError::Invalid(format!(
            "org slug {slug:?} must be 1-64 lower-case letters, digits or dashes"
        )));
    }
    Ok(storage.create_org(slug, name).await?)
}

/// A user to add with [`add_user`].
#[derive(Debug, Clone)]
pub struct UserSpec<'a> {
    /// Login name.
    pub username: &'a str,
    /// Name shown to colleagues.
    pub display_name: &'a str,
    /// Role.
    pub role: Role,
    /// Team.
    pub team_id: Option<TeamId>,
    /// Reach of the user's reads, when not their role's default.
    pub data_scope: Option<DataScope>,
    /// Password in clear (hashed here with argon2id).
    pub password: &'a str,
}

/// Adds a user to an org, hashing the password on a blocking thread.
pub async fn add_user(
    storage: &dyn Storage,
    org_id: OrgId,
    spec: UserSpec<'_>,
) -> Result<User, ProvisionError> {
    if spec.username.trim().is_empty() {
        return Err(ProvisionError::Invalid("username must not be empty".into()));
    }
    if spec.password.chars().count() < 8 {
        return Err(ProvisionError::Invalid("password must have at least 8 characters".into()));
    }
    let password = spec.password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| ProvisionError::Invalid(e.to_string()))?
        .map_err(ProvisionError::Invalid)?;
    Ok(storage
        .create_user(NewUser {
            org_id,
            username: spec.username.to_owned(),
            display_name: spec.display_name.to_owned(),
            role: spec.role,
            team_id: spec.team_id,
            data_scope: spec.data_scope,
            password_hash,
        })
        .await?)
}
