//! The storefront (server-rendered HTML) on a real server and database: pages, filters,
//! plural forms, regional prices and links, the region picker, escaping, error pages —
//! over HTTP, and once in headless Chromium driven through WebDriver.

mod common;

use common::TestServer;
use megashop_core::demo;
use megashop_test_support::fixture;
use reqwest::header::HeaderMap;
use reqwest::Method;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const IPHONE: &str = "/product/smartfon-apple-iphone-15";
/// No-break space, as Russian amounts use it (`29 990 ₽`).
const NB: char = '\u{a0}';

struct Page {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn has(&self, needle: &str) -> bool {
        self.body.contains(needle)
    }

    /// Values of `href="..."` and `action="..."` attributes.
    fn links(&self) -> Vec<&str> {
        let mut out = vec![];
        for attr in ["href=\"", "action=\""] {
            for (i, _) in self.body.match_indices(attr) {
                let rest = &self.body[i + attr.len()..];
                out.push(&rest[..rest.find('"').unwrap_or(0)]);
            }
        }
        out
    }

    /// Text of the element with `id` (up to the next tag).
    fn text_of(&self, id: &str) -> &str {
        let at = self.body.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in the page"));
        let rest = &self.body[at..];
        let start = rest.find('>').unwrap() + 1;
        let end = rest[start..].find('<').unwrap() + start;
        &rest[start..end]
    }
}

async fn demo_server() -> TestServer {
    let s = TestServer::start().await;
    demo::ensure_demo_store(&s.db.conn).await.unwrap();
    s
}

