//! A fault-injecting HTTP/1.1 proxy on loopback, for chaos scenarios.
//!
//! [`FaultProxy`] listens on `127.0.0.1:0` and forwards to a server on a loopback address, or
//! to several instances of it in turn, request by request ([`FaultProxy::balance`]).
//! For every request it reads whole (head, then `Content-Length` bytes of body), it draws one
//! [`Fault`] from a seeded [`SplitMix64`] according to a [`FaultPlan`]: drop the request, lose
//! the answer after the server committed it, delay it, cut its body half-way, cut the answer
//! mid-stream after the server committed it, answer 500/503 itself, or pass it through. Each exchange uses a fresh upstream connection and every
//! connection, on both sides, carries one request only (`Connection: close`), so keep-alive
//! never muddles what happened to which request. [`FaultCounts`] says what it did.
//!
//! With one client per proxy (one phone, whose syncs run one at a time), the faults hit the
//! same requests in every run: the sequence is a function of the seed alone.
//!
//! Everything is bounded in time, and dropping the proxy stops it: its accept task owns the
//! connection tasks and aborting it aborts them all.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::timeout;

/// The largest request or response head accepted.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The largest request body accepted (the engine pushes at most about 1 MiB).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The largest upstream response accepted.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// How long a client may take to send its whole request.
const CLIENT_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long writing the answer to the client may take.
const CLIENT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting to the server may take.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the server may take to take the request and answer it in full.
const UPSTREAM_EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);
/// The most one connection may live, whatever happens.
const CONNECTION_DEADLINE: Duration = Duration::from_secs(60);

/// A small, fast, seedable pseudo-random generator (SplitMix64). Not for cryptography.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose whole sequence is fixed by `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        // The top 53 bits, exactly representable, scaled by 2^-53.
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// A number in `[0, n)`; `0` when `n` is `0`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

/// What the proxy does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Close the client's connection without forwarding the request.
    Drop,
    /// Forward the request, let the server process (and commit) it, read its whole answer,
    /// then close the client's connection without sending it.
    LoseAnswer,
    /// Wait up to [`FaultPlan::max_delay`], then forward normally.
    Delay,
    /// Forward the head and only part of the body, then close both connections.
    CutBody,
    /// Forward the request, let the server process (and commit) it, read its whole answer,
    /// then send the client the answer's head and only part of its body (part of the head
    /// when the body's length is not framed) and close: the client sees a broken answer.
    CutAnswer,
    /// Answer 500 or 503 without forwarding.
    ServerError,
    /// Forward normally.
    Pass,
}

/// How often each fault happens. Probabilities are per request, in `[0, 1]`, and sum to at
/// most 1; the rest of the requests pass through untouched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultPlan {
    /// Seed of the generator that picks faults, delays and cut points.
    pub seed: u64,
    /// Probability of [`Fault::Drop`].
    pub drop: f64,
    /// Probability of [`Fault::LoseAnswer`].
    pub lose_answer: f64,
    /// Probability of [`Fault::Delay`].
    pub delay: f64,
    /// Probability of [`Fault::CutBody`].
    pub cut_body: f64,
    /// Probability of [`Fault::CutAnswer`].
    pub cut_answer: f64,
    /// Probability of [`Fault::ServerError`].
    pub server_error: f64,
    /// The longest delay a [`Fault::Delay`] waits.
    pub max_delay: Duration,
}

impl FaultPlan {
    /// A plan that injects nothing: every request passes.
    #[must_use]
    pub fn none(seed: u64) -> Self {
        Self {
            seed,
            drop: 0.0,
            lose_answer: 0.0,
            delay: 0.0,
            cut_body: 0.0,
            cut_answer: 0.0,
            server_error: 0.0,
            max_delay: Duration::ZERO,
        }
    }

    /// The probability that a request is not simply passed through.
    #[must_use]
    pub fn fault_probability(&self) -> f64 {
        self.drop + self.lose_answer + self.delay + self.cut_body + self.cut_answer + self.server_error
    }

