//! Projections: whole-state folds over the log (or a filtered part of it), with the state and
//! its checkpoint persisted together in one record, so a projection is never ahead of or behind
//! its checkpoint, whichever tab wrote last.

mod live;

use std::borrow::Borrow;
use std::marker::PhantomData;

pub use live::{ProjectionFold, ProjectionView};

use crate::core::event::{Position, RecordedEvent};
use crate::core::json::Json;
use crate::cqrs::live::{catch_up, read_page, Batch, Pages, Recorded};
use crate::error::{Error, Result};
use crate::store::{EventFilter, EventStore, ReadAllOptions, StateStore};

pub use crate::cqrs::live::SAVE_EVERY_PAGES;

/// What a projection is: an initial state and a fold over batches of events of type `B`
/// (`[RecordedEvent]` in Rust; the JavaScript binding folds JavaScript arrays). `evolve` must
/// be deterministic.
pub trait Projection<B: ?Sized = [RecordedEvent]> {
    /// The projected state.
    type State;

    /// The state before any event.
    ///
    /// # Errors
    /// When user code fails.
    fn init(&self) -> Result<Self::State>;

    /// Applies `events` in order to `state`. On a failing event, `state` is left as the
    /// events before it made it, and the result says how many applied and why the next failed.
    fn evolve(&self, state: &mut Self::State, events: &B) -> Applied;

    /// The state as JSON, to persist it.
    ///
    /// # Errors
    /// When the state cannot be represented as JSON.
    fn encode_state(&self, state: &Self::State) -> Result<Json>;

    /// The state from its persisted JSON.
    ///
    /// # Errors
    /// When the JSON does not have the state's shape.
    fn decode_state(&self, json: &Json) -> Result<Self::State>;

    /// A copy of `state` to fold a synced store's pending events onto (what is shown, never
    /// persisted). By default through its JSON.
    ///
    /// # Errors
    /// When the state cannot be copied.
    fn fork(&self, state: &Self::State) -> Result<Self::State> {
        self.decode_state(&self.encode_state(state)?)
    }
}

/// The result of [`Projection::evolve`].
#[derive(Debug, Default)]
pub struct Applied {
    /// How many events applied.
    pub applied: usize,
    /// Why the next event did not apply, if one failed.
    pub error: Option<Error>,
}

/// A projection's state and the position it includes.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectionState<S> {
    /// The folded state.
    pub state: S,
    /// The position of the last event folded in (or scanned past, with a filter).
    pub checkpoint: Position,
}

/// Runs a projection against a store: load, catch up page by page, persist, rebuild. `B` is
/// the batch type the projection folds (see [`Projection`]).
pub struct ProjectionRunner<P, B: ?Sized = [RecordedEvent]> {
    projection: P,
    name: String,
    version: u32,
    filter: EventFilter,
    page_size: usize,
    batch: PhantomData<fn(&B)>,
}

struct Persisted {
    version: u32,
    checkpoint: Position,
    state: Json,
}

crate::core::object::object_deserialize!(Persisted {
    version: u32 = "version" required,
    checkpoint: Position = "checkpoint" required,
    state: Json = "state" required,
});

impl<P: Projection<B>, B: Batch + ?Sized> ProjectionRunner<P, B> {
    /// A runner for `projection` named `name` (its storage key) at code `version`: a persisted
    /// state of another version is discarded and the projection rebuilds from the log.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty name.
    pub fn new(
        projection: P,
        name: impl Into<String>,
        version: u32,
        filter: EventFilter,
    ) -> Result<Self> {
        let name = name.into();
        if name.is_empty() {
            return Err(Error::invalid("a projection needs a non-empty name"));
        }
        Ok(ProjectionRunner {
            projection,
            name,
            version,
            filter,
            page_size: 2000,
            batch: PhantomData,
        })
    }

    /// Sets how many events each catch-up page reads (default 2000).
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// The projection's name (its storage key).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which events the projection folds.
    pub fn filter(&self) -> &EventFilter {
        &self.filter
    }

    /// Events read per catch-up page.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The projection.
    pub fn projection(&self) -> &P {
        &self.projection
    }

    fn key(&self) -> String {
        format!("projection:{}", self.name)
    }

    /// The initial state at checkpoint 0.
    ///
    /// # Errors
    /// When `init` fails.
    pub fn initial(&self) -> Result<ProjectionState<P::State>> {
        Ok(ProjectionState {
            state: self.projection.init()?,
            checkpoint: Position(0),
        })
    }

    /// The persisted state if it belongs to this version and decodes; otherwise the initial
    /// state (a rebuild).
    ///
    /// # Errors
    /// Store failures, or `init` failing.
    pub async fn load<S: StateStore + ?Sized>(
        &self,
        store: &S,
    ) -> Result<ProjectionState<P::State>> {
        if let Some(json) = store.get_state(&self.key()).await? {
            if let Ok(p) = json.decode::<Persisted>() {
                if p.version == self.version {
                    if let Ok(state) = self.projection.decode_state(&p.state) {
                        return Ok(ProjectionState {
                            state,
                            checkpoint: p.checkpoint,
                        });
                    }
                }
            }
        }
        self.initial()
    }