/// A request as a browser sends it (Accept: text/html), without following redirects.
async fn fetch(
    s: &TestServer,
    method: Method,
    host: &str,
    path: &str,
    extra: &[(&str, &str)],
    form: Option<&str>,
) -> Page {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut req = client
        .request(method, format!("{}{}", s.base, path))
        .header("host", host)
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    if let Some(f) = form {
        req = req.header("content-type", "application/x-www-form-urlencoded").body(f.to_string());
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    Page { status, headers, body: res.text().await.unwrap() }
}

async fn get(s: &TestServer, host: &str, path: &str) -> Page {
    fetch(s, Method::GET, host, path, &[], None).await
}

async fn post_region(s: &TestServer, host: &str, path: &str, form: &str) -> Page {
    fetch(s, Method::POST, host, path, &[], Some(form)).await
}

fn rub(amount: &str) -> String {
    format!("{}{NB}₽", amount.replace(' ', &NB.to_string()))
}

#[tokio::test]
async fn home_page_shows_the_store_categories_and_newest_products() {
    let s = demo_server().await;
    let p = get(&s, "localhost", "/").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(p.header("x-megashop-region"), "msk; by=default");
    assert!(p.has("<html lang=\"ru\">"));
    assert!(p.has("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
    assert!(p.has("<h1>Megashop Demo</h1>"));
    // The category tree, nested.
    assert!(p.has("href=\"/catalog/electronics\">Электроника</a><ul>"), "{}", p.body);
    assert!(p.has("href=\"/catalog/smartphones\">Смартфоны</a>"));
    // Newest products first (the demo adds jackets last), priced for Moscow.
    assert!(p.has("Куртка Baon Пальто"));
    assert!(p.has("class=\"price\">от "), "cards with several prices say «от»");
    assert!(p.has(&rub("")) && p.has("class=\"stock\">В наличии"));
    assert!(p.has("action=\"/search\"") && p.has("name=\"q\""));
    assert_eq!(p.text_of("region-name"), "Москва");
    assert!(p.has("Ваш регион:"));
    // Canonical: the plain URL (the region did not come from the URL); alternates for the others.
    assert!(p.has("<link rel=\"canonical\" href=\"http://localhost/\">"));
    assert!(p.has("<link rel=\"alternate\" href=\"http://localhost/spb/\" data-region=\"spb\">"));
    assert!(p.has("<link rel=\"alternate\" href=\"http://localhost/kzn/\" data-region=\"kzn\">"));
    assert!(!p.has("rel=\"alternate\" href=\"http://localhost/msk/\""), "no alternate for the page's own region");
    assert!(!p.has("id=\"geo-suggest\""), "no city question without GeoIP");
    s.stop().await;
}

#[tokio::test]
async fn catalog_counts_use_russian_plural_forms_and_filters_keep_in_links() {
    let s = demo_server().await;
    let count = |p: &Page| p.text_of("count").to_string();
    let electronics = get(&s, "localhost", "/catalog/electronics").await;
    assert_eq!(electronics.status, 200);
    assert_eq!(count(&electronics), "Найдено 21 товар");
    assert!(electronics.has("<h1>Электроника</h1>"));
    assert!(electronics.has("class=\"current\" aria-current=\"page\">Электроника"));
    assert_eq!(count(&get(&s, "localhost", "/catalog/kettles").await), "Найдено 7 товаров");
    assert_eq!(count(&get(&s, "localhost", "/search?q=Tefal").await), "Найдено 2 товара");
    assert_eq!(count(&get(&s, "localhost", "/search?q=bosch").await), "Найдено 1 товар");
    // Prices are typed in roubles: 2 000–3 000 ₽ holds one Moscow kettle (2 590 ₽).
    let cheap = get(&s, "localhost", "/catalog/kettles?min_price=2000&max_price=3+000").await;
    assert_eq!(count(&cheap), "Найдено 1 товар");
    assert!(cheap.has(&rub("2 590")) && cheap.has("value=\"3 000\""));
    // Sort orders.
    let first_card = |p: &Page| {
        let at = p.body.find("class=\"title\"").unwrap();
        p.body[at..].chars().take(120).collect::<String>()
    };
    assert!(first_card(&get(&s, "localhost", "/catalog/kettles?sort=price").await).contains("Bosch"));
    assert!(first_card(&get(&s, "localhost", "/catalog/kettles?sort=-price").await).contains("Philips"));
    let kettles = get(&s, "localhost", "/catalog/kettles").await;
    assert!(kettles.has("class=\"stock out\">Нет в наличии"), "two demo kettles are sold out in Moscow");
    let in_stock = get(&s, "localhost", "/catalog/kettles?in_stock=1").await;
    assert_eq!(in_stock.text_of("count"), "Найдено 5 товаров");
    assert!(in_stock.has("name=\"in_stock\" value=\"1\" checked"));
    assert!(!in_stock.has("class=\"stock out\">Нет в наличии"), "only products in stock");
    // 50 products, 24 a page: page links keep the filters.
    let all = get(&s, "localhost", "/catalog?sort=title&in_stock=").await;
    assert_eq!(count(&all), "Найдено 50 товаров");
    assert!(all.has("href=\"/catalog?sort=title&amp;page=2\""), "{}", all.body);
    assert!(all.has("href=\"/catalog?sort=title&amp;page=3\""));
    assert!(all.has("<option value=\"title\" selected>"));
    let last = get(&s, "localhost", "/catalog?sort=title&page=3").await;
    assert_eq!(last.body.matches("class=\"card product-card\"").count(), 2);
    assert!(last.has("rel=\"prev\" href=\"/catalog?sort=title&amp;page=2\""));
    // Garbage in the form is ignored, not an error.
    assert_eq!(get(&s, "localhost", "/catalog?min_price=abc&page=-1&sort=x").await.status, 200);
    s.stop().await;
}

#[tokio::test]
async fn search_finds_titles_ignoring_ascii_case_and_takes_wildcards_literally() {
    let s = demo_server().await;
    let p = get(&s, "localhost", "/search?q=BOSCH").await;
    assert!(p.has("Чайник Bosch TWK 3P420"));
    assert!(p.has("Результаты поиска «BOSCH»"));
    // Cyrillic in the title's own case (SQLite folds ASCII only; PostgreSQL folds both).
    assert_eq!(get(&s, "localhost", "/search?q=Чайник").await.text_of("count"), "Найдено 7 товаров");
    for wildcard in ["%25", "_", "%25%25"] {
        let p = get(&s, "localhost", &format!("/search?q={wildcard}")).await;
        assert_eq!(p.text_of("count"), "Найдено 0 товаров", "q={wildcard}");
        assert!(p.has("Ничего не нашлось"));
    }
    assert!(get(&s, "localhost", "/search").await.has("Введите название товара"));
    // The same filter in the API.
    let api = s.get("localhost", "/api/v1/products?q=bosch").await;
    assert_eq!(api.body["total"], 1, "{:?}", api.body);
    assert_eq!(s.get("localhost", "/api/v1/products?q=100%25").await.body["total"], 0);
    assert_eq!(s.get("localhost", "/api/v1/products?q=").await.body["total"], 50);
    s.stop().await;
}

#[tokio::test]
async fn search_text_is_escaped() {
    let s = demo_server().await;
    let p = get(&s, "localhost", "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E%22").await;
    assert_eq!(p.status, 200);
    assert!(!p.has("<script>alert(1)</script>"), "{}", p.body);
    assert!(p.has("&lt;script&gt;alert(1)&lt;/script&gt;&quot;"), "{}", p.body);
    assert!(!p.has("<script"), "no script element at all");
    s.stop().await;
}

#[tokio::test]
async fn product_pages_are_priced_for_the_region_in_the_url() {
    let s = demo_server().await;
    let kzn = get(&s, "kzn.localhost", IPHONE).await;
    assert_eq!(kzn.status, 200, "{}", kzn.body);
    assert_eq!(kzn.header("x-megashop-region"), "kzn; by=subdomain");
    assert_eq!(kzn.text_of("region-name"), "Казань");
    assert_eq!(kzn.text_of("product-price"), format!("от {}", rub("27 590")));
    let spb = get(&s, "localhost", &format!("/spb{IPHONE}")).await;
    assert_eq!(spb.header("x-megashop-region"), "spb; by=path");
    assert_eq!(spb.text_of("region-name"), "Санкт-Петербург");
    assert_eq!(spb.text_of("product-price"), format!("от {}", rub("29 090")));
    assert_ne!(kzn.text_of("product-price"), spb.text_of("product-price"));
    // Breadcrumb, variants with price and stock, attributes, description.
    assert!(spb.has(
        "href=\"/spb/catalog/electronics\">Электроника</a></li><li><a href=\"/spb/catalog/smartphones\">Смартфоны</a>"
    ));
    assert!(spb.has("<h1>Смартфон Apple iPhone 15</h1>"));
    assert!(spb.has("<td>128 ГБ</td><td>DEMO-003-128</td>"));
    assert!(spb.has(&rub("32 970")), "the 256 GB variant in Saint Petersburg");
    assert!(spb.has("<th scope=\"row\">Бренд</th><td>Apple</td>"));
    assert!(spb.has("<th scope=\"row\">Операционная система</th><td>iOS</td>"));
    assert!(spb.has("<th scope=\"row\">Диагональ экрана, дюймов</th><td>6,3</td>"));
    assert!(spb.has("в наличии в Москве, Санкт-Петербурге и Казани"));
    assert!(spb.has("<title>Купить Смартфон Apple iPhone 15 — Megashop Demo</title>"));
    // Every link and form on a /spb/ page stays in /spb/.
    for link in spb.links().into_iter().filter(|l| l.starts_with('/')) {
        assert!(link.starts_with("/spb/"), "link {link} leaves the region");
    }
    // Canonical and alternates: path form on /spb/, subdomain form on kzn.localhost.
    assert!(spb.has("rel=\"canonical\" href=\"http://localhost/spb/product/smartfon-apple-iphone-15\""));
    assert!(
        spb.has("rel=\"alternate\" href=\"http://localhost/msk/product/smartfon-apple-iphone-15\" data-region=\"msk\"")
    );
    assert!(kzn.has("rel=\"canonical\" href=\"http://kzn.localhost/product/smartfon-apple-iphone-15\""));
    assert!(
        kzn.has("rel=\"alternate\" href=\"http://spb.localhost/product/smartfon-apple-iphone-15\" data-region=\"spb\"")
    );
    // The port of the Host header is kept in absolute URLs.
    let port = get(&s, "kzn.localhost:8080", IPHONE).await;
    assert!(port.has("rel=\"canonical\" href=\"http://kzn.localhost:8080/product/smartfon-apple-iphone-15\""));
    s.stop().await;
}

#[tokio::test]
async fn english_pages_keep_the_language_in_links() {
    let s = demo_server().await;
    let p = get(&s, "localhost", &format!("/spb{IPHONE}?lang=en")).await;
    assert!(p.has("<html lang=\"en\">"));
    assert_eq!(p.text_of("region-name"), "Saint Petersburg");
    assert_eq!(p.text_of("product-price"), format!("from RUB{NB}29,090"));
    assert!(p.has("Your region:") && p.has("<th scope=\"row\">Brand</th>"));
    assert!(p.has("href=\"/spb/catalog/smartphones?lang=en\""));
    assert!(p.has("<input type=\"hidden\" name=\"lang\" value=\"en\">"));
    let list = get(&s, "localhost", "/catalog/kettles?lang=en").await;
    assert_eq!(list.text_of("count"), "7 products found");
    s.stop().await;
}

#[tokio::test]
async fn unknown_products_and_categories_get_an_html_404_page() {
    let s = demo_server().await;
    for (path, text) in
        [("/product/no-such-thing", "Товар не найден"), ("/catalog/no-such-thing", "Категория не найдена")]
    {
        let p = get(&s, "localhost", path).await;
        assert_eq!(p.status, 404, "{path}");
        assert_eq!(p.header("content-type"), "text/html; charset=utf-8");
        assert!(p.has(&format!("<h1>{text}</h1>")), "{}", p.body);
        assert!(p.has("href=\"/\">На главную</a>"));
    }
    let en = get(&s, "localhost", "/spb/product/no-such-thing?lang=en").await;
    assert_eq!(en.status, 404);
    assert!(en.has("<h1>Product not found</h1>") && en.has("href=\"/spb/?lang=en\">Back to the home page</a>"));
    // Unknown pages: HTML for browsers, the JSON error for API clients.
    let page = get(&s, "localhost", "/no/such/page").await;
    assert_eq!((page.status, page.header("content-type")), (404, "text/html; charset=utf-8"));
    assert!(page.has("<h1>Страница не найдена</h1>"));
    let api = s.get("localhost", "/no/such/page").await;
    assert_eq!((api.status.as_u16(), api.code()), (404, "route_not_found"));
    let api_html = get(&s, "localhost", "/api/v1/nope").await;
    assert!(api_html.header("content-type").starts_with("application/json"));
    s.stop().await;
}

#[tokio::test]
async fn a_store_without_regions_says_it_is_not_open_yet() {
    let s = TestServer::start().await;
    s.store("empty", "empty.test").await;
    let p = get(&s, "empty.test", "/catalog").await;
    assert_eq!((p.status, p.header("content-type")), (503, "text/html; charset=utf-8"));
    assert!(p.has("<h1>Магазин ещё не открыт</h1>"), "{}", p.body);
    assert!(p.has("<meta name=\"robots\" content=\"noindex\">"));
    assert!(!p.has("id=\"region-name\""));
    s.stop().await;
}

#[tokio::test]
async fn the_region_picker_sets_a_cookie_and_goes_back() {
    let s = demo_server().await;
    let picker = get(&s, "localhost", "/region?return_to=%2Fcatalog%3Fpage%3D2").await;
    assert_eq!(picker.status, 200);
    for (code, name) in [("msk", "Москва"), ("spb", "Санкт-Петербург"), ("kzn", "Казань")] {
        assert!(picker.has(&format!("name=\"code\" value=\"{code}\"")), "{}", picker.body);
        assert!(picker.has(name));
    }
    assert!(picker.has("name=\"return_to\" value=\"/catalog?page=2\""), "{}", picker.body);

    let r = post_region(&s, "localhost", "/region", "code=kzn&return_to=%2Fcatalog%3Fpage%3D2").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), "/catalog?page=2");
    assert_eq!(r.header("set-cookie"), "region=kzn; Path=/; Max-Age=31536000; SameSite=Lax");
    let home = fetch(&s, Method::GET, "localhost", "/", &[("cookie", "region=kzn")], None).await;
    assert_eq!(home.text_of("region-name"), "Казань");
    assert_eq!(home.header("x-megashop-region"), "kzn; by=explicit");

    // Domain only for a real domain name.
    let demo = post_region(&s, "demo.localhost", "/region", "code=spb&return_to=%2F").await;
    assert_eq!(demo.header("set-cookie"), "region=spb; Path=/; Max-Age=31536000; SameSite=Lax; Domain=demo.localhost");
    let ip = post_region(&s, "127.0.0.1", "/region", "code=spb").await;
    assert!(!ip.header("set-cookie").contains("Domain"));
    assert_eq!(ip.header("location"), "/");

    // Only same-site paths are followed.
    for bad in ["%2F%2Fevil.example", "https%3A%2F%2Fevil.example", "%2F%5Cevil.example", "evil"] {
        let r = post_region(&s, "localhost", "/region", &format!("code=spb&return_to={bad}")).await;
        assert_eq!((r.status, r.header("location")), (303, "/"), "return_to={bad}");
    }
    // A region from the URL: switching goes to the other region's URL (and sets the cookie).
    let path = post_region(
        &s,
        "localhost",
        "/msk/region",
        &format!("code=spb&return_to=%2Fmsk{}", IPHONE.replace('/', "%2F")),
    )
    .await;
    assert_eq!(path.header("location"), format!("/spb{IPHONE}"));
    assert!(path.header("set-cookie").starts_with("region=spb;"));
    let sub =
        post_region(&s, "msk.localhost:8080", "/region", &format!("code=kzn&return_to={}", IPHONE.replace('/', "%2F")))
            .await;
    assert_eq!(sub.header("location"), format!("http://kzn.localhost:8080{IPHONE}"));
    // An explicit ?region= in return_to does not override the choice.
    let q = post_region(&s, "localhost", "/region", "code=kzn&return_to=%2Fcatalog%3Fregion%3Dspb").await;
    assert_eq!(q.header("location"), "/catalog");

    // Unknown codes get an HTML page, not a cookie.
    let bad = post_region(&s, "localhost", "/region", "code=ekb&return_to=%2F").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.header("content-type"), "text/html; charset=utf-8");
    assert!(bad.has("<h1>Нет такого региона</h1>") && bad.has("«ekb»"));
    assert!(bad.headers.get("set-cookie").is_none());
    s.stop().await;
}

