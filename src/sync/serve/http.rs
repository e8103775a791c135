//! The sync server's HTTP layer without I/O: a request's method, path, query, credentials and
//! body in, a status and a JSON body out. The wasm package's Fetch handler
//! (`createSyncHandler`) answers every request through [`respond`]; `eventfold-server` answers
//! the same exchanges (the conformance suite in `tests/conformance/` runs one script of HTTP
//! exchanges against both and compares the answers).
//!
//! Endpoints (docs/sync-protocol.md): `POST /v1/pull`, `POST /v1/push`,
//! `GET /v1/streams/{stream}?from=&limit=&direction=`, `GET /v1/live` (answered by the
//! transport, which streams server-sent events: [`Answer::Live`]), `GET /v1/health` (no token).

use crate::core::event::{StreamId, Version};
use crate::error::{Error, Result};
use crate::store::{Direction, EventStore, ReadStreamOptions};
use crate::sync::access::Access;
use crate::sync::protocol::{decode, encode, ErrorBody, PullRequest, PushRequest, StoreId};
use subtle::ConstantTimeEq;

use super::ServeLimits;

/// Default limit on a request body, in bytes (16 MiB), as `eventfold-server`'s.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

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

/// The HTTP status of an error (docs/sync-protocol.md, "Errors").
pub fn status_of(err: &Error) -> u16 {
    match err {
        Error::InvalidInput { .. } | Error::Protocol { .. } => 400,
        Error::Unauthorized { .. } => 401,
        Error::Forbidden { .. } => 403,
        Error::CheckpointMismatch { .. }
        | Error::WrongExpectedVersion { .. }
        | Error::EventIdConflict { .. }
        | Error::SyncConflict { .. } => 409,
        Error::StoreClosed { .. } => 503,
        _ => 500,
    }
}

/// One request, as the transport received it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The URL's path, still percent-encoded (`/v1/streams/order%2D1`).
    pub path: &'a str,
    /// The URL's query without `?` (empty when none).
    pub query: &'a str,
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// The `Content-Type` header, if any (writes must be `application/json`).
    pub content_type: Option<&'a str>,
    /// The `Host` header (or the URL's host), if any: open mode serves only hosts that DNS
    /// cannot rebind (`localhost`, IP literals).
    pub host: Option<&'a str>,
    /// The declared `Content-Length`, if any: a body declared over the limit is refused
    /// without reading it.
    pub content_length: Option<u64>,
    /// The body (empty for `GET`; a transport may stop reading past the limit).
    pub body: &'a [u8],
}

/// What to answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// A JSON answer (`content-type: application/json`).
    Json {
        /// The status.
        status: u16,
        /// The body.
        body: Vec<u8>,
    },
    /// `GET /v1/live` was authorized for this access: the transport streams `event: head`
    /// server-sent events, the first one at once, each as [`LiveScope`](super::live::LiveScope)
    /// tells for this access.
    Live(Access),
}

impl Answer {
    /// The answer of an error.
    pub fn error(err: &Error) -> Self {
        Self::error_body(status_of(err), &ErrorBody::from(err))
    }

    fn error_body(status: u16, body: &ErrorBody) -> Self {
        Answer::Json {
            status,
            body: serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()),
        }
    }

    /// A request body over `limit` bytes: 413 with code `INVALID_INPUT` and `limitBytes`.
    pub fn too_large(limit: usize) -> Self {
        Self::error_body(
            413,
            &ErrorBody::new(
                "INVALID_INPUT",
                format!("invalid input: the request body exceeds the limit of {limit} bytes"),
            )
            .with("limitBytes", limit),
        )
    }

    /// The status of this answer.
    pub fn status(&self) -> u16 {
        match self {
            Answer::Json { status, .. } => *status,
            Answer::Live(_) => 200,
        }
    }
}

/// Which endpoint a method and path name.
enum Endpoint {
    Pull,
    Push,
    Stream(String),
    Live,
    Health,
}

fn endpoint(path: &str) -> Option<(Endpoint, &'static str)> {
    Some(match path {
        "/v1/pull" => (Endpoint::Pull, "POST"),
        "/v1/push" => (Endpoint::Push, "POST"),
        "/v1/live" => (Endpoint::Live, "GET"),
        "/v1/health" => (Endpoint::Health, "GET"),
        _ => {
            let segment = path.strip_prefix("/v1/streams/")?;
            if segment.is_empty() || segment.contains('/') {
                return None;
            }
            (Endpoint::Stream(segment.to_owned()), "GET")
        }
    })
}

