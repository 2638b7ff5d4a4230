//! [`FakeSms`]: prostor-sms's JSON API on `127.0.0.1:0` for tests.
//!
//! `POST /messages/v2/send.json` with `{"login", "password", "messages": [{"phone",
//! "clientId", "text", "sender"?}]}` answers `{"status": "ok", "messages": [{"clientId",
//! "smscId", "status": "accepted"}]}`; a wrong login or password gets
//! `{"status": "error", "description": "error authorization"}`, a phone that is not
//! `+` and 11–15 digits gets the message status `invalid mobile phone`, and on demand
//! the next calls get `not enough credits` or HTTP 500. It stops when dropped.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::task::JoinHandle;

/// One SMS the fake accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedSms {
    /// `login` of the request.
    pub login: String,
    /// `password` of the request.
    pub password: String,
    /// `phone`.
    pub phone: String,
    /// `text`.
    pub text: String,
    /// `clientId` (our job id).
    pub client_id: String,
    /// `sender`, when given.
    pub sender: Option<String>,
}

/// What the next calls get instead of `accepted`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    NotEnoughCredits,
    Http500,
}

struct Inner {
    login: String,
    password: String,
    received: Vec<ReceivedSms>,
    calls: usize,
    fail: Option<(Failure, usize)>,
    next_id: u64,
}

type Shared = Arc<Mutex<Inner>>;

/// A fake prostor-sms server; see the module docs.
pub struct FakeSms {
    addr: SocketAddr,
    state: Shared,
    task: JoinHandle<()>,
}

impl Drop for FakeSms {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeSms {
    /// Starts the server; requests must carry this `login` and `password`.
    pub async fn start(login: &str, password: &str) -> FakeSms {
        let state: Shared = Arc::new(Mutex::new(Inner {
            login: login.into(),
            password: password.into(),
            received: Vec::new(),
            calls: 0,
            fail: None,
            next_id: 1000,
        }));
        let app = Router::new().route("/messages/v2/send.json", post(send)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake SMS server");
        let addr = listener.local_addr().expect("fake SMS address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeSms { addr, state, task }
    }

    /// `http://127.0.0.1:<port>`: the `notify.sms.prostor.base_url` to use.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` calls answer with the message status `not enough credits`.
    pub fn fail_next_with_no_credits(&self, n: usize) {
        self.lock().fail = Some((Failure::NotEnoughCredits, n));
    }

    /// The next `n` calls answer HTTP 500.
    pub fn fail_next_with_http_500(&self, n: usize) {
        self.lock().fail = Some((Failure::Http500, n));
    }

    /// Every accepted SMS, oldest first.
    pub fn messages(&self) -> Vec<ReceivedSms> {
        self.lock().received.clone()
    }

    /// How many requests arrived (accepted or not).
    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    /// The newest accepted SMS to `phone`.
    pub fn last_to(&self, phone: &str) -> Option<ReceivedSms> {
        self.lock().received.iter().rev().find(|m| m.phone == phone).cloned()
    }

    /// The first 6-digit number in the newest SMS to `phone`.
    pub fn last_code_for(&self, phone: &str) -> Option<String> {
        self.last_to(phone).and_then(|m| first_code(&m.text))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn send(State(state): State<Shared>, body: Result<Json<Value>, JsonRejection>) -> Response {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    s.calls += 1;
    let Ok(Json(body)) = body else {
        return Json(json!({"status": "error", "description": "invalid request"})).into_response();
    };
    let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (login, password) = (field(&body, "login"), field(&body, "password"));
    if login != s.login || password != s.password {
        return Json(json!({"status": "error", "description": "error authorization"})).into_response();
    }
    let failure = match &mut s.fail {
        Some((kind, n)) if *n > 0 => {
            *n -= 1;
            Some(*kind)
        }
        _ => None,
    };
    if failure == Some(Failure::Http500) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    }
    let mut answers = Vec::new();
    for m in body.get("messages").and_then(Value::as_array).cloned().unwrap_or_default() {
        let client_id = match m.get("clientId") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let phone = field(&m, "phone");
        let text = field(&m, "text");
        let status = if failure == Some(Failure::NotEnoughCredits) {
            "not enough credits"
        } else if !valid_phone(&phone) {
            "invalid mobile phone"
        } else if text.is_empty() {
            "text is empty"
        } else {
            "accepted"
        };
        let mut answer = json!({"clientId": client_id, "status": status});
        if status == "accepted" {
            s.next_id += 1;
            answer["smscId"] = json!(s.next_id);
            let sender = m.get("sender").and_then(Value::as_str).map(str::to_string);
            s.received.push(ReceivedSms {
                login: login.clone(),
                password: password.clone(),
                phone,
                text,
                client_id,
                sender,
            });
        }
        answers.push(answer);
    }
    Json(json!({"status": "ok", "messages": answers})).into_response()
}

fn valid_phone(p: &str) -> bool {
    p.strip_prefix('+').is_some_and(|d| (11..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// The first run of exactly six digits in `text`.
pub fn first_code(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 6 {
                return Some(chars[start..i].iter().collect());
            }
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_six_digit_codes_only() {
        assert_eq!(first_code("123456 — код"), Some("123456".into()));
        assert_eq!(first_code("Order 1234567, code 654321."), Some("654321".into()));
        assert_eq!(first_code("no code 12345"), None);
    }

    #[test]
    fn phones_are_e164() {
        assert!(valid_phone("+79161234567"));
        assert!(!valid_phone("79161234567"));
        assert!(!valid_phone("+7916"));
        assert!(!valid_phone("+7916123456a"));
    }
}
