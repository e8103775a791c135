//! Reading for an answer capped in bytes as well as in events.
//!
//! Events are read in pages that start small (16) and grow at most fourfold per page, sized by
//! the average event seen so far, so a pull of a few huge events reads a few of them, not the
//! whole requested limit. The first event is always taken, whatever its size, so every answer
//! makes progress; the cap stops the answer before the event that would pass it.

use crate::core::event::{RecordedEvent, StreamId, Version};
use crate::error::Result;
use crate::store::{Direction, EventFilter, EventStore, ReadAllOptions, ReadStreamOptions};

/// The first page read for a capped answer.
const FIRST_PAGE: usize = 16;

/// Bytes an event takes in an answer, roughly: its payloads and names plus the fields' overhead.
pub(crate) fn event_bytes(e: &RecordedEvent) -> usize {
    e.data.as_str().len()
        + e.metadata.as_str().len()
        + e.stream.as_str().len()
        + e.event_type.as_str().len()
        + 160
}

/// Collects events until `limit` events or `max_bytes` bytes: `(events, capped)`, where
/// `capped` says the byte cap stopped it before an event that exists.
struct Collector {
    events: Vec<RecordedEvent>,
    bytes: usize,
    limit: usize,
    max_bytes: usize,
    page: usize,
}

impl Collector {
    fn new(limit: usize, max_bytes: usize) -> Self {
        Collector {
            events: Vec::new(),
            bytes: 0,
            limit,
            max_bytes,
            page: FIRST_PAGE.min(limit.max(1)),
        }
    }

    /// How many events to ask for next.
    fn want(&self) -> usize {
        self.page.min(self.limit - self.events.len()).max(1)
    }

    /// Takes a page; `Some(capped)` when collecting is over.
    fn take(&mut self, page: Vec<RecordedEvent>, wanted: usize) -> Option<bool> {
        let got = page.len();
        for e in page {
            let size = event_bytes(&e);
            if !self.events.is_empty() && self.bytes + size > self.max_bytes {
                return Some(true);
            }
            self.bytes += size;
            self.events.push(e);
        }
        if got < wanted || self.events.len() >= self.limit {
            return Some(false);
        }
        let average = self.bytes / self.events.len().max(1) + 1;
        let fits = self.max_bytes.saturating_sub(self.bytes) / average + 1;
        self.page = fits.clamp(FIRST_PAGE, self.page.saturating_mul(4));
        None
    }
}

/// The events after `after` that `filter` keeps, at most `limit` and about `max_bytes`;
/// `to_send`: read with [`EventStore::read_all_to_send`] (for a columns answer).
pub(crate) async fn read_all<S: EventStore + ?Sized>(
    store: &S,
    after: crate::core::event::Position,
    limit: usize,
    filter: &EventFilter,
    max_bytes: usize,
    to_send: bool,
) -> Result<(Vec<RecordedEvent>, bool)> {
    let mut c = Collector::new(limit, max_bytes);
    let mut cursor = after;
    loop {
        let wanted = c.want();
        let options = ReadAllOptions {
            after: cursor,
            limit: Some(wanted),
            filter: filter.clone(),
        };
        let page = match to_send {
            true => store.read_all_to_send(&options).await?,
            false => store.read_all(&options).await?,
        };
        if let Some(last) = page.last() {
            cursor = last.position;
        }
        if let Some(capped) = c.take(page, wanted) {
            return Ok((c.events, capped));
        }
    }
}

