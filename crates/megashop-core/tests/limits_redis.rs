//! Rate limits shared through the real Redis that `bash .ci/run` starts
//! (`MEGASHOP_TEST_REDIS_URL`), and the in-process fallback when Redis is unreachable.

use megashop_core::limits::Limiter;
use megashop_core::Error;
use std::time::Duration;

fn redis_url() -> Option<String> {
    std::env::var("MEGASHOP_TEST_REDIS_URL").ok().filter(|s| !s.is_empty())
}

#[tokio::test]
async fn two_servers_share_their_counters_through_redis() {
    let Some(url) = redis_url() else {
        eprintln!("MEGASHOP_TEST_REDIS_URL is not set: skipped (bash .ci/run sets it)");
        return;
    };
    // Two limiters stand for two server processes of one deployment.
    let (a, b) = (Limiter::redis(&url).unwrap(), Limiter::redis(&url).unwrap());
    assert!(a.is_shared());
    let key = format!("test:{}:{}", std::process::id(), rand_suffix());
    let w = Duration::from_secs(60);
    a.hit(&key, 3, w).await.unwrap();
    b.hit(&key, 3, w).await.unwrap();
    a.hit(&key, 3, w).await.unwrap();
    match b.hit(&key, 3, w).await {
        Err(Error::RateLimited { retry_after_secs }) => assert!((1..=60).contains(&retry_after_secs)),
        other => panic!("the fourth attempt across both servers must be refused: {other:?}"),
    }
    // Another key has its own count.
    a.hit(&format!("{key}:other"), 3, w).await.unwrap();
    // A window ends: a short one is open again after it expires in Redis.
    let short = format!("{key}:short");
    a.hit(&short, 1, Duration::from_secs(1)).await.unwrap();
    assert!(b.hit(&short, 1, Duration::from_secs(1)).await.is_err());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    b.hit(&short, 1, Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn an_unreachable_redis_falls_back_to_counting_in_this_process() {
    // Port 1 on loopback: nothing listens there.
    let l = Limiter::redis("redis://127.0.0.1:1/0").unwrap();
    let w = Duration::from_secs(60);
    for _ in 0..2 {
        l.hit("k", 2, w).await.unwrap();
    }
    assert!(matches!(l.hit("k", 2, w).await, Err(Error::RateLimited { .. })));
    assert!(Limiter::redis("not a url").is_err());
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0),
    );
    h.finish()
}
