//! What `GET /v1/live` announces to one token: the rule both servers run (`eventfold-server`'s
//! route and the Fetch handler's stream), so they answer alike.
//!
//! A token that reads every stream is told the store's head at once and on every move. A
//! narrower token is told only about its scope, since the global head would tell it how much
//! others write: its first event says head `0`, and a later one is sent only when an event of
//! its scope arrived, carrying the newest position of its scope. Finding that position reads
//! the events after the head last checked, filtered by the token's prefixes, so each event is
//! read once per narrow connection.

use std::cell::RefCell;
use std::future::Future;

use crate::core::event::Position;
use crate::error::Result;
use crate::store::{EventFilter, EventStore, ReadAllOptions};
use crate::sync::access::Access;

/// Events read per page while looking for a scope's newest position.
const SCAN_PAGE: usize = 500;

/// One live connection's state: whose it is and how far the store's head was considered.
#[derive(Clone, Debug)]
pub struct LiveScope {
    access: Access,
    seen: Option<Position>,
}

impl LiveScope {
    /// A connection of a token with `access`, before its first event.
    pub fn new(access: Access) -> Self {
        LiveScope { access, seen: None }
    }

    /// The store head this connection last considered (`None` before the first event): the
    /// transport waits for the head to move beyond it before calling [`LiveScope::announce`]
    /// again.
    pub fn seen(&self) -> Option<Position> {
        self.seen
    }

    /// The head to announce now that the store's head is `head` (`None`: announce nothing).
    /// The first call always announces. For a narrow token `scan(access, after, head)` finds
    /// the newest position of its scope in `(after, head]` ([`scope_head`] on the store).
    ///
    /// # Errors
    /// What `scan` fails with; the connection's state is unchanged then, so the next call
    /// scans the same events again.
    pub async fn announce<F, Fut>(&mut self, head: Position, scan: F) -> Result<Option<Position>>
    where
        F: FnOnce(Access, Position, Position) -> Fut,
        Fut: Future<Output = Result<Option<Position>>>,
    {
        let sees_all = self.access.can_read_everything();
        let Some(seen) = self.seen else {
            self.seen = Some(head);
            return Ok(Some(if sees_all { head } else { Position(0) }));
        };
        if head <= seen {
            return Ok(None);
        }
        let found = if sees_all {
            Some(head)
        } else {
            scan(self.access.clone(), seen, head).await?
        };
        self.seen = Some(head);
        Ok(found)
    }
}

/// The next head to announce to a connection (the first at once): waits until the store's
/// head moves beyond what the connection considered, asks [`LiveScope::announce`], and goes on
/// until there is something to announce. `None` once the store closes. `scope` is never
/// borrowed across an await (`announce` works on a copy, stored back when it succeeded).
///
/// # Errors
/// Store failures; the connection's state is unchanged then.
pub async fn next_head<S: EventStore + ?Sized>(
    store: &S,
    scope: &RefCell<LiveScope>,
) -> Result<Option<Position>> {
    loop {
        let seen = scope.borrow().seen();
        if let Some(seen) = seen {
            if !store.changes().wait_beyond(seen).await {
                return Ok(None);
            }
        }
        let head = store.head().await?;
        let mut next = scope.borrow().clone();
        let scan = |a: Access, after, head| async move { scope_head(store, &a, after, head).await };
        let found = next.announce(head, scan).await?;
        *scope.borrow_mut() = next;
        if found.is_some() {
            return Ok(found);
        }
    }
}

