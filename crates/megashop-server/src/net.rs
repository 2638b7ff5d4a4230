//! Who is asking: the client's IP address behind trusted proxies, and whether it is a
//! search-engine crawler.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;

/// At most this many `X-Forwarded-For` hops are looked at (a hostile client can send
/// thousands).
const MAX_HOPS: usize = 32;

fn parse_hop(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    // [v6]:port, [v6%zone], v4:port
    if let Some(rest) = s.strip_prefix('[') {
        let inner = rest.split(']').next()?;
        let inner = inner.split('%').next()?;
        return inner.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    }
    if let Some((host, port)) = s.rsplit_once(':') {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            return host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4);
        }
    }
    s.split('%').next()?.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// Hops from `X-Forwarded-For` (what nginx and most proxies append to), else from
/// `Forwarded: for=...`; nearest last. X-Forwarded-For comes first because a proxy that
/// appends to it usually passes a client's own `Forwarded` header through untouched.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = vec![];
    for v in headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()) {
        hops.extend(v.split(',').map(parse_hop));
    }
    if hops.is_empty() {
        for v in headers.get_all("forwarded").iter().filter_map(|v| v.to_str().ok()) {
            for element in v.split(',') {
                for pair in element.split(';') {
                    if let Some((k, val)) = pair.split_once('=') {
                        if k.trim().eq_ignore_ascii_case("for") {
                            hops.push(parse_hop(val));
                        }
                    }
                }
            }
        }
    }
    let skip = hops.len().saturating_sub(MAX_HOPS);
    hops.drain(..skip);
    hops
}

/// The client address: the socket peer, unless the peer is a trusted proxy; then the
/// nearest address in `Forwarded` / `X-Forwarded-For` that is not itself a trusted proxy.
/// Garbage in those headers stops the walk at the last address we can trust.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    for hop in forwarded_hops(headers).into_iter().rev() {
        match hop {
            Some(ip) if is_trusted(&ip) => client = ip,
            Some(ip) => return Some(ip),
            None => return Some(client),
        }
    }
    Some(client)
}

const CRAWLERS: [&str; 16] = [
    "googlebot",
    "google-inspectiontool",
    "yandex",
    "bingbot",
    "baiduspider",
    "duckduckbot",
    "slurp",
    "mail.ru_bot",
    "applebot",
    "petalbot",
    "ahrefsbot",
    "semrushbot",
    "facebookexternalhit",
    "telegrambot",
    "twitterbot",
    "vkshare",
];

/// True when the `User-Agent` belongs to a known search-engine or link-preview crawler.
pub fn is_crawler(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| {
            let ua = ua.to_ascii_lowercase();
            CRAWLERS.iter().any(|c| ua.contains(c))
        })
        .unwrap_or(false)
}

/// True when the client reached us over HTTPS: the nearest proxy, if we trust it, says so
/// in `X-Forwarded-Proto` or `Forwarded: proto=`. The server itself speaks plain HTTP.
pub fn is_https(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> bool {
    let Some(peer) = peer.map(|p| p.to_canonical()) else { return false };
    if !trusted.iter().any(|n| n.contains(&peer)) {
        return false;
    }
    // The last value is the one our own (trusted) proxy added. X-Forwarded-Proto first,
    // like client_ip: proxies that set it often pass a client's own `Forwarded` through.
    let xfp = {
        headers
            .get_all("x-forwarded-proto")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .map(|v| v.trim().to_string())
    };
    let forwarded = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("proto"))
        })
        .map(|(_, v)| v.trim().trim_matches('"').to_string());
    let proto = xfp.or(forwarded);
    proto.is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// The value of one cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn untrusted_peers_are_taken_at_their_word_not_their_headers() {
        let h = headers(&[("x-forwarded-for", "95.165.0.1")]);
        let ip = client_ip(Some("203.0.113.9".parse().unwrap()), &h, &nets(&["127.0.0.1/32"]));
        assert_eq!(ip, Some("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn trusted_proxies_are_walked_from_the_nearest_hop() {
        let trusted = nets(&["127.0.0.1/32", "10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 95.165.0.1, 10.0.0.7")]);
        assert_eq!(client_ip(Some("127.0.0.1".parse().unwrap()), &h, &trusted), Some("95.165.0.1".parse().unwrap()));
        let h = headers(&[("forwarded", "for=\"[2a02:6b8::2:242]:443\";proto=https, for=10.0.0.2")]);
        assert_eq!(
            client_ip(Some("127.0.0.1".parse().unwrap()), &h, &trusted),
            Some("2a02:6b8::2:242".parse().unwrap())
        );
        let h = headers(&[("x-forwarded-for", "fe80::1%eth0")]);
        assert_eq!(client_ip(Some("127.0.0.1".parse().unwrap()), &h, &trusted), Some("fe80::1".parse().unwrap()));
    }

    #[test]
    fn garbage_and_floods_do_not_win() {
        let trusted = nets(&["127.0.0.1/32"]);
        let h = headers(&[("x-forwarded-for", "95.165.0.1, not-an-ip")]);
        assert_eq!(client_ip(Some("127.0.0.1".parse().unwrap()), &h, &trusted), Some("127.0.0.1".parse().unwrap()));
        let flood = vec!["95.165.0.1"; 5000].join(",") + ", 5.18.0.1";
        let h = headers(&[("x-forwarded-for", &flood)]);
        assert_eq!(client_ip(Some("127.0.0.1".parse().unwrap()), &h, &trusted), Some("5.18.0.1".parse().unwrap()));
        let mapped = client_ip(Some("::ffff:95.165.0.1".parse().unwrap()), &HeaderMap::new(), &trusted);
        assert_eq!(mapped, Some("95.165.0.1".parse().unwrap()), "IPv4-mapped peers are canonicalized");
    }

    #[test]
    fn https_only_when_a_trusted_proxy_says_so() {
        let trusted = nets(&["127.0.0.1/32"]);
        let local = Some("127.0.0.1".parse().unwrap());
        assert!(is_https(local, &headers(&[("x-forwarded-proto", "https")]), &trusted));
        assert!(is_https(local, &headers(&[("forwarded", "for=1.2.3.4;proto=https")]), &trusted));
        assert!(!is_https(local, &headers(&[("x-forwarded-proto", "http")]), &trusted));
        assert!(!is_https(local, &HeaderMap::new(), &trusted));
        let stranger = Some("203.0.113.9".parse().unwrap());
        assert!(!is_https(stranger, &headers(&[("x-forwarded-proto", "https")]), &trusted));
    }

    #[test]
    fn crawlers_and_cookies() {
        assert!(is_crawler(&headers(&[("user-agent", "Mozilla/5.0 (compatible; YandexBot/3.0)")])));
        assert!(!is_crawler(&headers(&[("user-agent", "Mozilla/5.0 YaBrowser/24.1")])));
        let h = headers(&[("cookie", "a=1; region=spb; b=2")]);
        assert_eq!(cookie(&h, "region"), Some("spb"));
        assert_eq!(cookie(&h, "regio"), None);
    }
}
