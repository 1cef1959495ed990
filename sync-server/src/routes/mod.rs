//! The HTTP API: one module per resource, assembled into one router.

mod analytics;
mod approvals;
mod assign;
mod audit;
mod blobs;
mod customer_import;
mod customers;
mod dashboard;
mod departments;
mod devices;
mod dispatch;
mod facts;
mod feed_wait;
mod form_design;
mod health;
mod kb;
mod live;
mod login;
mod metrics;
mod openapi;
mod period;
mod photos;
mod plans;
mod products;
mod proposals;
mod reference;
mod reports;
mod settings;
pub(crate) mod summaries;
mod sync;
mod task_flows;
mod tasks;
mod team_reports;
mod templates;
mod token;
mod users;
mod visit_plans;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{delete, get, patch, post, put};
use fieldkit_domain::protocol::ErrorCode;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

/// Deserialises a field that may be absent (outer `None`, with `#[serde(default)]`),
/// `null` (`Some(None)`) or a value: how a PATCH body says "leave", "clear" or "set".
fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// A known path called with a method it does not serve: 405 `method_not_allowed` in the JSON
/// error format, naming the method; the router adds the `Allow` header listing the methods
/// the path does serve.
async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("method {method} is not allowed on this path; the allow header lists the ones that are"),
    )
}

/// The whole API over `state`.
pub fn router(state: AppState) -> Router {
    let limit = state.limits.max_body_bytes;
    // A photo to verify is a whole blob in one body.
    let photo_limit = usize::try_from(state.limits.max_blob_bytes).unwrap_or(usize::MAX);
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/dashboard", get(dashboard::index))
        .route("/dashboard/", get(dashboard::slash))
        .route("/dashboard/{*path}", get(dashboard::asset))
        .route("/v1/login", post(login::login))
        .route("/v1/token/refresh", post(token::refresh))
        .route("/v1/sync", post(sync::sync))
        .route("/v1/feed/wait", get(feed_wait::wait))
        .route("/v1/tasks", post(tasks::create))
        .route("/v1/tasks/bulk", post(dispatch::bulk))
        .route("/v1/tasks/{id}", patch(tasks::patch).get(tasks::get).delete(tasks::delete))
        .route("/v1/tasks/{id}/candidates", get(assign::candidates))
        .route("/v1/tasks/{id}/auto-assign", post(assign::auto_assign))
        .route("/v1/customers", get(customers::list).post(customers::create))
        .route("/v1/customers/{id}", put(customers::replace).delete(customers::delete))
        .route("/v1/customers/import", post(customer_import::import))
        .route("/v1/products", get(products::list).post(products::create))
        .route("/v1/products/{id}", put(products::replace).delete(products::delete))
        .route("/v1/form-templates", get(templates::list_forms).post(templates::create_form))
        .route("/v1/form-templates/check", post(form_design::check))
        .route("/v1/form-templates/preview", post(form_design::preview))
        .route("/v1/sop-templates", get(templates::list_sops).post(templates::create_sop))
        .route("/v1/facts", get(facts::list))
        .route("/v1/approval-flows", get(approvals::list_flows))
        .route("/v1/approval-flows/{kind}", put(approvals::put_flow))
        .route("/v1/approvals", get(approvals::list).post(approvals::create))
        .route("/v1/approvals/{id}", get(approvals::get))
        .route("/v1/approvals/{id}/decisions", post(approvals::decide))
        .route("/v1/task-flows", get(task_flows::list))
        .route("/v1/task-flows/{task_kind}", put(task_flows::put))
        .route("/v1/departments", get(departments::list).post(departments::create))
        .route("/v1/departments/{id}", patch(departments::patch))
        .route("/v1/users", get(users::list).post(users::create))
        .route("/v1/users/{id}", patch(users::patch))
        .route("/v1/devices/{device_id}/revoke", post(devices::revoke))
        .route("/v1/audit", get(audit::list))
        .route("/v1/live", get(live::live))
        .route("/v1/org/settings", get(settings::get).put(settings::put))
        .route("/v1/reports/day", get(reports::day))
        .route("/v1/reports/coverage", get(visit_plans::coverage))
        .route("/v1/reports/summary", get(team_reports::summary))
        .route("/v1/reports/leaderboard", get(team_reports::leaderboard))
        .route("/v1/reports/product-share", get(team_reports::product_share))
        .route("/v1/reports/funnel", get(team_reports::funnel))
        .route("/v1/reports/correlation", get(analytics::correlation))
        .route("/v1/reports/per-capita", get(analytics::per_capita))
        .route("/v1/reports/forecast", get(analytics::forecast))
        .route("/v1/reports/summaries", get(summaries::list))
        .route("/v1/visit-plans/generate", post(visit_plans::generate))
        .route("/v1/proposals", get(proposals::list))
        .route("/v1/proposals/{fact_id}/approve", post(proposals::approve))
        .route("/v1/proposals/{fact_id}/reject", post(proposals::reject))
        .route("/v1/plans/team", post(plans::team))
        .route("/v1/kb", get(kb::list).post(kb::create))
        .route("/v1/kb/{id}", delete(kb::delete))
        .route("/v1/blobs/missing", get(blobs::missing))
        .route("/v1/blobs/{sha256}", get(blobs::status).put(blobs::put_chunk))
        .route("/v1/blobs/{sha256}/content", get(blobs::content))
        .route("/v1/photos", get(photos::list))
        .route(
            "/v1/photos/verify",
            get(photos::verify_code).post(photos::verify_bytes).layer(DefaultBodyLimit::max(photo_limit)),
        )
        .route("/v1/server-key", get(photos::server_key))
        .route("/v1/openapi.json", get(openapi::document))
        .route("/metrics", get(metrics::render))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such endpoint") })
        // After every route: it applies to the routes registered before it.
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        // Before any body is read: a request over its budget reaches no handler.
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::rate_limit::limit))
        // Sees axum's `MatchedPath`: requests are counted by route template, never raw path.
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), crate::metrics::track))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
