//! The dead-letter list of an event handler: events parked after `max_attempts` failures, kept
//! as events of `$deadletter-<name>` so every tab sees the same list; listing, retrying and
//! skipping them.

use super::{DeadLetter, DeadLetterEvent, EventHandler, HandlerRunner};
use crate::core::event::StreamId;
use crate::core::event::{EventType, Position};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::cqrs::ids;
use crate::cqrs::runtime::Runtime;
use crate::cqrs::tagged::{to_event, unknown_type, FieldResult, Fields};
use crate::error::{Error, Result};
use crate::store::{EventFilter, EventStore, ReadAllOptions, ReadStreamOptions};

impl<H: EventHandler> HandlerRunner<H> {
    /// The parked events, oldest first.
    ///
    /// # Errors
    /// Store failures.
    pub async fn dead_letters<S: EventStore>(&self, store: &S) -> Result<Vec<DeadLetter>> {
        let events = store
            .read_stream(&self.dead_letter_stream()?, &ReadStreamOptions::default())
            .await?;
        // Sorted by position (a list, not a map: a map type of its own would add its tree
        // code to the wasm).
        let mut letters: Vec<DeadLetter> = Vec::new();
        let at =
            |letters: &[DeadLetter], p: Position| letters.binary_search_by_key(&p, |l| l.position);
        for e in &events {
            let Ok(event) = read(&e.event_type, &e.data) else {
                continue;
            };
            match event {
                DeadLetterEvent::EventParked(l) => match at(&letters, l.position) {
                    Ok(i) => letters[i] = l,
                    Err(i) => letters.insert(i, l),
                },
                DeadLetterEvent::DeadLetterRetried {
                    position, ok: true, ..
                }
                | DeadLetterEvent::DeadLetterSkipped { position } => {
                    if let Ok(i) = at(&letters, position) {
                        letters.remove(i);
                    }
                }
                DeadLetterEvent::DeadLetterRetried {
                    position, error, ..
                } => {
                    if let Ok(i) = at(&letters, position) {
                        letters[i].attempts += 1;
                        letters[i].error = error.unwrap_or_default();
                    }
                }
            }
        }
        Ok(letters)
    }

    async fn letter<S: EventStore>(&self, store: &S, position: Position) -> Result<DeadLetter> {
        self.dead_letters(store)
            .await?
            .into_iter()
            .find(|l| l.position == position)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "no dead letter at position {position} for handler {}",
                    self.name
                ))
            })
    }

    /// Runs the handler again on a parked event, now. On success the event leaves the list;
    /// on failure it stays, with the new error.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if nothing is parked at `position`; the handler's error (the
    /// event stays parked); store failures.
    pub async fn retry_dead_letter<S, R>(&self, store: &S, rt: &R, position: Position) -> Result<()>
    where
        S: EventStore,
        R: Runtime + ?Sized,
    {
        self.letter(store, position).await?;
        let options = ReadAllOptions {
            after: Position(position.0.saturating_sub(1)),
            limit: Some(1),
            filter: EventFilter::default(),
        };
        let event = store
            .read_all(&options)
            .await?
            .into_iter()
            .find(|e| e.position == position)
            .ok_or_else(|| Error::invalid(format!("no event at position {position}")))?;
        let outcome = self.call(rt, &event).await;
        let record = DeadLetterEvent::DeadLetterRetried {
            position,
            ok: outcome.is_ok(),
            error: outcome.as_ref().err().map(ToString::to_string),
        };
        let stream = self.dead_letter_stream()?;
        let version = store.stream_version(&stream).await?;
        let id = ids::derive(&[
            "deadletter-retry",
            &self.name,
            &position.0.to_string(),
            &version.0.to_string(),
            &rt.now().0.to_string(),
        ]);
        store
            .append(
                &self.dead_letter_stream()?,
                vec![to_event(id, &record)?],
                ExpectedVersion::Any,
            )
            .await?;
        outcome
    }

    /// Drops a parked event from the list without handling it.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if nothing is parked at `position`; store failures.
    pub async fn skip_dead_letter<S: EventStore>(
        &self,
        store: &S,
        position: Position,
    ) -> Result<()> {
        self.letter(store, position).await?;
        let id = ids::derive(&["deadletter-skip", &self.name, &position.0.to_string()]);
        let record = DeadLetterEvent::DeadLetterSkipped { position };
        match store
            .append(
                &self.dead_letter_stream()?,
                vec![to_event(id, &record)?],
                ExpectedVersion::Any,
            )
            .await
        {
            Ok(_) | Err(Error::EventIdConflict { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Reads a dead-letter event: the event type names the variant, the data holds its fields
/// (the `{"type", "data"}` form its `Serialize` writes).
pub(super) fn read(event_type: &EventType, data: &Json) -> FieldResult<DeadLetterEvent> {
    let f = Fields::parse(data)?;
    Ok(match event_type.as_str() {
        "EventParked" => DeadLetterEvent::EventParked(DeadLetter {
            position: f.position("position")?,
            event_id: f.event_id("eventId")?,
            stream: StreamId::new(f.string("stream")?).map_err(|e| e.to_string())?,
            event_type: EventType::new(f.string("type")?).map_err(|e| e.to_string())?,
            attempts: f.u32("attempts")?,
            error: f.string("error")?,
        }),
        "DeadLetterRetried" => DeadLetterEvent::DeadLetterRetried {
            position: f.position("position")?,
            ok: f.bool("ok")?,
            error: f.opt("error", Fields::string)?,
        },
        "DeadLetterSkipped" => DeadLetterEvent::DeadLetterSkipped {
            position: f.position("position")?,
        },
        _ => return Err(unknown_type(event_type)),
    })
}
