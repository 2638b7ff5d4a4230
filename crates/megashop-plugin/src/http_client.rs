//! The HTTP client plugins use: one shared connection pool, a rate limit per instance,
//! and retries with exponential backoff and jitter that honour `Retry-After`.
//!
//! Retries are logged to the run log with the method, the URL without its query (API keys
//! travel there) and the reason; headers (`Authorization`) and bodies are never logged.

use crate::context::SyncLog;
use crate::error::PluginError;
use rand::Rng;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How an instance's HTTP requests are paced and retried.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpPolicy {
    /// Requests per second this instance may send (from this server); 0 = no limit.
    pub requests_per_second: f64,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Delay before the first retry; it doubles with each (with jitter).
    pub base_delay: Duration,
    /// Longest delay between two attempts (unless `Retry-After` asks for more).
    pub max_delay: Duration,
    /// Longest total time spent waiting between attempts of one request.
    pub max_total_wait: Duration,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            requests_per_second: 5.0,
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(120),
        }
    }
}

/// Which failures of a request may be retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Retry {
    /// By method: idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) on 408, 429, 5xx
    /// (500, 502, 503, 504), timeouts and connection failures; others (POST, PATCH) only
    /// when the request surely was not processed: 429 and connection failures.
    #[default]
    Auto,
    /// Every retryable failure, whatever the method (the remote deduplicates).
    Always,
    /// One attempt.
    Never,
}

/// Spaces the requests of one instance: at most `rate` per second from this process.
pub(crate) struct RateLimiter {
    next: tokio::sync::Mutex<Instant>,
    interval: std::sync::Mutex<Duration>,
}

impl RateLimiter {
    pub(crate) fn new(rate: f64) -> RateLimiter {
        RateLimiter { next: tokio::sync::Mutex::new(Instant::now()), interval: std::sync::Mutex::new(interval(rate)) }
    }

    pub(crate) fn set_rate(&self, rate: f64) {
        if let Ok(mut i) = self.interval.lock() {
            *i = interval(rate);
        }
    }

    async fn acquire(&self) {
        let step = self.interval.lock().map(|i| *i).unwrap_or_default();
        if step.is_zero() {
            return;
        }
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        }
        *next = (*next).max(now) + step;
    }
}

fn interval(rate: f64) -> Duration {
    if rate.is_finite() && rate > 0.0 {
        Duration::from_secs_f64((1.0 / rate).min(3600.0))
    } else {
        Duration::ZERO
    }
}

