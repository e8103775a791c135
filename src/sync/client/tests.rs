//! The sync client against the server logic in-process, with faults injected on the way.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::executor::block_on;

use super::*;
use crate::core::append::StoreLimits;
use crate::core::event::{EventId, EventType, RecordedEvent};
use crate::store::{contract::test_clock, EventStore, MemoryStore, ReadAllOptions, StateStore};
use crate::sync::access::Access;
use crate::sync::protocol::{self, StoreId};
use crate::sync::serve::{self, ServeLimits};

/// The server: its store and the serving logic.
pub(super) struct Server {
    pub store: MemoryStore,
    id: StoreId,
    limits: ServeLimits,
}

impl Server {
    pub fn new() -> Self {
        Self::with_id("server-1")
    }

    /// A fresh, empty server store named `id` (another id: a reset or replaced server).
    pub fn with_id(id: &str) -> Self {
        let limits = ServeLimits {
            default_pull: 7,
            max_pull: 7,
            ..ServeLimits::default()
        };
        Server {
            store: MemoryStore::new(test_clock()),
            id: StoreId::new(id).unwrap(),
            limits,
        }
    }

    pub fn log(&self) -> Vec<RecordedEvent> {
        now(self.store.read_all(&ReadAllOptions::default())).unwrap()
    }
}

/// What happens to one request on the way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fault {
    /// Delivered, answered.
    None,
    /// Lost before the server saw it (offline, server restarting).
    DropRequest,
    /// The server handled it, the answer was lost.
    DropResponse,
    /// Delivered twice (a retrying proxy); the second answer comes back.
    Duplicate,
    /// Delivered now, and a copy again later (a delayed duplicate).
    Replay,
}

/// A client's link to the server, with the faults to inject on its next requests.
pub(super) struct Link<'a> {
    server: &'a Server,
    pub faults: RefCell<Vec<Fault>>,
    delayed: RefCell<Vec<PushRequest>>,
    pub pulls: Cell<usize>,
}

impl<'a> Link<'a> {
    pub fn new(server: &'a Server) -> Self {
        Link {
            server,
            faults: RefCell::new(Vec::new()),
            delayed: RefCell::new(Vec::new()),
            pulls: Cell::new(0),
        }
    }

    fn next_fault(&self) -> Fault {
        self.faults.borrow_mut().pop().unwrap_or(Fault::None)
    }

    /// Delivers the delayed copies now.
    pub async fn flush_delayed(&self) {
        let delayed = std::mem::take(&mut *self.delayed.borrow_mut());
        for request in delayed {
            let s = self.server;
            let _ = serve::push(&s.store, &s.id, &Access::all(), request, &s.limits).await;
        }
    }

    fn lost() -> Error {
        Error::Network {
            message: "injected fault".into(),
        }
    }
}

impl Transport for Link<'_> {
    async fn pull(&self, request: &PullRequest) -> Result<PullResponse> {
        self.pulls.set(self.pulls.get() + 1);
        let (s, access) = (self.server, Access::all());
        // Through the wire codec, so every pull of these tests crosses the columns encoding.
        let serve = || async {
            let page = serve::pull(&s.store, &s.id, &access, request, &s.limits).await?;
            protocol::decode::<PullResponse>(&protocol::encode(&page)?)
        };
        match self.next_fault() {
            Fault::DropRequest => Err(Self::lost()),
            Fault::DropResponse => serve().await.and(Err(Self::lost())),
            Fault::Duplicate | Fault::Replay => {
                serve().await?;
                serve().await
            }
            Fault::None => serve().await,
        }
    }

    async fn push(&self, request: &PushRequest) -> Result<PushResponse> {
        let (s, access) = (self.server, Access::all());
        let serve = |r: PushRequest| serve::push(&s.store, &s.id, &access, r, &s.limits);
        match self.next_fault() {
            Fault::DropRequest => Err(Self::lost()),
            Fault::DropResponse => serve(request.clone()).await.and(Err(Self::lost())),
            Fault::Duplicate => {
                serve(request.clone()).await?;
                serve(request.clone()).await
            }
            Fault::Replay => {
                self.delayed.borrow_mut().push(request.clone());
                serve(request.clone()).await
            }
            Fault::None => serve(request.clone()).await,
        }
    }
}

