//! `fieldkit-server`: the companion sync server that operators run.
//!
//! It keeps each org's data (embedded SQLite by default), authenticates reps and managers,
//! takes in the facts phones push, and serves each phone the change feed of what it may see.
//! [`router`] builds the HTTP API over an [`AppState`]; [`serve`] runs it on a listener until
//! a shutdown signal, so tests run the real server in-process on `127.0.0.1:0`.

mod auth;
pub mod blobs;
pub mod config;
mod doc_merge;
pub mod error;
mod extract;
pub mod provision;
mod routes;
pub mod state;
pub mod storage;

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
/// flight and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