/// An instance's HTTP client (from [`crate::SyncContext::http`]). Build requests with
/// [`HttpClient::get`] and friends (they are plain `reqwest` builders: add headers, a
/// JSON body, basic auth...), then send them with [`HttpClient::send`], which paces and
/// retries them.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    policy: HttpPolicy,
    limiter: Arc<RateLimiter>,
    log: SyncLog,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl HttpClient {
    pub(crate) fn new(client: reqwest::Client, policy: HttpPolicy, limiter: Arc<RateLimiter>, log: SyncLog) -> Self {
        HttpClient { client, policy, limiter, log }
    }

    /// The pacing and retry policy of this instance.
    pub fn policy(&self) -> &HttpPolicy {
        &self.policy
    }

    /// A request with any method.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.client.request(method, url)
    }

    /// A `GET` request.
    pub fn get(&self, url: &str) -> RequestBuilder {
        self.client.get(url)
    }

    /// A `POST` request.
    pub fn post(&self, url: &str) -> RequestBuilder {
        self.client.post(url)
    }

    /// A `PUT` request.
    pub fn put(&self, url: &str) -> RequestBuilder {
        self.client.put(url)
    }

    /// A `PATCH` request.
    pub fn patch(&self, url: &str) -> RequestBuilder {
        self.client.patch(url)
    }

    /// A `DELETE` request.
    pub fn delete(&self, url: &str) -> RequestBuilder {
        self.client.delete(url)
    }

    /// Sends a request with [`Retry::Auto`]. The answer is returned whatever its status,
    /// except a retryable one (429, 5xx) that persists after every attempt, which is
    /// [`PluginError::Remote`]; a remote that cannot be reached is [`PluginError::Http`].
    pub async fn send(&self, req: RequestBuilder) -> Result<Response, PluginError> {
        self.send_with(req, Retry::Auto).await
    }

    /// Sends a request, retrying as `retry` allows.
    pub async fn send_with(&self, req: RequestBuilder, retry: Retry) -> Result<Response, PluginError> {
        let (client, request) = req.build_split();
        let request = request.map_err(PluginError::from)?;
        let method = request.method().clone();
        let shown = safe_url(request.url());
        let max = if retry == Retry::Never { 1 } else { self.policy.max_attempts.max(1) };
        let idempotent = retry == Retry::Always
            || matches!(method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS);
        let mut waited = Duration::ZERO;
        let mut pending = Some(request);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Some(this) = pending.take() else {
                return Err(PluginError::Internal("no request to send".into()));
            };
            // Streaming bodies cannot be replayed: such a request gets one attempt.
            let again = if attempt < max { this.try_clone() } else { None };
            self.limiter.acquire().await;
            let (reason, status, wait_hint) = match client.execute(this).await {
                Ok(res) => {
                    let st = res.status();
                    let retryable = st == StatusCode::TOO_MANY_REQUESTS
                        || (idempotent && matches!(st.as_u16(), 408 | 500 | 502 | 503 | 504));
                    if !retryable {
                        return Ok(res);
                    }
                    let hint = retry_after(res.headers());
                    if again.is_none() {
                        let body = snippet(res).await;
                        return Err(PluginError::Remote {
                            status: Some(st.as_u16()),
                            message: format!("{method} {shown} answered {st} {attempt} time(s), giving up{body}"),
                        });
                    }
                    (format!("answered {st}"), Some(st.as_u16()), hint)
                }
                Err(e) => {
                    let e = e.without_url();
                    let retryable = e.is_connect() || (idempotent && (e.is_timeout() || e.is_request()));
                    if !retryable || again.is_none() {
                        let tries = if attempt > 1 { format!(" after {attempt} attempts") } else { String::new() };
                        return Err(PluginError::Http(format!("{method} {shown} failed{tries}: {e}")));
                    }
                    (format!("failed: {e}"), None, None)
                }
            };
            let wait = match wait_hint {
                Some(w) => w,
                None => self.backoff(attempt),
            };
            if waited + wait > self.policy.max_total_wait {
                let why = if wait_hint.is_some() { "asks to wait" } else { "would need" };
                return Err(PluginError::Remote {
                    status,
                    message: format!(
                        "{method} {shown} {reason} and {why} {:.1} s more, beyond the retry budget of {} s",
                        wait.as_secs_f64(),
                        self.policy.max_total_wait.as_secs()
                    ),
                });
            }
            self.log
                .warn(format!(
                    "{method} {shown} {reason}; retry {} of {} in {:.1} s",
                    attempt,
                    max - 1,
                    wait.as_secs_f64()
                ))
                .await;
            tokio::time::sleep(wait).await;
            waited += wait;
            pending = again;
        }
    }

    /// Sends a request and reads a JSON answer; a status other than 2xx is
    /// [`PluginError::Remote`] with the start of the body.
    pub async fn json<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T, PluginError> {
        let res = self.send(req).await?;
        let st = res.status();
        if !st.is_success() {
            let url = safe_url(res.url());
            let body = snippet(res).await;
            return Err(PluginError::Remote {
                status: Some(st.as_u16()),
                message: format!("{url} answered {st}{body}"),
            });
        }
        let bytes = res.bytes().await.map_err(PluginError::from)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| PluginError::Data(format!("the answer is not the JSON expected: {e}")))
    }

    /// `GET url` and read a JSON answer (see [`HttpClient::json`]).
    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, PluginError> {
        self.json(self.get(url)).await
    }

    /// The delay before retry number `attempt` (1-based): `base × 2^(attempt-1)`, at most
    /// `max_delay`, with jitter (a random half to all of it).
    fn backoff(&self, attempt: u32) -> Duration {
        let full = self.policy.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let full = full.min(self.policy.max_delay);
        let factor = rand::thread_rng().gen_range(0.5..=1.0);
        full.mul_f64(factor)
    }
}

/// `Retry-After`: seconds, or an HTTP date.
fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = h.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let ms = (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
    Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

/// A URL as logs and errors may show it: no user, password or query.
fn safe_url(u: &reqwest::Url) -> String {
    let host = u.host_str().unwrap_or("");
    match u.port() {
        Some(p) => format!("{}://{host}:{p}{}", u.scheme(), u.path()),
        None => format!("{}://{host}{}", u.scheme(), u.path()),
    }
}

/// The start of an error answer's body, for the message (`: <text>`), or nothing.
async fn snippet(res: Response) -> String {
    let text = res.text().await.unwrap_or_default();
    let t: String = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect();
    if t.is_empty() {
        String::new()
    } else {
        format!(": {t}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_secrets_and_retry_after_reads_both_forms() {
        let u = reqwest::Url::parse("https://user:pw@api.example.com:8443/v1/items?token=s3cret").unwrap();
        assert_eq!(safe_url(&u), "https://api.example.com:8443/v1/items");
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later =
            (chrono::Utc::now() + chrono::TimeDelta::seconds(30)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        h.insert(reqwest::header::RETRY_AFTER, later.parse().unwrap());
        let d = retry_after(&h).unwrap();
        assert!(d > Duration::from_secs(27) && d <= Duration::from_secs(30), "{d:?}");
        h.insert(reqwest::header::RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::ZERO), "a date in the past means now");
    }
}