/// A device: a local store, its replica and its sync client; commands are `{"add": tag}`,
/// decided by "a stream holds at most `capacity` events".
pub(super) struct Device {
    pub client: SyncClient<MemoryStore>,
    pub strategies: Vec<(String, Strategy)>,
    pub capacity: u64,
    pub rejected: RefCell<Vec<Rejected>>,
    /// Re-runs that fail (as a closed tab or a storage failure would) before deciding.
    pub failing_reruns: Cell<u32>,
    ids: Cell<u32>,
    tag: u8,
}

impl Device {
    pub fn new(tag: u8, scope: &[&str]) -> Self {
        Self::with_options(tag, scope, SyncOptions::default())
    }

    pub fn with_options(tag: u8, scope: &[&str], options: SyncOptions) -> Self {
        let replica = Replica::new(
            Rc::new(MemoryStore::new(test_clock())),
            scope.iter().map(|s| s.to_string()).collect(),
            StoreLimits::default(),
            test_clock(),
        );
        Device {
            client: SyncClient::new(Rc::new(replica), options),
            strategies: Vec::new(),
            capacity: u64::MAX,
            rejected: RefCell::new(Vec::new()),
            failing_reruns: Cell::new(0),
            ids: Cell::new(0),
            tag,
        }
    }

    pub fn replica(&self) -> &Replica<MemoryStore> {
        self.client.replica()
    }

    pub fn new_id(&self) -> EventId {
        let n = self.ids.get() + 1;
        self.ids.set(n);
        let mut b = [self.tag; 16];
        b[12..].copy_from_slice(&n.to_be_bytes());
        EventId::from_bytes(b)
    }