/// The newest position of `access`'s scope in `(after, head]`, or `None` when no event of the
/// scope lies there. Reads only the events after `after` (in pages), filtered by the scope.
///
/// # Errors
/// Store failures.
pub async fn scope_head<S: EventStore + ?Sized>(
    store: &S,
    access: &Access,
    after: Position,
    head: Position,
) -> Result<Option<Position>> {
    let filter = EventFilter {
        stream_prefixes: access.read_scope(&[])?,
        types: None,
    };
    let mut cursor = after;
    let mut last = None;
    while cursor < head {
        let page = store
            .read_all(&ReadAllOptions {
                after: cursor,
                limit: Some(SCAN_PAGE),
                filter: filter.clone(),
            })
            .await?;
        let full = page.len() == SCAN_PAGE;
        let Some(e) = page.iter().rev().find(|e| e.position <= head) else {
            break;
        };
        last = Some(e.position);
        cursor = e.position;
        if !full {
            break;
        }
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::core::event::{EventId, EventType, NewEvent, StreamId};
    use crate::core::expected::ExpectedVersion;
    use crate::core::json::Json;
    use crate::store::contract::test_clock;
    use crate::store::MemoryStore;

    fn access(read: &[&str]) -> Access {
        Access {
            read: read.iter().map(|s| (*s).to_owned()).collect(),
            write: Vec::new(),
        }
    }

    async fn append(store: &MemoryStore, stream: &str, n: usize) -> Position {
        let base = store.head().await.unwrap().0;
        let events = (0..n as u64)
            .map(|i| {
                let mut id = [0u8; 16];
                id[8..].copy_from_slice(&(base + i + 1).to_be_bytes());
                NewEvent::new(
                    EventId::from_bytes(id),
                    EventType::new("E").unwrap(),
                    Json::parse("1").unwrap(),
                )
            })
            .collect();
        store
            .append(
                &StreamId::new(stream).unwrap(),
                events,
                ExpectedVersion::Any,
            )
            .await
            .unwrap();
        store.head().await.unwrap()
    }

    async fn step(live: &mut LiveScope, store: &MemoryStore) -> Option<u64> {
        let head = store.head().await.unwrap();
        live.announce(head, |a, after, head| async move {
            scope_head(store, &a, after, head).await
        })
        .await
        .unwrap()
        .map(|p| p.0)
    }

    #[test]
    fn a_narrow_token_hears_only_of_its_scope() {
        futures::executor::block_on(async {
            let store = MemoryStore::new(test_clock());
            append(&store, "user-1", 2).await;
            let mut narrow = LiveScope::new(access(&["order-"]));
            let mut wide = LiveScope::new(Access::all());
            assert_eq!(step(&mut narrow, &store).await, Some(0), "first: 0, not 2");
            assert_eq!(step(&mut wide, &store).await, Some(2));
            assert_eq!(step(&mut narrow, &store).await, None, "no move, no event");
            assert_eq!(step(&mut wide, &store).await, None);
            append(&store, "order-1", 3).await;
            assert_eq!(step(&mut narrow, &store).await, Some(5));
            assert_eq!(step(&mut wide, &store).await, Some(5));
            append(&store, "user-2", 4).await;
            assert_eq!(
                step(&mut narrow, &store).await,
                None,
                "others' writes untold"
            );
            assert_eq!(step(&mut wide, &store).await, Some(9));
            append(&store, "order-2", 1).await;
            append(&store, "user-3", 1).await;
            assert_eq!(
                step(&mut narrow, &store).await,
                Some(10),
                "the scope's newest position, not the head (11)"
            );
            assert_eq!(narrow.seen(), Some(Position(11)));
            // More than a page of others' events, then one of the scope.
            append(&store, "user-4", 1200).await;
            append(&store, "order-3", 1).await;
            assert_eq!(step(&mut narrow, &store).await, Some(1212));
        });
    }

    #[test]
    fn next_head_waits_for_the_scope_and_ends_when_the_store_closes() {
        use futures::task::LocalSpawnExt;
        use std::cell::Cell;
        use std::rc::Rc;

        let store = Rc::new(MemoryStore::new(test_clock()));
        let scope = Rc::new(RefCell::new(LiveScope::new(access(&["order-"]))));
        let mut pool = futures::executor::LocalPool::new();
        let heard: Rc<Cell<Option<Option<u64>>>> = Rc::default();
        let listen = |pool: &mut futures::executor::LocalPool| {
            let (store, scope, heard) = (store.clone(), scope.clone(), heard.clone());
            heard.set(None);
            pool.spawner()
                .spawn_local(async move {
                    let next = next_head(&*store, &scope).await.unwrap();
                    heard.set(Some(next.map(|p| p.0)));
                })
                .unwrap();
            pool.run_until_stalled();
        };
        listen(&mut pool);
        assert_eq!(heard.get(), Some(Some(0)), "the first at once");
        listen(&mut pool);
        pool.run_until(append(&store, "user-1", 2));
        pool.run_until_stalled();
        assert_eq!(heard.get(), None, "others' writes: still waiting");
        pool.run_until(append(&store, "order-1", 1));
        pool.run_until_stalled();
        assert_eq!(heard.get(), Some(Some(3)));
        listen(&mut pool);
        store.changes().close();
        pool.run_until_stalled();
        assert_eq!(heard.get(), Some(None), "closed");
    }

    #[test]
    fn a_failed_scan_leaves_the_connection_where_it_was() {
        futures::executor::block_on(async {
            let mut narrow = LiveScope::new(access(&["order-"]));
            let ok = |_: Access, _: Position, _: Position| async { Ok(Some(Position(1))) };
            assert_eq!(
                narrow.announce(Position(3), ok).await.unwrap(),
                Some(Position(0))
            );
            let failing = |_: Access, _: Position, _: Position| async {
                Err(crate::error::Error::storage("down"))
            };
            assert!(narrow.announce(Position(5), failing).await.is_err());
            assert_eq!(narrow.seen(), Some(Position(3)));
            let found = |_: Access, after: Position, head: Position| async move {
                assert_eq!((after, head), (Position(3), Position(5)));
                Ok(Some(Position(4)))
            };
            assert_eq!(
                narrow.announce(Position(5), found).await.unwrap(),
                Some(Position(4))
            );
        });
    }
}
