//! Checking a checkpoint a client sends back: same store, not beyond the head, and (when it
//! carries a mark) the same event at its position as when it was given out. The last check is
//! what detects durable loss: a server restored from an older backup, or whose database lost
//! committed pages, that has since grown past the client's position again.

use crate::core::event::Position;
use crate::error::{Error, Result};
use crate::store::{EventFilter, EventStore, ReadAllOptions};
use crate::sync::protocol::{event_mark, Checkpoint, StoreId};

/// The mark of the event at `position` (`None` at 0 or past the log's end).
pub(super) async fn mark_at<S: EventStore + ?Sized>(
    store: &S,
    position: Position,
) -> Result<Option<String>> {
    if position.0 == 0 {
        return Ok(None);
    }
    let found = store
        .read_all(&ReadAllOptions {
            after: Position(position.0 - 1),
            limit: Some(1),
            filter: EventFilter::default(),
        })
        .await?;
    Ok(found
        .first()
        .filter(|e| e.position == position)
        .map(|e| event_mark(&e.id)))
}

/// Refuses a checkpoint of another store, beyond the head, or whose mark names another event.
/// The head is only told to a token that reads everything.
pub(super) async fn verify<S: EventStore + ?Sized>(
    store: &S,
    id: &StoreId,
    c: &Checkpoint,
    head: Position,
    sees_all: bool,
) -> Result<()> {
    let mismatch = |found: String| Error::CheckpointMismatch {
        expected: id.to_string(),
        found,
    };
    if c.store != *id {
        return Err(mismatch(c.store.to_string()));
    }
    if c.position > head {
        return Err(mismatch(if sees_all {
            format!(
                "{} at position {} (beyond this store's head {head})",
                c.store, c.position
            )
        } else {
            format!(
                "{} at position {} (beyond this store's head)",
                c.store, c.position
            )
        }));
    }
    if let Some(mark) = &c.mark {
        if mark_at(store, c.position).await?.as_deref() != Some(mark.as_str()) {
            return Err(mismatch(format!(
                "{} at position {}: the event there is not the one this checkpoint was given \
                 for (the server lost acknowledged events, for example restored from an older \
                 backup); pull again from the start",
                c.store, c.position
            )));
        }
    }
    Ok(())
}