    fn validate(&self) -> anyhow::Result<()> {
        for (name, p) in [
            ("drop", self.drop),
            ("lose_answer", self.lose_answer),
            ("delay", self.delay),
            ("cut_body", self.cut_body),
            ("cut_answer", self.cut_answer),
            ("server_error", self.server_error),
        ] {
            ensure!((0.0..=1.0).contains(&p), "probability {name} = {p} is outside [0, 1]");
        }
        ensure!(
            self.fault_probability() <= 1.0,
            "fault probabilities sum to {} > 1",
            self.fault_probability()
        );
        Ok(())
    }

    /// Picks the fault for the next request.
    fn pick(&self, rng: &mut SplitMix64) -> Fault {
        let roll = rng.next_f64();
        let mut bound = 0.0;
        for (p, fault) in [
            (self.drop, Fault::Drop),
            (self.lose_answer, Fault::LoseAnswer),
            (self.delay, Fault::Delay),
            (self.cut_body, Fault::CutBody),
            (self.cut_answer, Fault::CutAnswer),
            (self.server_error, Fault::ServerError),
        ] {
            bound += p;
            if roll < bound {
                return fault;
            }
        }
        Fault::Pass
    }
}

/// What a proxy did, per fault kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultCounts {
    /// Requests read whole from clients (each got exactly one of the faults below).
    pub requests: u64,
    /// Requests dropped unforwarded.
    pub dropped: u64,
    /// Requests the server processed whose answer was then withheld.
    pub lost_answers: u64,
    /// Requests delayed, then forwarded.
    pub delayed: u64,
    /// Requests whose body was cut half-way.
    pub cut_bodies: u64,
    /// Requests the server processed whose answer reached the client cut short.
    pub cut_answers: u64,
    /// Requests answered 500 or 503 by the proxy itself.
    pub server_errors: u64,
    /// Requests passed through untouched.
    pub passed: u64,
    /// Forwarded requests (passed, delayed, or to be lost or cut) for which the server could not be
    /// reached or did not answer in full; the client's connection was then closed unanswered.
    pub upstream_failures: u64,
}

impl FaultCounts {
    /// Requests that got any fault, delays included.
    #[must_use]
    pub fn faulted(&self) -> u64 {
        self.dropped
            + self.lost_answers
            + self.delayed
            + self.cut_bodies
            + self.cut_answers
            + self.server_errors
    }

    /// Requests whose client got no answer from the server: every fault except delays.
    #[must_use]
    pub fn failed(&self) -> u64 {
        self.dropped + self.lost_answers + self.cut_bodies + self.cut_answers + self.server_errors
    }
}

impl std::ops::Add for FaultCounts {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            requests: self.requests + other.requests,
            dropped: self.dropped + other.dropped,
            lost_answers: self.lost_answers + other.lost_answers,
            delayed: self.delayed + other.delayed,
            cut_bodies: self.cut_bodies + other.cut_bodies,
            cut_answers: self.cut_answers + other.cut_answers,
            server_errors: self.server_errors + other.server_errors,
            passed: self.passed + other.passed,
            upstream_failures: self.upstream_failures + other.upstream_failures,
        }
    }
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    dropped: AtomicU64,
    lost_answers: AtomicU64,
    delayed: AtomicU64,
    cut_bodies: AtomicU64,
    cut_answers: AtomicU64,
    server_errors: AtomicU64,
    passed: AtomicU64,
    upstream_failures: AtomicU64,
}

