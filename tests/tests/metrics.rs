//! `GET /metrics`: the operator (the metrics token) reads the server's Prometheus metrics;
//! requests are counted by route template, never by raw path, so no id ever shows; sync
//! counts what it stored; the request durations are a histogram. No org's user, admins
//! included, reads them, and neither does a request without the token.

use fieldkit_domain::ids::{CustomerId, TeamId};
use fieldkit_domain::model::Role;
use fieldkit_e2e::harness::{Api, METRICS_TOKEN, PASSWORD, TestServer, log_to_stderr_if_asked, visit_once};
use reqwest::StatusCode;

/// The samples of `metric` in the Prometheus text `text`: each line's labels (the text
/// between the braces, empty without) and its value.
fn samples<'t>(text: &'t str, metric: &str) -> Vec<(&'t str, f64)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(metric)?;
            let (labels, value) = if let Some(braced) = rest.strip_prefix('{') {
                braced.split_once("} ")?
            } else {
                ("", rest.strip_prefix(' ')?)
            };
            Some((labels, value.trim().parse().ok()?))
        })
        .collect()
}

/// Whether `text` holds anything shaped like a UUID (8-4-4-4-12 hex digits).
fn has_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.windows(36).any(|w| {
        w.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
    })
}

#[test]
fn the_uuid_finder_finds_a_uuid_and_nothing_else() {
    assert!(has_uuid("route=\"/v1/tasks/01900000-0000-7000-8000-000000000000\""));
    assert!(!has_uuid("route=\"/v1/tasks/{id}\" 0123456789abcdef0123456789abcdef0123"));
}

#[test]
fn the_sample_reader_reads_labels_and_values_of_one_metric_only() {
    let text = "# HELP a_total x\na_total{route=\"/x\"} 2\na_total_more 9\na_total 3\n";
    assert_eq!(samples(text, "a_total"), vec![("route=\"/x\"", 2.0), ("", 3.0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_reads_requests_sync_counts_and_latencies_without_any_id() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let phone = server.phone("acme", "rep1").await?;
    for _ in 0..3 {
        visit_once(&phone.kit, CustomerId::new())?;
    }
    phone.kit.sync_now().await?;
    // The manager's phone is served the team's three visits.
    server.phone("acme", "manager").await?.kit.sync_now().await?;
    // A route with an id in its path, and a path no route matches, both with ids.
    let api = Api::new(&server.url);
    let id = "01900000-0000-7000-8000-0000000000aa";
    let (status, _) = api.send("GET", &format!("/v1/tasks/{id}"), Some(&org.manager_token), None).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.send("GET", &format!("/v1/nothing/{id}"), None, None).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, content_type, text) = api.get_text(METRICS_TOKEN, "/metrics").await?;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(content_type.starts_with("text/plain"), "content type {content_type:?}");

    let syncs: f64 = samples(&text, "fieldkit_http_requests_total")
        .iter()
        .filter(|(labels, _)| labels.contains("route=\"/v1/sync\"") && labels.contains("method=\"POST\""))
        .map(|(_, value)| value)
        .sum();
    assert!(syncs >= 1.0, "sync requests counted: {syncs}\n{text}");
    let by_template = samples(&text, "fieldkit_http_requests_total");
    assert!(
        by_template.iter().any(|(labels, value)| labels.contains("route=\"/v1/tasks/{id}\"")
            && labels.contains("status=\"4xx\"")
            && *value >= 1.0),
        "{text}"
    );
    assert!(by_template.iter().any(|(labels, _)| labels.contains("route=\"unmatched\"")), "{text}");

    let stored: f64 = samples(&text, "fieldkit_sync_facts_stored_total").iter().map(|(_, v)| v).sum();
    assert!(stored >= 3.0, "facts stored: {stored}\n{text}");
    // Every newly stored fact with an event time has its lag recorded.
    let lags: f64 = samples(&text, "fieldkit_sync_lag_seconds_count").iter().map(|(_, v)| v).sum();
    assert!(lags >= 3.0 && lags <= stored, "lags recorded: {lags} of {stored} facts\n{text}");
    let merged: f64 = samples(&text, "fieldkit_sync_documents_merged_total").iter().map(|(_, v)| v).sum();
    assert!(merged >= 3.0, "visit documents merged: {merged}\n{text}");
    let served: f64 = samples(&text, "fieldkit_sync_feed_entries_served_total").iter().map(|(_, v)| v).sum();
    assert!(served >= 3.0, "feed entries served: {served}\n{text}");
    assert_eq!(samples(&text, "fieldkit_blobs_missing"), vec![("", 0.0)], "{text}");

    let latency = "fieldkit_http_request_duration_seconds";
    assert!(text.contains(&format!("# TYPE {latency} histogram")), "{text}");
    let sync_count: f64 = samples(&text, &format!("{latency}_count"))
        .iter()
        .filter(|(labels, _)| labels.contains("route=\"/v1/sync\""))
        .map(|(_, v)| v)
        .sum();
    assert!(sync_count >= 1.0, "{text}");
    let infinite_bucket = samples(&text, &format!("{latency}_bucket"))
        .into_iter()
        .filter(|(labels, _)| labels.contains("route=\"/v1/sync\"") && labels.contains("le=\"+Inf\""))
        .map(|(_, v)| v)
        .sum::<f64>();
    assert!((infinite_bucket - sync_count).abs() < f64::EPSILON, "{text}");
    assert!(samples(&text, &format!("{latency}_sum")).iter().any(|(_, v)| *v > 0.0), "{text}");
    assert!(text.contains("# HELP fieldkit_sync_facts_stored_total "), "{text}");

    assert!(!has_uuid(&text), "an id in the metrics:\n{text}");
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_org_user_reads_the_metrics_not_even_an_admin_and_nor_does_a_request_without_the_token()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    server.user(&org.org, "admin", Role::Admin, TeamId::new()).await?;
    let admin = api.login("acme", "admin", PASSWORD).await?;
    let rep = api.login("acme", "rep1", PASSWORD).await?;
    for token in [admin.as_str(), rep.as_str(), org.manager_token.as_str(), "a guess"] {
        let (status, _, body) = api.get_text(token, "/metrics").await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(body.contains("unauthenticated"), "{body}");
    }
    let (status, body) = api.send("GET", "/metrics", None, None).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "unauthenticated");
    server.stop().await
}
