//! Track retention: location points and track batches are deleted once they are older than
//! the org's `track_retention_days` (PIPL and GDPR want whereabouts kept no longer than
//! needed). [`serve`](crate::serve) prunes every org at start and then every
//! [`Limits::track_prune_every`](crate::Limits::track_prune_every); the `prune-tracks`
//! subcommand does it on demand.

use std::sync::Arc;

use fieldkit_domain::model::Org;
use tokio::sync::watch;

use crate::storage::{Storage, StorageResult, TrackPrune};

/// What one org's prune removed.
#[derive(Debug, Clone)]
pub struct OrgPrune {
    /// The org.
    pub org: Org,
    /// What went.
    pub pruned: TrackPrune,
}

/// Prunes one org: points and track batches older than its retention at `now_ms`.
pub async fn prune_org(storage: &dyn Storage, org: &Org, now_ms: i64) -> StorageResult<TrackPrune> {
    let retention_ms = storage.org_settings(org.id).await?.track_retention_ms();
    storage.prune_tracks(org.id, now_ms.saturating_sub(retention_ms)).await
}

/// Prunes every org as of `now_ms`, each under its own retention.
pub async fn prune_all(storage: &dyn Storage, now_ms: i64) -> StorageResult<Vec<OrgPrune>> {
    let mut out = Vec::new();
    for org in storage.orgs().await? {
        let pruned = prune_org(storage, &org, now_ms).await?;
        out.push(OrgPrune { org, pruned });
    }
    Ok(out)
}

/// Prunes every org now and then every `every`, until `stop` turns true (or its sender is
/// gone). A failure is logged and retried at the next tick.
pub(crate) async fn run(storage: Arc<dyn Storage>, every: std::time::Duration, stop: watch::Receiver<bool>) {
    crate::periodic::every(every, stop, || prune_every_org(storage.as_ref())).await;
}

async fn prune_every_org(storage: &dyn Storage) {
    let orgs = match storage.orgs().await {
        Ok(orgs) => orgs,
        Err(e) => {
            tracing::error!(error = %e, "track retention: cannot list orgs; retrying at the next tick");
            return;
        }
    };
    // One org's failure (a settings record that no longer parses) never holds up the rest.
    for org in orgs {
        match prune_org(storage, &org, crate::now_ms()).await {
            Ok(pruned) if pruned != TrackPrune::default() => tracing::info!(
                org = %org.id,
                points = pruned.points,
                facts = pruned.facts,
                "pruned location data past retention"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(
                org = %org.id,
                error = %e,
                "track retention prune failed; retrying at the next tick"
            ),
        }
    }
}
