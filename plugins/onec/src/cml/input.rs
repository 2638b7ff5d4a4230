//! The byte stream under the XML parser: encoding detection, transcoding to UTF-8, and a cap
//! on the size of one XML token.
//!
//! quick-xml 0.42 parses UTF-8 only. 1C writes UTF-8 (with a BOM) for catalogues, while
//! 1C-Bitrix and older 1C write orders in windows-1251, so the XML declaration decides: UTF-8
//! (or no declaration) passes through untouched; anything else goes through quick-xml's
//! `DecodingReader` (encoding_rs). The declaration is read before the parser starts, from a
//! short prefix that is then replayed.
//!
//! The parser copies one token (a text run, a tag with its attributes, a comment) into its
//! buffer before handing it over, so one 1 GB text node would need 1 GB of memory. [`Input`]
//! counts the bytes handed out since the start of the current token and fails the read
//! beyond a cap, which bounds memory whatever the file holds.

use std::io::{self, BufRead, Read};

use quick_xml::encoding::DecodingReader;

/// How many bytes are read ahead to find the XML declaration.
const PREFIX_MAX: usize = 1024;

/// Why [`Input`] refused to read on: turned into a `CmlError` by the reader.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The current token grew beyond the cap.
    TokenTooLong,
    /// The declaration names an encoding encoding_rs does not know.
    UnsupportedEncoding(String),
}

/// The prefix read to find the declaration, then the rest of the stream.
pub(crate) struct Replayed<R> {
    prefix: Vec<u8>,
    at: usize,
    inner: R,
}

impl<R: BufRead> Read for Replayed<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Replayed<R> {
    #[inline]
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at < self.prefix.len() {
            Ok(&self.prefix[self.at..])
        } else {
            self.inner.fill_buf()
        }
    }

    #[inline]
    fn consume(&mut self, amount: usize) {
        if self.at < self.prefix.len() {
            self.at += amount;
        } else {
            self.inner.consume(amount);
        }
    }
}

enum Source<R> {
    /// Not started: the declaration has not been looked at.
    Pending(R),
    /// UTF-8: bytes go to the parser as they are.
    Plain(Replayed<R>),
    /// Another encoding, transcoded to UTF-8.
    Decoded(Box<DecodingReader<Replayed<R>>>),
    /// Detection failed; nothing more is read.
    Failed,
}

/// A `BufRead` that detects the encoding on first use and limits the size of a token.
pub(crate) struct Input<R> {
    source: Source<R>,
    /// Bytes handed out since [`Input::start_token`].
    used: usize,
    cap: usize,
    refusal: Option<Refusal>,
}

impl<R: BufRead> Input<R> {
    pub(crate) fn new(inner: R, token_cap: usize) -> Self {
        Input { source: Source::Pending(inner), used: 0, cap: token_cap, refusal: None }
    }

    /// Called before the parser reads the next event.
    pub(crate) fn start_token(&mut self) {
        self.used = 0;
    }

    /// Why the last read failed, when it was this layer's decision.
    pub(crate) fn take_refusal(&mut self) -> Option<Refusal> {
        self.refusal.take()
    }

    fn refuse(&mut self, refusal: Refusal) -> io::Error {
        let message = match &refusal {
            Refusal::TokenTooLong => "XML token too long".to_owned(),
            Refusal::UnsupportedEncoding(label) => format!("unsupported encoding {label:?}"),
        };
        self.refusal = Some(refusal);
        io::Error::new(io::ErrorKind::InvalidData, message)
    }

    /// Reads the prefix, decides the encoding and replaces `Pending` with a ready source.
    fn start(&mut self) -> io::Result<()> {
        let Source::Pending(mut inner) = std::mem::replace(&mut self.source, Source::Failed) else {
            return Ok(());
        };
        let mut prefix = Vec::with_capacity(256);
        loop {
            let available = match inner.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            let take = available.len().min(PREFIX_MAX - prefix.len());
            prefix.extend_from_slice(&available[..take]);
            inner.consume(take);
            if prefix.len() >= PREFIX_MAX || declaration_end(&prefix).is_some() {
                break;
            }
            // Not an XML declaration at all: no need to read further.
            if !prefix_may_be_declaration(&prefix) {
                break;
            }
        }
        let encoding = match detect(&prefix) {
            Ok(encoding) => encoding,
            Err(label) => return Err(self.refuse(Refusal::UnsupportedEncoding(label))),
        };
        let replayed = Replayed { prefix, at: 0, inner };
        self.source = match encoding {
            None => Source::Plain(replayed),
            Some(encoding) => {
                let mut decoding = DecodingReader::new(replayed);
                // UTF-16 is found by the DecodingReader itself (BOM or `<\0` pattern).
                if encoding.is_ascii_compatible() {
                    decoding.set_encoding(encoding);
                }
                Source::Decoded(Box::new(decoding))
            }
        };
        Ok(())
    }
}