/// Percent-decodes `s` (with `+` as a space when `plus` is set).
fn percent_decode(s: &str, plus: bool) -> Result<String> {
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
fn stream_options(query: &str, limits: &ServeLimits) -> Result<ReadStreamOptions> {
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

fn json<M: serde::Serialize>(message: &M) -> Answer {
    match encode(message) {
        Ok(body) => Answer::Json { status: 200, body },
        Err(e) => Answer::error(&e),
    }
}

/// Whether `host` (a `Host` header value) names this machine in a way DNS cannot rebind:
/// `localhost` or an IP address literal, with or without a port.
pub fn is_rebind_safe_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((ip, port)) => {
                ip.parse::<std::net::Ipv6Addr>().is_ok()
                    && (port.is_empty()
                        || port
                            .strip_prefix(':')
                            .is_some_and(|p| p.parse::<u16>().is_ok()))
            }
            None => false,
        };
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.parse::<u16>().is_ok() => name,
            Some(_) => return false,
            None => host,
        }
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Why open mode refuses a request whose `Host` DNS could rebind.
const REBIND_REFUSAL: &str = "open mode (no token file) serves only requests for localhost or an \
     IP address (Host header), against DNS rebinding; give the server a token file";

/// What every request passes before its endpoint, in both servers (`eventfold-server`'s
/// middleware calls it too): open mode serves only rebind-safe hosts (403 `FORBIDDEN`), and
/// `POST`s must carry `Content-Type: application/json` (415 `INVALID_INPUT`). `None` lets the
/// request through.
pub fn precheck(
    open: bool,
    method: &str,
    host: Option<&str>,
    content_type: Option<&str>,
) -> Option<Answer> {
    if open && !host.is_some_and(is_rebind_safe_host) {
        return Some(Answer::error_body(
            403,
            &ErrorBody::new("FORBIDDEN", REBIND_REFUSAL),
        ));
    }
    let json = content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if method == "POST" && !json {
        return Some(Answer::error_body(
            415,
            &ErrorBody::from(&Error::invalid(
                "requests with a body must be sent with Content-Type: application/json",
            )),
        ));
    }
    None
}

/// The server's configuration: who may do what and how much.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The accepted tokens.
    pub tokens: Tokens,
    /// The sync limits.
    pub limits: ServeLimits,
    /// Largest accepted request body, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            tokens: Tokens::Open,
            limits: ServeLimits::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// Answers one request on `store` (whose id is `id`). A body over the limit should be refused
