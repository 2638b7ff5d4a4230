//! What authentication costs per request: verifying an access token (every authenticated
//! request; target < 20 µs), issuing one, and the argon2id password hash a login pays
//! (by design tens of milliseconds) with the production parameters.
//!
//!     cargo bench -p megashop-core --bench auth
//!
//! Logins per second on N cores ≈ N ÷ (argon2 verify time): the hash dominates a login.

use criterion::{criterion_group, criterion_main, Criterion};
use megashop_core::accounts::password::Hasher;
use megashop_core::auth::{Keys, Kind, CUSTOMER};
use megashop_core::config::{AuthConfig, Secret};
use std::hint::black_box;
use std::time::Duration;

fn tokens(c: &mut Criterion) {
    let keys = Keys::from_secret(&Secret::new("bench-secret-bench-secret-bench-secret"), 900)
        .with_previous(&[Secret::new("older-secret-older-secret-older-secret")]);
    let token = keys.issue(7, "12345", Kind::Customer, CUSTOMER, false, None).unwrap_or_default();
    let mut g = c.benchmark_group("token");
    g.bench_function("verify", |b| b.iter(|| keys.verify(black_box(&token)).is_ok()));
    g.bench_function("issue", |b| b.iter(|| keys.issue(7, black_box("12345"), Kind::Customer, CUSTOMER, false, None)));
    g.finish();
}

fn passwords(c: &mut Criterion) {
    let cfg = AuthConfig::default();
    let Ok(hasher) = Hasher::new(cfg.argon2_memory_kib, cfg.argon2_iterations) else { return };
    let phc = hasher.hash("Лес-2026-тихий").unwrap_or_default();
    let mut g = c.benchmark_group("argon2id (m=19456 KiB, t=2, p=1)");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.bench_function("verify (one login)", |b| b.iter(|| hasher.verify(black_box("Лес-2026-тихий"), Some(&phc))));
    g.finish();
}

criterion_group!(benches, tokens, passwords);
criterion_main!(benches);
