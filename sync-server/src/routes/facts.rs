//! `GET /v1/facts`: the facts the caller may see (a rep: their own; a manager: their
//! team's and their own; an admin: the org's), with the clock flag set on receipt and, for
//! check-ins and check-outs, both verdicts: the phone's and the server's.
//!
//! `?kind=check_in` lists one kind; `?flagged=true` lists the facts whose phone or server
//! verdict is flagged or rejected (`false`: the others).

use axum::Json;
use axum::extract::State;
use fieldkit_domain::checkin::CheckInAssessment;
use fieldkit_domain::model::{DataScope, User};
use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::extract::{ApiQuery, Caller};
use crate::sop_check;
use crate::state::AppState;
use crate::storage::{FactFilter, FactQuery, ServerAssessment, StorageError};

/// Query string of `GET /v1/facts`.
#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    kind: Option<String>,
    flagged: Option<bool>,
}

/// One fact in the listing.
#[derive(Debug, Serialize)]
pub(super) struct FactView {
    seq: u64,
    received_ms: i64,
    /// Device clock minus the device's server-time estimate at the event, if known.
    clock_skew_ms: Option<i64>,
    /// The device clock disagreed by more than the org allows.
    clock_flagged: bool,
    /// The phone's verdict, as recorded in the fact (check-ins and check-outs).
    phone_assessment: Option<serde_json::Value>,
    /// The server's verdict, or why it could not judge (check-ins and check-outs).
    server_assessment: Option<ServerAssessment>,
    /// Both verdicts exist and their outcomes (accepted, flagged, rejected) differ.
    verdicts_disagree: bool,
    /// Check-outs: the required SOP steps the server's copy of the visit shows open (`None`
    /// when the visit follows no SOP or has not arrived).
    sop_open_steps: Option<Vec<u32>>,
    /// Check-outs: the phone's list of open steps differs from the server's.
    sop_claim_differs: bool,
    fact: serde_json::Value,
}

/// Whose facts `caller` may read (`None`: everyone's in the org): the users their data
/// scope reaches, themselves included.
pub(super) async fn authors(
    state: &AppState,
    caller: &User,
) -> ApiResult<Option<Vec<fieldkit_domain::ids::UserId>>> {
    if caller.scope() == DataScope::All {
        return Ok(None);
    }
    let users = state.storage.users(caller.org_id).await?;
    Ok(Some(users.iter().filter(|u| caller.may_read(u)).map(|u| u.id).collect()))
}

/// The outcome (`accepted`, `flagged`, `rejected`) of an assessment as JSON.
pub(super) fn outcome(assessment: &serde_json::Value) -> Option<&str> {
    assessment.pointer("/verdict/outcome").and_then(serde_json::Value::as_str)
}

/// The outcome of the server's verdict (`unjudged` when it could not judge).
pub(super) fn server_outcome(assessment: &ServerAssessment) -> &'static str {
    match assessment {
        ServerAssessment::Judged(CheckInAssessment { verdict, .. }) => verdict_name(verdict),
        ServerAssessment::Unjudged { .. } => "unjudged",
    }
}

/// The outcome name of a verdict, as on the wire.
pub(super) fn verdict_name(verdict: &fieldkit_domain::checkin::Verdict) -> &'static str {
    use fieldkit_domain::checkin::Verdict;
    match verdict {
        Verdict::Accepted => "accepted",
        Verdict::Flagged { .. } => "flagged",
        Verdict::Rejected { .. } => "rejected",
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<FactView>>> {
    let filter = FactFilter { kind: query.kind, rep_ids: authors(&state, &caller).await? };
    let query = FactQuery { filter, flagged: query.flagged, ..FactQuery::default() };
    let facts = state.storage.select_facts(caller.org_id, query).await?;
    let sops = if facts.iter().any(|f| f.kind == "check_out") {
        sop_check::templates(state.storage.as_ref(), caller.org_id).await?
    } else {
        Vec::new()
    };
    let mut views: Vec<FactView> = facts
        .into_iter()
        .map(|f| {
            let fact: serde_json::Value = serde_json::from_str(&f.body)
                .map_err(|source| StorageError::Corrupt { what: "fact", source })?;
            let phone_assessment = fact.pointer("/body/assessment").filter(|a| !a.is_null()).cloned();
            let verdicts_disagree = match (&phone_assessment, &f.server_assessment) {
                (Some(phone), Some(server @ ServerAssessment::Judged(_))) => {
                    outcome(phone) != Some(server_outcome(server))
                }
                _ => false,
            };
            Ok(FactView {
                seq: f.seq,
                received_ms: f.received_ms,
                clock_skew_ms: f.clock_skew_ms,
                clock_flagged: f.clock_flagged,
                phone_assessment,
                server_assessment: f.server_assessment,
                verdicts_disagree,
                sop_open_steps: None,
                sop_claim_differs: false,
                fact,
            })
        })
        .collect::<Result<_, StorageError>>()?;
    for view in &mut views {
        if view.fact["kind"] != "check_out" {
            continue;
        }
        let Ok(visit_id) = serde_json::from_value(view.fact["body"]["visit_id"].clone()) else { continue };
        let open = sop_check::open_required_steps(
            state.storage.as_ref(),
            caller.org_id,
            visit_id,
            &sops,
            &state.actor,
        )
        .await?;
        if let Some(open) = &open {
            let claimed: Vec<u32> =
                serde_json::from_value(view.fact["body"]["sop_missing"].clone()).unwrap_or_default();
            view.sop_claim_differs = &claimed != open;
        }
        view.sop_open_steps = open;
    }
    Ok(Json(views))
}
