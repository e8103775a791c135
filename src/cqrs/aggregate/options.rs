//! An aggregate's settings as callers spell them (`store.aggregate({ ... })` and
//! `bus.registerAggregate(...)` in JavaScript): one parser and the rules between the fields,
//! here rather than in each binding.

use serde::Deserialize;

use super::{AggregateConfig, SnapshotPolicy};
use crate::error::{Error, Result};

/// The optional settings of an aggregate definition (`snapshotEvery`, `snapshotAfter`,
/// `snapshotVersion`, `maxRetries`), deserialized from the definition object; the functions
/// and the name are the binding's to read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregateOptions {
    /// Take a snapshot whenever the version crosses a multiple of this (0: never).
    pub snapshot_every: Option<u64>,
    /// Take a snapshot after enough events and time (not with `snapshot_every`).
    pub snapshot_after: Option<SnapshotAfter>,
    /// The shape version of snapshot states (default 1).
    pub snapshot_version: Option<u32>,
    /// Reloads and decisions after a concurrent append (default 3).
    pub max_retries: Option<u32>,
}

/// `snapshotAfter: { events, ms }`: both conditions must hold (see [`SnapshotPolicy::After`]).
#[derive(Debug, Default, Deserialize)]
pub struct SnapshotAfter {
    /// Events appended since the last snapshot (default 1; 0 counts as 1).
    pub events: Option<u64>,
    /// Milliseconds since the last snapshot (default 0).
    pub ms: Option<u64>,
}

impl AggregateOptions {
    /// The snapshot policy these options ask for.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when both `snapshot_every` and `snapshot_after` are given.
    pub fn snapshot_policy(&self) -> Result<SnapshotPolicy> {
        let every = self.snapshot_every.filter(|n| *n > 0);
        match (&self.snapshot_after, every) {
            (None, every) => Ok(every.map_or(SnapshotPolicy::Never, SnapshotPolicy::Every)),
            (Some(_), Some(_)) => Err(Error::invalid(
                "pass either snapshotEvery or snapshotAfter, not both",
            )),
            (Some(after), None) => Ok(SnapshotPolicy::After {
                events: after.events.unwrap_or(1).max(1),
                millis: after.ms.unwrap_or(0),
            }),
        }
    }

    /// The configuration of aggregate `name`: [`AggregateConfig::new`]'s defaults, replaced by
    /// what these options give.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] as [`AggregateOptions::snapshot_policy`].
    pub fn config(&self, name: impl Into<String>) -> Result<AggregateConfig> {
        let mut config = AggregateConfig::new(name);
        config.snapshot = self.snapshot_policy()?;
        if let Some(v) = self.snapshot_version {
            config.snapshot_version = v;
        }
        if let Some(r) = self.max_retries {
            config.max_retries = r;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> AggregateOptions {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn defaults_and_overrides() {
        let d = parse("{}").config("order").unwrap();
        assert_eq!(d, AggregateConfig::new("order"));
        let c = parse(r#"{"snapshotEvery":50,"snapshotVersion":4,"maxRetries":0}"#)
            .config("order")
            .unwrap();
        assert_eq!(c.snapshot, SnapshotPolicy::Every(50));
        assert_eq!((c.snapshot_version, c.max_retries), (4, 0));
        // snapshotEvery: 0 means never, as absent does.
        let zero = parse(r#"{"snapshotEvery":0}"#).snapshot_policy().unwrap();
        assert_eq!(zero, SnapshotPolicy::Never);
    }

    #[test]
    fn snapshot_after_defaults_and_exclusivity() {
        let after = parse(r#"{"snapshotAfter":{"events":0}}"#);
        assert_eq!(
            after.snapshot_policy().unwrap(),
            SnapshotPolicy::After {
                events: 1,
                millis: 0
            }
        );
        let both = parse(r#"{"snapshotEvery":2,"snapshotAfter":{"events":2,"ms":0}}"#);
        assert_eq!(both.config("x").unwrap_err().code(), "INVALID_INPUT");
        // Shapes serde refuses (the binding reports them as INVALID_INPUT naming the field).
        assert!(serde_json::from_str::<AggregateOptions>(r#"{"snapshotAfter":5}"#).is_err());
        assert!(serde_json::from_str::<AggregateOptions>(r#"{"maxRetries":-1}"#).is_err());
        assert!(
            serde_json::from_str::<AggregateOptions>(r#"{"snapshotVersion":4294967296}"#).is_err()
        );
    }
}