impl Counters {
    fn record(&self, fault: Fault) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let counter = match fault {
            Fault::Drop => &self.dropped,
            Fault::LoseAnswer => &self.lost_answers,
            Fault::Delay => &self.delayed,
            Fault::CutBody => &self.cut_bodies,
            Fault::CutAnswer => &self.cut_answers,
            Fault::ServerError => &self.server_errors,
            Fault::Pass => &self.passed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> FaultCounts {
        FaultCounts {
            requests: self.requests.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            lost_answers: self.lost_answers.load(Ordering::Relaxed),
            delayed: self.delayed.load(Ordering::Relaxed),
            cut_bodies: self.cut_bodies.load(Ordering::Relaxed),
            cut_answers: self.cut_answers.load(Ordering::Relaxed),
            server_errors: self.server_errors.load(Ordering::Relaxed),
            passed: self.passed.load(Ordering::Relaxed),
            upstream_failures: self.upstream_failures.load(Ordering::Relaxed),
        }
    }
}

struct Shared {
    /// The servers, taken in turn, one per request (a load balancer without sticky sessions).
    targets: Vec<SocketAddr>,
    next_target: AtomicU64,
    plan: FaultPlan,
    rng: Mutex<SplitMix64>,
    enabled: AtomicBool,
    counters: Counters,
}

impl Shared {
    /// The fault for the next request, and the random number that parameterises it (delay
    /// length, cut point, status): both drawn under one lock so the sequence is the seed's.
    /// Counted at once, under the same lock.
    fn next_fault(&self) -> (Fault, u64) {
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        let (fault, param) = if self.enabled.load(Ordering::SeqCst) {
            let fault = self.plan.pick(&mut rng);
            (fault, rng.next_u64())
        } else {
            (Fault::Pass, 0)
        };
        self.counters.record(fault);
        (fault, param)
    }
}

/// A fault-injecting HTTP proxy on `127.0.0.1`, running until dropped.
pub struct FaultProxy {
    url: String,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1:0` in front of the server at `target_url`, which must be
    /// `http://` on a loopback address (e.g. `http://127.0.0.1:PORT`). Faults are on.
    pub async fn start(target_url: &str, plan: FaultPlan) -> anyhow::Result<Self> {
        Self::balance(&[target_url], plan).await
    }

    /// As [`FaultProxy::start`] in front of several instances of the server: each request goes
    /// to the next one in turn, so a client's consecutive requests reach different instances
    /// (no sticky sessions).
    pub async fn balance(target_urls: &[&str], plan: FaultPlan) -> anyhow::Result<Self> {
        plan.validate()?;
        ensure!(!target_urls.is_empty(), "the proxy needs a server to forward to");
        let targets = target_urls.iter().map(|url| loopback_target(url)).collect::<anyhow::Result<_>>()?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            targets,
            next_target: AtomicU64::new(0),
            plan,
            rng: Mutex::new(SplitMix64::new(plan.seed)),
            enabled: AtomicBool::new(true),
            counters: Counters::default(),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Self { url, shared, accept })
    }

    /// The proxy's base URL, `http://127.0.0.1:PORT`: give it to clients instead of the
    /// server's.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Turns fault injection on or off; while off, every request passes (and is counted so).
    pub fn set_faults_enabled(&self, enabled: bool) {
        // Under the generator's lock, where faults are picked and counted: a request is either
        // before the switch or after it, in its fault and in the counts.
        let _rng = self.shared.rng.lock().unwrap_or_else(PoisonError::into_inner);
        self.shared.enabled.store(enabled, Ordering::SeqCst);
    }

    /// What the proxy did so far.
    #[must_use]
    pub fn counts(&self) -> FaultCounts {
        self.shared.counters.snapshot()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // The accept task owns every connection task (a `JoinSet`): aborting it ends them all.
        self.accept.abort();
    }
}