    /// Persists the state and its checkpoint in one record.
    ///
    /// # Errors
    /// Store failures, or a state JSON cannot represent.
    pub async fn save<S: StateStore + ?Sized>(
        &self,
        store: &S,
        current: &ProjectionState<P::State>,
    ) -> Result<()> {
        let state = self.projection.encode_state(&current.state)?;
        let record = format!(
            r#"{{"version":{},"checkpoint":{},"state":{}}}"#,
            self.version, current.checkpoint.0, state
        );
        store.put_state(&self.key(), Json::parse(record)?).await
    }

    /// Forgets the persisted state (the next load starts from the initial state).
    ///
    /// # Errors
    /// Store failures.
    pub async fn forget<S: StateStore + ?Sized>(&self, store: &S) -> Result<()> {
        store.delete_state(&self.key()).await
    }

    /// Folds one page into `current`. On a failing event the state and checkpoint stop at the
    /// event before it, and the error (naming the failing event's position) is returned.
    pub fn apply(
        &self,
        current: &mut ProjectionState<P::State>,
        events: &B,
        covered: Position,
    ) -> Option<Error> {
        let applied = self.projection.evolve(&mut current.state, events);
        match applied.error {
            None => {
                current.checkpoint = covered.max(current.checkpoint);
                None
            }
            Some(error) => {
                if applied.applied > 0 {
                    current.checkpoint = events.position(applied.applied - 1);
                }
                Some(error)
            }
        }
    }

    /// Catches `current` up with the log, reading pages with `pages` (see
    /// [`catch_up`]: persisted every [`SAVE_EVERY_PAGES`] pages,
    /// on the last page and on a failure); `progress(processed, total)` reports events
    /// applied so far out of the positions left when it started. Returns the caught-up state;
    /// on a failing `evolve`, persists the last good state and returns the error with it.
    ///
    /// # Errors
    /// [`Error::EvolveFailed`] and store failures.
    pub async fn catch_up_with<S, R>(
        &self,
        store: &S,
        pages: &R,
        current: ProjectionState<P::State>,
        mut progress: impl FnMut(u64, u64),
    ) -> (ProjectionState<P::State>, Result<()>)
    where
        S: EventStore + StateStore + ?Sized,
        R: Pages<S>,
        R::Page: Borrow<B>,
    {
        let mut fold = ProjectionFold::new(self, pages, current);
        let result = catch_up(store, &mut fold, |p| progress(p.processed, p.total)).await;
        (fold.into_state(), result)
    }

    /// The projection's state as of `position`, folded from the start with pages read by
    /// `pages` (nothing persisted).
    ///
    /// # Errors
    /// [`Error::EvolveFailed`] and store failures.
    pub async fn state_at_with<S, R>(
        &self,
        store: &S,
        pages: &R,
        position: Position,
    ) -> Result<P::State>
    where
        S: EventStore + ?Sized,
        R: Pages<S>,
        R::Page: Borrow<B>,
    {
        let mut state = self.projection.init()?;
        let mut after = Position(0);
        let size = pages.page_size(store, self.page_size);
        loop {
            let options = ReadAllOptions {
                after,
                limit: Some(size),
                filter: self.filter.clone(),
            };
            let mut events = pages.read(store, &options).await?;
            let n = events.len();
            let keep = (0..n).find(|&i| events.position(i) > position).unwrap_or(n);
            let last = match n {
                0 => None,
                _ => Some(events.position(n - 1)),
            };
            crate::cqrs::live::Page::truncate(&mut events, keep);
            if let Some(e) = self.projection.evolve(&mut state, events.borrow()).error {
                return Err(e);
            }
            match last {
                Some(last) if keep == n && n == size => after = last,
                _ => return Ok(state),
            }
        }
    }
}

impl<P: Projection> ProjectionRunner<P> {
    /// Reads the next page of [`RecordedEvent`]s after `checkpoint`. Returns the events and
    /// the position the read covered (with a filter that matched nothing, the head seen
    /// before reading).
    ///
    /// # Errors
    /// Store failures.
    pub async fn next_page<S: EventStore + ?Sized>(
        &self,
        store: &S,
        checkpoint: Position,
    ) -> Result<(Vec<RecordedEvent>, Position)> {
        let options = ReadAllOptions {
            after: checkpoint,
            limit: Some(self.page_size),
            filter: self.filter.clone(),
        };
        read_page(store, &Recorded, &options).await
    }

    /// [`catch_up_with`](Self::catch_up_with) over [`RecordedEvent`]s read from `store`.
    ///
    /// # Errors
    /// [`Error::EvolveFailed`] and store failures.
    pub async fn catch_up<S: EventStore + StateStore + ?Sized>(
        &self,
        store: &S,
        current: ProjectionState<P::State>,
        progress: impl FnMut(u64, u64),
    ) -> (ProjectionState<P::State>, Result<()>) {
        self.catch_up_with(store, &Recorded, current, progress)
            .await
    }

    /// The projection's state as of `position`, folded from the start (nothing persisted).
    ///
    /// # Errors
    /// [`Error::EvolveFailed`] and store failures.
    pub async fn state_at<S: EventStore + ?Sized>(
        &self,
        store: &S,
        position: Position,
    ) -> Result<P::State> {
        self.state_at_with(store, &Recorded, position).await
    }
}

#[cfg(test)]
mod tests;
