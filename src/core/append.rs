//! The rules of an append, shared by every backend: validate the whole batch first, then decide
//! whether it is new (check the expected version), an idempotent retry (return the original
//! result) or a conflict.

use std::collections::HashSet;

use crate::core::event::{NewEvent, Position, RecordedEvent, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::core::json::check_portable;
use crate::error::{Error, Result};

/// Default limit on one event's data + metadata, in bytes (1 MiB).
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Default limit on the number of events in one append.
pub const DEFAULT_MAX_BATCH_EVENTS: usize = 10_000;

/// Size limits a store enforces on appends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreLimits {
    /// Largest data + metadata of one event, in bytes of JSON text.
    pub max_event_bytes: usize,
    /// Most events in one append.
    pub max_batch_events: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            max_batch_events: DEFAULT_MAX_BATCH_EVENTS,
        }
    }
}

impl StoreLimits {
    /// The defaults, replaced by the limits given (as the store options `maxEventBytes` and
    /// `maxBatchEvents` spell them); a limit beyond what `usize` holds means no limit.
    pub fn with(max_event_bytes: Option<u64>, max_batch_events: Option<u64>) -> Self {
        let d = StoreLimits::default();
        let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        StoreLimits {
            max_event_bytes: max_event_bytes.map_or(d.max_event_bytes, as_usize),
            max_batch_events: max_batch_events.map_or(d.max_batch_events, as_usize),
        }
    }
}

/// The result of a successful append.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AppendResult {
    /// The stream's version after the append (the version of its last event).
    pub version: Version,
    /// The global position of the append's last event.
    pub position: Position,
}

crate::core::object::object_deserialize!(AppendResult {
    version: Version = "version" required,
    position: Position = "position" required,
});

/// Checks a batch before anything is looked up or written.
///
/// An empty batch is rejected: an append records at least one event.
///
/// # Errors
/// [`Error::InvalidInput`] naming the first bad event: empty batch, too many events, an event
/// over the size limit, metadata that is not an object, or an id used twice in the batch.
pub fn validate_batch(events: &[NewEvent], limits: &StoreLimits) -> Result<()> {
    if events.is_empty() {
        return Err(Error::invalid("an append needs at least one event"));
    }
    if events.len() > limits.max_batch_events {
        return Err(Error::invalid(format!(
            "an append holds {} events; the limit is {}",
            events.len(),
            limits.max_batch_events
        )));
    }
    let mut ids = HashSet::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let bytes = e.payload_bytes();
        if bytes > limits.max_event_bytes {
            return Err(Error::invalid(format!(
                "events[{i}] is {bytes} bytes of JSON; the limit is {}",
                limits.max_event_bytes
            )));
        }
        if !e.metadata.is_object() {
            return Err(Error::invalid(format!(
                "events[{i}].metadata must be a JSON object"
            )));
        }
        for (field, json) in [("data", &e.data), ("metadata", &e.metadata)] {
            check_portable(json.as_str())
                .map_err(|err| Error::invalid(format!("events[{i}].{field}: {}", err.message())))?;
        }
        if !ids.insert(&e.id) {
            return Err(Error::invalid(format!(
                "events[{i}].id {} appears twice in the batch",
                e.id
            )));
        }
    }
    Ok(())
}

/// How an [`Error::EventIdConflict`] reason starts when the id belongs to an event of another
/// stream, whose name follows (a server hides it from a token that may not read that stream).
pub const OTHER_STREAM_REASON: &str = "already appended to stream ";

/// What a backend must do with a validated batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendPlan {
    /// Write the batch; its first event gets `first_version`.
    Write {
        /// The version of the batch's first event.
        first_version: Version,
    },
    /// The batch was appended before at this very place: answer with the original result and
    /// write nothing.
    AlreadyAppended(AppendResult),
}

