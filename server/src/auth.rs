//! Bearer tokens and what they grant, loaded from a JSON file:
//!
//! ```json
//! { "tokens": { "s3cr3t-reader": { "read": ["order-"], "write": [] },
//!               "s3cr3t-app":    { "read": [""], "write": ["order-", "cart-"] } } }
//! ```
//!
//! A prefix `""` covers every stream. Without a token file the server is open: every request
//! may read and write everything (for local development; the server binds loopback only by
//! default).

use std::collections::BTreeMap;
use std::path::Path;

use axum::http::{header, HeaderMap};
use eventfold::sync::access::Access;
use eventfold::{Error, Result};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    tokens: BTreeMap<String, Access>,
}

/// Who may do what.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No token file: everything is allowed without a token.
    Open,
    /// Only the listed tokens are accepted.
    Tokens(Vec<(String, Access)>),
}

impl Auth {
    /// Parses a token file's JSON text.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if it is not `{"tokens": {token: {read, write}}}` (unknown fields
    /// included), a token is empty, has spaces around it or holds characters a `Bearer` header
    /// cannot carry (it could never match).
    pub fn from_json(text: &str) -> Result<Self> {
        let file: TokenFile =
            serde_json::from_str(text).map_err(|e| Error::invalid(format!("token file: {e}")))?;
        for token in file.tokens.keys() {
            if token.trim().is_empty() {
                return Err(Error::invalid("token file: a token is empty"));
            }
            if token.trim() != token {
                return Err(Error::invalid(
                    "token file: a token has spaces around it and could never match",
                ));
            }
            if !token.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
                return Err(Error::invalid(
                    "token file: a token holds characters other than printable ASCII and could never match",
                ));
            }
        }
        Ok(Auth::Tokens(file.tokens.into_iter().collect()))
    }

    /// Whether this is open mode (no token file).
    pub fn is_open(&self) -> bool {
        matches!(self, Auth::Open)
    }

    /// Reads a token file.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if it cannot be read or parsed.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::invalid(format!("token file {}: {e}", path.display())))?;
        Self::from_json(&text)
    }

    /// The access of a request's credentials: the `Authorization: Bearer <token>` header, or
    /// (for `EventSource`, which cannot set headers) the `query_token`.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] when the token is missing, malformed or unknown.
    pub fn check(&self, headers: &HeaderMap, query_token: Option<&str>) -> Result<Access> {
        let Auth::Tokens(tokens) = self else {
            return Ok(Access::all());
        };
        // A header that is not text is no "Bearer <token>" either.
        let authorization = headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or(""));
        eventfold::sync::serve::http::check_listed(tokens, authorization, query_token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_map_to_access() {
        let auth = Auth::from_json(r#"{"tokens":{"t1":{"read":["a-"],"write":["a-"]}}}"#).unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(auth.check(&h, None).unwrap_err().code(), "UNAUTHORIZED");
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t1"));
        assert!(auth.check(&h, None).unwrap().can_write("a-1"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t2"));
        assert_eq!(auth.check(&h, None).unwrap_err().code(), "UNAUTHORIZED");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dDE="),
        );
        assert!(auth.check(&h, None).is_err());
        assert!(auth.check(&HeaderMap::new(), Some("t1")).is_ok());
        assert!(Auth::Open
            .check(&HeaderMap::new(), None)
            .unwrap()
            .can_write("x"));
        assert!(Auth::from_json(r#"{"tokens":{"":{}}}"#).is_err());
        assert!(Auth::from_json(r#"{"t1":{}}"#).is_err());
        for bad in [
            r#"{"tokens":{" t1":{"read":[""]}}}"#,
            r#"{"tokens":{"t1 ":{"read":[""]}}}"#,
            r#"{"tokens":{"t\u00e91":{"read":[""]}}}"#,
            r#"{"tokens":{"t1":{"reads":[""]}}}"#,
            r#"{"tokens":{"t1":{"read":[""]}},"extra":1}"#,
        ] {
            let e = Auth::from_json(bad).map(|_| ()).unwrap_err();
            assert_eq!(e.code(), "INVALID_INPUT", "{bad}");
            assert!(!e.to_string().contains("t1\""), "no token is printed: {e}");
        }
    }

    /// Mutated token files (bytes flipped, JSON tokens inserted, ranges cut or repeated) never
    /// panic the loader and fail as `INVALID_INPUT`; what loads has only well-formed tokens.
    /// `EVENTFOLD_FUZZ_ITERS` sets the count (default 20 000).
    #[test]
    fn mutated_token_files_load_or_fail_as_invalid_input() {
        let iterations: usize = std::env::var("EVENTFOLD_FUZZ_ITERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000);
        let seeds = [
            r#"{"tokens":{"s3cr3t-reader":{"read":["order-"],"write":[]},"app":{"read":[""],"write":["order-","cart-"]}}}"#,
            r#"{"tokens":{}}"#,
            r#"{"tokens":{"t":{}}}"#,
        ];
        let pieces = [
            "{",
            "}",
            "[",
            "]",
            "\"",
            ":",
            ",",
            "null",
            " ",
            "\\u0000",
            "\"reads\"",
            "é",
            "1e999",
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n.max(1) as u64) as usize
        };
        let (mut loaded, mut refused) = (0, 0);
        for _ in 0..iterations {
            let mut text: Vec<u8> = seeds[next(seeds.len())].as_bytes().to_vec();
            for _ in 0..1 + next(3) {
                let at = next(text.len() + 1);
                match next(4) {
                    0 if at < text.len() => text[at] ^= 1 << next(8),
                    1 => {
                        let p = pieces[next(pieces.len())].as_bytes();
                        text.splice(at..at, p.iter().copied());
                    }
                    2 if at < text.len() => {
                        let end = (at + 1 + next(8)).min(text.len());
                        text.drain(at..end);
                    }
                    _ => text.truncate(at),
                }
            }
            let Ok(text) = String::from_utf8(text) else {
                continue;
            };
            match Auth::from_json(&text) {
                Ok(Auth::Tokens(tokens)) => {
                    loaded += 1;
                    assert!(tokens
                        .iter()
                        .all(|(t, _)| !t.is_empty() && t.trim() == t && t.is_ascii()));
                }
                Ok(Auth::Open) => unreachable!("a token file never means open mode"),
                Err(e) => {
                    refused += 1;
                    assert_eq!(e.code(), "INVALID_INPUT", "{text}");
                }
            }
        }
        eprintln!("token files: {iterations} mutants, {loaded} loaded, {refused} refused");
    }
}
