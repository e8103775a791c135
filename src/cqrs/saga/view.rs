//! [`SagaView`]: a saga's state as its step functions and the app see it, with steps named
//! instead of numbered (`results.reserve`, `compensated: ["reserve", "create"]`).

use serde_json::{Map, Value};

use super::{Failure, SagaShape, SagaState, SagaStatus};
use crate::error::Result;

/// What a saga's step functions and `sagaState` see: `{ id, input, results: { stepName:
/// result }, status, ... }`. The fields are in name order (the order a sorted map gave them);
/// serializing this struct to JSON text carries no map-building serializer into the wasm.
#[derive(Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SagaView<'a> {
    /// Steps compensated (or skipped), by name, in the order it happened.
    pub compensated: Vec<&'a str>,
    /// The last compensation error.
    pub compensation_error: &'a Option<Failure>,
    /// The saga's conversation.
    pub correlation_id: &'a str,
    /// The failure that started the compensation.
    pub failure: &'a Option<Failure>,
    /// The saga id.
    pub id: &'a str,
    /// Its input.
    pub input: Value,
    /// When parked: the step whose compensation waits for the app.
    pub parked_step: Option<&'a str>,
    /// Results of the completed steps, by step name.
    pub results: Map<String, Value>,
    /// Where the saga is.
    pub status: SagaStatus,
    /// Its stream's version.
    pub version: u64,
}

impl SagaState {
    /// This state as its step functions see it: steps of `shape` by name.
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] if a stored result or the input is not JSON (never for
    /// what the runner recorded).
    pub fn view<'a>(&'a self, shape: &'a SagaShape) -> Result<SagaView<'a>> {
        let mut results = Map::new();
        for (i, step) in shape.steps.iter().enumerate() {
            if let Some(Some(r)) = self.results.get(i) {
                results.insert(step.name.clone(), r.decode::<Value>()?);
            }
        }
        let name = |i: usize| shape.steps.get(i).map(|s| s.name.as_str());
        Ok(SagaView {
            compensated: self.compensated.iter().filter_map(|i| name(*i)).collect(),
            compensation_error: &self.compensation_error,
            correlation_id: &self.correlation_id,
            failure: &self.failure,
            id: &self.id,
            input: self.input.decode::<Value>()?,
            parked_step: self.parked_step(shape).and_then(name),
            results,
            status: self.status,
            version: self.version.0,
        })
    }
}