/// One stream's events as `options` select them, at most `max_bytes` (and `options.limit`).
pub(crate) async fn read_stream<S: EventStore + ?Sized>(
    store: &S,
    stream: &StreamId,
    options: &ReadStreamOptions,
    max_bytes: usize,
) -> Result<(Vec<RecordedEvent>, bool)> {
    let mut c = Collector::new(options.limit.unwrap_or(usize::MAX), max_bytes);
    let mut from = options.from;
    loop {
        let wanted = c.want();
        let page = store
            .read_stream(
                stream,
                &ReadStreamOptions {
                    from,
                    limit: Some(wanted),
                    direction: options.direction,
                },
            )
            .await?;
        if let Some(last) = page.last() {
            from = match options.direction {
                Direction::Forward => Some(Version(last.version.0 + 1)),
                Direction::Backward if last.version.0 <= 1 => {
                    let done = c.take(page, usize::MAX).unwrap_or(false);
                    return Ok((c.events, done));
                }
                Direction::Backward => Some(Version(last.version.0 - 1)),
            };
        }
        if let Some(capped) = c.take(page, wanted) {
            return Ok((c.events, capped));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::{EventId, EventType, NewEvent, Position};
    use crate::core::expected::ExpectedVersion;
    use crate::core::json::Json;
    use crate::store::contract::test_clock;
    use crate::MemoryStore;
    use futures::executor::block_on;

    fn store(sizes: &[usize]) -> MemoryStore {
        let store = MemoryStore::new(test_clock());
        let stream = StreamId::new("s").unwrap();
        for (i, size) in sizes.iter().enumerate() {
            let mut id = [7u8; 16];
            id[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let e = NewEvent::new(
                EventId::from_bytes(id),
                EventType::new("T").unwrap(),
                Json::parse(format!("\"{}\"", "x".repeat(*size))).unwrap(),
            );
            block_on(store.append(&stream, vec![e], ExpectedVersion::Any)).unwrap();
        }
        store
    }

    #[test]
    fn the_cap_stops_before_the_event_that_passes_it_and_never_before_the_first() {
        let s = store(&[1000, 1000, 1000, 100_000, 10]);
        let f = EventFilter::default();
        let (events, capped) = block_on(read_all(&s, Position(0), 100, &f, 2500, false)).unwrap();
        assert_eq!((events.len(), capped), (2, true));
        let (events, capped) = block_on(read_all(&s, Position(3), 100, &f, 2500, true)).unwrap();
        assert_eq!(
            (events.len(), capped),
            (1, true),
            "a huge first event alone"
        );
        let (events, capped) = block_on(read_all(&s, Position(0), 3, &f, 1 << 30, false)).unwrap();
        assert_eq!((events.len(), capped), (3, false), "the event limit");
        let (events, capped) = block_on(read_all(&s, Position(0), 100, &f, 1 << 30, true)).unwrap();
        assert_eq!((events.len(), capped), (5, false), "everything");
        let stream = StreamId::new("s").unwrap();
        let back = ReadStreamOptions {
            from: None,
            limit: None,
            direction: Direction::Backward,
        };
        let (events, capped) = block_on(read_stream(&s, &stream, &back, 2500)).unwrap();
        assert_eq!((events.len(), capped), (1, true), "version 4 is too big");
        assert_eq!(events[0].version, Version(5));
        let from3 = ReadStreamOptions {
            from: Some(Version(3)),
            ..back
        };
        let (events, capped) = block_on(read_stream(&s, &stream, &from3, 2500)).unwrap();
        assert_eq!((events.len(), capped), (2, true));
        assert_eq!(events[1].version, Version(2));
        let (events, capped) = block_on(read_stream(&s, &stream, &back, 1 << 30)).unwrap();
        assert_eq!((events.len(), capped), (5, false));
    }

    #[test]
    fn many_small_events_take_few_pages() {
        let s = store(&[10; 300]);
        let (events, capped) = block_on(read_all(
            &s,
            Position(0),
            300,
            &EventFilter::default(),
            1 << 20,
            false,
        ))
        .unwrap();
        assert_eq!((events.len(), capped), (300, false));
        let positions: Vec<u64> = events.iter().map(|e| e.position.0).collect();
        assert_eq!(positions, (1..=300).collect::<Vec<_>>());
    }
}