    /// Decides `{"add": tag}` on the stream's current (confirmed + pending) state.
    pub async fn command(&self, stream: &StreamId, tag: &str) -> Result<()> {
        let command = Json::parse(format!(r#"{{"add":"{tag}"}}"#))?;
        self.rerun(stream, &command).await
    }

    /// Appends an event without a command (re-placed as is on conflicts).
    pub async fn append(&self, stream: &StreamId, tag: &str) -> Result<()> {
        let event = NewEvent::new(
            self.new_id(),
            EventType::new("Noted")?,
            Json::from_value(tag)?,
        );
        self.replica()
            .append(stream, vec![event], ExpectedVersion::Any)
            .await
            .map(drop)
    }

    pub async fn sync<T: Transport>(&self, link: &T) -> Result<SyncReport> {
        self.client.sync(link, self).await
    }

    /// The confirmed log as (id, stream, version), the server's order.
    pub fn confirmed(&self) -> Vec<(EventId, StreamId, Version)> {
        let log = now(self.replica().inner().read_all(&ReadAllOptions::default())).unwrap();
        log.into_iter()
            .map(|e| (e.id, e.stream, e.version))
            .collect()
    }
}

impl Resolver for Device {
    fn strategy(&self, stream: &StreamId) -> Strategy {
        self.strategies
            .iter()
            .find(|(p, _)| stream.as_str().starts_with(p.as_str()))
            .map_or(Strategy::Rebase, |(_, s)| *s)
    }

    async fn rerun(&self, stream: &StreamId, command: &Json) -> Result<()> {
        if self.failing_reruns.get() > 0 {
            self.failing_reruns.set(self.failing_reruns.get() - 1);
            return Err(Error::storage("injected failure"));
        }
        let version = self.replica().stream_version(stream).await?;
        if version.0 >= self.capacity {
            return Err(Error::DeciderRejected {
                message: format!("{stream} is full"),
            });
        }
        let event = NewEvent::new(self.new_id(), EventType::new("Added")?, command.clone());
        self.replica()
            .append_decided(
                stream,
                vec![event],
                ExpectedVersion::Exact(version),
                Some(command.clone()),
            )
            .await
            .map(drop)
    }

    fn rejected(&self, rejected: Rejected) {
        self.rejected.borrow_mut().push(rejected);
    }
}

/// Runs a memory-store future that is ready at once (usable inside `block_on`).
pub(super) fn now<T>(f: impl std::future::Future<Output = T>) -> T {
    use futures::FutureExt;
    Box::pin(f)
        .now_or_never()
        .expect("memory store futures are ready at once")
}

pub(super) fn sid(s: &str) -> StreamId {
    StreamId::new(s).unwrap()
}

pub(super) fn server_view(server: &Server) -> Vec<(EventId, StreamId, Version)> {
    server
        .log()
        .into_iter()
        .map(|e| (e.id, e.stream, e.version))
        .collect()
}

#[test]
fn offline_appends_stay_pending_then_sync_confirms_them_in_server_order() {
    let server = Server::new();
    let link = Link::new(&server);
    let a = Device::new(1, &["order-"]);
    block_on(async {
        a.command(&sid("order-1"), "x").await.unwrap();
        a.command(&sid("order-1"), "y").await.unwrap();
        a.append(&sid("order-2"), "z").await.unwrap();
        // Pending: visible in the stream, not in the global log.
        let stream = a
            .replica()
            .read_stream(&sid("order-1"), &Default::default())
            .await
            .unwrap();
        assert_eq!(
            stream
                .iter()
                .map(|e| (e.version.0, e.position.0))
                .collect::<Vec<_>>(),
            [(1, 0), (2, 0)]
        );
        assert_eq!(
            a.replica().stream_version(&sid("order-1")).await.unwrap(),
            Version(2)
        );
        assert!(a.confirmed().is_empty());
        assert_eq!(a.replica().pending().await.unwrap().len(), 3);

        let report = a.sync(&link).await.unwrap();
        assert_eq!((report.pushed, report.pulled), (3, 3));
        assert!(a.replica().pending().await.unwrap().is_empty());
        assert_eq!(a.confirmed(), server_view(&server));
        let stream = a
            .replica()
            .read_stream(&sid("order-1"), &Default::default())
            .await
            .unwrap();
        assert_eq!(
            stream.iter().map(|e| e.position.0).collect::<Vec<_>>(),
            [1, 2]
        );
        // Up to date: one pull answers it.
        let before = link.pulls.get();
        let report = a.sync(&link).await.unwrap();
        assert_eq!(
            (report.pulled, report.pushed, link.pulls.get() - before),
            (0, 0, 1)
        );
    });
}

#[test]
fn pending_changes_made_here_move_local_changes_those_made_elsewhere_do_not() {
    let server = Server::new();
    let link = Link::new(&server);
    let a = Device::new(1, &["order-"]);
    block_on(async {
        let local = || a.replica().local_changes().head();
        let start = local();
        a.append(&sid("order-1"), "x").await.unwrap();
        let appended = local();
        assert!(appended > start, "a pending append is a local change");
        a.replica().pending_changed();
        assert_eq!(local(), appended, "another tab's change is not this tab's");
        a.append(&sid("prefs-1"), "dark").await.unwrap();
        assert_eq!(
            local(),
            appended,
            "streams outside the scope are not pending"
        );
        a.sync(&link).await.unwrap();
        assert!(
            local() > appended,
            "confirming pending events changes the set"
        );
    });
}

#[test]
fn streams_outside_the_scope_are_local_only() {
    let server = Server::new();
    let link = Link::new(&server);
    let a = Device::new(1, &["order-"]);
    block_on(async {
        a.append(&sid("prefs-1"), "dark").await.unwrap();
        assert!(a.replica().pending().await.unwrap().is_empty());
        assert_eq!(a.confirmed().len(), 1);
        a.sync(&link).await.unwrap();
        assert!(server.log().is_empty());
    });
}

#[test]
fn a_lost_push_answer_is_retried_without_duplicates() {
    let server = Server::new();
    let link = Link::new(&server);
    let a = Device::new(1, &[]);
    block_on(async {
        a.command(&sid("order-1"), "x").await.unwrap();
        // pull (ok), push (committed, answer lost)
        link.faults
            .borrow_mut()
            .extend([Fault::DropResponse, Fault::None]);
        assert_eq!(a.sync(&link).await.unwrap_err().code(), "NETWORK");
        assert_eq!(server.log().len(), 1);
        assert_eq!(
            a.replica().pending().await.unwrap().len(),
            1,
            "still pending, not lost"
        );
        a.sync(&link).await.unwrap();
        assert_eq!(server.log().len(), 1);
        assert_eq!(a.confirmed(), server_view(&server));
        assert!(a.replica().pending().await.unwrap().is_empty());
    });
}

#[test]
fn duplicated_and_delayed_requests_change_nothing() {
    let server = Server::new();
    let link = Link::new(&server);
    let a = Device::new(1, &[]);
    block_on(async {
        a.command(&sid("order-1"), "x").await.unwrap();
        // pull duplicated, push replayed later, confirming pull duplicated
        link.faults
            .borrow_mut()
            .extend([Fault::Duplicate, Fault::Replay, Fault::Duplicate]);
        a.sync(&link).await.unwrap();
        link.flush_delayed().await;
        a.command(&sid("order-1"), "y").await.unwrap();
        a.sync(&link).await.unwrap();
        assert_eq!(server.log().len(), 2);
        assert_eq!(a.confirmed(), server_view(&server));
    });
}

#[test]
fn a_pull_answer_that_breaks_the_protocol_stores_nothing() {
    struct Skipping<'a>(Link<'a>);
    impl Transport for Skipping<'_> {
        async fn pull(&self, request: &PullRequest) -> Result<PullResponse> {
            let mut page = self.0.pull(request).await?;
            page.events.swap(0, 1); // positions out of order
            Ok(page)
        }
        async fn push(&self, request: &PushRequest) -> Result<PushResponse> {
            self.0.push(request).await
        }
    }
    let server = Server::new();
    let b = Device::new(2, &[]);
    let a = Device::new(1, &[]);
    block_on(async {
        a.command(&sid("order-1"), "x").await.unwrap();
        a.command(&sid("order-2"), "y").await.unwrap();
        a.sync(&Link::new(&server)).await.unwrap();
        let err = b.sync(&Skipping(Link::new(&server))).await.unwrap_err();
        assert_eq!(err.code(), "PROTOCOL_ERROR");
        assert!(b.confirmed().is_empty());
        assert_eq!(b.client.checkpoint().await.unwrap(), None);
        b.sync(&Link::new(&server)).await.unwrap();
        assert_eq!(b.confirmed(), server_view(&server));
    });
}

