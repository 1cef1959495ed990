//! Configurable approval flows on the server (issue #10): who approves
//! ([`directory::OrgDirectory`]), requests and decisions as facts and the requester's view
//! ([`service`]), checks of approval facts pushed by phones ([`push`]) and the periodic
//! pass that lets time-outs escalate ([`run`]), what a decided request does ([`subjects`]:
//! a new customer created from its proposal), and task flows' steps pushed by phones
//! ([`task_steps`]). The rules themselves are the domain's (`fieldkit_domain::approval`).

pub mod directory;
pub mod push;
pub mod service;
pub mod subjects;
pub mod task_steps;

use std::time::Duration;

use tokio::sync::watch;

use crate::state::AppState;

/// Every `every`, re-decides each org's requests and republishes the views that
/// changed (a step that timed out escalates even when nobody looks), until `stop` turns true.
pub async fn run(state: AppState, every: Duration, stop: watch::Receiver<bool>) {
    crate::periodic::every(every, stop, || refresh_every_org(&state)).await;
}

async fn refresh_every_org(state: &AppState) {
    match state.storage.orgs().await {
        Ok(orgs) => {
            for org in orgs {
                if let Err(e) = push::refresh_all(state, org.id, crate::now_ms()).await {
                    tracing::warn!(error = %e.message, "approvals: refresh failed; retrying at the next tick");
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "approvals: cannot list orgs; retrying at the next tick"),
    }
}
