//! The sync server's HTTP layer without I/O: a request's method, path, query, credentials and
//! body in, a status and a JSON body out. The wasm package's Fetch handler
//! (`createSyncHandler`) answers every request through [`respond`]; `eventfold-server` answers
//! the same exchanges (the conformance suite in `tests/conformance/` runs one script of HTTP
//! exchanges against both and compares the answers).
//!
//! Endpoints (docs/sync-protocol.md): `POST /v1/pull`, `POST /v1/push`,
//! `GET /v1/streams/{stream}?from=&limit=&direction=`, `GET /v1/live` (answered by the
//! transport, which streams server-sent events: [`Answer::Live`]), `GET /v1/health` (no token).

mod answer;
mod auth;
mod guard;
mod query;

use crate::core::event::StreamId;
use crate::error::Error;
use crate::store::EventStore;
use crate::sync::protocol::{decode, encode, ErrorBody, PullRequest, PushRequest, StoreId};

pub use answer::{status_of, Answer};
pub use auth::{check_listed, Tokens};
pub use guard::{is_rebind_safe_host, precheck};
pub use query::query_value;
use query::{percent_decode, stream_options};

use super::ServeLimits;

/// Default limit on a request body, in bytes (16 MiB), as `eventfold-server`'s.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

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

fn json<M: serde::Serialize>(message: &M) -> Answer {
    match encode(message) {
        Ok(body) => Answer::Json { status: 200, body },
        Err(e) => Answer::error(&e),
    }
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
    use crate::sync::access::Access;

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
}
