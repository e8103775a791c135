//! Bearer tokens and the access each gives.

use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::sync::access::Access;

/// Who may do what: no tokens (everything allowed, for local development) or a list of bearer
/// tokens with the stream prefixes each may read and write.
#[derive(Clone, Debug, Default)]
pub enum Tokens {
    /// Every request may read and write everything without a token.
    #[default]
    Open,
    /// Only the listed tokens are accepted.
    Listed(Vec<(String, Access)>),
}

impl Tokens {
    /// The access of a request's credentials: the `Authorization: Bearer <token>` header, or
    /// (for `EventSource`, which cannot set headers) `query_token`.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] when the token is missing, malformed or unknown.
    pub fn check(&self, authorization: Option<&str>, query_token: Option<&str>) -> Result<Access> {
        match self {
            Tokens::Open => Ok(Access::all()),
            Tokens::Listed(tokens) => check_listed(tokens, authorization, query_token),
        }
    }
}

/// The access a request's credentials give among `tokens` (what [`Tokens::check`] and
/// `eventfold-server` run): the `Authorization: Bearer <token>` header, or `query_token`.
///
/// # Errors
/// [`Error::Unauthorized`] when the token is missing, malformed or unknown.
pub fn check_listed(
    tokens: &[(String, Access)],
    authorization: Option<&str>,
    query_token: Option<&str>,
) -> Result<Access> {
    let given = match authorization {
        Some(v) => v
            .strip_prefix("Bearer ")
            .map(str::trim)
            .ok_or_else(|| Error::Unauthorized {
                message: "the Authorization header is not \"Bearer <token>\"".into(),
            })?,
        None => query_token.ok_or_else(|| Error::Unauthorized {
            message: "no bearer token".into(),
        })?,
    };
    // Compare against every token in constant time per token (subtle's ConstantTimeEq), so
    // timing does not tell how much of a guess was right.
    let mut found = None;
    for (token, access) in tokens {
        if bool::from(token.as_bytes().ct_eq(given.as_bytes())) {
            found = Some(access);
        }
    }
    found.cloned().ok_or_else(|| Error::Unauthorized {
        message: "unknown token".into(),
    })
}
