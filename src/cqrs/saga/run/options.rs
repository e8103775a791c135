//! A saga's settings as callers spell them (`bus.saga({ compensationAttempts?, stepTimeoutMs?,
//! backoffMs?, maxBackoffMs? })`): the defaults in one place.

use serde::Deserialize;

use super::SagaPolicy;

/// Compensation attempts when a saga definition names none.
pub const DEFAULT_COMPENSATION_ATTEMPTS: u32 = 3;

/// The optional settings of a saga definition, deserialized from it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SagaOptions {
    /// Attempts of each compensation before the saga is reported stuck.
    pub compensation_attempts: Option<u32>,
    /// Time limit of one step or compensation command.
    pub step_timeout_ms: Option<u64>,
    /// Wait before retrying a failed compensation.
    pub backoff_ms: Option<u64>,
    /// The longest wait between compensation retries.
    pub max_backoff_ms: Option<u64>,
}

impl SagaOptions {
    /// [`SagaPolicy::default`], replaced by what these options give.
    pub fn policy(&self) -> SagaPolicy {
        let d = SagaPolicy::default();
        SagaPolicy {
            step_timeout_ms: self.step_timeout_ms.unwrap_or(d.step_timeout_ms),
            backoff_ms: self.backoff_ms.unwrap_or(d.backoff_ms),
            max_backoff_ms: self.max_backoff_ms.unwrap_or(d.max_backoff_ms),
        }
    }

    /// Compensation attempts (default [`DEFAULT_COMPENSATION_ATTEMPTS`]).
    pub fn compensation_attempts(&self) -> u32 {
        self.compensation_attempts
            .unwrap_or(DEFAULT_COMPENSATION_ATTEMPTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let none: SagaOptions = serde_json::from_str("{}").unwrap();
        assert_eq!(none.policy(), SagaPolicy::default());
        assert_eq!(none.compensation_attempts(), 3);
        let some: SagaOptions = serde_json::from_str(
            r#"{"compensationAttempts":0,"stepTimeoutMs":7,"backoffMs":8,"maxBackoffMs":9}"#,
        )
        .unwrap();
        let p = some.policy();
        assert_eq!(
            (p.step_timeout_ms, p.backoff_ms, p.max_backoff_ms),
            (7, 8, 9)
        );
        assert_eq!(some.compensation_attempts(), 0);
        assert!(
            serde_json::from_str::<SagaOptions>(r#"{"compensationAttempts":4294967296}"#).is_err()
        );
    }
}
