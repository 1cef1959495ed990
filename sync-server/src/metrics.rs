//! The server's Prometheus metrics: what is measured, under which names, and the middleware
//! that measures every HTTP request. `GET /metrics` (`routes/metrics.rs`) renders them.
//!
//! Each [`AppState`](crate::AppState) owns its own [`Metrics`]: a `PrometheusRecorder` built
//! but never installed as the process-wide recorder of the `metrics` facade. Recording goes
//! through `metrics::with_local_recorder` with this state's recorder, so several servers in
//! one process (the scenario tests start many) each count only their own requests, and no
//! server fails to start because another one installed a global recorder first. Nothing here
//! listens on a port of its own: the text is rendered from the recorder's handle.
//!
//! Labels never carry ids: a request is labelled with its route template (axum's
//! `MatchedPath`, `/v1/tasks/{id}`, or `unmatched`), its method (one of the methods the API
//! serves, else `other`) and its status class (`2xx` … `5xx`), so the number of series is
//! bounded by the router. The counters are per process; they carry no tenant.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Requests served, by route template, method and status class.
pub const HTTP_REQUESTS: &str = "fieldkit_http_requests_total";
/// Time from a request's arrival to its response's head, by route template, method and
/// status class, in seconds.
pub const HTTP_DURATION: &str = "fieldkit_http_request_duration_seconds";
/// Facts pushed by phones that were stored for the first time.
pub const FACTS_STORED: &str = "fieldkit_sync_facts_stored_total";
/// Shared-document pushes merged into a new stored state.
pub const DOCS_MERGED: &str = "fieldkit_sync_documents_merged_total";
/// Change-feed entries served to phones.
pub const FEED_SERVED: &str = "fieldkit_sync_feed_entries_served_total";
/// Blobs named by facts (photos, voice notes) of every org whose bytes have not fully
/// arrived, read at scrape time.
pub const BLOBS_MISSING: &str = "fieldkit_blobs_missing";
/// How late facts reach the server: from the moment the phone recorded them to their first
/// storing, in seconds (a rep offline in a basement for an hour shows as an hour).
pub const SYNC_LAG: &str = "fieldkit_sync_lag_seconds";
/// Requests refused for going over a rate limit, by reason (`token`, `ip`, `login_ip`,
/// `login_account`; see `crate::rate_limit`).
pub const RATE_LIMITED: &str = "fieldkit_rate_limited_total";

/// Upper bounds of the request-duration buckets, in seconds.
const DURATION_BUCKETS: [f64; 13] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Upper bounds of the sync-lag buckets, in seconds: a second to a week.
const LAG_BUCKETS: [f64; 11] = [
    1.0,
    10.0,
    60.0,
    300.0,
    900.0,
    3_600.0,
    4.0 * 3_600.0,
    12.0 * 3_600.0,
    86_400.0,
    3.0 * 86_400.0,
    7.0 * 86_400.0,
];

/// How many requests pass between two upkeeps of the recorder (moving recorded durations into
/// their buckets), so that they do not pile up when nobody scrapes.
const UPKEEP_EVERY: u64 = 1024;

