//! The OpenAPI document stays true to the server: it is served at `GET /v1/openapi.json`
//! without a token as OpenAPI 3.1, it documents exactly the `(method, path)` pairs the
//! router in `sync-server/src/routes/mod.rs` registers, and every documented operation
//! exists on the real server (an empty request never meets the router's fallback, a 405 or
//! a server error, and a documented token requirement holds).

use std::collections::BTreeSet;

use fieldkit_domain::ids::TeamId;
use fieldkit_domain::model::Role;
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, log_to_stderr_if_asked};
use reqwest::StatusCode;
use serde_json::Value;

/// The router's source, read as text.
const ROUTES: &str = include_str!("../../sync-server/src/routes/mod.rs");

/// The HTTP methods a route can register, as the routing functions are named.
const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

/// A `(METHOD, path)` pair.
type Endpoint = (String, String);

/// The text of a call's arguments (from just after its `(` to its closing `)`, excluded) and
/// what follows the call; string literals and `//` comments are skipped when counting.
fn call_args(text: &str) -> (&str, &str) {
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (1usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return (&text[..i], &text[i + 1..]);
                }
            }
            _ => {}
        }
        i += 1;
    }
    panic!("a call in the router's source is not closed: {text:.80}");
}

/// The names of the calls made at the top level of `chain` (`get(a).post(b).layer(c)` →
/// get, post, layer), a path's last segment only (`routing::get` → get).
fn top_level_calls(chain: &str) -> Vec<String> {
    let mut calls = Vec::new();
    let mut ident = String::new();
    let mut rest = chain;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        if c.is_alphanumeric() || c == '_' || c == ':' {
            ident.push(c);
        } else if c == '(' {
            calls.push(ident.rsplit("::").next().unwrap_or_default().to_owned());
            ident.clear();
            rest = call_args(rest).1;
        } else {
            ident.clear();
        }
    }
    calls
}

/// Every `(METHOD, path)` that `.route("<path>", <method>(…).<method>(…)…)` calls in
/// `source` register; a catch-all `{*name}` is written `{name}` as OpenAPI does.
fn routed(source: &str) -> BTreeSet<Endpoint> {
    for unsupported in [".nest(", ".merge(", ".route_service(", ".nest_service("] {
        assert!(
            !source.contains(unsupported),
            "the router uses {unsupported}: teach tests/tests/openapi.rs to read it"
        );
    }
    let mut found = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        let (args, after) = call_args(&rest[at + ".route(".len()..]);
        rest = after;
        let args = args.trim_start();
        let path = args
            .strip_prefix('"')
            .and_then(|a| a.split_once('"'))
            .map(|(path, chain)| (path.replace("{*", "{"), chain))
            .unwrap_or_else(|| panic!("a route's path is not a string literal: {args:.80}"));
        let methods: Vec<String> =
            top_level_calls(path.1).into_iter().filter(|c| METHODS.contains(&c.as_str())).collect();
        assert!(!methods.is_empty(), "route {} registers no method this test knows", path.0);
        for method in methods {
            found.insert((method.to_uppercase(), path.0.clone()));
        }
    }
    found
}

/// Every `(METHOD, path)` the document describes.
fn documented(doc: &Value) -> BTreeSet<Endpoint> {
    let paths = doc["paths"].as_object().expect("the document has paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The operation object of `endpoint` in `doc`.
fn operation<'d>(doc: &'d Value, (method, path): &Endpoint) -> &'d Value {
    &doc["paths"][path.as_str()][method.to_lowercase().as_str()]
}

/// Every `$ref` in `value` that does not point at something in `doc`.
fn dangling_refs(doc: &Value, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                let pointer = target.strip_prefix('#').unwrap_or(target);
                if doc.pointer(pointer).is_none() {
                    out.push(target.clone());
                }
            }
            map.values().for_each(|v| dangling_refs(doc, v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| dangling_refs(doc, v, out)),
        _ => {}
    }
}

/// `path` with each `{param}` given a value of the kind it names.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{sha256}" => "0".repeat(64),
            "{path}" => "app.js".to_owned(),
            s if s.starts_with('{') => "01900000-0000-7000-8000-000000000000".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A client that reports redirects rather than following them.
fn client() -> reqwest::Client {
    // Plain HTTP on loopback; reqwest still wants a TLS provider installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a plain client builds")
}

async fn fetch_document(server: &TestServer) -> anyhow::Result<Value> {
    let response = client().get(format!("{}/v1/openapi.json", server.url)).send().await?;
    anyhow::ensure!(response.status() == StatusCode::OK, "openapi.json answered {}", response.status());
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    anyhow::ensure!(content_type.starts_with("application/json"), "content type {content_type:?}");
    Ok(serde_json::from_slice(&response.bytes().await?)?)
}