/// by the transport before reading it ([`Answer::too_large`]); one that arrives anyway is
/// refused here.
pub async fn respond<S: EventStore + ?Sized>(
    store: &S,
    id: &StoreId,
    config: &ServeConfig,
    req: Request<'_>,
) -> Answer {
    let open = matches!(config.tokens, Tokens::Open);
    if let Some(refusal) = precheck(open, req.method, req.host, req.content_type) {
        return refusal;
    }
    let Some((endpoint, method)) = endpoint(req.path) else {
        let err = Error::protocol("no such endpoint; see docs/sync-protocol.md");
        return Answer::error_body(404, &ErrorBody::from(&err));
    };
    if req.method != method && !(method == "GET" && req.method == "HEAD") {
        let err =
            Error::protocol("this endpoint does not take this method; see docs/sync-protocol.md");
        return Answer::error_body(405, &ErrorBody::from(&err));
    }
    let too_large = req.body.len() > config.max_body_bytes
        || req
            .content_length
            .is_some_and(|n| n > config.max_body_bytes as u64);
    let result = async {
        Ok(match endpoint {
            Endpoint::Health => json(&super::head_info(store, id).await?),
            Endpoint::Pull => {
                let access = config.tokens.check(req.authorization, None)?;
                if too_large {
                    return Ok(Answer::too_large(config.max_body_bytes));
                }
                let pull: PullRequest = decode(req.body)?;
                json(&super::pull(store, id, &access, &pull, &config.limits).await?)
            }
            Endpoint::Push => {
                let access = config.tokens.check(req.authorization, None)?;
                if too_large {
                    return Ok(Answer::too_large(config.max_body_bytes));
                }
                let push: PushRequest = decode(req.body)?;
                json(&super::push(store, id, &access, push, &config.limits).await?)
            }
            Endpoint::Stream(segment) => {
                let access = config.tokens.check(req.authorization, None)?;
                let options = stream_options(req.query, &config.limits)?;
                let stream = StreamId::new(percent_decode(&segment, false)?)?;
                json(&super::read_stream(store, &access, stream, &options, &config.limits).await?)
            }
            Endpoint::Live => {
                let token = query_value(req.query, "token")?;
                let access = config.tokens.check(req.authorization, token.as_deref())?;
                if access.read.is_empty() {
                    return Err(Error::Forbidden {
                        message: "this token may not read any stream".into(),
                    });
                }
                Answer::Live(access)
            }
        })
    };
    result.await.unwrap_or_else(|e: Error| Answer::error(&e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::contract::test_clock;
    use crate::store::MemoryStore;

    fn req<'a>(method: &'a str, path: &'a str, query: &'a str, body: &'a [u8]) -> Request<'a> {
        Request {
            method,
            path,
            query,
            authorization: Some("Bearer t"),
            content_type: Some("application/json; charset=utf-8"),
            host: Some("example.com"),
            content_length: None,
            body,
        }
    }

    fn answer(a: Answer) -> (u16, serde_json::Value) {
        match a {
            Answer::Json { status, body } => (status, serde_json::from_slice(&body).unwrap()),
            Answer::Live(_) => (200, serde_json::Value::Null),
        }
    }

    #[test]
    fn requests_are_routed_checked_and_answered() {
        let store = MemoryStore::new(test_clock());
        let id = StoreId::new("0123456789abcdef0123456789abcdef").unwrap();
        let config = ServeConfig {
            tokens: Tokens::Listed(vec![("t".into(), Access::all())]),
            max_body_bytes: 64,
            ..ServeConfig::default()
        };
        let run = |r: Request<'_>| {
            answer(futures::executor::block_on(respond(
                &store, &id, &config, r,
            )))
        };
        assert_eq!(run(req("GET", "/v1/health", "", b"")).1["head"], 0);
        assert_eq!(run(req("GET", "/v1/nope", "", b"")).0, 404);
        assert_eq!(run(req("GET", "/v1/pull", "", b"")).0, 405);
        assert_eq!(run(req("GET", "/v1/streams/", "", b"")).0, 404);
        let (status, body) = run(req(
            "GET",
            "/v1/streams/a%2D1",
            "from=1&limit=2&direction=backward",
            b"",
        ));
        assert_eq!((status, body["stream"].as_str()), (200, Some("a-1")));
        for bad in ["x=1", "from=a", "direction=up", "limit=1&limit=2"] {
            let (status, body) = run(req("GET", "/v1/streams/a", bad, b""));
            assert_eq!(
                (status, body["code"].as_str()),
                (400, Some("PROTOCOL_ERROR")),
                "{bad}"
            );
        }
        let mut unauth = req("POST", "/v1/pull", "", b"{\"v\":1}");
        unauth.authorization = Some("Basic x");
        assert_eq!(run(unauth).0, 401);
        let mut text = req("POST", "/v1/pull", "", b"{\"v\":1}");
        text.content_type = Some("text/plain");
        assert_eq!(run(text).0, 415);
        let big = [b' '; 65];
        assert_eq!(run(req("POST", "/v1/push", "", &big)).1["limitBytes"], 64);
        let mut declared = req("POST", "/v1/push", "", b"");
        declared.content_length = Some(1_000_000);
        assert_eq!(run(declared).0, 413);
        assert_eq!(
            run(req("GET", "/v1/live", "token=t", b"")),
            (200, serde_json::Value::Null)
        );
    }

    #[test]
    fn open_mode_serves_only_rebind_safe_hosts() {
        let store = MemoryStore::new(test_clock());
        let id = StoreId::new("0123456789abcdef0123456789abcdef").unwrap();
        let config = ServeConfig::default();
        let mut r = req("GET", "/v1/health", "", b"");
        r.authorization = None;
        let at = |host| {
            let mut r = r;
            r.host = host;
            answer(futures::executor::block_on(respond(
                &store, &id, &config, r,
            )))
            .0
        };
        assert_eq!(at(Some("example.com")), 403);
        assert_eq!(at(None), 403);
        assert_eq!(at(Some("127.0.0.1:8787")), 200);
        assert_eq!(at(Some("[::1]:1")), 200);
        r.host = Some("localhost");
        assert_eq!(
            answer(futures::executor::block_on(respond(
                &store, &id, &config, r
            )))
            .0,
            200
        );
    }

    #[test]
    fn hosts_that_dns_cannot_rebind() {
        for ok in [
            "localhost",
            "LOCALHOST:8787",
            "127.0.0.1",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:8787",
            "10.1.2.3:9",
        ] {
            assert!(is_rebind_safe_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8787",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "[::1",
            "[nothost]:1",
            "localhost:http",
            "",
        ] {
            assert!(!is_rebind_safe_host(bad), "{bad}");
        }
    }
}