/// The methods the API serves, as labels; any other method is labelled `other`.
const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// One server's metrics: its own recorder and the handle that renders it.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    requests: AtomicU64,
    /// Held from setting the scrape-time gauges to rendering.
    scrape: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("requests", &self.requests).finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh recorder, every metric described, nothing counted yet.
    #[must_use]
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), &DURATION_BUCKETS)
            .expect("the duration buckets are not empty")
            .set_buckets_for_metric(Matcher::Full(SYNC_LAG.to_owned()), &LAG_BUCKETS)
            .expect("the lag buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        let metrics = Self { recorder, handle, requests: AtomicU64::new(0), scrape: Mutex::new(()) };
        metrics.record(|| {
            ::metrics::describe_counter!(HTTP_REQUESTS, "HTTP requests served, by route template, method and status class.");
            ::metrics::describe_histogram!(
                HTTP_DURATION,
                ::metrics::Unit::Seconds,
                "Time from a request's arrival to its response's head, by route template, method and status class."
            );
            ::metrics::describe_counter!(FACTS_STORED, "Facts pushed by phones and stored for the first time.");
            ::metrics::describe_histogram!(
                SYNC_LAG,
                ::metrics::Unit::Seconds,
                "From a fact's recording on the phone to its first storing on the server."
            );
            ::metrics::describe_counter!(DOCS_MERGED, "Shared-document pushes merged into a new stored state.");
            ::metrics::describe_counter!(FEED_SERVED, "Change-feed entries served to phones by sync.");
            ::metrics::describe_gauge!(
                BLOBS_MISSING,
                "Blobs named by facts of every org whose bytes have not fully arrived."
            );
            ::metrics::describe_counter!(
                RATE_LIMITED,
                "Requests refused for going over a rate limit, by reason (token, ip, login_ip, login_account)."
            );
        });
        metrics
    }

    /// Runs `f` with this server's recorder as the `metrics` facade's recorder.
    fn record<T>(&self, f: impl FnOnce() -> T) -> T {
        ::metrics::with_local_recorder(&self.recorder, f)
    }

    /// Counts one request and its duration.
    pub fn request(&self, route: &str, method: &Method, status: u16, seconds: f64) {
        let method = if METHODS.contains(method) { method.as_str() } else { "other" };
        let labels = [
            ("route", route.to_owned()),
            ("method", method.to_owned()),
            ("status", status_class(status).to_owned()),
        ];
        self.record(|| {
            ::metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
            ::metrics::histogram!(HTTP_DURATION, &labels).record(seconds);
        });
        if self.requests.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
            self.handle.run_upkeep();
        }
    }

    /// Counts facts stored for the first time.
    pub fn facts_stored(&self, count: usize) {
        self.record(|| ::metrics::counter!(FACTS_STORED).increment(count as u64));
    }

    /// Records how late each newly stored fact arrived: milliseconds from its event on the
    /// phone to its storing (negative values, a phone clock ahead, count as 0).
    pub fn fact_lags(&self, lags_ms: impl IntoIterator<Item = i64>) {
        self.record(|| {
            for lag_ms in lags_ms {
                ::metrics::histogram!(SYNC_LAG).record(lag_ms.max(0) as f64 / 1000.0);
            }
        });
    }

    /// Counts document pushes merged into a new state.
    pub fn documents_merged(&self, count: usize) {
        self.record(|| ::metrics::counter!(DOCS_MERGED).increment(count as u64));
    }

    /// Counts feed entries served.
    pub fn feed_served(&self, count: usize) {
        self.record(|| ::metrics::counter!(FEED_SERVED).increment(count as u64));
    }

    /// Counts one request refused for going over the `reason` budget (a fixed label from
    /// `crate::rate_limit::Reason`, never a key).
    pub fn rate_limited(&self, reason: &'static str) {
        self.record(|| ::metrics::counter!(RATE_LIMITED, "reason" => reason).increment(1));
    }

    /// Everything measured so far in the Prometheus text format (version 0.0.4), with the
    /// gauges read at scrape time set first: `blobs_missing`, as the caller just read it.
    /// Setting and rendering happen under one lock, so two concurrent scrapes never mix
    /// their gauge values.
    #[must_use]
    pub fn render(&self, blobs_missing: usize) -> String {
        let _one_scrape = self.scrape.lock().unwrap_or_else(PoisonError::into_inner);
        #[allow(clippy::cast_precision_loss)] // exact up to 2^53 blobs
        let value = blobs_missing as f64;
        self.record(|| ::metrics::gauge!(BLOBS_MISSING).set(value));
        self.handle.render()
    }
}

