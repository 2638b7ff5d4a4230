//! [`FakeSmtp`]: a tiny SMTP server on `127.0.0.1:0` for tests. It speaks just enough of
//! RFC 5321 for an SMTP client without TLS or authentication (lettre with `tls = "none"`),
//! records every message it accepts — with its subject and body decoded from
//! quoted-printable, base64 and RFC 2047 words, so tests can search Russian text — and
//! can be told to refuse the next deliveries. It stops when dropped.

use base64::Engine;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// One message the server accepted.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent after `DATA` (headers and encoded body, dot-stuffing removed).
    pub raw: String,
    /// The decoded `Subject` header.
    pub subject: String,
    /// The decoded body.
    pub body: String,
}

#[derive(Default)]
struct State {
    received: Vec<ReceivedMail>,
    /// Refuse this many coming `MAIL FROM` commands with `fail_code`.
    fail_next: usize,
    fail_code: u16,
}

/// A fake SMTP server; see the module docs.
pub struct FakeSmtp {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        // Aborting the accept task drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

impl FakeSmtp {
    /// Starts the server on a free port of 127.0.0.1.
    pub async fn start() -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fake SMTP server");
        let addr = listener.local_addr().expect("fake SMTP address");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            conns.spawn(session(stream, shared.clone()));
                        }
                        Err(_) => break,
                    },
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        FakeSmtp { addr, state, task }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its port (the host is 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Refuses the next `n` deliveries at `MAIL FROM` with `code` (`451` for a temporary
    /// failure, `550` for a permanent one).
    pub fn fail_next(&self, n: usize, code: u16) {
        let mut s = self.lock();
        s.fail_next = n;
        s.fail_code = code;
    }

    /// Every accepted message, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.lock().received.clone()
    }

    /// The newest message to `recipient`.
    pub fn last_to(&self, recipient: &str) -> Option<ReceivedMail> {
        self.lock().received.iter().rev().find(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(recipient))).cloned()
    }

    /// The first 6-digit number in the newest message to `recipient`.
    pub fn last_code_for(&self, recipient: &str) -> Option<String> {
        self.last_to(recipient).and_then(|m| crate::fake_sms::first_code(&m.body))
    }

    /// The first `http(s)://` URL in the newest message to `recipient`.
    pub fn last_link_for(&self, recipient: &str) -> Option<String> {
        self.last_to(recipient).and_then(|m| first_link(&m.body))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One SMTP conversation.
async fn session(stream: TcpStream, state: Arc<Mutex<State>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    if write.write_all(b"220 fake-smtp.test ESMTP ready\r\n").await.is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match tokio::time::timeout(Duration::from_secs(10), lines.read_line(&mut line)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return,
        }
        let cmd = line.trim_end();
        let verb = cmd.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" => "250-fake-smtp.test greets you\r\n250 8BITMIME\r\n".into(),
            "HELO" => "250 fake-smtp.test\r\n".into(),
            "MAIL" => {
                let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
                if s.fail_next > 0 {
                    s.fail_next -= 1;
                    let code = s.fail_code;
                    let class = code / 100;
                    format!("{code} {class}.3.0 Sorry, not now (fake failure)\r\n")
                } else {
                    from = angle(cmd);
                    to.clear();
                    "250 2.1.0 OK\r\n".into()
                }
            }
            "RCPT" => {
                to.push(angle(cmd));
                "250 2.1.5 OK\r\n".into()
            }
            "DATA" => {
                if write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await.is_err() {
                    return;
                }
                let mut raw = String::new();
                loop {
                    let mut l = String::new();
                    match tokio::time::timeout(Duration::from_secs(10), lines.read_line(&mut l)).await {
                        Ok(Ok(n)) if n > 0 => {}
                        _ => return,
                    }
                    if l == ".\r\n" || l == ".\n" {
                        break;
                    }
                    raw.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                let (subject, body) = decode_message(&raw);
                let mail = ReceivedMail { from: from.clone(), to: std::mem::take(&mut to), raw, subject, body };
                state.lock().unwrap_or_else(|e| e.into_inner()).received.push(mail);
                "250 2.0.0 Queued\r\n".into()
            }
            "RSET" => {
                from.clear();
                to.clear();
                "250 2.0.0 OK\r\n".into()
            }
            "NOOP" => "250 2.0.0 OK\r\n".into(),
            "QUIT" => {
                let _ = write.write_all(b"221 2.0.0 Bye\r\n").await;
                return;
            }
            _ => "502 5.5.2 Command not implemented\r\n".into(),
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The address inside `<…>` of `MAIL FROM:<a@b> SIZE=1`.
fn angle(cmd: &str) -> String {
    match (cmd.find('<'), cmd.find('>')) {
        (Some(a), Some(b)) if a < b => cmd[a + 1..b].to_string(),
        _ => cmd.split_once(':').map(|(_, r)| r.trim().to_string()).unwrap_or_default(),
    }
}

/// Decoded subject and body of a single-part message.
fn decode_message(raw: &str) -> (String, String) {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw.as_str(), ""));
    // Unfold continuation lines.
    let mut headers: Vec<String> = Vec::new();
    for line in head.lines() {
        match (line.starts_with([' ', '\t']), headers.last_mut()) {
            (true, Some(last)) => last.push_str(line),
            _ => headers.push(line.to_string()),
        }
    }
    let header = |name: &str| {
        headers.iter().find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let subject = decode_words(&header("Subject").unwrap_or_default());
    let body = match header("Content-Transfer-Encoding").map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("quoted-printable") => String::from_utf8_lossy(&decode_qp(body, false)).into_owned(),
        Some("base64") => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|_| body.to_string())
        }
        _ => body.to_string(),
    };
    (subject, body)
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`); whitespace between
/// two adjacent encoded words is dropped, as the RFC says.
fn decode_words(s: &str) -> String {
    let mut out = String::new();
    let mut pending_space = String::new();
    let mut last_was_word = false;
    for token in s.split_inclusive([' ', '\t']) {
        let word = token.trim_end_matches([' ', '\t']);
        let space = &token[word.len()..];
        if let Some(decoded) = decode_word(word) {
            if !last_was_word {
                out.push_str(&pending_space);
            }
            out.push_str(&decoded);
            last_was_word = true;
        } else {
            out.push_str(&pending_space);
            out.push_str(word);
            last_was_word = false;
        }
        pending_space = space.to_string();
    }
    out
}

fn decode_word(w: &str) -> Option<String> {
    let inner = w.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.splitn(3, '?');
    let _charset = parts.next()?;
    let enc = parts.next()?.to_ascii_lowercase();
    let text = parts.next()?;
    let bytes = match enc.as_str() {
        "b" => base64::engine::general_purpose::STANDARD.decode(text).ok()?,
        "q" => decode_qp(text, true),
        _ => return None,
    };
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Quoted-printable (RFC 2045) to bytes; `underscore_is_space` for RFC 2047 `q` words.
fn decode_qp(s: &str, underscore_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'=' if b.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => i += 3,
            b'=' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'=');
                        i += 1;
                    }
                }
            }
            b'_' if underscore_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The first `http://` or `https://` URL in `text`.
