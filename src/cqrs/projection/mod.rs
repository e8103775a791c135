//! Projections: whole-state folds over the log (or a filtered part of it), with the state and
//! its checkpoint persisted together in one record, so a projection is never ahead of or behind
//! its checkpoint, whichever tab wrote last.

use crate::core::event::{Position, RecordedEvent};
use crate::core::json::Json;
use crate::error::{Error, Result};
use crate::store::{EventFilter, EventStore, ReadAllOptions, StateStore};

/// What a projection is: an initial state and a fold. `evolve` must be deterministic.
pub trait Projection {
    /// The projected state.
    type State;

    /// The state before any event.
    ///
    /// # Errors
    /// When user code fails.
    fn init(&self) -> Result<Self::State>;

    /// Applies `events` in order. On a failing event, returns the state after the events
    /// before it, how many applied, and the error.
    fn evolve(&self, state: Self::State, events: &[RecordedEvent]) -> Applied<Self::State>;

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
}

/// The result of [`Projection::evolve`].
pub struct Applied<S> {
    /// The state after the events that applied.
    pub state: S,
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

/// During a catch-up, the state is persisted at least once every this many pages.
pub const SAVE_EVERY_PAGES: u32 = 10;

/// Runs a projection against a store: load, catch up page by page, persist, rebuild.
pub struct ProjectionRunner<P> {
    projection: P,
    name: String,
    version: u32,
    filter: EventFilter,
    page_size: usize,
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

impl<P: Projection> ProjectionRunner<P> {
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
        })
    }

    /// Sets how many events each catch-up page reads (default 2000).
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
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
    pub async fn load<S: StateStore>(&self, store: &S) -> Result<ProjectionState<P::State>> {
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
    pub async fn save<S: StateStore>(
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
    pub async fn forget<S: StateStore>(&self, store: &S) -> Result<()> {
        store.delete_state(&self.key()).await
    }

    /// Reads the next page after `checkpoint`. Returns the events and the position the read
    /// covered (with a filter that matched nothing, the head seen before reading).
    ///
    /// # Errors
    /// Store failures.
    pub async fn next_page<S: EventStore>(
        &self,
        store: &S,
        checkpoint: Position,
    ) -> Result<(Vec<RecordedEvent>, Position)> {
        let head = store.head().await?;
        let options = ReadAllOptions {
            after: checkpoint,
            limit: Some(self.page_size),
            filter: self.filter.clone(),
        };
        let events = store.read_all(&options).await?;
        let covered = match events.last() {
            Some(last) if events.len() == self.page_size => last.position,
            Some(last) => last.position.max(head),
            None => checkpoint.max(head),
        };
        Ok((events, covered))
    }

    /// Folds one page into `current`. On a failing event the state and checkpoint stop at the
    /// event before it, and the error names the failing event's position.
    pub fn apply(
        &self,
        current: ProjectionState<P::State>,
        events: &[RecordedEvent],
        covered: Position,
    ) -> (ProjectionState<P::State>, Option<Error>) {
        let applied = self.projection.evolve(current.state, events);
        match applied.error {
            None => (
                ProjectionState {
                    state: applied.state,
                    checkpoint: covered.max(current.checkpoint),
                },
                None,
            ),
            Some(error) => {
                let checkpoint = match applied.applied {
                    0 => current.checkpoint,
                    n => events[n - 1].position,
                };
                (
                    ProjectionState {
                        state: applied.state,
                        checkpoint,
                    },
                    Some(error),
                )
            }
        }
    }

    /// Catches `current` up with the log, persisting every [`SAVE_EVERY_PAGES`] pages, on the
    /// last page and on a failure (the state and checkpoint are one record, so any persisted
    /// pair is consistent; a crash between saves only costs a re-fold); `progress(processed,
    /// total)` reports events applied so far out of the positions left when it started.
    /// Returns the caught-up state; on a failing `evolve`, persists the last good state and
    /// returns the error.
    ///
    /// # Errors
    /// [`Error::EvolveFailed`] and store failures.
    pub async fn catch_up<S: EventStore + StateStore>(
        &self,
        store: &S,
        mut current: ProjectionState<P::State>,
        mut progress: impl FnMut(u64, u64),
    ) -> (ProjectionState<P::State>, Result<()>) {
        let total = match store.head().await {
            Ok(head) => head.0.saturating_sub(current.checkpoint.0),
            Err(e) => return (current, Err(e)),
        };
        let start = current.checkpoint;
        let mut unsaved = 0;
        loop {
            let (events, covered) = match self.next_page(store, current.checkpoint).await {
                Ok(page) => page,
                Err(e) => return (current, Err(e)),
            };
            if events.is_empty() && covered == current.checkpoint {
                let saved = match unsaved {
                    0 => Ok(()),
                    _ => self.save(store, &current).await,
                };
                return (current, saved);
            }
            let last_page = events.len() < self.page_size;
            let (next, error) = self.apply(current, &events, covered);
            current = next;
            unsaved += 1;
            if error.is_some() || last_page || unsaved >= SAVE_EVERY_PAGES {
                if let Err(e) = self.save(store, &current).await {
                    return (current, Err(e));
                }
                unsaved = 0;
            }
            progress(
                current.checkpoint.0.saturating_sub(start.0).min(total),
                total,
            );
            if let Some(e) = error {
                return (current, Err(e));
            }
        }
    }

    /// The projection's state as of `position`, folded from the start (nothing persisted).
    ///
    /// # Errors
    /// [`Error::EvolveFailed`] and store failures.
    pub async fn state_at<S: EventStore>(&self, store: &S, position: Position) -> Result<P::State> {
        let mut state = self.projection.init()?;
        let mut after = Position(0);
        loop {
            let options = ReadAllOptions {
                after,
                limit: Some(self.page_size),
                filter: self.filter.clone(),
            };
            let events = store.read_all(&options).await?;
            let keep = events.iter().take_while(|e| e.position <= position).count();
            let applied = self.projection.evolve(state, &events[..keep]);
            state = applied.state;
            if let Some(e) = applied.error {
                return Err(e);
            }
            match events.last() {
                Some(last) if keep == events.len() && events.len() == self.page_size => {
                    after = last.position
                }
                _ => return Ok(state),
            }
        }
    }
}

#[cfg(test)]
mod tests;
