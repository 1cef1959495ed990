//! The error body every failed HTTP call returns.

use serde::{Deserialize, Serialize};

/// Stable, machine-readable error codes. Clients branch on these, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not valid JSON or not the expected shape.
    MalformedBody,
    /// The request is well-formed but breaks a rule (a value out of range, too many items).
    InvalidRequest,
    /// The client speaks a protocol version the server does not.
    UnsupportedProtocol,
    /// No bearer token, or one that is unknown or expired.
    Unauthenticated,
    /// Unknown org, unknown user or wrong password (deliberately not told apart).
    BadCredentials,
    /// The caller's role may not do this.
    Forbidden,
    /// No such record in the caller's org, or no such endpoint.
    NotFound,
    /// The path exists but not with this method (the `Allow` header lists the ones it serves).
    MethodNotAllowed,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// The request conflicts with what the server holds.
    Conflict,
    /// Too many requests from this token, client address or login name for now: wait as
    /// long as the `Retry-After` header says, then try again.
    RateLimited,
    /// The server failed; retrying later may help.
    Internal,
}

/// The detail of an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable code.
    pub code: ErrorCode,
    /// Lower-case human-readable message naming the offending value.
    pub message: String,
}

/// The JSON body of every error response: `{"error": {"code": …, "message": …}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}