pub fn first_link(text: &str) -> Option<String> {
    let start = [text.find("https://"), text.find("http://")].into_iter().flatten().min()?;
    let url: String =
        text[start..].chars().take_while(|c| !c.is_whitespace() && !matches!(c, '<' | '>' | '"' | '»' | '«')).collect();
    Some(url.trim_end_matches(['.', ',', ')', ';', ':']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_encoded_words_and_bodies() {
        assert_eq!(decode_words("=?utf-8?b?0J/RgNC40LLQtdGC?= =?utf-8?b?LCDQvNC40YA=?="), "Привет, мир");
        assert_eq!(decode_words("Re: =?utf-8?q?caf=C3=A9_au_lait?= now"), "Re: café au lait now");
        assert_eq!(decode_words("plain subject"), "plain subject");
        let raw = "Subject: =?utf-8?b?0JrQvtC0?=\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=D0=9A=D0=BE=D0=B4: 123456 =\r\n=D0=B8 =3D\r\n";
        let (subject, body) = decode_message(raw);
        assert_eq!(subject, "Код");
        assert_eq!(body, "Код: 123456 и =\n");
    }

    #[test]
    fn finds_links() {
        assert_eq!(first_link("go to https://a.test/x?t=1. Thanks"), Some("https://a.test/x?t=1".into()));
        assert_eq!(first_link("none here"), None);
    }
}
