//! `megashop doctor`: checks a deployment and says, for each problem, how to fix it.
//!
//! Every check answers `ok`, `warning` (works, but something will bite) or `error` (does
//! not work); the command exits non-zero when any check is an error. Checks read only: the
//! one file written is a probe in the data directory, removed at once.

use megashop_core::config::Config;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, but needs attention.
    Warning,
    /// Broken.
    Error,
}

/// One check's result.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What was checked (`database`, `dns shop.ru`, …).
    pub name: String,
    /// Outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do about it (for warnings and errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn check(name: impl Into<String>, status: Status, detail: impl Into<String>, fix: Option<&str>) -> Check {
    Check { name: name.into(), status, detail: detail.into(), fix: fix.map(str::to_string) }
}

/// The report: every check, and the counts.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Checks in the order they ran.
    pub checks: Vec<Check>,
    /// How many are errors.
    pub errors: usize,
    /// How many are warnings.
    pub warnings: usize,
}

/// Where the files a deployment has live (`/` or an install staged with `--root`).
#[derive(Clone, Debug)]
pub struct Paths {
    /// `/etc/nginx/sites-enabled/megashop.conf`.
    pub nginx_site: PathBuf,
    /// `/etc/letsencrypt/live`.
    pub letsencrypt: PathBuf,
}

impl Paths {
    /// The paths under `root`.
    pub fn under(root: &Path) -> Paths {
        Paths {
            nginx_site: root.join("etc/nginx/sites-enabled/megashop.conf"),
            letsencrypt: root.join("etc/letsencrypt/live"),
        }
    }
}

/// Runs every check for the deployment of `cfg` (`config_error` when the config itself did
/// not load: then only that is reported).
pub async fn run(cfg: Result<Config, String>, paths: &Paths) -> Report {
    let mut checks = Vec::new();
    let cfg = match cfg {
        Ok(c) => {
            checks.push(check("config", Status::Ok, "parses and every value is valid", None));
            c
        }
        Err(e) => {
            checks.push(check(
                "config",
                Status::Error,
                e,
                Some("fix the keys listed (megashop config check shows them), see docs/en/configuration.md"),
            ));
            return report(checks);
        }
    };

    // Data directory.
    let probe = cfg.data_dir.join(".doctor-probe");
    match std::fs::write(&probe, b"ok") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            checks.push(check("data directory", Status::Ok, format!("{} is writable", cfg.data_dir.display()), None));
        }
        Err(e) => checks.push(check(
            "data directory",
            Status::Error,
            format!("cannot write in {}: {e}", cfg.data_dir.display()),
            Some("create it and give it to the service user: chown -R megashop: /var/lib/megashop"),
        )),
    }
    checks.push(disk(&cfg.data_dir));

    // Database.
    let mut domains = Vec::new();
    match megashop_core::db::connect(&cfg.database_url(), 2).await {
        Err(e) => checks.push(check(
            "database",
            Status::Error,
            format!("cannot connect: {e}"),
            Some("is the server running and the URL (database.url) right? For SQLite, is data_dir readable?"),
        )),
        Ok(conn) => {
            match megashop_core::db::migration_status(&conn).await {
                Ok(s) if s.iter().all(|(_, d)| *d) => checks.push(check(
                    "database",
                    Status::Ok,
                    format!("reachable, {} migrations applied", s.len()),
                    None,
                )),
                Ok(s) => checks.push(check(
                    "database",
                    Status::Warning,
                    format!("{} migrations pending", s.iter().filter(|(_, d)| !d).count()),
                    Some("run: megashop migrate up (megashop serve also applies them at start)"),
                )),
                Err(e) => checks.push(check("database", Status::Error, format!("cannot read migrations: {e}"), None)),
            }
            if let Ok(list) = megashop_core::tenancy::list(&conn).await {
                if list.is_empty() {
                    checks.push(check(
                        "stores",
                        Status::Warning,
                        "no store yet",
                        Some("megashop install, or megashop tenant create"),
                    ));
                } else {
                    checks.push(check("stores", Status::Ok, format!("{} store(s)", list.len()), None));
                }
                domains = list.into_iter().filter_map(|t| t.domains.into_iter().next()).take(5).collect();
            }
            if sea_orm::ConnectionTrait::get_database_backend(&conn) == sea_orm::DatabaseBackend::Postgres {
                checks.push(clock(&conn).await);
            }
            let _ = conn.close().await;
        }
    }

    // Redis.
    if !cfg.redis.url.is_empty() {
        checks.push(redis_check(cfg.redis.url.expose()).await);
    }

    // GeoIP.
    let geo = cfg.geoip_path();
    match std::fs::metadata(&geo) {
        Err(_) => checks.push(check(
            "geoip database",
            Status::Warning,
            format!("{} is missing: regions are not chosen by location", geo.display()),
            Some("put a GeoLite2-City.mmdb (MaxMind, free account) there; see docs/en/regions.md"),
        )),
        Ok(m) => {
            let days = m.modified().ok().and_then(|t| t.elapsed().ok()).map(|d| d.as_secs() / 86400).unwrap_or(0);
            if days > 60 {
                checks.push(check(
                    "geoip database",
                    Status::Warning,
                    format!("{} is {days} days old", geo.display()),
                    Some("update it monthly (geoipupdate); it is reloaded without a restart"),
                ));
            } else {
                checks.push(check("geoip database", Status::Ok, format!("{} ({days} days old)", geo.display()), None));
            }
        }
    }

    // Port.
    checks.push(port(&cfg.server.listen).await);

    // nginx.
    checks.push(nginx(paths, &cfg.server.listen));

    // DNS and TLS per store domain.
    for d in &domains {
        checks.push(dns(d).await);
        checks.push(tls(paths, d));
    }
    report(checks)
}