#[test]
fn the_route_reader_finds_every_method_of_a_chained_route_and_ignores_layers() {
    let source = r#"
        Router::new()
            .route("/a", get(a::get))
            .route("/b/{id}", patch(b::patch).get(b::get).delete(b::delete)) // comment (
            .route(
                "/c",
                get(c::code).post(c::bytes).layer(DefaultBodyLimit::max(post_limit("x)"))),
            )
            .route("/d/{*path}", routing::get(d::asset))
            .fallback(|| async { get_nothing() })
    "#;
    let expected: BTreeSet<Endpoint> = [
        ("GET", "/a"),
        ("PATCH", "/b/{id}"),
        ("GET", "/b/{id}"),
        ("DELETE", "/b/{id}"),
        ("GET", "/c"),
        ("POST", "/c"),
        ("GET", "/d/{path}"),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_owned(), p.to_owned()))
    .collect();
    assert_eq!(routed(source), expected);
}

#[test]
fn the_document_lists_exactly_the_routes_the_router_registers() {
    let doc: Value =
        serde_json::from_str(include_str!("../../sync-server/openapi.json")).expect("openapi.json is JSON");
    let routes = routed(ROUTES);
    assert!(routes.contains(&("GET".to_owned(), "/healthz".to_owned())), "the route reader found {routes:?}");
    let listed = documented(&doc);
    let undocumented: Vec<_> = routes.difference(&listed).collect();
    let unrouted: Vec<_> = listed.difference(&routes).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routed but not documented: {undocumented:?}\ndocumented but not routed: {unrouted:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_is_openapi_3_1_and_every_operation_has_a_summary_and_responses()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let doc = fetch_document(&server).await?;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "version {}", doc["openapi"]);
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
    let operations = documented(&doc);
    assert!(operations.len() > 40, "only {} operations", operations.len());
    let mut problems = Vec::new();
    for endpoint in &operations {
        let op = operation(&doc, endpoint);
        if op["summary"].as_str().is_none_or(|s| s.trim().is_empty()) {
            problems.push(format!("{endpoint:?} has no summary"));
        }
        if op["responses"].as_object().is_none_or(serde_json::Map::is_empty) {
            problems.push(format!("{endpoint:?} has no responses"));
        }
    }
    let mut dangling = Vec::new();
    dangling_refs(&doc, &doc, &mut dangling);
    problems.extend(dangling.into_iter().map(|r| format!("$ref {r} points at nothing")));
    assert!(problems.is_empty(), "{problems:#?}");
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_exists_and_answers_an_empty_request_without_a_server_error()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("docs", 1).await?;
    server.user(&org.org, "admin", Role::Admin, TeamId::new()).await?;
    let admin = Api::new(&server.url).login("docs", "admin", PASSWORD).await?;
    let doc = fetch_document(&server).await?;
    let http = client();

    let mut problems = Vec::new();
    // The refresh replaces the admin's token: last, so every other operation sees a valid one.
    let mut endpoints: Vec<Endpoint> = documented(&doc).into_iter().collect();
    endpoints.sort_by_key(|(_, path)| path == "/v1/token/refresh");
    for endpoint in endpoints {
        let op = operation(&doc, &endpoint);
        let open = op["security"].as_array().is_some_and(Vec::is_empty);
        for token in [None, Some(admin.as_str())] {
            let method = reqwest::Method::from_bytes(endpoint.0.as_bytes())?;
            let mut request = http.request(method, format!("{}{}", server.url, concrete(&endpoint.1)));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if !matches!(endpoint.0.as_str(), "GET" | "DELETE") {
                request = request.body(Vec::new());
            }
            let response = request.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            let fallback = status == StatusCode::NOT_FOUND
                && serde_json::from_slice::<Value>(&body)
                    .is_ok_and(|b| b["error"]["message"] == "no such endpoint");
            let who = if token.is_some() { "an admin" } else { "no token" };
            let documented_status = op["responses"].get(status.as_str()).is_some();
            if status.is_server_error() || status == StatusCode::METHOD_NOT_ALLOWED || fallback {
                problems.push(format!("{endpoint:?} with {who} answered {status}"));
            } else if token.is_none() && !open && status != StatusCode::UNAUTHORIZED {
                problems.push(format!("{endpoint:?} needs a token as documented, yet answered {status}"));
            } else if token.is_none() && open && status == StatusCode::UNAUTHORIZED {
                problems.push(format!("{endpoint:?} is documented as open, yet answered 401"));
            } else if !documented_status {
                problems
                    .push(format!("{endpoint:?} with {who} answered {status}, which it does not document"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    server.stop().await
}