#[tokio::test]
async fn visitors_located_by_geoip_are_asked_to_confirm_their_city() {
    let s = TestServer::start_with(|c| {
        c.geoip.database = fixture("geo/GeoLite2-City-2019-12-24-RU.mmdb");
        c.server.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    demo::ensure_demo_store(&s.db.conn).await.unwrap();
    // 5.18.0.1 is in Saint Petersburg.
    let p = fetch(&s, Method::GET, "localhost", "/catalog", &[("x-forwarded-for", "5.18.0.1")], None).await;
    assert_eq!(p.header("x-megashop-region"), "spb; by=geoip");
    assert!(p.has("id=\"geo-suggest\""));
    assert!(p.has("Ваш город — Санкт-Петербург?"));
    assert!(p.has("name=\"code\" value=\"spb\""));
    assert!(p.has("href=\"/region?return_to=%2Fcatalog\">Выбрать другой</a>"), "{}", p.body);
    assert!(
        p.has("This product includes GeoLite2 data created by MaxMind"),
        "the GeoLite2 licence asks for this credit"
    );
    // Once chosen (cookie), the question is gone.
    let chosen = fetch(
        &s,
        Method::GET,
        "localhost",
        "/catalog",
        &[("x-forwarded-for", "5.18.0.1"), ("cookie", "region=spb")],
        None,
    )
    .await;
    assert!(!chosen.has("id=\"geo-suggest\""));
    s.stop().await;
}

// ---------------------------------------------------------------------------
// In a real browser
// ---------------------------------------------------------------------------

/// Chromium for the browser test: `MEGASHOP_TEST_CHROMIUM`, else /usr/bin/chromium.
fn chromium() -> PathBuf {
    let p = std::env::var_os("MEGASHOP_TEST_CHROMIUM").map(PathBuf::from).unwrap_or("/usr/bin/chromium".into());
    assert!(
        p.exists(),
        "the storefront browser test needs Chromium at {}: apt-get install -y chromium chromium-driver \
         (or set MEGASHOP_TEST_CHROMIUM)",
        p.display()
    );
    p
}

/// chromedriver: `MEGASHOP_TEST_CHROMEDRIVER`, else on PATH.
fn chromedriver() -> PathBuf {
    if let Some(p) = std::env::var_os("MEGASHOP_TEST_CHROMEDRIVER") {
        return PathBuf::from(p);
    }
    let found = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|d| d.join("chromedriver")).find(|p| p.is_file()))
        .unwrap_or_default();
    found.unwrap_or_else(|| {
        panic!(
            "the storefront browser test needs chromedriver: apt-get install -y chromium-driver \
             (or set MEGASHOP_TEST_CHROMEDRIVER)"
        )
    })
}

