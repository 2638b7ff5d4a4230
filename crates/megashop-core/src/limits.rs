//! Rate limits: at most N attempts per key (an IP, an email, a phone) per time window.
//!
//! With Redis configured the counters live there, so every server of a deployment shares
//! them; without it (or while Redis is unreachable) each process counts on its own. Fixed
//! windows: the first attempt starts a window of `window` seconds, the (N+1)-th attempt
//! inside it is refused with the seconds left ([`Error::RateLimited`]).

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys kept in memory before expired ones are swept.
const SWEEP_AT: usize = 50_000;

/// Counts attempts per key.
pub struct Limiter {
    memory: Mutex<HashMap<String, (Instant, u32)>>,
    redis: Option<Redis>,
}

struct Redis {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    /// Not before this instant after a failure (avoid a connect attempt per request).
    retry_at: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter").field("redis", &self.redis.is_some()).finish_non_exhaustive()
    }
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::memory()
    }
}

impl Limiter {
    /// Counters in this process only.
    pub fn memory() -> Limiter {
        Limiter { memory: Mutex::new(HashMap::new()), redis: None }
    }

    /// Counters in Redis at `url` (`redis://host:port/db`); connects on first use.
    pub fn redis(url: &str) -> Result<Limiter> {
        let client = redis::Client::open(url)
            .map_err(|e| Error::invalid("redis.url", "invalid_url", format!("not a Redis URL: {e}")))?;
        Ok(Limiter {
            memory: Mutex::new(HashMap::new()),
            redis: Some(Redis { client, conn: tokio::sync::Mutex::new(None), retry_at: Mutex::new(None) }),
        })
    }

    /// Whether counters are shared through Redis.
    pub fn is_shared(&self) -> bool {
        self.redis.is_some()
    }

    /// Counts one attempt for `key`; [`Error::RateLimited`] when it is over `limit` in the
    /// current window of `window`.
    pub async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<()> {
        if let Some(r) = &self.redis {
            match r.hit(key, window).await {
                Ok((count, ttl)) => return verdict(count, limit, ttl),
                Err(e) => tracing::warn!(error = %e, "rate limit: Redis unreachable, counting in this process"),
            }
        }
        self.hit_memory(key, limit, window)
    }

    fn hit_memory(&self, key: &str, limit: u32, window: Duration) -> Result<()> {
        let now = Instant::now();
        let mut map = self.memory.lock().map_err(|_| Error::Internal("rate limiter lock poisoned".into()))?;
        if map.len() >= SWEEP_AT {
            map.retain(|_, (end, _)| *end > now);
        }
        let e = map.entry(key.to_string()).or_insert((now + window, 0));
        if e.0 <= now {
            *e = (now + window, 0);
        }
        e.1 = e.1.saturating_add(1);
        let left = e.0.saturating_duration_since(now);
        verdict(u64::from(e.1), limit, left.as_secs().max(1) as i64)
    }
}

fn verdict(count: u64, limit: u32, ttl_secs: i64) -> Result<()> {
    if count > u64::from(limit) {
        Err(Error::RateLimited { retry_after_secs: ttl_secs.max(1) as u64 })
    } else {
        Ok(())
    }
}

impl Redis {
    async fn hit(&self, key: &str, window: Duration) -> std::result::Result<(u64, i64), String> {
        if let Ok(g) = self.retry_at.lock() {
            if g.is_some_and(|t| Instant::now() < t) {
                return Err("waiting before reconnecting".into());
            }
        }
        // The lock only hands out the shared connection (a multiplexed one is cheap to clone
        // and serves concurrent requests); the commands run without it.
        let mut conn = {
            let mut guard = self.conn.lock().await;
            if guard.is_none() {
                match self.client.get_multiplexed_async_connection().await {
                    Ok(c) => *guard = Some(c),
                    Err(e) => {
                        self.backoff();
                        return Err(e.to_string());
                    }
                }
            }
            match guard.as_ref() {
                Some(c) => c.clone(),
                None => return Err("no connection".into()),
            }
        };
        let key = format!("megashop:rl:{key}");
        let secs = window.as_secs().max(1);
        // A window starts with the first attempt: SET NX EX, then count.
        let res: redis::RedisResult<(u64, i64)> = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&key)
            .arg(0)
            .arg("EX")
            .arg(secs)
            .arg("NX")
            .ignore()
            .cmd("INCR")
            .arg(&key)
            .cmd("TTL")
            .arg(&key)
            .query_async(&mut conn)
            .await;
        match res {
            Ok(v) => Ok(v),
            Err(e) => {
                *self.conn.lock().await = None;
                self.backoff();
                Err(e.to_string())
            }
        }
    }

    fn backoff(&self) {
        if let Ok(mut g) = self.retry_at.lock() {
            *g = Some(Instant::now() + Duration::from_secs(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_attempt_over_the_limit_is_refused_until_the_window_ends() {
        let l = Limiter::memory();
        let w = Duration::from_millis(300);
        for _ in 0..3 {
            l.hit("ip:1", 3, w).await.unwrap();
        }
        let e = l.hit("ip:1", 3, w).await.unwrap_err();
        assert!(matches!(e, Error::RateLimited { retry_after_secs: 1 }), "{e:?}");
        l.hit("ip:2", 3, w).await.unwrap();
        tokio::time::sleep(Duration::from_millis(350)).await;
        l.hit("ip:1", 3, w).await.unwrap();
    }
}
