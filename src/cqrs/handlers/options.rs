//! A side-effect handler's retry settings as callers spell them (`bus.on({ maxAttempts?,
//! backoffMs?, maxBackoffMs?, timeoutMs?, pageSize? })`): the defaults and rules in one place.

use serde::Deserialize;

use super::HandlerPolicy;

/// The optional settings of an event handler definition, deserialized from it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandlerOptions {
    /// Attempts before an event is dead-lettered.
    pub max_attempts: Option<u32>,
    /// Wait before the first retry.
    pub backoff_ms: Option<u64>,
    /// The longest wait between retries.
    pub max_backoff_ms: Option<u64>,
    /// Time limit of one call.
    pub timeout_ms: Option<u64>,
    /// Events read per page (0 counts as 1).
    pub page_size: Option<u64>,
}

impl HandlerOptions {
    /// [`HandlerPolicy::default`], replaced by what these options give.
    pub fn policy(&self) -> HandlerPolicy {
        let d = HandlerPolicy::default();
        HandlerPolicy {
            max_attempts: self.max_attempts.unwrap_or(d.max_attempts),
            backoff_ms: self.backoff_ms.unwrap_or(d.backoff_ms),
            max_backoff_ms: self.max_backoff_ms.unwrap_or(d.max_backoff_ms),
            timeout_ms: self.timeout_ms.unwrap_or(d.timeout_ms),
            page_size: self.page_size.map_or(d.page_size, |n| {
                usize::try_from(n.max(1)).unwrap_or(d.page_size)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let none: HandlerOptions = serde_json::from_str("{}").unwrap();
        assert_eq!(none.policy(), HandlerPolicy::default());
        let some: HandlerOptions = serde_json::from_str(
            r#"{"maxAttempts":2,"backoffMs":5,"maxBackoffMs":50,"timeoutMs":9,"pageSize":0}"#,
        )
        .unwrap();
        let p = some.policy();
        assert_eq!(
            (
                p.max_attempts,
                p.backoff_ms,
                p.max_backoff_ms,
                p.timeout_ms,
                p.page_size
            ),
            (2, 5, 50, 9, 1)
        );
        assert!(serde_json::from_str::<HandlerOptions>(r#"{"maxAttempts":-1}"#).is_err());
        assert!(serde_json::from_str::<HandlerOptions>(r#"{"maxAttempts":4294967296}"#).is_err());
    }
}
