//! The server side of the protocol over any [`EventStore`]: what `eventfold-server` runs for
//! each request, and what native tests run in-process against a [`MemoryStore`](crate::MemoryStore).
//! No I/O of its own; authentication happened before (the caller passes the token's [`Access`]).

mod capped;
mod checkpoint;
pub mod http;
pub mod live;

use crate::core::append::{validate_batch, StoreLimits, OTHER_STREAM_REASON};
use crate::core::event::{Position, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::error::{Error, Result};
use crate::store::{EventFilter, EventStore, ReadStreamOptions};

use crate::sync::access::Access;
use crate::sync::protocol::{
    Conflict, ErrorBody, HeadInfo, PullRequest, PullResponse, PushOutcome, PushRequest,
    PushResponse, StoreId, StreamResponse, StreamResult, PROTOCOL_VERSION,
};

/// The limits a server enforces on sync requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeLimits {
    /// Events per pull when the request names no limit.
    pub default_pull: u32,
    /// Most events per pull; larger requested limits are clamped to it.
    pub max_pull: u32,
    /// Most events in one push request, all streams together.
    pub max_push_events: usize,
    /// Most missing events sent back with one conflict.
    pub max_missing: usize,
    /// About the most bytes of events in one answer (a pull, a stream read, a conflict's
    /// missing events); an answer stops before the event that would pass it (`more: true`),
    /// but always carries at least one event.
    pub max_answer_bytes: usize,
    /// The store's limits on one append (event size, batch size).
    pub store: StoreLimits,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            default_pull: 1000,
            max_pull: 5000,
            max_push_events: 10_000,
            max_missing: 1000,
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
            store: StoreLimits::default(),
        }
    }
}

/// [`ServeLimits::max_answer_bytes`] by default: 4 MiB.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 4 << 20;

/// Serves a pull: the scope's events after the request's checkpoint.
///
/// The checkpoint returned never passes an event the answer did not deliver: the head is read
/// before the events, and the store only exposes gap-free prefixes of its log.
///
/// # Errors
/// [`Error::Forbidden`] when nothing of the scope is readable; [`Error::CheckpointMismatch`]
/// when the checkpoint belongs to another store or lies beyond this store's head; store
/// failures.
pub async fn pull<S: EventStore + ?Sized>(
    store: &S,
    id: &StoreId,
    access: &Access,
    req: &PullRequest,
    limits: &ServeLimits,
) -> Result<PullResponse> {
    let prefixes = access.read_scope(&req.scope)?;
    let sees_all = access.can_read_everything();
    let head = store.head().await?;
    let (after, after_mark) = match &req.after {
        None => (Position(0), None),
        Some(c) => {
            checkpoint::verify(store, id, c, head, sees_all).await?;
            (c.position, c.mark.clone())
        }
    };
    let limit = req
        .limit
        .unwrap_or(limits.default_pull)
        .clamp(1, limits.max_pull.max(1)) as usize;
    let filter = EventFilter {
        stream_prefixes: prefixes,
        types: None,
    };
    // A columns answer's encoder parses every payload: the store need not check them first.
    let to_send = !req.encoding.is_rows();
    let (events, capped) = capped::read_all(
        store,
        after,
        limit,
        &filter,
        limits.max_answer_bytes,
        to_send,
    )
    .await?;
    let last = events.last().map_or(after, |e| e.position);
    let more = capped || events.len() == limit;
    // A token that reads everything may skip to the head. A narrower one stays at its last
    // event: the head would tell it how much others write.
    let (position, mark) = if !more && sees_all && head > last {
        (head, checkpoint::mark_at(store, head).await?)
    } else if let Some(e) = events.last() {
        (last, Some(crate::sync::protocol::event_mark(&e.id)))
    } else if after_mark.is_some() || after == Position(0) {
        (after, after_mark)
    } else {
        (after, checkpoint::mark_at(store, after).await?)
    };
    Ok(PullResponse {
        v: PROTOCOL_VERSION,
        events,
        checkpoint: crate::sync::protocol::Checkpoint {
            store: id.clone(),
            position,
            mark,
        },
        more,
        head: if sees_all { head.max(last) } else { position },
        encoding: req.encoding,
    })
}