fn report(checks: Vec<Check>) -> Report {
    let errors = checks.iter().filter(|c| c.status == Status::Error).count();
    let warnings = checks.iter().filter(|c| c.status == Status::Warning).count();
    Report { checks, errors, warnings }
}

fn disk(dir: &Path) -> Check {
    let out = std::process::Command::new("df").arg("-Pk").arg(dir).output();
    let avail_kib = out.ok().and_then(|o| {
        String::from_utf8_lossy(&o.stdout).lines().nth(1).and_then(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok())
    });
    match avail_kib {
        None => check("disk space", Status::Warning, "could not read (df)", None),
        Some(k) => {
            let gib = k as f64 / 1024.0 / 1024.0;
            if gib < 1.0 {
                check(
                    "disk space",
                    Status::Error,
                    format!("{gib:.1} GiB free for {}", dir.display()),
                    Some("free space: imports and the database need room to grow"),
                )
            } else if gib < 5.0 {
                check("disk space", Status::Warning, format!("{gib:.1} GiB free"), Some("plan more space"))
            } else {
                check("disk space", Status::Ok, format!("{gib:.0} GiB free"), None)
            }
        }
    }
}

async fn clock(conn: &sea_orm::DatabaseConnection) -> Check {
    use sea_orm::{ConnectionTrait, Statement};
    let q = Statement::from_string(sea_orm::DatabaseBackend::Postgres, "SELECT extract(epoch from now())::float8 AS t");
    let db_time = match conn.query_one(q).await {
        Ok(Some(row)) => row.try_get::<f64>("", "t").ok(),
        _ => None,
    };
    let here =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    match db_time {
        None => check("clock", Status::Warning, "could not read the database server's time", None),
        Some(t) if (t - here).abs() > 5.0 => check(
            "clock",
            Status::Warning,
            format!("this machine and the database differ by {:.0} s", (t - here).abs()),
            Some("run NTP on both (systemd-timesyncd or chrony): tokens and codes expire by the clock"),
        ),
        Some(t) => check("clock", Status::Ok, format!("within {:.1} s of the database server", (t - here).abs()), None),
    }
}

async fn redis_check(url: &str) -> Check {
    let fix = Some("is redis-server running and redis.url right? Without it each server counts rate limits alone");
    let client = match redis::Client::open(url) {
        Ok(c) => c,
        Err(e) => return check("redis", Status::Error, format!("bad URL: {e}"), fix),
    };
    let ping = async {
        let mut c = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut c).await
    };
    match tokio::time::timeout(Duration::from_secs(3), ping).await {
        Ok(Ok(p)) if p == "PONG" => check("redis", Status::Ok, "answers PING", None),
        Ok(Ok(p)) => check("redis", Status::Error, format!("answered {p:?} to PING"), fix),
        Ok(Err(e)) => check("redis", Status::Error, format!("unreachable: {e}"), fix),
        Err(_) => check("redis", Status::Error, "no answer within 3 s", fix),
    }
}

