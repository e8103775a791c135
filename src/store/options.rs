//! Options of reads.

use serde::{Deserialize, Serialize};

use crate::core::event::{EventType, Position, RecordedEvent, Version};
use crate::core::object::or_default;

/// Reading order of [`read_stream`](super::EventStore::read_stream).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Oldest first.
    #[default]
    Forward,
    /// Newest first.
    Backward,
}

/// Options of [`read_stream`](super::EventStore::read_stream) (`readStream` in JavaScript:
/// `{ from?, limit?, direction? }`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ReadStreamOptions {
    /// First version to return. Forward: defaults to 1 (0 is the same as 1). Backward: defaults
    /// to the stream's last version; versions above it are clamped to it.
    pub from: Option<Version>,
    /// Most events to return; `None` returns all.
    pub limit: Option<usize>,
    /// Reading order.
    #[serde(deserialize_with = "or_default")]
    pub direction: Direction,
}

impl ReadStreamOptions {
    /// The version range `[lo, hi]` this read covers in a stream at `current`, in reading
    /// order, or `None` if it covers nothing.
    pub fn range(&self, current: Version) -> Option<(u64, u64)> {
        let limit = self.limit.map(|l| l as u64).unwrap_or(u64::MAX);
        if limit == 0 || current.0 == 0 {
            return None;
        }
        match self.direction {
            Direction::Forward => {
                let lo = self.from.map(|v| v.0.max(1)).unwrap_or(1);
                if lo > current.0 {
                    return None;
                }
                Some((lo, current.0.min(lo.saturating_add(limit - 1))))
            }
            Direction::Backward => {
                let hi = self.from.map(|v| v.0.min(current.0)).unwrap_or(current.0);
                if hi == 0 {
                    return None;
                }
                Some((hi.saturating_sub(limit - 1).max(1), hi))
            }
        }
    }
}

/// Which events a [`read_all`](super::EventStore::read_all) or a subscription keeps
/// (`{ streamPrefix?: string | string[], types?: string[] }` in JavaScript).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct EventFilter {
    /// Keep events whose stream starts with one of these prefixes (all when empty).
    #[serde(rename = "streamPrefix", deserialize_with = "prefixes")]
    pub stream_prefixes: Vec<String>,
    /// Keep events of these types (all when `None`).
    #[serde(deserialize_with = "crate::core::object::array")]
    pub types: Option<Vec<EventType>>,
}

impl EventFilter {
    /// Whether the filter keeps every event.
    pub fn is_empty(&self) -> bool {
        self.stream_prefixes.is_empty() && self.types.is_none()
    }

    /// Whether `event` passes the filter.
    pub fn matches(&self, event: &RecordedEvent) -> bool {
        self.matches_parts(event.stream.as_str(), event.event_type.as_str())
    }

    /// Whether an event of `stream` and `event_type` passes the filter.
    pub fn matches_parts(&self, stream: &str, event_type: &str) -> bool {
        (self.stream_prefixes.is_empty()
            || self
                .stream_prefixes
                .iter()
                .any(|p| stream.starts_with(p.as_str())))
            && self
                .types
                .as_ref()
                .is_none_or(|ts| ts.iter().any(|t| t.as_str() == event_type))
    }
}

/// Options of [`read_all`](super::EventStore::read_all) (`readAll` in JavaScript: `{ after?,
/// limit?, filter? }`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ReadAllOptions {
    /// Return events with a position strictly greater than this (0 reads from the start).
    #[serde(deserialize_with = "or_default")]
    pub after: Position,
    /// Most events to return; `None` returns all.
    pub limit: Option<usize>,
    /// Which events to keep.
    #[serde(deserialize_with = "or_default")]
    pub filter: EventFilter,
}

/// `streamPrefix`: one prefix or several (`null`: none).
fn prefixes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or an array of strings")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Vec<String>, E> {
            Ok(vec![s.to_owned()])
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(p) = seq.next_element()? {
                out.push(p);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(from: Option<u64>, limit: Option<usize>, direction: Direction) -> ReadStreamOptions {
        ReadStreamOptions {
            from: from.map(Version),
            limit,
            direction,
        }
    }

    #[test]
    fn ranges() {
        let f = Direction::Forward;
        let b = Direction::Backward;
        assert_eq!(opts(None, None, f).range(Version(5)), Some((1, 5)));
        assert_eq!(opts(Some(0), Some(2), f).range(Version(5)), Some((1, 2)));
        assert_eq!(opts(Some(4), Some(10), f).range(Version(5)), Some((4, 5)));
        assert_eq!(opts(Some(6), None, f).range(Version(5)), None);
        assert_eq!(opts(None, Some(0), f).range(Version(5)), None);
        assert_eq!(opts(None, None, f).range(Version(0)), None);
        assert_eq!(opts(None, Some(2), b).range(Version(5)), Some((4, 5)));
        assert_eq!(opts(Some(9), Some(2), b).range(Version(5)), Some((4, 5)));
        assert_eq!(opts(Some(2), None, b).range(Version(5)), Some((1, 2)));
        assert_eq!(opts(Some(0), None, b).range(Version(5)), None);
    }
}
