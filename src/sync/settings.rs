//! What an application gives `store.sync(options)`, read by one rule for every binding:
//! `{ url, token?, scope?, conflicts?, pollIntervalMs?, pullLimit? }` becomes the settings of
//! the [`SyncClient`](crate::sync::client::SyncClient) and its
//! [`Scheduler`](crate::sync::scheduler::Scheduler). The URL is `http://` or `https://` (a
//! trailing `/` is dropped) and required, `pollIntervalMs` a number of milliseconds up to `u32::MAX`,
//! `pullLimit` a positive integer; anything else is `INVALID_INPUT` naming the field.

use std::num::NonZeroU32;
use std::time::Duration;

use serde::Deserialize;

use crate::sync::client::{Conflicts, SyncOptions};
use crate::sync::scheduler::Config;

/// The options as written, before their rules are checked.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Written {
    /// Required, so that a field read alone (to name the one that is wrong) fails only as
    /// "missing field `url`", which names no field.
    url: String,
    token: Option<String>,
    #[serde(default, deserialize_with = "crate::core::object::array")]
    scope: Option<Vec<String>>,
    conflicts: Option<Conflicts>,
    poll_interval_ms: Option<f64>,
    pull_limit: Option<NonZeroU32>,
}

/// The settings of one store's sync. Deserializes from the options an application writes
/// (camelCase field names), checking the rules of the module documentation.
#[derive(Debug, Deserialize)]
#[serde(try_from = "Written")]
pub struct SyncSettings {
    /// The server's base URL, without a trailing `/`.
    pub url: String,
    /// The bearer token sent with every request, if any.
    pub token: Option<String>,
    /// The stream prefixes this store syncs (empty: every stream the token may read).
    pub scope: Vec<String>,
    /// How held streams are reconciled, by aggregate.
    pub conflicts: Conflicts,
    /// The client's tuning (`pullLimit`).
    pub client: SyncOptions,
    /// The scheduler's timing (`pollIntervalMs`).
    pub scheduler: Config,
}

impl TryFrom<Written> for SyncSettings {
    /// What is wrong: the deserializer's error message, which the caller makes `INVALID_INPUT`.
    type Error = String;

    fn try_from(w: Written) -> Result<SyncSettings, String> {
        let url = w.url;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "url must start with http:// or https://, got {url:?}"
            ));
        }
        let mut client = SyncOptions::default();
        if let Some(n) = w.pull_limit {
            client.pull_limit = n.get();
        }
        let mut scheduler = Config::default();
        if let Some(ms) = w.poll_interval_ms {
            if !(0.0..=f64::from(u32::MAX)).contains(&ms) {
                return Err("pollIntervalMs must be a number of milliseconds".into());
            }
            scheduler.poll_interval = Duration::from_millis(ms as u64);
        }
        Ok(SyncSettings {
            url: url.trim_end_matches('/').to_owned(),
            token: w.token,
            scope: w.scope.unwrap_or_default(),
            conflicts: w.conflicts.unwrap_or_default(),
            client,
            scheduler,
        })
    }
}

impl SyncSettings {
    /// The name of the Web Lock (and `BroadcastChannel`) that one tab of a store holds while
    /// it syncs in the background: per durable store, or per server URL for an in-memory one.
    pub fn lock_name(&self, durable_name: Option<&str>) -> String {
        format!("eventfold-sync:{}", durable_name.unwrap_or(&self.url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<SyncSettings, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_the_url_without_its_trailing_slash() {
        let s = read(r#"{"url":"https://sync.example/"}"#).unwrap();
        assert_eq!(s.url, "https://sync.example");
        assert_eq!((s.token.as_deref(), s.scope.len()), (None, 0));
        assert_eq!(s.client.pull_limit, SyncOptions::default().pull_limit);
        assert_eq!(s.scheduler.poll_interval, Config::default().poll_interval);
        assert_eq!(s.lock_name(None), "eventfold-sync:https://sync.example");
        assert_eq!(s.lock_name(Some("shop")), "eventfold-sync:shop");
    }

    #[test]
    fn every_option_is_read() {
        let s = read(
            r#"{"url":"http://127.0.0.1:8787","token":"t","scope":["order-","cart-"],
                "pollIntervalMs":250,"pullLimit":100,"conflicts":"manual"}"#,
        )
        .unwrap();
        assert_eq!(s.token.as_deref(), Some("t"));
        assert_eq!(s.scope, ["order-", "cart-"]);
        assert_eq!(s.scheduler.poll_interval, Duration::from_millis(250));
        assert_eq!(s.client.pull_limit, 100);
        assert_ne!(s.conflicts, Conflicts::default());
    }

    #[test]
    fn bad_options_are_refused() {
        for (json, says) in [
            (r#"{}"#, "missing field `url`"),
            (
                r#"{"url":"ftp://x"}"#,
                "url must start with http:// or https://, got \"ftp://x\"",
            ),
            (
                r#"{"url":"http://x","pollIntervalMs":-1}"#,
                "pollIntervalMs must be",
            ),
            (
                r#"{"url":"http://x","pollIntervalMs":5e9}"#,
                "pollIntervalMs must be",
            ),
            (r#"{"url":"http://x","pullLimit":0}"#, "nonzero"),
            (r#"{"url":"http://x","scope":"order-"}"#, "an array"),
        ] {
            let e = read(json).unwrap_err();
            assert!(e.contains(says), "{json}: {e}");
        }
    }
}