#[test]
fn a_page_stored_before_a_crash_is_not_stored_twice_when_pages_end_elsewhere() {
    // A crash after a page was stored but before its checkpoint was saved: the pages pulled
    // again can end elsewhere than the stored ones (more events arrived since), so a run of one
    // stream is partly stored already. Only its rest is appended.
    let server = Server::new();
    let link = Link::new(&server);
    let b = Device::new(2, &[]);
    let a = Device::with_options(
        1,
        &[],
        SyncOptions {
            pull_limit: 3,
            ..SyncOptions::default()
        },
    );
    block_on(async {
        for i in 0..5 {
            b.append(&sid("order-1"), &format!("e{i}")).await.unwrap();
        }
        b.sync(&link).await.unwrap();
        a.sync(&link).await.unwrap(); // pages [1..3], [4..5]
        for i in 5..7 {
            b.append(&sid("order-1"), &format!("e{i}")).await.unwrap();
        }
        b.sync(&link).await.unwrap();
        // The crash: the checkpoint is back at the start, the stored events stay.
        let meta = Meta {
            checkpoint: None,
            resetting: false,
        };
        a.replica()
            .inner()
            .put_state(META_KEY, Json::from_value(&meta).unwrap())
            .await
            .unwrap();
        let report = a.sync(&link).await.unwrap(); // pages [1..3], [4..6] (4, 5 stored), [7]
        assert_eq!(report.pulled, 7);
        assert_eq!(a.confirmed(), server_view(&server));
        assert_eq!(a.confirmed().len(), 7);
        // Stored events that are not the pulled ones are still refused, nothing written.
        let c = Device::with_options(
            3,
            &[],
            SyncOptions {
                pull_limit: 3,
                ..SyncOptions::default()
            },
        );
        let own = NewEvent::new(
            c.new_id(),
            EventType::new("Noted").unwrap(),
            Json::parse("1").unwrap(),
        );
        c.replica()
            .inner()
            .append(
                &sid("order-1"),
                vec![own],
                ExpectedVersion::Exact(Version(0)),
            )
            .await
            .unwrap();
        let before = c.confirmed();
        assert_eq!(c.sync(&link).await.unwrap_err().code(), "PROTOCOL_ERROR");
        assert_eq!(c.confirmed(), before);
    });
}

