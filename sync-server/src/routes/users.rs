//! `/v1/users`: the people of the org, their roles, departments and data scopes. A caller
//! lists the users their scope reaches; only an admin adds users or changes them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldkit_domain::ids::{TeamId, UserId};
use fieldkit_domain::model::{DataScope, Role, User};
use serde::{Deserialize, Serialize};

use super::double_option;
use crate::audit::{AuditAction, record};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::provision::{self, ProvisionError, UserSpec};
use crate::state::AppState;
use crate::storage::UserChange;

/// A user as the admin API shows them (never a password hash).
#[derive(Debug, Serialize)]
pub(super) struct UserView {
    id: UserId,
    username: String,
    display_name: String,
    role: Role,
    team_id: Option<TeamId>,
    /// The scope in force (the role's default unless set).
    data_scope: DataScope,
    /// Whether the scope was set by an admin rather than taken from the role.
    data_scope_set: bool,
    department_path: Vec<TeamId>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            data_scope: u.scope(),
            data_scope_set: u.data_scope.is_some(),
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            team_id: u.team_id,
            department_path: u.department_path,
        }
    }
}

/// `POST /v1/users` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewUserBody {
    username: String,
    display_name: String,
    role: Role,
    #[serde(default)]
    team_id: Option<TeamId>,
    #[serde(default)]
    data_scope: Option<DataScope>,
    password: String,
}

/// `PATCH /v1/users/{id}` body; `null` clears `team_id` or resets `data_scope` to the role's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserChangeBody {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    role: Option<Role>,
    #[serde(default, deserialize_with = "double_option")]
    team_id: Option<Option<TeamId>>,
    #[serde(default, deserialize_with = "double_option")]
    data_scope: Option<Option<DataScope>>,
}

/// The fields a change sets, by name, for the audit log (never their values).
fn changed_fields(body: &UserChangeBody) -> String {
    let fields = [
        ("display_name", body.display_name.is_some()),
        ("role", body.role.is_some()),
        ("team_id", body.team_id.is_some()),
        ("data_scope", body.data_scope.is_some()),
    ];
    let named: Vec<&str> = fields.iter().filter(|(_, set)| *set).map(|(name, _)| *name).collect();
    if named.is_empty() { "nothing".to_owned() } else { named.join(", ") }
}

fn admin_only(caller: &User) -> ApiResult<()> {
    if caller.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("role {} may not change users", caller.role.as_str())))
    }
}

async fn check_department(state: &AppState, caller: &User, team: Option<TeamId>) -> ApiResult<()> {
    let Some(team) = team else { return Ok(()) };
    if state.storage.departments(caller.org_id).await?.iter().any(|d| d.id == team) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("department {team} not found")))
    }
}

/// `GET /v1/users`: the users the caller's scope reaches, themselves included.
pub(super) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<UserView>>> {
    let users = state.storage.users(caller.org_id).await?;
    Ok(Json(users.into_iter().filter(|u| caller.may_read(u)).map(UserView::from).collect()))
}

/// `POST /v1/users`: adds a user (admins only).
pub(super) async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewUserBody>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    admin_only(&caller)?;
    check_department(&state, &caller, body.team_id).await?;
    let spec = UserSpec {
        username: body.username.trim(),
        display_name: body.display_name.trim(),
        role: body.role,
        team_id: body.team_id,
        data_scope: body.data_scope,
        password: &body.password,
    };
    let user =
        provision::add_user(state.storage.as_ref(), caller.org_id, spec).await.map_err(|e| match e {
            ProvisionError::Invalid(why) => ApiError::invalid(why),
            ProvisionError::Storage(e) => e.into(),
        })?;
    tracing::info!(org = %caller.org_id, user = %user.id, role = user.role.as_str(), "user added");
    record(&state, &caller, AuditAction::UserCreated, user.id, format!("role {}", user.role.as_str()))
        .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// `PATCH /v1/users/{id}`: changes a user's name, role, department or scope (admins only).
pub(super) async fn patch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(body): ApiJson<UserChangeBody>,
) -> ApiResult<Json<UserView>> {
    admin_only(&caller)?;
    check_department(&state, &caller, body.team_id.flatten()).await?;
    if let Some(name) = &body.display_name
        && name.trim().is_empty()
    {
        return Err(ApiError::invalid("display_name must not be empty"));
    }
    let changed = changed_fields(&body);
    let change = UserChange {
        display_name: body.display_name.map(|n| n.trim().to_owned()),
        role: body.role,
        team_id: body.team_id,
        data_scope: body.data_scope,
    };
    let user = state.storage.update_user(caller.org_id, id, change).await?;
    tracing::info!(org = %caller.org_id, user = %id, "user changed");
    record(&state, &caller, AuditAction::UserChanged, id, format!("changed {changed}")).await?;
    Ok(Json(user.into()))
}
