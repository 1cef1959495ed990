//! Configurable approval flows on the server (issue #10): who approves
//! ([`directory::OrgDirectory`]), requests and decisions as facts and the requester's view
//! ([`service`]), checks of approval facts pushed by phones ([`push`]) and the periodic
//! pass that lets time-outs escalate ([`run`]), and task flows' steps pushed by phones
//! ([`task_steps`]). The rules themselves are the domain's (`fieldkit_domain::approval`).

pub mod directory;
pub mod push;
pub mod service;
pub mod task_steps;

use std::time::Duration;

use tokio::sync::watch;

use crate::state::AppState;

/// Every `every`, re-decides each org's requests and republishes the views that
/// changed (a step that timed out escalates even when nobody looks), until `stop` turns true.
pub async fn run(state: AppState, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(every.max(Duration::from_secs(1)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
                continue;
            }
        }
        match state.storage.orgs().await {
            Ok(orgs) => {
                for org in orgs {
                    if let Err(e) = push::refresh_all(&state, org.id, crate::now_ms()).await {
                        tracing::warn!(error = %e.message, "approvals: refresh failed; retrying at the next tick");
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "approvals: cannot list orgs; retrying at the next tick"),
        }
    }
}
