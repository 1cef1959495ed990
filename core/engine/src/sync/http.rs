//! The HTTP client that speaks the wire protocol to the sync server.

use std::sync::Arc;
use std::time::Duration;

use fieldkit_domain::protocol::{
    BlobStatus, ErrorBody, ErrorCode, LoginRequest, LoginResponse, SyncRequest, SyncResponse,
};
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// How long one blob download may take, headers to last byte.
const BLOB_DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// Bytes of a request body and of its answer's body.
pub(crate) type Sizes = (u64, u64);

/// A client of one sync server.
pub(crate) struct HttpClient {
    base_url: String,
    http: reqwest::Client,
}

impl HttpClient {
    /// A client for the server at `base_url` (e.g. `https://sync.example.com`).
    pub(crate) fn new(base_url: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Network(format!("cannot build the http client: {e}")))?;
        Ok(Self { base_url: base_url.trim_end_matches('/').to_owned(), http })
    }

    pub(crate) async fn login(&self, req: &LoginRequest) -> Result<LoginResponse> {
        self.post("/v1/login", None, req).await.map(|(r, _)| r)
    }

    /// Trades `token` for a fresh one (`POST /v1/token/refresh`); the old one stops working.
    pub(crate) async fn refresh(&self, token: &str) -> Result<LoginResponse> {
        let request = self.http.post(format!("{}/v1/token/refresh", self.base_url)).bearer_auth(token);
        self.send(request).await.map(|(answer, _)| answer)
    }

    pub(crate) async fn sync(&self, token: &str, req: &SyncRequest) -> Result<(SyncResponse, Sizes)> {
        self.post("/v1/sync", Some(token), req).await
    }

    /// How far the server has a blob; `None` if it has none of it.
    pub(crate) async fn blob_status(&self, token: &str, sha256: &str) -> Result<Option<BlobStatus>> {
        let request = self.http.get(format!("{}/v1/blobs/{sha256}", self.base_url)).bearer_auth(token);
        match self.send(request).await {
            Ok((status, _)) => Ok(Some(status)),
            Err(Error::Server { code: Some(ErrorCode::NotFound), .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Uploads one chunk of a blob; answers where the server stands after it.
    pub(crate) async fn put_blob_chunk(
        &self,
        token: &str,
        sha256: &str,
        offset: u64,
        size: u64,
        bytes: Vec<u8>,
    ) -> Result<BlobStatus> {
        let request = self
            .http
            .put(format!("{}/v1/blobs/{sha256}?offset={offset}&size={size}", self.base_url))
            .bearer_auth(token)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(bytes);
        self.send(request).await.map(|(status, _)| status)
    }

    /// Downloads a complete blob (`GET /v1/blobs/{sha256}/content`), handing its bytes to
    /// `sink` piece by piece as they arrive, so that a large file is never held in memory
    /// whole. A `sink` error stops the download and is returned. Returns the bytes received.
    pub(crate) async fn blob_content(
        &self,
        token: &str,
        sha256: &str,
        sink: &mut (dyn FnMut(&[u8]) -> Result<()> + Send),
    ) -> Result<u64> {
        let mut response = self
            .http
            .get(format!("{}/v1/blobs/{sha256}/content", self.base_url))
            .bearer_auth(token)
            // A whole file rather than one JSON page: longer than the client's 60 s.
            .timeout(BLOB_DOWNLOAD_TIMEOUT)
            .send()
            .await
            .map_err(network)?;
        let status = response.status();
        if !status.is_success() {
            let bytes = response.bytes().await.map_err(network)?;
            return Err(error_answer(status, &bytes));
        }
        let mut received = 0_u64;
        while let Some(piece) = response.chunk().await.map_err(network)? {
            received += piece.len() as u64;
            sink(&piece)?;
        }
        Ok(received)
    }

    async fn post<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Req,
    ) -> Result<(Resp, Sizes)> {
        let body = serde_json::to_vec(body).map_err(|e| Error::Protocol(e.to_string()))?;
        let sent = body.len() as u64;
        let mut request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let (answer, received) = self.send(request).await?;
        Ok((answer, (sent, received)))
    }

    /// Sends a request and decodes its JSON answer, or maps its error answer. Returns the
    /// answer and its size in bytes.
    async fn send<Resp: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<(Resp, u64)> {
        let response = request.send().await.map_err(network)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(network)?;
        if status.is_success() {
            let answer = serde_json::from_slice(&bytes).map_err(|e| Error::Protocol(e.to_string()))?;
            return Ok((answer, bytes.len() as u64));
        }
        Err(error_answer(status, &bytes))
    }
}

/// A failure to reach the server or to read its answer: retryable.
fn network(e: reqwest::Error) -> Error {
    Error::Network(e.without_url().to_string())
}

/// The engine's error for an error answer: bad credentials, an expired session, a server
/// that is unavailable for now (retryable), or a refusal with the server's code.
fn error_answer(status: StatusCode, body: &[u8]) -> Error {
    let detail = serde_json::from_slice::<ErrorBody>(body).ok().map(|b| b.error);
    match (status, detail) {
        (_, Some(d)) if d.code == ErrorCode::BadCredentials => Error::BadCredentials,
        (StatusCode::UNAUTHORIZED, _) => Error::SessionExpired,
        (s, _)
            if s.is_server_error()
                || s == StatusCode::TOO_MANY_REQUESTS
                || s == StatusCode::REQUEST_TIMEOUT =>
        {
            Error::Network(format!("server answered {s}"))
        }
        (_, Some(d)) => Error::Server { code: Some(d.code), message: d.message },
        (s, None) => Error::Server { code: None, message: format!("server answered {s}") },
    }
}

/// TLS with rustls on the `ring` provider and Mozilla's root certificates, set on this
/// client only: nothing process-wide, so the host app's own TLS set-up is left alone.
fn tls_config() -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Network(format!("cannot set up tls: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(config)
}
