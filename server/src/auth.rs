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
        let given = match headers.get(header::AUTHORIZATION) {
            Some(v) => v
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or_else(|| Error::Unauthorized {
                    message: "the Authorization header is not \"Bearer <token>\"".into(),
                })?,
            None => query_token.ok_or_else(|| Error::Unauthorized {
                message: "no bearer token".into(),
            })?,
        };
        // Compare against every token in constant time per token, so timing does not tell
        // how much of a guess was right.
        let mut found = None;
        for (token, access) in tokens {
            if constant_time_eq(token.as_bytes(), given.as_bytes()) {
                found = Some(access);
            }
        }
        found.cloned().ok_or_else(|| Error::Unauthorized {
            message: "unknown token".into(),
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
}