/// A running chromedriver; stopped with its browsers when dropped, also when the test
/// panics. It stays in the test's process group, so a test runner that kills the test
/// (timeout, Ctrl-C) kills it and its browsers too.
struct Driver {
    child: Child,
    port: u16,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver { child, port, url: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if let Ok(r) = client.get(format!("{}/status", driver.url)).send().await {
                if r.status().is_success() {
                    return driver;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not answer on {} within 10 s", driver.url);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // `GET /shutdown` makes chromedriver quit its browsers and exit; killing it
        // outright would leave Chromium running. Blocking I/O: Drop cannot await.
        use std::io::{Read, Write};
        if let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = conn.write_all(b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            let _ = conn.read(&mut [0u8; 256]);
        }
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("MEGASHOP_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// Visible text with no-break spaces as plain spaces.
fn plain(s: &str) -> String {
    s.replace(['\u{a0}', '\u{202f}'], " ").trim().to_string()
}

#[tokio::test]
async fn browser_shows_regional_prices_and_the_region_picker_works() {
    use fantoccini::{ClientBuilder, Locator};

    let binary = chromium();
    let driver = Driver::start().await;
    let s = demo_server().await;
    let port = s.base.rsplit(':').next().unwrap().to_string();
    let shots = screenshot_dir();

    let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
        "goog:chromeOptions": {
            "binary": binary,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,1600"]
        }
    }))
    .unwrap();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = ClientBuilder::new(connector).capabilities(caps).connect(&driver.url).await.expect("WebDriver session");

    let text = |sel: &'static str| {
        let c = c.clone();
        async move { plain(&c.find(Locator::Css(sel)).await.unwrap_or_else(|e| panic!("{sel}: {e}")).text().await.unwrap()) }
    };
    let shot = |name: &'static str| {
        let (c, path) = (c.clone(), shots.join(name));
        async move {
            let png = c.screenshot().await.unwrap();
            assert!(png.len() > 10_000, "{name} looks blank ({} bytes)", png.len());
            std::fs::write(&path, png).unwrap();
        }
    };

