//! The URL's parts: percent-decoding, query values, and the options of a stream read.

use crate::core::event::Version;
use crate::error::{Error, Result};
use crate::store::{Direction, ReadStreamOptions};
use crate::sync::serve::ServeLimits;

/// Percent-decodes `s` (with `+` as a space when `plus` is set).
pub(super) fn percent_decode(s: &str, plus: bool) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| Error::protocol("the URL is not valid UTF-8"))
}

/// The value of `key` in a query string (`None` when absent).
pub fn query_value(query: &str, key: &str) -> Result<Option<String>> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(k, true)? == key {
            return percent_decode(v, true).map(Some);
        }
    }
    Ok(None)
}

/// The options of `GET /v1/streams/{stream}?from=&limit=&direction=`.
pub(super) fn stream_options(query: &str, limits: &ServeLimits) -> Result<ReadStreamOptions> {
    let (mut from, mut limit, mut direction) = (None, None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k, true)?, percent_decode(v, true)?);
        let number = |what: &str| {
            v.parse::<u64>().map_err(|_| {
                Error::protocol(format!("query: {what}: invalid digit found in string"))
            })
        };
        let slot_taken = |k: &str| Error::protocol(format!("query: duplicate field `{k}`"));
        match k.as_str() {
            "from" if from.is_none() => from = Some(number("from")?),
            "limit" if limit.is_none() => limit = Some(number("limit")?),
            "direction" if direction.is_none() => {
                direction = Some(match v.as_str() {
                    "forward" => Direction::Forward,
                    "backward" => Direction::Backward,
                    other => {
                        return Err(Error::protocol(format!(
                    "query: direction: unknown variant `{other}`, expected `forward` or `backward`"
                )))
                    }
                })
            }
            "from" | "limit" | "direction" => return Err(slot_taken(&k)),
            other => {
                return Err(Error::protocol(format!(
                    "query: unknown field `{other}`, expected one of `from`, `limit`, `direction`"
                )))
            }
        }
    }
    let max = limits.max_pull as usize;
    Ok(ReadStreamOptions {
        from: from.map(Version),
        limit: Some(
            limit
                .map_or(max, |l| usize::try_from(l).unwrap_or(max))
                .min(max),
        ),
        direction: direction.unwrap_or_default(),
    })
}
