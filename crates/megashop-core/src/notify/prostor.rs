//! SMS through prostor-sms's JSON API: `POST {base_url}/messages/v2/send.json` with
//! `{"login", "password", "messages": [{"phone", "clientId", "text", "sender"?}]}`.
//! Success is a top-level `"status": "ok"` and our message's `"status": "accepted"`;
//! anything else is a failure. `clientId` is the job id, so the provider's records can
//! be matched with ours.

use super::config::ProstorConfig;
use super::provider::{Provider, Rendered, SendError};
use crate::config::Secret;
use crate::error::{Error, Result};
use serde::Serialize;
use std::time::Duration;

/// How long one API call may take (well under the job's 60 s lease).
const TIMEOUT: Duration = Duration::from_secs(20);

/// Message statuses after which retrying the same message cannot help.
const PERMANENT_STATUSES: [&str; 4] =
    ["invalid mobile phone", "text is empty", "sender address invalid", "wapurl invalid"];

/// Sends SMS through prostor-sms.
#[derive(Clone, Debug)]
pub struct ProstorProvider {
    client: reqwest::Client,
    url: String,
    login: String,
    password: Secret,
    sender: Option<String>,
}

#[derive(Serialize)]
struct Request<'a> {
    login: &'a str,
    password: &'a str,
    messages: [Message<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Message<'a> {
    phone: &'a str,
    client_id: String,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sender: Option<&'a str>,
}

impl ProstorProvider {
    /// A client for the account in `cfg`.
    pub fn new(cfg: &ProstorConfig) -> Result<ProstorProvider> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client for prostor-sms: {e}")))?;
        Ok(ProstorProvider {
            client,
            url: format!("{}/messages/v2/send.json", cfg.base_url.trim_end_matches('/')),
            login: cfg.login.clone(),
            password: cfg.password.clone(),
            sender: cfg.sender.clone().filter(|s| !s.trim().is_empty()),
        })
    }
}

impl Provider for ProstorProvider {
    async fn send(&self, msg: &Rendered) -> Result<(), SendError> {
        let client_id = msg.job_id.to_string();
        let body = Request {
            login: &self.login,
            password: self.password.expose(),
            messages: [Message {
                phone: &msg.to,
                client_id: client_id.clone(),
                text: &msg.body,
                sender: self.sender.as_deref(),
            }],
        };
        // reqwest's errors name the URL (no secret in it), never the body with the password.
        let resp = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| SendError::Temporary(format!("prostor-sms: {}", chain(&e))))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(SendError::Temporary(format!("prostor-sms: HTTP {status}")));
        }
        let answer: serde_json::Value = resp
            .json()
            .await
            .map_err(|e| SendError::Temporary(format!("prostor-sms: unreadable answer: {}", chain(&e))))?;
        interpret(&answer, &client_id)
    }
}

/// Reads the JSON answer to one message sent with `client_id`.
fn interpret(answer: &serde_json::Value, client_id: &str) -> Result<(), SendError> {
    let top = answer.get("status").and_then(|s| s.as_str()).unwrap_or("");
    if top != "ok" {
        let why = answer.get("description").and_then(|s| s.as_str()).unwrap_or(top);
        return Err(SendError::Temporary(format!("prostor-sms refused the request: {}", short(why))));
    }
    let messages = answer.get("messages").and_then(|m| m.as_array()).map(Vec::as_slice).unwrap_or(&[]);
    let ours = messages
        .iter()
        .find(|m| match m.get("clientId") {
            Some(serde_json::Value::String(s)) => s == client_id,
            Some(serde_json::Value::Number(n)) => n.to_string() == client_id,
            _ => false,
        })
        .or(messages.first());
    let Some(ours) = ours else {
        return Err(SendError::Temporary("prostor-sms: the answer lists no message".into()));
    };
    match ours.get("status").and_then(|s| s.as_str()).unwrap_or("") {
        "accepted" => Ok(()),
        s if PERMANENT_STATUSES.contains(&s) => Err(SendError::Permanent(format!("prostor-sms: {s}"))),
        s => Err(SendError::Temporary(format!("prostor-sms: {}", short(if s.is_empty() { "no status" } else { s })))),
    }
}

/// An error with its causes ("error sending request: connection refused").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    short(&text)
}

/// A provider's text, cut to a sane length for `last_error`.
fn short(s: &str) -> String {
    s.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepted_is_success() {
        let a = json!({"status": "ok", "messages": [{"clientId": "7", "smscId": 1, "status": "accepted"}]});
        assert_eq!(interpret(&a, "7"), Ok(()));
    }

    #[test]
    fn failures_are_classified() {
        let bad_phone = json!({"status": "ok", "messages": [{"clientId": "7", "status": "invalid mobile phone"}]});
        assert_eq!(interpret(&bad_phone, "7"), Err(SendError::Permanent("prostor-sms: invalid mobile phone".into())));
        let credits = json!({"status": "ok", "messages": [{"clientId": "7", "status": "not enough credits"}]});
        assert_eq!(interpret(&credits, "7"), Err(SendError::Temporary("prostor-sms: not enough credits".into())));
        let auth = json!({"status": "error", "description": "error authorization"});
        assert!(matches!(interpret(&auth, "7"), Err(SendError::Temporary(e)) if e.contains("error authorization")));
        assert!(interpret(&json!({"status": "ok", "messages": []}), "7").is_err());
        assert!(interpret(&json!("nonsense"), "7").is_err());
    }

    #[test]
    fn our_message_is_found_by_client_id() {
        let a = json!({"status": "ok", "messages": [
            {"clientId": "6", "status": "invalid mobile phone"},
            {"clientId": 7, "status": "accepted"},
        ]});
        assert_eq!(interpret(&a, "7"), Ok(()));
    }

    #[test]
    fn request_body_matches_the_api() {
        let body = Request {
            login: "shop",
            password: "pw",
            messages: [Message { phone: "+79161234567", client_id: "42".into(), text: "Код: 1234", sender: None }],
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"login": "shop", "password": "pw", "messages": [
                {"phone": "+79161234567", "clientId": "42", "text": "Код: 1234"}
            ]})
        );
    }
}