async fn port(listen: &str) -> Check {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let name = format!("port {listen}");
    let Ok(Ok(mut s)) = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(listen)).await
    else {
        return check(
            name,
            Status::Warning,
            "nothing listens there: megashop is not running",
            Some("systemctl start megashop (logs: journalctl -u megashop)"),
        );
    };
    let req = format!("GET /healthz HTTP/1.1\r\nHost: {listen}\r\nConnection: close\r\n\r\n");
    let mut buf = Vec::new();
    let answered = tokio::time::timeout(Duration::from_secs(3), async {
        s.write_all(req.as_bytes()).await?;
        s.read_to_end(&mut buf).await
    })
    .await;
    let text = String::from_utf8_lossy(&buf);
    if answered.is_ok() && text.starts_with("HTTP/1.1 200") && text.trim_end().ends_with("ok") {
        check(name, Status::Ok, "megashop answers /healthz", None)
    } else {
        check(
            name,
            Status::Error,
            "another program listens there",
            Some("stop it, or give megashop another server.listen (and update the nginx site)"),
        )
    }
}

fn nginx(paths: &Paths, listen: &str) -> Check {
    let Ok(site) = std::fs::read_to_string(&paths.nginx_site) else {
        return check(
            "nginx",
            Status::Warning,
            format!("no site at {}", paths.nginx_site.display()),
            Some("megashop install writes one (or proxy to server.listen yourself, passing Host)"),
        );
    };
    if !site.contains(&format!("server {listen};")) {
        return check(
            "nginx",
            Status::Error,
            format!("{} does not proxy to {listen}", paths.nginx_site.display()),
            Some("re-run megashop install with the same --listen, or fix the upstream"),
        );
    }
    // `nginx -t` checks the whole running configuration; only meaningful on the real one.
    if paths.nginx_site.starts_with("/etc/") && Path::new("/usr/sbin/nginx").is_file() {
        match std::process::Command::new("/usr/sbin/nginx").arg("-t").output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                let err = String::from_utf8_lossy(&o.stderr);
                return check(
                    "nginx",
                    Status::Error,
                    format!("nginx -t fails: {}", err.lines().find(|l| l.contains("emerg")).unwrap_or("").trim()),
                    Some("fix the line nginx names, then systemctl reload nginx"),
                );
            }
            Err(e) => return check("nginx", Status::Warning, format!("cannot run nginx -t: {e}"), None),
        }
    }
    check("nginx", Status::Ok, format!("{} proxies to {listen}", paths.nginx_site.display()), None)
}

async fn dns(domain: &str) -> Check {
    let resolve = |h: String| async move {
        tokio::time::timeout(Duration::from_secs(3), tokio::net::lookup_host((h.as_str(), 80)))
            .await
            .ok()
            .and_then(Result::ok)
            .map(|it| it.count() > 0)
            .unwrap_or(false)
    };
    let main = resolve(domain.to_string()).await;
    let wild = resolve(format!("doctor-{}.{domain}", std::process::id())).await;
    match (main, wild) {
        (true, true) => check(format!("dns {domain}"), Status::Ok, "the domain and its subdomains resolve", None),
        (true, false) => check(
            format!("dns {domain}"),
            Status::Warning,
            "the domain resolves, a region subdomain does not",
            Some("add a wildcard record: *.<domain> → this server (region subdomains need it)"),
        ),
        (false, _) => check(
            format!("dns {domain}"),
            Status::Warning,
            "the domain does not resolve",
            Some("point an A/AAAA record of the domain (and *.domain) at this server"),
        ),
    }
}

fn tls(paths: &Paths, domain: &str) -> Check {
    let cert = paths.letsencrypt.join(domain).join("cert.pem");
    if !cert.is_file() {
        return check(
            format!("tls {domain}"),
            Status::Warning,
            "no Let's Encrypt certificate: the shop is served over plain HTTP",
            Some("megashop install --tls (or certbot --nginx -d <domain>)"),
        );
    }
    let out = std::process::Command::new("openssl").args(["x509", "-enddate", "-noout", "-in"]).arg(&cert).output();
    let Some(end) =
        out.ok().and_then(|o| String::from_utf8_lossy(&o.stdout).trim().strip_prefix("notAfter=").map(str::to_string))
    else {
        return check(format!("tls {domain}"), Status::Warning, "could not read the certificate (openssl)", None);
    };
    let days = std::process::Command::new("date")
        .args(["-d", &end, "+%s"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<i64>().ok())
        .map(|t| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            (t - now) / 86400
        });
    match days {
        Some(d) if d < 0 => {
            check(format!("tls {domain}"), Status::Error, format!("expired {} days ago", -d), Some("certbot renew"))
        }
        Some(d) if d < 14 => check(
            format!("tls {domain}"),
            Status::Warning,
            format!("expires in {d} days"),
            Some("certbot renew; check the certbot timer: systemctl status certbot.timer"),
        ),
        Some(d) => check(format!("tls {domain}"), Status::Ok, format!("valid for {d} more days"), None),
        None => check(format!("tls {domain}"), Status::Warning, format!("expiry {end:?} not understood"), None),
    }
}