/// `2xx`, `4xx`…: the class of an HTTP status.
fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Middleware counting every request and timing it until its response's head is ready;
/// registered with `axum::middleware::from_fn_with_state` over the whole router.
pub async fn track(State(metrics): State<std::sync::Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = request.method().clone();
    let response = next.run(request).await;
    metrics.request(&route, &method, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::{
        BLOBS_MISSING, FACTS_STORED, HTTP_DURATION, HTTP_REQUESTS, Metrics, RATE_LIMITED, SYNC_LAG,
        status_class,
    };

    #[test]
    fn a_request_is_counted_under_its_route_method_and_status_class_with_its_duration() {
        let metrics = Metrics::new();
        metrics.request("/v1/tasks/{id}", &Method::PATCH, 204, 0.003);
        metrics.request("/v1/tasks/{id}", &Method::PATCH, 201, 0.004);
        let text = metrics.render(0);
        assert!(
            text.contains(&format!(
                "{HTTP_REQUESTS}{{route=\"/v1/tasks/{{id}}\",method=\"PATCH\",status=\"2xx\"}} 2"
            )),
            "{text}"
        );
        assert!(text.contains(&format!("# TYPE {HTTP_DURATION} histogram")), "{text}");
        assert!(
            text.contains(&format!(
                "{HTTP_DURATION}_bucket{{route=\"/v1/tasks/{{id}}\",method=\"PATCH\",status=\"2xx\",le=\"0.005\"}} 2"
            )),
            "{text}"
        );
        assert!(text.contains(&format!("{HTTP_DURATION}_count{{")), "{text}");
    }

    #[test]
    fn a_method_the_api_does_not_serve_is_labelled_other() {
        let metrics = Metrics::new();
        let odd = Method::from_bytes(b"BREW").expect("a token is a method");
        metrics.request("unmatched", &odd, 404, 0.001);
        let text = metrics.render(0);
        assert!(text.contains("method=\"other\""), "{text}");
        assert!(!text.contains("BREW"), "{text}");
    }

    #[test]
    fn two_servers_in_one_process_count_apart() {
        let (one, two) = (Metrics::new(), Metrics::new());
        one.facts_stored(3);
        two.facts_stored(1);
        assert!(one.render(0).contains(&format!("{FACTS_STORED} 3")), "{}", one.render(0));
        assert!(two.render(0).contains(&format!("{FACTS_STORED} 1")), "{}", two.render(0));
    }

    #[test]
    fn every_metric_has_its_help_text() {
        let metrics = Metrics::new();
        metrics.facts_stored(1);
        assert!(
            metrics.render(0).contains(&format!("# HELP {FACTS_STORED} Facts pushed")),
            "{}",
            metrics.render(0)
        );
    }

    #[test]
    fn the_missing_blobs_gauge_shows_the_count_given_at_scrape_time() {
        let metrics = Metrics::new();
        assert!(metrics.render(4).contains(&format!("{BLOBS_MISSING} 4")), "{}", metrics.render(4));
        assert!(metrics.render(0).contains(&format!("{BLOBS_MISSING} 0")), "{}", metrics.render(0));
    }

    #[test]
    fn fact_lags_fall_into_buckets_from_a_second_to_a_week() {
        let metrics = Metrics::new();
        // Synced at once, after an hour in a basement, and from a phone clock ahead.
        metrics.fact_lags([400, 3_600_000, -5_000]);
        let text = metrics.render(0);
        assert!(text.contains(&format!("{SYNC_LAG}_bucket{{le=\"1\"}} 2")), "{text}");
        assert!(text.contains(&format!("{SYNC_LAG}_bucket{{le=\"900\"}} 2")), "{text}");
        assert!(text.contains(&format!("{SYNC_LAG}_bucket{{le=\"3600\"}} 3")), "{text}");
        assert!(text.contains(&format!("{SYNC_LAG}_count 3")), "{text}");
    }

    #[test]
    fn rate_limited_requests_are_counted_by_reason() {
        let metrics = Metrics::new();
        metrics.rate_limited("token");
        metrics.rate_limited("token");
        metrics.rate_limited("login_ip");
        let text = metrics.render(0);
        assert!(text.contains(&format!("{RATE_LIMITED}{{reason=\"token\"}} 2")), "{text}");
        assert!(text.contains(&format!("{RATE_LIMITED}{{reason=\"login_ip\"}} 1")), "{text}");
    }

    #[test]
    fn statuses_fall_into_their_class() {
        assert_eq!(
            [101, 200, 304, 403, 404, 500, 503].map(status_class),
            ["1xx", "2xx", "3xx", "4xx", "4xx", "5xx", "5xx"]
        );
    }
}