/// The socket address of `http://HOST:PORT`, refused unless HOST is a loopback IP address.
fn loopback_target(url: &str) -> anyhow::Result<SocketAddr> {
    let authority = url
        .strip_prefix("http://")
        .with_context(|| format!("the proxy forwards plain http only, not {url}"))?
        .trim_end_matches('/');
    let addr: SocketAddr =
        authority.parse().with_context(|| format!("{authority} is not an ip address and port"))?;
    ensure!(addr.ip().is_loopback(), "the proxy forwards to loopback only, not {addr}");
    Ok(addr)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) if peer.ip().is_loopback() => {
                    let shared = shared.clone();
                    connections.spawn(async move {
                        match timeout(CONNECTION_DEADLINE, handle(stream, &shared)).await {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => tracing::debug!("proxy connection from {peer}: {e:#}"),
                            Err(_) => tracing::debug!("proxy connection from {peer} timed out"),
                        }
                    });
                }
                Ok((_, peer)) => tracing::warn!("proxy refused a connection from {peer}"),
                Err(e) => {
                    // E.g. out of file descriptors: wait rather than spin.
                    tracing::warn!("proxy accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// One HTTP request read from a client.
struct Request {
    /// The head to send upstream (rewritten to `Connection: close`), blank line included.
    head: Vec<u8>,
    /// The body, `Content-Length` bytes.
    body: Vec<u8>,
}

/// Serves one client connection: one request, one fault, then the connection is closed.
async fn handle(mut client: TcpStream, shared: &Shared) -> anyhow::Result<()> {
    let Some(request) = timeout(CLIENT_READ_TIMEOUT, read_request(&mut client))
        .await
        .context("reading the request timed out")??
    else {
        // The client closed before sending a whole request: nothing to decide.
        return Ok(());
    };
    let (fault, param) = shared.next_fault();
    match fault {
        Fault::Drop => Ok(()),
        Fault::ServerError => {
            let (status, reason) =
                if param % 2 == 0 { (500, "Internal Server Error") } else { (503, "Service Unavailable") };
            let body = "fault injected by the test proxy";
            let answer = format!(
                "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
            send_to_client(&mut client, answer.as_bytes()).await
        }
        Fault::CutBody => {
            let whole = request.head.len() + request.body.len();
            // Within the body when there is one, else within the head; never the whole.
            let cut = if request.body.is_empty() {
                usize::try_from(param % as_u64(request.head.len())).unwrap_or(0)
            } else {
                request.head.len() + usize::try_from(param % as_u64(request.body.len())).unwrap_or(0)
            };
            let mut bytes = request.head;
            bytes.extend_from_slice(&request.body);
            bytes.truncate(cut.min(whole));
            let mut upstream = connect_upstream(shared).await?;
            timeout(UPSTREAM_EXCHANGE_TIMEOUT, async {
                upstream.write_all(&bytes).await?;
                upstream.shutdown().await
            })
            .await
            .context("writing the cut request timed out")??;
            Ok(())
        }
        Fault::LoseAnswer | Fault::CutAnswer | Fault::Delay | Fault::Pass => {
            if fault == Fault::Delay {
                let max_ms = u64::try_from(shared.plan.max_delay.as_millis()).unwrap_or(u64::MAX);
                let wait = param % max_ms.saturating_add(1);
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            let answer = match forward(shared, &request).await {
                Ok(answer) => answer,
                Err(e) => {
                    shared.counters.upstream_failures.fetch_add(1, Ordering::Relaxed);
                    return Err(e.context("forwarding"));
                }
            };
            match fault {
                // The server has done its work; the client never hears of it.
                Fault::LoseAnswer => Ok(()),
                // The server has done its work; the client hears of it only in part.
                Fault::CutAnswer => send_to_client(&mut client, &cut_answer(answer, param)).await,
                _ => send_to_client(&mut client, &answer).await,
            }
        }
    }
}

fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Reads one whole request; `None` if the client closed before sending one.
async fn read_request(client: &mut TcpStream) -> anyhow::Result<Option<Request>> {
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(end) = find_head_end(&buf) {
            break end;
        }
        ensure!(buf.len() <= MAX_HEAD_BYTES, "request head over {MAX_HEAD_BYTES} bytes");
        if read_some(client, &mut buf).await? == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            bail!("client closed mid-head after {} bytes", buf.len());
        }
    };
    let head = std::str::from_utf8(&buf[..head_end]).context("request head is not utf-8")?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let mut content_length = 0_usize;
    let mut rewritten = format!("{request_line}\r\n");
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) =
            line.split_once(':').with_context(|| format!("malformed header line {line:?}"))?;
        let name_lower = name.trim().to_ascii_lowercase();
        match name_lower.as_str() {
            "content-length" => {
                content_length =
                    value.trim().parse().with_context(|| format!("bad content-length {value:?}"))?;
            }
            "transfer-encoding" => bail!("chunked request bodies are not supported"),
            "connection" | "keep-alive" | "proxy-connection" => continue,
            _ => {}
        }
        rewritten.push_str(line);
        rewritten.push_str("\r\n");
    }
    rewritten.push_str("connection: close\r\n\r\n");
    ensure!(
        content_length <= MAX_BODY_BYTES,
        "request body of {content_length} bytes is over {MAX_BODY_BYTES}"
    );
    let mut body = buf.split_off(head_end + 4);
    while body.len() < content_length {
        if read_some(client, &mut body).await? == 0 {
            bail!("client closed mid-body after {} of {content_length} bytes", body.len());
        }
    }
    // Anything past the body would be a pipelined request: one request per connection here.
    body.truncate(content_length);
    Ok(Some(Request { head: rewritten.into_bytes(), body }))
}