#[test]
fn rebase_decides_pending_commands_again_and_reports_the_rejected() {
    let server = Server::new();
    let link = Link::new(&server);
    let mut a = Device::new(1, &[]);
    let mut b = Device::new(2, &[]);
    a.capacity = 2;
    b.capacity = 2;
    block_on(async {
        a.command(&sid("order-1"), "a1").await.unwrap();
        a.sync(&link).await.unwrap();
        b.sync(&link).await.unwrap();
        // Both add offline on version 1; capacity 2 leaves room for one of them.
        a.command(&sid("order-1"), "a2").await.unwrap();
        b.command(&sid("order-1"), "b2").await.unwrap();
        b.sync(&link).await.unwrap();
        let report = a.sync(&link).await.unwrap();
        assert_eq!(report.rejected, 1);
        let rejected = a.rejected.borrow_mut().remove(0);
        assert_eq!(rejected.error.code(), "DECIDER_REJECTED");
        assert_eq!(
            rejected.command.as_ref().map(|c| c.as_str()),
            Some(r#"{"add":"a2"}"#)
        );
        assert!(a.replica().pending().await.unwrap().is_empty());
        a.sync(&link).await.unwrap();
        assert_eq!(a.confirmed(), server_view(&server));
        assert_eq!(server.log().len(), 2);
    });
}

#[test]
fn rebase_replaces_the_events_of_commands_still_accepted() {
    let server = Server::new();
    let link = Link::new(&server);
    let a = Device::new(1, &[]);
    let b = Device::new(2, &[]);
    block_on(async {
        a.command(&sid("order-1"), "a1").await.unwrap();
        b.command(&sid("order-1"), "b1").await.unwrap();
        a.sync(&link).await.unwrap();
        let report = b.sync(&link).await.unwrap();
        assert_eq!(report.rejected, 0);
        a.sync(&link).await.unwrap();
        let data: Vec<String> = server
            .log()
            .iter()
            .map(|e| e.data.as_str().to_owned())
            .collect();
        assert_eq!(data, [r#"{"add":"a1"}"#, r#"{"add":"b1"}"#]);
        assert_eq!(a.confirmed(), server_view(&server));
        assert_eq!(b.confirmed(), server_view(&server));
    });
}

#[test]
fn an_interrupted_rebase_resumes_and_decides_each_command_once() {
    let server = Server::new();
    let link = Link::new(&server);
    let a = Device::new(1, &[]);
    let b = Device::new(2, &[]);
    block_on(async {
        b.command(&sid("order-1"), "b1").await.unwrap();
        b.sync(&link).await.unwrap();
        for tag in ["a1", "a2", "a3"] {
            a.command(&sid("order-1"), tag).await.unwrap();
        }
        a.failing_reruns.set(1);
        // The rebase stops at its first command; nothing is lost meanwhile.
        assert_eq!(a.sync(&link).await.unwrap_err().code(), "STORAGE_ERROR");
        let set = a.replica().pending().await.unwrap();
        assert_eq!((set.len(), set.rebasing["order-1"].len()), (3, 3));
        a.failing_reruns.set(0);
        a.sync(&link).await.unwrap();
        let data: Vec<String> = server
            .log()
            .iter()
            .map(|e| e.data.as_str().to_owned())
            .collect();
        assert_eq!(
            data,
            [
                r#"{"add":"b1"}"#,
                r#"{"add":"a1"}"#,
                r#"{"add":"a2"}"#,
                r#"{"add":"a3"}"#
            ]
        );
        assert_eq!(a.confirmed(), server_view(&server));
    });
}

#[test]
fn append_strategy_replaces_events_with_their_ids() {
    let server = Server::new();
    let link = Link::new(&server);
    let mut a = Device::new(1, &[]);
    a.strategies.push(("log-".into(), Strategy::Append));
    let b = Device::new(2, &[]);
    block_on(async {
        a.append(&sid("log-1"), "a").await.unwrap();
        let id = a.replica().pending().await.unwrap().streams["log-1"].events[0]
            .event
            .id
            .clone();
        b.append(&sid("log-1"), "b").await.unwrap();
        b.sync(&link).await.unwrap();
        a.sync(&link).await.unwrap();
        let log = server.log();
        assert_eq!((log[1].id.clone(), log[1].version), (id, Version(2)));
        assert_eq!(a.confirmed(), server_view(&server));
    });
}

#[test]
fn manual_strategy_holds_the_stream_until_resolved() {
    let server = Server::new();
    let link = Link::new(&server);
    let mut a = Device::new(1, &[]);
    a.strategies.push((String::new(), Strategy::Manual));
    let b = Device::new(2, &[]);
    block_on(async {
        a.append(&sid("doc-1"), "a").await.unwrap();
        b.append(&sid("doc-1"), "b").await.unwrap();
        b.sync(&link).await.unwrap();
        let report = a.sync(&link).await.unwrap();
        assert_eq!(
            report.held,
            [Held {
                stream: sid("doc-1"),
                actual: Version(1)
            }]
        );
        assert_eq!(server.log().len(), 1, "held events are not pushed");
        let report = a.sync(&link).await.unwrap();
        assert_eq!(report.held.len(), 1, "reported until resolved");
        assert_eq!(a.replica().pending().await.unwrap().len(), 1);
        a.client
            .resolve(&sid("doc-1"), Resolution::Append, &a)
            .await
            .unwrap();
        a.sync(&link).await.unwrap();
        assert_eq!(server.log().len(), 2);
        assert_eq!(a.confirmed(), server_view(&server));

        b.append(&sid("doc-1"), "b2").await.unwrap();
        a.append(&sid("doc-1"), "a2").await.unwrap();
        b.sync(&link).await.unwrap();
        a.sync(&link).await.unwrap();
        let dropped = a
            .client
            .resolve(&sid("doc-1"), Resolution::Discard, &a)
            .await
            .unwrap();
        assert_eq!(dropped, 1);
        assert_eq!(a.rejected.borrow()[0].error.code(), "SYNC_CONFLICT");
        a.sync(&link).await.unwrap();
        assert_eq!(server.log().len(), 3);
        assert_eq!(a.confirmed(), server_view(&server));
    });
}

#[test]
fn an_event_id_the_server_refuses_is_held_and_reported_not_dropped() {
    let server = Server::new();
    let link = Link::new(&server);
    let a = Device::new(1, &[]);
    let b = Device::new(1, &[]); // same tag: b's first id equals a's
    block_on(async {
        a.append(&sid("x-1"), "a").await.unwrap();
        a.sync(&link).await.unwrap();
        b.append(&sid("x-2"), "b").await.unwrap();
        let report = b.sync(&link).await.unwrap();
        assert_eq!(report.rejected, 1);
        assert_eq!(b.rejected.borrow()[0].error.code(), "EVENT_ID_CONFLICT");
        assert_eq!(b.replica().pending().await.unwrap().len(), 1);
        assert!(b.replica().pending().await.unwrap().streams["x-2"]
            .held
            .is_some());
    });
}

#[test]
fn a_page_of_many_streams_is_stored_in_server_order() {
    let server = Server::new();
    let (a, b) = (Device::new(1, &[]), Device::new(2, &[]));
    block_on(async {
        for i in 0..30 {
            a.append(&sid(&format!("s-{}", i % 4)), &format!("{i}"))
                .await
                .unwrap();
        }
        a.sync(&Link::new(&server)).await.unwrap();
        b.sync(&Link::new(&server)).await.unwrap();
        assert_eq!(b.confirmed(), server_view(&server));
        assert_eq!(b.confirmed().len(), 30);
    });
}

#[test]
fn snapshots_are_not_written_over_pending_events() {
    let server = Server::new();
    let a = Device::new(1, &[]);
    block_on(async {
        a.command(&sid("order-1"), "x").await.unwrap();
        let snap = Json::parse(r#"{"v":1}"#).unwrap();
        a.replica()
            .put_state("snapshot:order-1", snap.clone())
            .await
            .unwrap();
        assert_eq!(
            a.replica().get_state("snapshot:order-1").await.unwrap(),
            None
        );
        a.sync(&Link::new(&server)).await.unwrap();
        a.replica()
            .put_state("snapshot:order-1", snap.clone())
            .await
            .unwrap();
        assert_eq!(
            a.replica().get_state("snapshot:order-1").await.unwrap(),
            Some(snap)
        );
    });
}

#[path = "property_tests.rs"]
mod property;

#[test]
fn an_event_pulled_but_not_yet_reconciled_is_shown_once() {
    // Between a pull storing a page and the reconcile that drops the pending copies, an event
    // is both confirmed and pending: reads, versions and appends must count it once.
    let a = Device::new(1, &["order-"]);
    let stream = sid("order-1");
    block_on(async {
        a.append(&stream, "e").await.unwrap();
        let pending = a.replica().pending_events().await.unwrap();
        let e = &pending[0];
        // What a pull would store, before the sync client reconciles the pending set.
        a.replica()
            .inner()
            .append(
                &stream,
                vec![NewEvent::new(
                    e.id.clone(),
                    e.event_type.clone(),
                    e.data.clone(),
                )],
                ExpectedVersion::NoStream,
            )
            .await
            .unwrap();
        let read = a
            .replica()
            .read_stream(&stream, &Default::default())
            .await
            .unwrap();
        assert_eq!(read.len(), 1, "{read:?}");
        assert_eq!(
            (read[0].id.clone(), read[0].position),
            (e.id.clone(), Position(1))
        );
        assert_eq!(
            a.replica().stream_version(&stream).await.unwrap(),
            Version(1)
        );
        assert!(a.replica().pending_events().await.unwrap().is_empty());
        // A command decided on that view appends after version 1, as it was shown.
        let f = NewEvent::new(
            a.new_id(),
            EventType::new("Noted").unwrap(),
            Json::from_value("f").unwrap(),
        );
        let r = a
            .replica()
            .append(&stream, vec![f.clone()], ExpectedVersion::Exact(Version(1)))
            .await
            .unwrap();
        assert_eq!(r.version, Version(2));
        let read = a
            .replica()
            .read_stream(&stream, &Default::default())
            .await
            .unwrap();
        let ids: Vec<_> = read.iter().map(|e| (e.id.clone(), e.version)).collect();
        assert_eq!(
            ids,
            [(e.id.clone(), Version(1)), (f.id.clone(), Version(2))]
        );
        // Still a wrong expected version when it is wrong for the shown stream too.
        let g = NewEvent::new(
            a.new_id(),
            EventType::new("Noted").unwrap(),
            Json::from_value("g").unwrap(),
        );
        let err = a
            .replica()
            .append(&stream, vec![g], ExpectedVersion::Exact(Version(1)))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "WRONG_EXPECTED_VERSION");
    });
}
