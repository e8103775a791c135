//! The HTTP endpoints (docs/sync-protocol.md): JSON in, JSON out.

pub mod live;

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use eventfold::store::Direction;
use eventfold::sync::protocol::{decode, encode, Message, PullRequest, PushRequest};
use eventfold::{Error, ReadStreamOptions, StreamId, Version};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::AppState;

/// Reads a request body of at most `limit` bytes.
async fn read_body(body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    let mut frames = body.into_data_stream();
    while let Some(chunk) = frames.next().await {
        let chunk = chunk.map_err(|e| Error::Network {
            message: format!("reading the request body: {e}"),
        })?;
        if out.len() + chunk.len() > limit {
            return Err(ApiError::too_large(limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Checks `Content-Length` before reading, so an oversize body is refused without reading it.
fn check_length(headers: &HeaderMap, limit: usize) -> Result<(), ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => Err(ApiError::too_large(limit)),
        _ => Ok(()),
    }
}

async fn decode_body<M: Message>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<M, ApiError> {
    check_length(headers, state.max_body_bytes)?;
    let bytes = tokio::time::timeout(state.body_timeout, read_body(body, state.max_body_bytes))
        .await
        .map_err(|_| ApiError::body_timeout(state.body_timeout))??;
    Ok(decode(&bytes)?)
}

/// A JSON response of a protocol message.
fn json<M: Serialize>(message: &M) -> Result<Response, ApiError> {
    let body = encode(message)?;
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(res)
}

/// `POST /v1/pull`.
pub async fn pull(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let access = state.auth.check(&headers, None)?;
    let req: PullRequest = decode_body(&state, &headers, body).await?;
    json(&state.backend.pull(access, req).await?)
}

/// `POST /v1/push`.
pub async fn push(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let access = state.auth.check(&headers, None)?;
    let req: PushRequest = decode_body(&state, &headers, body).await?;
    json(&state.backend.push(access, req).await?)
}

/// Query of `GET /v1/streams/{stream}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    from: Option<u64>,
    limit: Option<usize>,
    #[serde(default)]
    direction: Direction,
}

/// `GET /v1/streams/{stream}?from=&limit=&direction=forward|backward`.
pub async fn read_stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    stream: Result<Path<String>, PathRejection>,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let access = state.auth.check(&headers, None)?;
    let Path(stream) = stream.map_err(|e| Error::invalid(format!("stream path: {e}")))?;
    let Query(q) = query.map_err(|e| Error::protocol(format!("query: {e}")))?;
    let stream = StreamId::new(stream).map_err(Error::from)?;
    let limit = q
        .limit
        .unwrap_or(state.limits.max_pull as usize)
        .min(state.limits.max_pull as usize);
    let options = ReadStreamOptions {
        from: q.from.map(Version),
        limit: Some(limit),
        direction: q.direction,
    };
    json(&state.backend.read_stream(access, stream, options).await?)
}

/// `GET /v1/health`: no token needed.
pub async fn health(State(state): State<AppState>) -> Result<Response, ApiError> {
    json(&state.backend.head_info().await?)
}

/// A known path with another method: 405 with the protocol's error body.
pub async fn method_not_allowed() -> ApiError {
    let mut e = ApiError::from(Error::protocol(
        "this endpoint does not take this method; see docs/sync-protocol.md",
    ));
    e.status = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    e
}

/// Any other path.
pub async fn not_found() -> ApiError {
    let mut e = ApiError::from(Error::protocol(
        "no such endpoint; see docs/sync-protocol.md",
    ));
    e.status = axum::http::StatusCode::NOT_FOUND;
    e
}