impl<R: BufRead> Read for Input<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Input<R> {
    #[inline]
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        // Never hand out more than the rest of the allowance, so that the parser has to
        // come back (and be refused) before a token passes the cap.
        let Some(allowed) = self.cap.checked_sub(self.used) else {
            return Err(self.refuse(Refusal::TokenTooLong));
        };
        if let Source::Pending(_) = self.source {
            self.start()?;
        }
        let available = match &mut self.source {
            Source::Plain(source) => source.fill_buf()?,
            Source::Decoded(source) => source.fill_buf()?,
            Source::Pending(_) | Source::Failed => &[],
        };
        Ok(&available[..available.len().min(allowed.saturating_add(1))])
    }

    #[inline]
    fn consume(&mut self, amount: usize) {
        self.used = self.used.saturating_add(amount);
        match &mut self.source {
            Source::Plain(source) => source.consume(amount),
            Source::Decoded(source) => source.consume(amount),
            Source::Pending(_) | Source::Failed => {}
        }
    }
}

/// Could `prefix` still turn out to start with `<?xml` (after a BOM)?
fn prefix_may_be_declaration(prefix: &[u8]) -> bool {
    let body = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let probe = b"<?xml";
    let n = body.len().min(probe.len());
    body[..n] == probe[..n]
}

/// Offset just past `?>` of a declaration at the start of `prefix`.
fn declaration_end(prefix: &[u8]) -> Option<usize> {
    prefix.windows(2).position(|w| w == b"?>").map(|i| i + 2)
}

/// `Ok(None)` for UTF-8; `Ok(Some(encoding))` for anything to transcode; `Err(label)` for an
/// unknown label.
fn detect(prefix: &[u8]) -> Result<Option<&'static encoding_rs::Encoding>, String> {
    if prefix.starts_with(b"\xEF\xBB\xBF") {
        return Ok(None);
    }
    if prefix.starts_with(b"\xFF\xFE") || prefix.starts_with(b"\x3C\x00") {
        return Ok(Some(encoding_rs::UTF_16LE));
    }
    if prefix.starts_with(b"\xFE\xFF") || prefix.starts_with(b"\x00\x3C") {
        return Ok(Some(encoding_rs::UTF_16BE));
    }
    if !prefix.starts_with(b"<?xml") {
        return Ok(None);
    }
    let Some(end) = declaration_end(prefix) else {
        return Ok(None);
    };
    let Some(label) = declared_encoding(&prefix[..end]) else {
        return Ok(None);
    };
    match encoding_rs::Encoding::for_label(label) {
        Some(encoding) if encoding == encoding_rs::UTF_8 => Ok(None),
        // A UTF-16 label without a BOM or `<\0` pattern cannot be right: the declaration
        // was just read as ASCII. Trust the bytes.
        Some(encoding) if !encoding.is_ascii_compatible() => Ok(None),
        Some(encoding) => Ok(Some(encoding)),
        None => Err(String::from_utf8_lossy(label).into_owned()),
    }
}

/// The value of `encoding="…"` (or `'…'`) in an XML declaration.
fn declared_encoding(declaration: &[u8]) -> Option<&[u8]> {
    let at = declaration.windows(8).position(|w| w == b"encoding")?;
    let rest = &declaration[at + 8..];
    let rest = rest.trim_ascii_start().strip_prefix(b"=")?.trim_ascii_start();
    let quote = *rest.first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let value = &rest[1..];
    let close = value.iter().position(|&b| b == quote)?;
    Some(value[..close].trim_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_declared_encoding() {
        assert_eq!(declared_encoding(br#"<?xml version="1.0" encoding="windows-1251"?>"#), Some(&b"windows-1251"[..]));
        assert_eq!(declared_encoding(b"<?xml version='1.0' encoding = 'UTF-8' ?>"), Some(&b"UTF-8"[..]));
        assert_eq!(declared_encoding(br#"<?xml version="1.0"?>"#), None);
        assert_eq!(
            detect(br#"<?xml version="1.0" encoding="windows-1251"?><a/>"#),
            Ok(Some(encoding_rs::WINDOWS_1251))
        );
        assert_eq!(detect(b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"windows-1251\"?>"), Ok(None));
        assert_eq!(detect(br#"<?xml version="1.0" encoding="UTF-8"?>"#), Ok(None));
        assert_eq!(detect(b"<a/>"), Ok(None));
        assert_eq!(detect(br#"<?xml version="1.0" encoding="klingon"?>"#), Err("klingon".to_owned()));
    }

    #[test]
    fn transcodes_windows_1251() {
        let (bytes, _, _) =
            encoding_rs::WINDOWS_1251.encode("<?xml version=\"1.0\" encoding=\"windows-1251\"?><Товар>Ёлка</Товар>");
        let mut input = Input::new(&bytes[..], 1 << 20);
        let mut out = String::new();
        input.read_to_string(&mut out).unwrap();
        assert!(out.ends_with("<Товар>Ёлка</Товар>"), "{out}");
    }

    #[test]
    fn caps_a_token() {
        let data = vec![b'x'; 100_000];
        let mut input = Input::new(std::io::BufReader::with_capacity(1000, &data[..]), 10_000);
        input.start_token();
        let mut sink = Vec::new();
        let err = input.read_to_end(&mut sink).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(matches!(input.take_refusal(), Some(Refusal::TokenTooLong)));
        assert_eq!(sink.len(), 10_001);
    }
}