/// Decides what to do with a validated batch.
///
/// `current` is the stream's version now; `existing[i]` is the recorded event whose id equals
/// `events[i].id`, if the store has one.
///
/// # Errors
/// [`Error::WrongExpectedVersion`] when the batch is new and `expected` does not match;
/// [`Error::EventIdConflict`] when some id is already used for other content, at another place,
/// or when only part of the batch was appended before.
pub fn plan_append(
    stream: &StreamId,
    events: &[NewEvent],
    expected: ExpectedVersion,
    current: Version,
    existing: &[Option<RecordedEvent>],
) -> Result<AppendPlan> {
    let found = existing.iter().filter(|e| e.is_some()).count();
    if found == 0 {
        if !expected.matches(current) {
            return Err(Error::WrongExpectedVersion {
                stream: stream.clone(),
                expected,
                actual: current,
            });
        }
        return Ok(AppendPlan::Write {
            first_version: Version(current.0 + 1),
        });
    }
    let conflict = |id: &crate::core::event::EventId, reason: String| Error::EventIdConflict {
        id: id.clone(),
        stream: stream.clone(),
        reason,
    };
    if found < events.len() {
        let (i, e) = existing
            .iter()
            .enumerate()
            .find_map(|(i, e)| e.as_ref().map(|e| (i, e)))
            .ok_or_else(|| Error::invalid("inconsistent id lookup"))?;
        return Err(conflict(
            &e.id,
            format!(
                "events[{i}] was appended before but other events of the batch were not; a retried batch must be identical"
            ),
        ));
    }
    let mut first: Option<&RecordedEvent> = None;
    let mut last: Option<&RecordedEvent> = None;
    for (i, (new, old)) in events.iter().zip(existing).enumerate() {
        let Some(old) = old else { continue };
        if old.stream != *stream {
            return Err(conflict(
                &new.id,
                format!("{OTHER_STREAM_REASON}{}", old.stream),
            ));
        }
        if !new.same_content(old) {
            return Err(conflict(
                &new.id,
                format!(
                    "already appended at version {} with different content",
                    old.version
                ),
            ));
        }
        let base = first.get_or_insert(old).version.0;
        if old.version.0 != base + i as u64 {
            return Err(conflict(
                &new.id,
                "already appended, but not as part of this batch".to_string(),
            ));
        }
        last = Some(old);
    }
    match (first, last) {
        (Some(first), Some(last)) if expected.admits_first_version(first.version) => {
            Ok(AppendPlan::AlreadyAppended(AppendResult {
                version: last.version,
                position: last.position,
            }))
        }
        (Some(first), _) => Err(conflict(
            &first.id,
            format!(
                "already appended at version {}, which expected version {expected} does not lead to",
                first.version
            ),
        )),
        _ => Err(Error::invalid("empty batch")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::{EventId, EventType, Timestamp};
    use crate::core::json::Json;

    #[test]
    fn limits_default_and_override() {
        assert_eq!(StoreLimits::with(None, None), StoreLimits::default());
        let l = StoreLimits::with(Some(64), None);
        assert_eq!(
            (l.max_event_bytes, l.max_batch_events),
            (64, DEFAULT_MAX_BATCH_EVENTS)
        );
        let l = StoreLimits::with(None, Some(0));
        assert_eq!(
            (l.max_event_bytes, l.max_batch_events),
            (DEFAULT_MAX_EVENT_BYTES, 0)
        );
    }

    fn ev(n: u8) -> NewEvent {
        NewEvent::new(
            EventId::from_bytes([n; 16]),
            EventType::new("T").unwrap(),
            Json::parse(format!("{{\"n\":{n}}}")).unwrap(),
        )
    }

    fn rec(e: &NewEvent, stream: &str, version: u64) -> RecordedEvent {
        RecordedEvent {
            id: e.id.clone(),
            stream: StreamId::new(stream).unwrap(),
            event_type: e.event_type.clone(),
            data: e.data.clone(),
            metadata: e.metadata.clone(),
            version: Version(version),
            position: Position(version + 10),
            timestamp: Timestamp(0),
        }
    }

    #[test]
    fn batch_validation() {
        let l = StoreLimits::default();
        assert!(validate_batch(&[], &l).is_err());
        assert!(validate_batch(&[ev(1), ev(2)], &l).is_ok());
        let err = validate_batch(&[ev(1), ev(2), ev(1)], &l).unwrap_err();
        assert!(err.to_string().contains("events[2]"), "{err}");
        let small = StoreLimits {
            max_event_bytes: 5,
            ..l
        };
        assert!(validate_batch(&[ev(1)], &small).is_err());
        let few = StoreLimits {
            max_batch_events: 1,
            ..l
        };
        assert!(validate_batch(&[ev(1), ev(2)], &few).is_err());
    }

    #[test]
    fn new_batches_check_the_expected_version() {
        let s = StreamId::new("s").unwrap();
        let events = [ev(1)];
        let plan = plan_append(
            &s,
            &events,
            ExpectedVersion::Exact(Version(2)),
            Version(2),
            &[None],
        );
        assert_eq!(
            plan.unwrap(),
            AppendPlan::Write {
                first_version: Version(3)
            }
        );
        let err =
            plan_append(&s, &events, ExpectedVersion::NoStream, Version(2), &[None]).unwrap_err();
        assert_eq!(err.code(), "WRONG_EXPECTED_VERSION");
    }

    #[test]
    fn retries_are_recognised_only_whole_and_in_place() {
        let s = StreamId::new("s").unwrap();
        let (a, b) = (ev(1), ev(2));
        let existing = [Some(rec(&a, "s", 3)), Some(rec(&b, "s", 4))];
        let batch = [a.clone(), b.clone()];
        let ok = plan_append(
            &s,
            &batch,
            ExpectedVersion::Exact(Version(2)),
            Version(9),
            &existing,
        );
        assert_eq!(
            ok.unwrap(),
            AppendPlan::AlreadyAppended(AppendResult {
                version: Version(4),
                position: Position(14)
            })
        );
        let any = plan_append(&s, &batch, ExpectedVersion::Any, Version(9), &existing);
        assert!(any.is_ok());
        let wrong_place = plan_append(
            &s,
            &batch,
            ExpectedVersion::Exact(Version(1)),
            Version(9),
            &existing,
        );
        assert_eq!(wrong_place.unwrap_err().code(), "EVENT_ID_CONFLICT");
        let no_stream = plan_append(&s, &batch, ExpectedVersion::NoStream, Version(9), &existing);
        assert_eq!(no_stream.unwrap_err().code(), "EVENT_ID_CONFLICT");
        let partial = plan_append(
            &s,
            &batch,
            ExpectedVersion::Any,
            Version(9),
            &[existing[0].clone(), None],
        );
        assert_eq!(partial.unwrap_err().code(), "EVENT_ID_CONFLICT");
        let other_stream = plan_append(
            &StreamId::new("t").unwrap(),
            &batch,
            ExpectedVersion::Any,
            Version(0),
            &existing,
        );
        assert_eq!(other_stream.unwrap_err().code(), "EVENT_ID_CONFLICT");
        let mut changed = a.clone();
        changed.data = Json::parse("1").unwrap();
        let content = plan_append(
            &s,
            &[changed, b.clone()],
            ExpectedVersion::Any,
            Version(9),
            &existing,
        );
        assert_eq!(content.unwrap_err().code(), "EVENT_ID_CONFLICT");
        let swapped = plan_append(
            &s,
            &[b, a],
            ExpectedVersion::Any,
            Version(9),
            &[existing[1].clone(), existing[0].clone()],
        );
        assert_eq!(swapped.unwrap_err().code(), "EVENT_ID_CONFLICT");
    }
}
