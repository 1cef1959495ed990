//! Logging in: a device trades a password for a bearer token.

use serde::{Deserialize, Serialize};

use crate::ids::DeviceId;
use crate::model::User;
use crate::signing::DevicePublicKey;

/// `POST /v1/login`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// The org's login name.
    pub org: String,
    /// The user's login name.
    pub username: String,
    /// The password (sent only over TLS in production; never stored in clear).
    pub password: String,
    /// The installation logging in.
    pub device_id: DeviceId,
    /// The installation's photo-signing key, registered for `device_id` (a new key replaces
    /// the old one). Receipts signed by any other key fail verification.
    #[serde(default)]
    pub device_key: Option<DevicePublicKey>,
}

/// The answer to a successful login.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Opaque bearer token for the `Authorization` header.
    pub token: String,
    /// When the token stops working, server Unix milliseconds.
    pub expires_at_ms: i64,
    /// Who logged in.
    pub user: User,
    /// Server time when the answer was made, Unix milliseconds.
    pub server_time_ms: i64,
}
