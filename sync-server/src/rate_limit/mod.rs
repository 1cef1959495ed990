//! Rate limits: how many requests one bearer token, one client address and one login name
//! may make, so that a runaway phone, a flood from one address or a password-guessing run
//! cannot starve everyone else.
//!
//! Every request but `GET /healthz` passes [`limit`], a middleware over the whole router: a
//! request carrying a bearer token is counted against that token's budget (keyed by the
//! token's SHA-256, never the token), then every request against its client address's budget
//! (see [`client_ip`] for which address that is behind a proxy). `POST /v1/login` is then
//! counted, inside its handler, against two tighter budgets: its client address's login
//! budget and its `(org, username)`'s, before the password is checked. A request over any
//! budget is answered 429 `rate_limited` with a `Retry-After` header (whole seconds) and
//! never reaches its handler: nothing it carried is stored. Each refusal is counted in
//! `fieldkit_rate_limited_total` by reason (`token`, `ip`, `login_ip`, `login_account`).
//!
//! The budgets are GCRA limiters from the `governor` crate ([`Limits`] says how large; `None`
//! turns one off). Their keyed state lives in this process's memory: keys whose state is back
//! to fresh are dropped by [`sweep_until`] every [`SWEEP_EVERY`], so memory follows the keys
//! seen lately, not every key ever seen. With several server instances behind a load
//! balancer each instance keeps its own counts: a client spread over N instances gets up to
//! N times each budget.

mod budget;
mod client_ip;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fieldkit_domain::protocol::ErrorCode;
use governor::RateLimiter;
use governor::clock::MonotonicClock;
use governor::state::keyed::DashMapStateStore;
use sha2::{Digest, Sha256};

pub use budget::{Budget, BudgetError, Per};
pub use client_ip::{Cidr, CidrError, client_ip, limit_key};

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::state::{AppState, Limits};

/// How often keys whose budget is back to full are forgotten.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The path load balancers probe; never limited.
const HEALTH_PATH: &str = "/healthz";

/// One keyed limiter.
type Keyed<K> = RateLimiter<K, DashMapStateStore<K>, MonotonicClock>;

/// The client address of a request as the limits saw it: set by [`limit`] as a request
/// extension, for handlers that limit further (login).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Which budget a request went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Its bearer token's.
    Token,
    /// Its client address's.
    Address,
    /// Its client address's login budget.
    LoginAddress,
    /// Its `(org, username)`'s login budget.
    LoginAccount,
}

impl Reason {
    /// The metric label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Address => "ip",
            Self::LoginAddress => "login_ip",
            Self::LoginAccount => "login_account",
        }
    }

    /// What the client is told went over its budget.
    fn what(self) -> &'static str {
        match self {
            Self::Token => "this token",
            Self::Address => "this address",
            Self::LoginAddress => "logins from this address",
            Self::LoginAccount => "logins to this account",
        }
    }
}

/// A refusal: over the `reason` budget, for `retry_after`. Answers 429 `rate_limited` in the
/// API's JSON error format with a `Retry-After` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// Which budget.
    pub reason: Reason,
    /// How long until the next request would pass.
    pub retry_after: Duration,
}

impl RateLimited {
    /// `Retry-After` in whole seconds, rounded up, at least one.
    #[must_use]
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        secs.max(1)
    }
}

impl IntoResponse for RateLimited {
    fn into_response(self) -> Response {
        let secs = self.retry_after_secs();
        let error = ApiError::new(
            ErrorCode::RateLimited,
            format!("too many requests from {}; retry in {secs} s", self.reason.what()),
        );
        let mut response = error.into_response();
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        response
    }
}

/// This process's limiters, one per budget in force.
pub struct Limiters {
    per_token: Option<Keyed<[u8; 32]>>,
    per_address: Option<Keyed<IpAddr>>,
    login_per_address: Option<Keyed<IpAddr>>,
    login_per_account: Option<Keyed<[u8; 32]>>,
    trusted_proxies: Vec<Cidr>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters").field("tracked_keys", &self.tracked_keys()).finish_non_exhaustive()
    }
}

fn keyed<K: std::hash::Hash + Eq + Clone>(budget: Option<Budget>) -> Option<Keyed<K>> {
    budget.map(|b| RateLimiter::dashmap_with_clock(b.quota(), MonotonicClock))
}

/// Counts one request of `key` against `limiter` (none: unlimited).
fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: Option<&Keyed<K>>,
    key: &K,
    reason: Reason,
) -> Result<(), RateLimited> {
    let Some(limiter) = limiter else { return Ok(()) };
    limiter
        .check_key(key)
        .map_err(|not_until| RateLimited { reason, retry_after: not_until.wait_time_from(Instant::now()) })
}

