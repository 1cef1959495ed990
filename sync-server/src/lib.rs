//! `fieldkit-server`: the companion sync server that operators run.
//!
//! It keeps each org's data (embedded SQLite by default), authenticates reps and managers,
//! takes in the facts phones push, and serves each phone the change feed of what it may see.
//! [`router`] builds the HTTP API over an [`AppState`]; [`serve`] runs it on a listener until
//! a shutdown signal, so tests run the real server in-process on `127.0.0.1:0`.

pub mod analytics;
pub mod approvals;
mod assign;
pub mod audit;
mod auth;
pub mod blobs;
pub mod config;
pub mod customer_csv;
mod doc_merge;
pub mod error;
mod extract;
mod location;
pub mod metrics;
mod orders;
mod periodic;
pub mod photos;
pub mod provision;
pub mod rate_limit;
pub mod report_kit;
pub mod retention;
mod revocation;
mod routes;
pub mod server_key;
mod sop_check;
pub mod state;
pub mod storage;
pub mod summaries;
mod team_plan;
mod visit_plan;

use std::future::Future;

pub use routes::router;
pub use state::{AppState, Limits};

/// Unix milliseconds now, by the server's clock.
#[must_use]
pub fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Serves the API on `listener` until `shutdown` completes, then finishes the requests in
/// flight and returns. Each request knows its TCP peer's address (for the per-address rate
/// limits, see [`rate_limit`]). Meanwhile it prunes location data past each org's
/// retention, at start and then every [`Limits::track_prune_every`], and forgets rate-limit
/// keys gone quiet every [`rate_limit::SWEEP_EVERY`]; both stop with the shutdown.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let pruner = tokio::spawn(retention::run(state.storage.clone(), state.limits.track_prune_every, stopped));
    let sweeper = tokio::spawn(rate_limit::sweep_until(
        state.limiters.clone(),
        rate_limit::SWEEP_EVERY,
        stop.subscribe(),
    ));
    let stop_on_shutdown = stop.clone();
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_on_shutdown.send(true);
        })
        .await;
    // Also when serving failed: the background tasks never outlive the server.
    let _ = stop.send(true);
    if let Err(e) = pruner.await {
        tracing::error!(error = %e, "track retention task failed");
    }
    if let Err(e) = sweeper.await {
        tracing::error!(error = %e, "rate limit sweeper failed");
    }
    served
}
