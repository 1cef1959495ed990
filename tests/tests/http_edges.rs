//! The HTTP edge answers in the API's JSON error format where axum alone would answer plain
//! text: a path segment that does not parse (400, naming the value), a known path called
//! with another method (405 with `Allow`), an unknown path (404), a raw body over the limit
//! (413); and a shutdown is graceful:
//! a request in flight completes while new connections are refused.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use fieldkit_domain::protocol::ErrorCode;
use fieldkit_e2e::harness::{Api, TestOrg, TestServer, log_to_stderr_if_asked};
use fieldkit_server::storage::FeedReader;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn error_code(body: &Value) -> ErrorCode {
    serde_json::from_value(body["error"]["code"].clone()).expect("an error body with a known code")
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

/// The org's change-feed cursor: it moves with every change stored.
async fn cursor(server: &TestServer, org: &TestOrg) -> anyhow::Result<u64> {
    Ok(server.storage.feed(org.org.id, FeedReader::Everything, None, 0, 1).await?.cursor)
}

/// Creates a task assigned to nobody and returns its id.
async fn new_task(api: &Api, org: &TestOrg, title: &str) -> anyhow::Result<String> {
    let body = json!({ "kind": "store_inspection", "title": title });
    let (status, task) = api.send("POST", "/v1/tasks", Some(&org.manager_token), Some(&body)).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {task}");
    Ok(task["id"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_id_in_a_path_gets_a_json_400_naming_it_and_changes_nothing() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let token = Some(org.manager_token.as_str());
    new_task(&api, &org, "Check the shelf").await?;
    let before = cursor(&server, &org).await?;

    // The path is refused before any body is read.
    let product = json!({ "sku": "SKU-1", "name": "Tea" });
    let cases: [(&str, &str, Option<Value>, &str, &str); 7] = [
        ("GET", "/v1/tasks/not-a-uuid", None, "id", "not-a-uuid"),
        ("PATCH", "/v1/tasks/not-a-uuid", Some(json!({ "title": "Renamed" })), "id", "not-a-uuid"),
        ("DELETE", "/v1/tasks/12345", None, "id", "12345"),
        ("POST", "/v1/tasks/nope/auto-assign", None, "id", "nope"),
        ("PUT", "/v1/products/sku-1", Some(product), "id", "sku-1"),
        ("POST", "/v1/proposals/xyz/approve", Some(json!({})), "fact_id", "xyz"),
        // Percent-decoded before it is named.
        ("DELETE", "/v1/kb/caf%C3%A9", None, "id", "café"),
    ];
    for (method, path, body, segment, value) in cases {
        let (status, answer) = api.send(method, path, token, body.as_ref()).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {answer}");
        assert_eq!(error_code(&answer), ErrorCode::MalformedBody, "{method} {path}: {answer}");
        let text = message(&answer);
        assert!(text.contains(&format!("`{segment}`")), "{method} {path} names no segment: {text}");
        assert!(text.contains(&format!("`{value}`")), "{method} {path} names no value: {text}");
        assert_eq!(text, text.to_lowercase(), "{method} {path}: the message is lower-case");
    }

    // A well-formed id of nothing is a different answer: the 400 is about the segment.
    let unknown = format!("/v1/tasks/{}", uuid::Uuid::now_v7());
    let (status, answer) = api.send("GET", &unknown, token, None).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");

    assert_eq!(cursor(&server, &org).await?, before, "no change was stored");
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_method_on_a_known_path_gets_a_json_405_with_the_allowed_methods() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let task = new_task(&api, &org, "Check the shelf").await?;
    let before = cursor(&server, &org).await?;
    let http = reqwest::Client::new();

    let cases = [
        (reqwest::Method::DELETE, "/v1/login".to_owned(), vec!["POST"]),
        (reqwest::Method::PUT, format!("/v1/tasks/{task}"), vec!["GET", "PATCH", "DELETE"]),
        (reqwest::Method::POST, "/v1/reports/day".to_owned(), vec!["GET"]),
    ];
    for (method, path, allowed) in cases {
        let response = http
            .request(method.clone(), format!("{}{path}", server.url))
            .bearer_auth(&org.manager_token)
            .json(&json!({ "title": "Renamed" }))
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        let allow = response
            .headers()
            .get(reqwest::header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let listed: Vec<&str> = allow.split(',').map(str::trim).collect();
        for m in &allowed {
            assert!(listed.contains(m), "{method} {path}: allow is {allow:?}, without {m}");
        }
        assert!(!listed.contains(&method.as_str()), "{method} {path}: allow is {allow:?}");
        let answer: Value = response.json().await?;
        assert_eq!(error_code(&answer), ErrorCode::MethodNotAllowed, "{method} {path}: {answer}");
        assert!(message(&answer).contains(method.as_str()), "{method} {path}: {answer}");
    }
    assert_eq!(cursor(&server, &org).await?, before, "no change was stored");
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_path_gets_a_json_404() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let (status, answer) = api.send("GET", "/v1/no-such-thing", Some(&org.manager_token), None).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&answer), ErrorCode::NotFound);
    assert_eq!(message(&answer), "no such endpoint");
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_body_over_the_limit_gets_a_json_413_and_changes_nothing() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let limits = fieldkit_server::Limits { max_body_bytes: 64 * 1024, ..Default::default() };
    let server = TestServer::start_with(limits).await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let before = cursor(&server, &org).await?;

    let sha256 = "ab".repeat(32);
    let huge = "x".repeat(100 * 1024);
    let csv = format!("name,lat,lng\nShop,31.23,121.47\n# {huge}\n");
    let cases = [
        ("POST", "/v1/customers/import".to_owned(), csv.into_bytes()),
        ("PUT", format!("/v1/blobs/{sha256}?offset=0&size=102400"), huge.clone().into_bytes()),
        ("POST", format!("/v1/proposals/{}/approve", uuid::Uuid::now_v7()), huge.into_bytes()),
    ];
    for (method, path, body) in cases {
        let (status, answer) = api.send_raw(method, &path, Some(&org.manager_token), Some(body)).await?;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{method} {path}: {answer}");
        assert_eq!(error_code(&answer), ErrorCode::PayloadTooLarge, "{method} {path}: {answer}");
    }
    assert_eq!(cursor(&server, &org).await?, before, "no change was stored");
    server.stop().await
}

/// Reads from `stream` until `needle` has arrived (or the stream ends) and returns all read.
fn read_until(stream: &mut TcpStream, needle: &str) -> std::io::Result<String> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&seen).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_at_shutdown_completes_and_new_connections_are_refused() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let task = new_task(&api, &org, "Check the shelf").await?;
    let addr: SocketAddr = server.url.trim_start_matches("http://").parse()?;

    // A PATCH over a real socket whose body is held back half-way. `Expect: 100-continue`
    // makes the server say when the handler has started reading the body: from then on the
    // request is in flight.
    let body = serde_json::to_vec(&json!({ "title": "Renamed while stopping" }))?;
    let (head, tail) = body.split_at(body.len() / 2);
    let (tail, token) = (tail.to_vec(), org.manager_token.clone());
    let request = format!(
        "PATCH /v1/tasks/{task} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    let head = head.to_vec();
    let mut stream = tokio::task::spawn_blocking(move || -> std::io::Result<TcpStream> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        stream.write_all(request.as_bytes())?;
        let continued = read_until(&mut stream, "\r\n\r\n")?;
        assert!(continued.starts_with("HTTP/1.1 100"), "no 100 continue: {continued:?}");
        stream.write_all(&head)?;
        Ok(stream)
    })
    .await??;

    // Shutdown asked: the server stops listening, yet waits for the request in flight.
    let stopping = tokio::spawn(server.stop());
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "the server still accepts connections after shutdown");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!stopping.is_finished(), "the server stopped with a request in flight");

    // The rest of the body arrives: the request completes as if nothing happened.
    let answer = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        stream.write_all(&tail)?;
        read_until(&mut stream, "Renamed while stopping")
    })
    .await??;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"title\":\"Renamed while stopping\""), "{answer}");

    tokio::time::timeout(Duration::from_secs(10), stopping).await???;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "a stopped server accepts connections");
    Ok(())
}