    // Moscow by subdomain.
    c.goto(&format!("http://msk.localhost:{port}{IPHONE}")).await.unwrap();
    assert_eq!(text("#region-name").await, "Москва");
    let msk_price = text("#product-price").await;
    assert_eq!(msk_price, "от 29 990 ₽");
    shot("product-msk-subdomain.png").await;

    // Saint Petersburg by path prefix: another price.
    c.goto(&format!("http://localhost:{port}/spb{IPHONE}")).await.unwrap();
    assert_eq!(text("#region-name").await, "Санкт-Петербург");
    let spb_price = text("#product-price").await;
    assert_eq!(spb_price, "от 29 090 ₽");
    assert_ne!(msk_price, spb_price);
    shot("product-spb-path.png").await;

    // The default region, then the picker: Kazan, remembered by the cookie.
    c.goto(&format!("http://localhost:{port}/")).await.unwrap();
    assert_eq!(text("#region-name").await, "Москва");
    c.find(Locator::Css("#region-name")).await.unwrap().click().await.unwrap();
    c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#region-form")).await.unwrap();
    shot("region-picker.png").await;
    c.find(Locator::Css("button[name=code][value=kzn]")).await.unwrap().click().await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#region-name[data-region=kzn]"))
        .await
        .expect("the page shows Kazan after choosing it");
    assert_eq!(c.current_url().await.unwrap().path(), "/");
    assert_eq!(text("#region-name").await, "Казань");
    shot("home-kzn.png").await;
    c.goto(&format!("http://localhost:{port}{IPHONE}")).await.unwrap();
    assert_eq!(text("#region-name").await, "Казань");
    assert_eq!(text("#product-price").await, "от 27 590 ₽");
    shot("product-kzn-cookie.png").await;

    // A phone-sized window: the catalogue stays usable.
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("http://localhost:{port}/catalog/kettles")).await.unwrap();
    assert_eq!(text("#count").await, "Найдено 7 товаров");
    shot("catalog-phone.png").await;

    c.close().await.unwrap();
    drop(driver);
    s.stop().await;
}
