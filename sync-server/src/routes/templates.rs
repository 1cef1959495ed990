//! `/v1/form-templates` and `/v1/sop-templates`: what reps fill in and follow,
//! designed by managers and admins and delivered to every phone as reference data. A form
//! template is checked as designed (keys, choices, limits, show-if conditions) before it
//! is stored; every problem is listed.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldkit_domain::forms::check_template;
use fieldkit_domain::ids::{FormTemplateId, SopTemplateId};
use fieldkit_domain::model::{FormField, FormTemplate, SopStep, SopTemplate, TaskKind, User};
use fieldkit_domain::protocol::{Record, RecordKind};
use serde::Deserialize;

use super::reference;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;

/// `POST /v1/form-templates` body: a new template, or (with `id`) a new version of one.
#[derive(Debug, Deserialize)]
pub(super) struct NewFormTemplate {
    id: Option<FormTemplateId>,
    version: u32,
    title: String,
    fields: Vec<FormField>,
}

/// `POST /v1/sop-templates` body.
#[derive(Debug, Deserialize)]
pub(super) struct NewSopTemplate {
    task_kind: TaskKind,
    steps: Vec<SopStep>,
}

fn may_design(caller: &User) -> ApiResult<()> {
    if caller.role.can_dispatch() {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("role {} may not design templates", caller.role.as_str())))
    }
}

pub(super) async fn create_form(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(new): ApiJson<NewFormTemplate>,
) -> ApiResult<(StatusCode, Json<FormTemplate>)> {
    may_design(&caller)?;
    let template = FormTemplate {
        id: new.id.unwrap_or_else(FormTemplateId::new),
        version: new.version,
        title: new.title,
        fields: new.fields,
    };
    let problems = check_template(&template);
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(ApiError::invalid(format!("form template is not valid: {}", list.join("; "))));
    }
    state.storage.put_record(caller.org_id, Record::FormTemplate(template.clone()), None).await?;
    Ok((StatusCode::CREATED, Json(template)))
}

pub(super) async fn create_sop(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(new): ApiJson<NewSopTemplate>,
) -> ApiResult<(StatusCode, Json<SopTemplate>)> {
    may_design(&caller)?;
    if new.steps.is_empty() {
        return Err(ApiError::invalid("an sop needs at least one step"));
    }
    let template = SopTemplate { id: SopTemplateId::new(), task_kind: new.task_kind, steps: new.steps };
    state.storage.put_record(caller.org_id, Record::SopTemplate(template.clone()), None).await?;
    Ok((StatusCode::CREATED, Json(template)))
}

/// `GET /v1/form-templates`: every version of every form template.
pub(super) async fn list_forms(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<FormTemplate>>> {
    let mut templates = reference::list_of(&state, caller.org_id, RecordKind::FormTemplate, |r| match r {
        Record::FormTemplate(t) => Some(t),
        _ => None,
    })
    .await?;
    templates.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id)).then(a.version.cmp(&b.version)));
    Ok(Json(templates))
}

/// `GET /v1/sop-templates`: the SOP templates.
pub(super) async fn list_sops(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<SopTemplate>>> {
    let templates = reference::list_of(&state, caller.org_id, RecordKind::SopTemplate, |r| match r {
        Record::SopTemplate(t) => Some(t),
        _ => None,
    })
    .await?;
    Ok(Json(templates))
}