impl Limiters {
    /// Limiters for the budgets of `limits`, counting refusals in `metrics`.
    #[must_use]
    pub fn new(limits: &Limits, metrics: Arc<Metrics>) -> Self {
        Self {
            per_token: keyed(limits.rate_per_token),
            per_address: keyed(limits.rate_per_ip),
            login_per_address: keyed(limits.login_per_ip),
            login_per_account: keyed(limits.login_per_account),
            trusted_proxies: limits.trusted_proxies.clone(),
            metrics,
        }
    }

    fn counted(&self, outcome: Result<(), RateLimited>) -> Result<(), RateLimited> {
        if let Err(limited) = &outcome {
            tracing::debug!(reason = limited.reason.label(), "rate limited");
            self.metrics.rate_limited(limited.reason.label());
        }
        outcome
    }

    /// Counts a request of the bearer `token` (hashed here; the token is not kept).
    pub fn check_token(&self, token: &str) -> Result<(), RateLimited> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.counted(check(self.per_token.as_ref(), &key, Reason::Token))
    }

    /// Counts a request from the client address `address`.
    pub fn check_address(&self, address: IpAddr) -> Result<(), RateLimited> {
        self.counted(check(self.per_address.as_ref(), &limit_key(address), Reason::Address))
    }

    /// Counts a login attempt from `address` (when known) for `username` of `org`: the
    /// address's login budget first, then the account's (an attempt refused for its address
    /// costs the account nothing). Names are compared trimmed and lower-cased.
    pub fn check_login(&self, address: Option<IpAddr>, org: &str, username: &str) -> Result<(), RateLimited> {
        if let Some(address) = address {
            self.counted(check(self.login_per_address.as_ref(), &limit_key(address), Reason::LoginAddress))?;
        }
        let mut hasher = Sha256::new();
        hasher.update(org.trim().to_lowercase().as_bytes());
        hasher.update([0]);
        hasher.update(username.trim().to_lowercase().as_bytes());
        let key: [u8; 32] = hasher.finalize().into();
        self.counted(check(self.login_per_account.as_ref(), &key, Reason::LoginAccount))
    }

    /// The client address of a request from `peer` with `headers` (see [`client_ip`]).
    #[must_use]
    pub fn client_address(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        client_ip(peer, headers, &self.trusted_proxies)
    }

    /// Forgets the keys whose budget is full again, and gives back the memory they held.
    pub fn sweep(&self) {
        fn one<K: std::hash::Hash + Eq + Clone>(limiter: Option<&Keyed<K>>) {
            if let Some(limiter) = limiter {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
        one(self.per_token.as_ref());
        one(self.per_address.as_ref());
        one(self.login_per_address.as_ref());
        one(self.login_per_account.as_ref());
    }

    /// How many keys the limiters hold now.
    #[must_use]
    pub fn tracked_keys(&self) -> usize {
        self.per_token.as_ref().map_or(0, Keyed::len)
            + self.per_address.as_ref().map_or(0, Keyed::len)
            + self.login_per_address.as_ref().map_or(0, Keyed::len)
            + self.login_per_account.as_ref().map_or(0, Keyed::len)
    }
}

/// The bearer token of a request, if it carries one.
fn bearer(request: &Request) -> Option<&str> {
    request.headers().get(AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

/// Middleware counting every request but the health probe against its token's and its
/// client address's budgets (see the module doc); registered with
/// `axum::middleware::from_fn_with_state` over the whole router. Without the peer address
/// (a router served without connect info) only the token budget applies.
pub async fn limit(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if request.uri().path() == HEALTH_PATH {
        return next.run(request).await;
    }
    let limiters = &state.limiters;
    if let Some(token) = bearer(&request)
        && let Err(limited) = limiters.check_token(token)
    {
        return limited.into_response();
    }
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    if let Some(peer) = peer {
        let address = limiters.client_address(peer, request.headers());
        if let Err(limited) = limiters.check_address(address) {
            return limited.into_response();
        }
        request.extensions_mut().insert(ClientIp(address));
    }
    next.run(request).await
}

/// Sweeps `limiters` now and then every `every`, until `stop` turns true (or its sender is
/// gone).
pub(crate) async fn sweep_until(
    limiters: Arc<Limiters>,
    every: Duration,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    crate::periodic::every(every, stop, || {
        limiters.sweep();
        std::future::ready(())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::num::NonZeroU32;
    use std::sync::Arc;
    use std::time::Duration;

    use super::{Budget, Limiters, RateLimited, Reason};
    use crate::metrics::Metrics;
    use crate::state::Limits;

    fn n(v: u32) -> NonZeroU32 {
        NonZeroU32::new(v).expect("not zero")
    }

    fn limiters(limits: Limits) -> (Limiters, Arc<Metrics>) {
        let metrics = Arc::new(Metrics::new());
        (Limiters::new(&limits, metrics.clone()), metrics)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn a_token_over_its_burst_is_refused_with_a_wait_and_another_token_is_not() {
        let limits = Limits { rate_per_token: Some(Budget::per_minute(n(1), n(3))), ..Limits::default() };
        let (limiters, metrics) = limiters(limits);
        for _ in 0..3 {
            assert_eq!(limiters.check_token("fk_one"), Ok(()));
        }
        let refused = limiters.check_token("fk_one").expect_err("the fourth is over the burst");
        assert_eq!(refused.reason, Reason::Token);
        assert!(refused.retry_after > Duration::from_secs(50), "{:?}", refused.retry_after);
        assert_eq!(refused.retry_after_secs(), 60);
        assert_eq!(limiters.check_token("fk_two"), Ok(()));
        assert!(
            metrics.render(0).contains("fieldkit_rate_limited_total{reason=\"token\"} 1"),
            "{}",
            metrics.render(0)
        );
    }

    #[test]
    fn login_attempts_are_limited_per_address_and_per_account_apart() {
        let limits = Limits {
            login_per_ip: Some(Budget::per_minute(n(1), n(3))),
            login_per_account: Some(Budget::per_minute(n(1), n(2))),
            ..Limits::default()
        };
        let (limiters, _) = limiters(limits);
        let (a, b) = (Some(ip("192.0.2.1")), Some(ip("192.0.2.2")));
        assert_eq!(limiters.check_login(a, "acme", "rep1"), Ok(()));
        assert_eq!(
            limiters.check_login(b, "acme", " REP1 "),
            Ok(()),
            "same account, trimmed and lower-cased"
        );
        let refused = limiters.check_login(b, "acme", "rep1").expect_err("the account's third");
        assert_eq!(refused.reason, Reason::LoginAccount);
        assert_eq!(limiters.check_login(a, "acme", "rep2"), Ok(()));
        assert_eq!(limiters.check_login(a, "acme", "rep3"), Ok(()));
        let refused = limiters.check_login(a, "acme", "rep4").expect_err("the address's fourth");
        assert_eq!(refused.reason, Reason::LoginAddress);
        assert_eq!(limiters.check_login(b, "globex", "rep1"), Ok(()), "another org's user of that name");
    }

    #[test]
    fn a_budget_left_out_is_no_limit() {
        let limits = Limits { rate_per_token: None, rate_per_ip: None, ..Limits::default() };
        let (limiters, _) = limiters(limits);
        for _ in 0..10_000 {
            assert_eq!(limiters.check_token("fk_busy"), Ok(()));
            assert_eq!(limiters.check_address(ip("192.0.2.1")), Ok(()));
        }
        assert_eq!(limiters.tracked_keys(), 0);
    }

    #[test]
    fn a_sweep_forgets_keys_whose_budget_is_full_again_and_keeps_the_others() {
        let limits = Limits {
            rate_per_ip: Some(Budget { rate: n(1_000_000), per: super::Per::Second, burst: n(2) }),
            rate_per_token: Some(Budget::per_minute(n(1), n(2))),
            ..Limits::default()
        };
        let (limiters, _) = limiters(limits);
        for i in 0..100_u8 {
            limiters.check_address(IpAddr::from([198, 51, 100, i])).expect("under budget");
        }
        limiters.check_token("fk_slow").expect("under budget");
        assert_eq!(limiters.tracked_keys(), 101);
        std::thread::sleep(Duration::from_millis(5));
        limiters.sweep();
        assert_eq!(limiters.tracked_keys(), 1, "the token's minute is not over");
    }

    #[test]
    fn the_refusal_answers_429_rate_limited_with_retry_after_in_whole_seconds() {
        let limited = RateLimited { reason: Reason::Address, retry_after: Duration::from_millis(1_200) };
        let response = axum::response::IntoResponse::into_response(limited);
        assert_eq!(response.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "2");
        let quick = RateLimited { reason: Reason::Token, retry_after: Duration::ZERO };
        assert_eq!(quick.retry_after_secs(), 1);
    }
}
