//! `GET /v1/openapi.json`: the OpenAPI 3.1 description of the HTTP API
//! (`sync-server/openapi.json`), embedded in the binary and served to anyone.
//!
//! The document is written by hand; `tests/tests/openapi.rs` keeps it true to the router
//! (every route documented, nothing documented that is not routed).

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as committed.
const DOCUMENT: &str = include_str!("../../openapi.json");

/// `GET /v1/openapi.json`.
pub(super) async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::DOCUMENT;

    #[test]
    fn the_embedded_document_is_json_in_openapi_3_1_with_a_bearer_scheme() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("openapi.json is JSON");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "{}", doc["openapi"]);
        assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
        assert!(doc["paths"]["/v1/openapi.json"]["get"]["security"].as_array().is_some_and(Vec::is_empty));
    }

    #[test]
    fn every_error_code_of_the_protocol_is_listed_in_the_document() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("openapi.json is JSON");
        let listed = &doc["components"]["schemas"]["ErrorCode"]["enum"];
        use fieldkit_domain::protocol::ErrorCode::{self, *};
        // A new code fails to compile here until it is added to the list and the document.
        let _listed_here = |code: ErrorCode| match code {
            MalformedBody | InvalidRequest | UnsupportedProtocol | Unauthenticated | BadCredentials
            | Forbidden | NotFound | MethodNotAllowed | PayloadTooLarge | Conflict | RateLimited
            | Internal => (),
        };
        for code in [
            MalformedBody,
            InvalidRequest,
            UnsupportedProtocol,
            Unauthenticated,
            BadCredentials,
            Forbidden,
            NotFound,
            MethodNotAllowed,
            PayloadTooLarge,
            Conflict,
            RateLimited,
            Internal,
        ] {
            let wire = serde_json::to_value(code).expect("an error code serialises");
            assert!(listed.as_array().is_some_and(|l| l.contains(&wire)), "{wire} is not in the document");
        }
    }
}