/// Serves a push: each stream is appended atomically, in request order.
///
/// Before anything is written, the whole request is checked: every stream must be writable
/// and every batch must satisfy the store contract. A stream whose expected version no longer
/// matches gets a [`Conflict`] with the events the client lacks; an event id reused for other
/// content gets an `EVENT_ID_CONFLICT` error result. Neither stops the other streams.
///
/// # Errors
/// [`Error::Forbidden`] (nothing written), [`Error::InvalidInput`] (nothing written), store
/// failures (streams before the failing one may be written; a retry is safe because pushes are
/// idempotent by event id).
pub async fn push<S: EventStore + ?Sized>(
    store: &S,
    id: &StoreId,
    access: &Access,
    req: PushRequest,
    limits: &ServeLimits,
) -> Result<PushResponse> {
    let total = req.event_count();
    if total > limits.max_push_events {
        return Err(Error::invalid(format!(
            "a push holds {total} events; the limit is {}",
            limits.max_push_events
        )));
    }
    for (i, s) in req.streams.iter().enumerate() {
        if !access.can_write(s.stream.as_str()) {
            return Err(Error::Forbidden {
                message: format!("streams[{i}]: this token may not write stream {}", s.stream),
            });
        }
        validate_batch(&s.events, &limits.store).map_err(|e| match e {
            Error::InvalidInput { message } => {
                Error::invalid(format!("streams[{i}] ({}): {message}", s.stream))
            }
            other => other,
        })?;
    }
    let mut results = Vec::with_capacity(req.streams.len());
    for s in req.streams {
        // Let other requests sharing this task's executor run between two appends: a push of
        // many streams must not stall pulls and health checks for its whole duration.
        yield_now().await;
        let outcome = match store.append(&s.stream, s.events, s.expected_version).await {
            Ok(r) => PushOutcome::Ok(r),
            Err(Error::WrongExpectedVersion {
                expected, actual, ..
            }) => PushOutcome::Conflict(
                conflict(store, access, &s.stream, expected, actual, limits).await?,
            ),
            Err(Error::EventIdConflict { id, stream, reason }) => {
                let reason = scoped_reason(access, &stream, reason);
                PushOutcome::Error(ErrorBody::from(&Error::EventIdConflict {
                    id,
                    stream,
                    reason,
                }))
            }
            Err(e @ Error::InvalidInput { .. }) => PushOutcome::Error(ErrorBody::from(&e)),
            Err(e) => return Err(e),
        };
        results.push(StreamResult {
            stream: s.stream,
            outcome,
        });
    }
    Ok(PushResponse {
        v: PROTOCOL_VERSION,
        store: id.clone(),
        results,
    })
}

/// An id conflict's reason as `access` may see it: the other stream is named only when the token
/// may read it, and the version only when it may read its own stream.
fn scoped_reason(access: &Access, stream: &StreamId, reason: String) -> String {
    match reason.strip_prefix(OTHER_STREAM_REASON) {
        Some(other) if !access.can_read(other) => {
            "already used by an event of a stream this token may not read".into()
        }
        Some(_) => reason,
        None if access.can_read(stream.as_str()) => reason,
        None => "already appended with other content or at another place".into(),
    }
}

/// A future that is pending once, after waking itself: other tasks of the executor run first.
fn yield_now() -> impl std::future::Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
}

async fn conflict<S: EventStore + ?Sized>(
    store: &S,
    access: &Access,
    stream: &StreamId,
    expected: ExpectedVersion,
    actual: Version,
    limits: &ServeLimits,
) -> Result<Conflict> {
    let known = match expected {
        ExpectedVersion::Exact(v) => v.0,
        _ => 0,
    };
    if !access.can_read(stream.as_str()) || actual.0 <= known {
        return Ok(Conflict {
            actual,
            missing: Vec::new(),
            more: actual.0 > known,
        });
    }
    let (mut missing, capped) = capped::read_stream(
        store,
        stream,
        &ReadStreamOptions {
            from: Some(Version(known + 1)),
            limit: Some(limits.max_missing.saturating_add(1)),
            ..ReadStreamOptions::default()
        },
        limits.max_answer_bytes,
    )
    .await?;
    let more = capped || missing.len() > limits.max_missing;
    missing.truncate(limits.max_missing);
    Ok(Conflict {
        actual,
        missing,
        more,
    })
}

/// Serves `GET /v1/streams/{stream}`: at most `options.limit` events and about
/// [`ServeLimits::max_answer_bytes`] (fewer events than asked for while the stream's `version`
/// lies beyond the last one means: read on from there).
///
/// # Errors
/// [`Error::Forbidden`] when the stream is not readable; store failures.
pub async fn read_stream<S: EventStore + ?Sized>(
    store: &S,
    access: &Access,
    stream: StreamId,
    options: &ReadStreamOptions,
    limits: &ServeLimits,
) -> Result<StreamResponse> {
    if !access.can_read(stream.as_str()) {
        return Err(Error::Forbidden {
            message: format!("this token may not read stream {stream}"),
        });
    }
    let version = store.stream_version(&stream).await?;
    let (events, _) = capped::read_stream(store, &stream, options, limits.max_answer_bytes).await?;
    Ok(StreamResponse {
        v: PROTOCOL_VERSION,
        stream,
        version,
        events,
    })
}

/// Where the store is, for `GET /v1/health` and live notifications.
///
/// # Errors
/// Store failures.
pub async fn head_info<S: EventStore + ?Sized>(store: &S, id: &StoreId) -> Result<HeadInfo> {
    Ok(HeadInfo {
        v: PROTOCOL_VERSION,
        store: id.clone(),
        head: store.head().await?,
    })
}

#[cfg(test)]
mod tests;
