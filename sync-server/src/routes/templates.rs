//! `/v1/form-templates` and `/v1/sop-templates`: what reps fill in and follow,
//! designed by managers and admins and delivered to every phone as reference data. A form
//! template is checked as designed (keys, choices, limits, show-if conditions) before it
//! is stored; every problem is listed, each naming its field (`form_design.rs`). Each
//! version is its own record: a new version of a template gets the next number unless the
//! client names one, which must be above the latest.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldkit_domain::ids::{FormTemplateId, SopTemplateId};
use fieldkit_domain::model::{FormField, FormTemplate, SopStep, SopTemplate, TaskKind, User};
use fieldkit_domain::protocol::{ErrorCode, Record, RecordKind};
use serde::Deserialize;

use super::form_design::{DesignError, problems_of};
use super::reference;
use crate::audit::{AuditAction, record};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;

/// `POST /v1/form-templates` body: a new template, or (with `id`) a new version of one;
/// without `version`, the next one (1 for a new template).
#[derive(Debug, Deserialize)]
pub(super) struct NewFormTemplate {
    id: Option<FormTemplateId>,
    #[serde(default)]
    version: Option<u32>,
    title: String,
    fields: Vec<FormField>,
}

/// `POST /v1/sop-templates` body.
#[derive(Debug, Deserialize)]
pub(super) struct NewSopTemplate {
    task_kind: TaskKind,
    steps: Vec<SopStep>,
}

/// Only managers and admins design templates.
pub(super) fn may_design(caller: &User) -> ApiResult<()> {
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
) -> Result<(StatusCode, Json<FormTemplate>), DesignError> {
    may_design(&caller)?;
    if new.version == Some(0) {
        return Err(ApiError::invalid("form template versions start at 1").into());
    }
    let mut template = FormTemplate {
        id: new.id.unwrap_or_else(FormTemplateId::new),
        version: new.version.unwrap_or(1),
        title: new.title,
        fields: new.fields,
    };
    let problems = problems_of(&template);
    if !problems.is_empty() {
        return Err(DesignError::Refused(problems));
    }
    // One publish per org at a time, so two publishes cannot both take the next version.
    let _one_at_a_time = state.lock_publishing(caller.org_id).await;
    let latest = reference::list_of(&state, caller.org_id, RecordKind::FormTemplate, |r| match r {
        Record::FormTemplate(t) => Some(t),
        _ => None,
    })
    .await?
    .into_iter()
    .filter(|t| t.id == template.id)
    .map(|t| t.version)
    .max();
    template.version = next_version(template.id, new.version, latest)?;
    state.storage.put_record(caller.org_id, Record::FormTemplate(template.clone()), None).await?;
    let detail = format!("version {}, {} fields", template.version, template.fields.len());
    record(&state, &caller, AuditAction::FormTemplatePublished, template.id, detail).await?;
    Ok((StatusCode::CREATED, Json(template)))
}

/// The version to store for template `id`: `asked` if above `latest`, else the one after
/// `latest` when none is asked (1 for a template without versions).
fn next_version(id: FormTemplateId, asked: Option<u32>, latest: Option<u32>) -> ApiResult<u32> {
    match (asked, latest) {
        (Some(asked), Some(latest)) if asked <= latest => Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "form template {id} already has version {latest}; publish version {} or leave the version out",
                latest.saturating_add(1)
            ),
        )),
        (Some(asked), _) => Ok(asked),
        (None, Some(latest)) => latest
            .checked_add(1)
            .ok_or_else(|| ApiError::invalid(format!("form template {id} has no version after {latest}"))),
        (None, None) => Ok(1),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_template_without_a_version_is_version_1() {
        assert_eq!(next_version(FormTemplateId::new(), None, None), Ok(1));
    }

    #[test]
    fn a_new_version_without_a_number_comes_after_the_latest() {
        assert_eq!(next_version(FormTemplateId::new(), None, Some(3)), Ok(4));
    }

    #[test]
    fn an_explicit_version_above_the_latest_is_kept() {
        assert_eq!(next_version(FormTemplateId::new(), Some(7), Some(3)), Ok(7));
        assert_eq!(next_version(FormTemplateId::new(), Some(2), None), Ok(2));
    }

    #[test]
    fn a_version_not_above_the_latest_is_a_conflict_naming_both() {
        let id = FormTemplateId::new();
        for asked in [2, 3] {
            let refused = next_version(id, Some(asked), Some(3)).expect_err("not newer");
            assert_eq!(refused.code, ErrorCode::Conflict);
            assert!(
                refused.message.contains("already has version 3; publish version 4"),
                "{}",
                refused.message
            );
            assert!(refused.message.contains(&id.to_string()), "{}", refused.message);
        }
    }

    #[test]
    fn there_is_no_version_after_the_last_number() {
        let refused = next_version(FormTemplateId::new(), None, Some(u32::MAX)).expect_err("no room");
        assert_eq!(refused.code, ErrorCode::InvalidRequest);
    }
}