/// Where the blank line ending a head starts, if the buffer holds one.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

async fn read_some(stream: &mut (impl AsyncRead + Unpin), buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0_u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

async fn connect_upstream(shared: &Shared) -> anyhow::Result<TcpStream> {
    let turn = shared.next_target.fetch_add(1, Ordering::Relaxed);
    let target = shared.targets[usize::try_from(turn).unwrap_or(0) % shared.targets.len()];
    let stream = timeout(UPSTREAM_CONNECT_TIMEOUT, TcpStream::connect(target))
        .await
        .context("connecting to the server timed out")??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Sends the request on a fresh connection and returns the server's whole answer, its head
/// rewritten to `Connection: close`.
async fn forward(shared: &Shared, request: &Request) -> anyhow::Result<Vec<u8>> {
    let mut upstream = connect_upstream(shared).await?;
    let answer = timeout(UPSTREAM_EXCHANGE_TIMEOUT, async {
        upstream.write_all(&request.head).await?;
        upstream.write_all(&request.body).await?;
        upstream.flush().await?;
        let mut answer = Vec::with_capacity(4096);
        while read_some(&mut upstream, &mut answer).await? > 0 {
            ensure!(answer.len() <= MAX_RESPONSE_BYTES, "answer over {MAX_RESPONSE_BYTES} bytes");
        }
        Ok(answer)
    })
    .await
    .context("the server did not answer in time")??;
    ensure!(!answer.is_empty(), "the server closed without answering");
    close_after(answer)
}

/// The response with its `Connection` headers replaced by `connection: close`.
fn close_after(answer: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    let head_end = find_head_end(&answer).context("the server's answer has no complete head")?;
    let head = std::str::from_utf8(&answer[..head_end]).context("the server's head is not utf-8")?;
    let mut rewritten = String::with_capacity(head.len() + 32);
    for line in head.split("\r\n") {
        let name = line.split_once(':').map(|(n, _)| n.trim().to_ascii_lowercase());
        if matches!(name.as_deref(), Some("connection" | "keep-alive")) {
            continue;
        }
        rewritten.push_str(line);
        rewritten.push_str("\r\n");
    }
    rewritten.push_str("connection: close\r\n\r\n");
    let mut out = rewritten.into_bytes();
    out.extend_from_slice(&answer[head_end + 4..]);
    Ok(out)
}

/// The first part of a whole answer: its head and part of its body, never all of it, so
/// that the client sees fewer bytes than the head announces. When the head frames no body
/// (neither `content-length` nor chunked), a short body would look complete: the answer is
/// then cut inside its head instead.
fn cut_answer(mut answer: Vec<u8>, param: u64) -> Vec<u8> {
    let Some(head_end) = find_head_end(&answer) else {
        let keep = usize::try_from(param % as_u64(answer.len().max(1))).unwrap_or(0);
        answer.truncate(keep);
        return answer;
    };
    let body_start = head_end + 4;
    let body_len = answer.len() - body_start;
    let head = String::from_utf8_lossy(&answer[..head_end]).to_ascii_lowercase();
    let framed = head.split("\r\n").any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            let name = name.trim();
            name == "content-length" || (name == "transfer-encoding" && value.contains("chunked"))
        })
    });
    let keep = if framed && body_len > 0 {
        body_start + usize::try_from(param % as_u64(body_len)).unwrap_or(0)
    } else {
        usize::try_from(param % as_u64(head_end.max(1))).unwrap_or(0)
    };
    answer.truncate(keep);
    answer
}

