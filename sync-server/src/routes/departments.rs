//! `/v1/departments`: the org tree. Every member reads it (it holds names, not data); only
//! an admin adds, renames or moves a department. A move is refused when it would put a
//! department inside itself.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldkit_domain::ids::TeamId;
use fieldkit_domain::model::{Department, Role, User};
use serde::Deserialize;

use super::double_option;
use crate::audit::{AuditAction, record};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::state::AppState;

/// The longest department name accepted, in characters.
const MAX_NAME_CHARS: usize = 100;

/// `POST /v1/departments` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewDepartment {
    name: String,
    #[serde(default)]
    parent_id: Option<TeamId>,
}

/// `PATCH /v1/departments/{id}` body: what to change (`parent_id: null` moves it to the top).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DepartmentChange {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    parent_id: Option<Option<TeamId>>,
}

fn admin_only(caller: &User) -> ApiResult<()> {
    if caller.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("role {} may not change the org tree", caller.role.as_str())))
    }
}

fn checked_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(ApiError::invalid(format!(
            "a department name needs 1 to {MAX_NAME_CHARS} characters, not {chars}"
        )));
    }
    Ok(name.to_owned())
}

/// `GET /v1/departments`: every department of the org.
pub(super) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<Department>>> {
    Ok(Json(state.storage.departments(caller.org_id).await?))
}

/// `POST /v1/departments`: adds a department (admins only).
pub(super) async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewDepartment>,
) -> ApiResult<(StatusCode, Json<Department>)> {
    admin_only(&caller)?;
    let department =
        Department { id: TeamId::new(), name: checked_name(&body.name)?, parent_id: body.parent_id };
    state.storage.save_department(caller.org_id, department.clone()).await?;
    tracing::info!(org = %caller.org_id, department = %department.id, "department added");
    record(&state, &caller, AuditAction::DepartmentSaved, department.id, "added").await?;
    Ok((StatusCode::CREATED, Json(department)))
}

/// `PATCH /v1/departments/{id}`: renames or moves a department (admins only).
pub(super) async fn patch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<TeamId>,
    ApiJson(change): ApiJson<DepartmentChange>,
) -> ApiResult<Json<Department>> {
    admin_only(&caller)?;
    let changed = match (change.name.is_some(), change.parent_id.is_some()) {
        (true, true) => "changed name, parent_id",
        (true, false) => "changed name",
        (false, true) => "changed parent_id",
        (false, false) => "changed nothing",
    };
    let mut department = state
        .storage
        .departments(caller.org_id)
        .await?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(|| ApiError::not_found(format!("department {id} not found")))?;
    if let Some(name) = change.name {
        department.name = checked_name(&name)?;
    }
    if let Some(parent) = change.parent_id {
        department.parent_id = parent;
    }
    state.storage.save_department(caller.org_id, department.clone()).await?;
    tracing::info!(org = %caller.org_id, department = %id, "department changed");
    record(&state, &caller, AuditAction::DepartmentSaved, id, changed).await?;
    Ok(Json(department))
}