async fn send_to_client(client: &mut TcpStream, bytes: &[u8]) -> anyhow::Result<()> {
    timeout(CLIENT_WRITE_TIMEOUT, async {
        client.write_all(bytes).await?;
        client.shutdown().await
    })
    .await
    .context("writing the answer timed out")??;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the fake server saw of each connection: the body length, or why it failed.
    type Seen = Arc<Mutex<Vec<Result<usize, String>>>>;

    /// A server on loopback that reads one request per connection, answers 200 `ok` (with
    /// keep-alive, which the proxy must turn into close) and records what it read.
    async fn fake_server() -> (String, Seen, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let seen = Seen::default();
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let outcome = match read_request(&mut stream).await {
                    Ok(Some(request)) => Ok(request.body.len()),
                    Ok(None) => Err("nothing".to_owned()),
                    Err(e) => Err(e.to_string()),
                };
                let answered = outcome.is_ok();
                log.lock().expect("lock").push(outcome);
                if answered {
                    let answer = b"HTTP/1.1 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\nok";
                    let _ = stream.write_all(answer).await;
                    let _ = stream.shutdown().await;
                }
            }
        });
        (url, seen, task)
    }

    /// Sends one POST with a 1000-byte body through `url` and returns what came back.
    async fn post(url: &str) -> Vec<u8> {
        let addr = url.strip_prefix("http://").expect("http url");
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let body = vec![b'x'; 1000];
        let head =
            format!("POST /v1/sync HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\n\r\n", body.len());
        stream.write_all(head.as_bytes()).await.expect("write head");
        stream.write_all(&body).await.expect("write body");
        let mut answer = Vec::new();
        // A reset instead of a clean close is an answer-less end too.
        let _ = timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
        answer
    }

    fn only(fault: Fault) -> FaultPlan {
        let mut plan = FaultPlan::none(1);
        plan.max_delay = Duration::from_millis(50);
        match fault {
            Fault::Drop => plan.drop = 1.0,
            Fault::LoseAnswer => plan.lose_answer = 1.0,
            Fault::Delay => plan.delay = 1.0,
            Fault::CutBody => plan.cut_body = 1.0,
            Fault::CutAnswer => plan.cut_answer = 1.0,
            Fault::ServerError => plan.server_error = 1.0,
            Fault::Pass => {}
        }
        plan
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_fault_does_to_the_request_what_it_says() {
        for fault in [
            Fault::Drop,
            Fault::LoseAnswer,
            Fault::Delay,
            Fault::CutBody,
            Fault::CutAnswer,
            Fault::ServerError,
            Fault::Pass,
        ] {
            let (url, seen, server) = fake_server().await;
            let proxy = FaultProxy::start(&url, only(fault)).await.expect("proxy");
            let answer = String::from_utf8(post(proxy.url()).await).expect("utf-8");
            // The fake server logs a connection once it has read it: wait for the ones that
            // reach it, and a moment for those that must not.
            let reaches_server = !matches!(fault, Fault::Drop | Fault::ServerError);
            for _ in 0..100 {
                if !reaches_server || !seen.lock().expect("lock").is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            let seen = seen.lock().expect("lock").clone();
            match fault {
                Fault::Drop => assert!(answer.is_empty() && seen.is_empty(), "{answer:?} {seen:?}"),
                Fault::LoseAnswer => assert!(answer.is_empty() && seen == [Ok(1000)], "{answer:?} {seen:?}"),
                Fault::CutBody => {
                    assert!(answer.is_empty(), "{answer:?}");
                    assert!(matches!(&seen[..], [Err(e)] if e.contains("mid-body")), "{seen:?}");
                }
                Fault::CutAnswer => {
                    // The server read the whole request; the client got the head announcing
                    // two bytes of body, and fewer than two.
                    assert_eq!(seen, [Ok(1000)]);
                    let (head, body) = answer.split_once("\r\n\r\n").expect("the whole head");
                    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
                    assert!(head.contains("content-length: 2"), "{answer:?}");
                    assert!(body.len() < 2, "{answer:?}");
                }
                Fault::ServerError => {
                    assert!(
                        answer.starts_with("HTTP/1.1 500") || answer.starts_with("HTTP/1.1 503"),
                        "{answer:?}"
                    );
                    assert!(seen.is_empty(), "{seen:?}");
                }
                Fault::Delay | Fault::Pass => {
                    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
                    assert!(answer.contains("connection: close\r\n"), "{answer:?}");
                    assert!(!answer.contains("keep-alive"), "{answer:?}");
                    assert!(answer.ends_with("\r\n\r\nok"), "{answer:?}");
                    assert_eq!(seen, [Ok(1000)]);
                }
            }
            let counts = proxy.counts();
            assert_eq!(counts.requests, 1, "{fault:?}: {counts:?}");
            assert_eq!(counts.upstream_failures, 0, "{fault:?}: {counts:?}");
            server.abort();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn faults_switched_off_let_everything_pass_and_a_dropped_proxy_stops_listening() {
        let (url, seen, server) = fake_server().await;
        let proxy = FaultProxy::start(&url, only(Fault::Drop)).await.expect("proxy");
        proxy.set_faults_enabled(false);
        for _ in 0..3 {
            assert!(!post(proxy.url()).await.is_empty());
        }
        assert_eq!(seen.lock().expect("lock").len(), 3);
        assert_eq!((proxy.counts().passed, proxy.counts().dropped), (3, 0));

        let addr = proxy.url().trim_start_matches("http://").to_owned();
        drop(proxy);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(TcpStream::connect(&addr).await.is_err(), "still listening on {addr}");
        server.abort();
    }

    #[test]
    fn the_same_seed_gives_the_same_faults_and_the_mix_follows_the_plan() {
        let plan = FaultPlan {
            seed: 7,
            drop: 0.1,
            lose_answer: 0.1,
            delay: 0.1,
            cut_body: 0.1,
            cut_answer: 0.1,
            server_error: 0.1,
            max_delay: Duration::from_millis(10),
        };
        let run = |seed| {
            let mut rng = SplitMix64::new(seed);
            (0..10_000).map(|_| plan.pick(&mut rng)).collect::<Vec<_>>()
        };
        let first = run(7);
        assert_eq!(first, run(7));
        assert_ne!(first, run(8));
        let passed = first.iter().filter(|f| **f == Fault::Pass).count();
        assert!((3_700..4_300).contains(&passed), "{passed}");
        let cut_answers = first.iter().filter(|f| **f == Fault::CutAnswer).count();
        assert!((800..1_200).contains(&cut_answers), "{cut_answers}");
    }

    #[test]
    fn only_loopback_targets_are_accepted() {
        assert!(loopback_target("http://127.0.0.1:8080").is_ok());
        assert!(loopback_target("http://[::1]:8080/").is_ok());
        assert!(loopback_target("http://10.0.0.1:8080").is_err());
        assert!(loopback_target("https://127.0.0.1:8080").is_err());
        assert!(loopback_target("http://example.com:80").is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cut_answer_is_an_error_for_an_http_client_after_the_server_did_the_work() {
        let (url, seen, server) = fake_server().await;
        let proxy = FaultProxy::start(&url, only(Fault::CutAnswer)).await.expect("proxy");
        // reqwest is built without a default TLS provider: plain http still needs one set.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let outcome = async {
            let response =
                client.post(format!("{}/v1/sync", proxy.url())).body("x".repeat(1000)).send().await?;
            response.bytes().await
        }
        .await;
        assert!(outcome.is_err(), "a cut answer was read as whole: {outcome:?}");
        assert_eq!(*seen.lock().expect("lock"), [Ok(1000)]);
        assert_eq!(proxy.counts().cut_answers, 1);
        server.abort();
    }

    #[test]
    fn an_answer_is_cut_inside_its_body_when_framed_and_inside_its_head_when_not() {
        let framed = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789".to_vec();
        let head_len = framed.len() - 10;
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n".to_vec();
        let chunked_head_len = chunked.len() - 12;
        let unframed = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n0123456789".to_vec();
        let unframed_head = unframed.len() - 14;
        for param in 0..200 {
            let cut = cut_answer(framed.clone(), param);
            assert!((head_len..framed.len()).contains(&cut.len()), "{param}: {}", cut.len());
            let cut = cut_answer(chunked.clone(), param);
            assert!((chunked_head_len..chunked.len()).contains(&cut.len()), "{param}: {}", cut.len());
            let cut = cut_answer(unframed.clone(), param);
            assert!(cut.len() < unframed_head, "{param}: {}", cut.len());
        }
        assert!(cut_answer(Vec::new(), 7).is_empty());
    }

    #[test]
    fn the_answer_head_is_rewritten_to_close_the_connection() {
        let answer = b"HTTP/1.1 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\n{}".to_vec();
        let out = close_after(answer).expect("a complete head");
        assert_eq!(out, b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".to_vec());
    }
}
