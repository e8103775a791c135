//! Which strategy resolves a stream's conflicts: the `conflicts` setting of a sync (one
//! strategy for all aggregates, or one per aggregate name) and the rule that a stream without a
//! decider to run cannot be rebased, only re-placed.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::Strategy;

/// The `conflicts` setting: a default strategy and the aggregates that differ from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflicts {
    /// For streams of aggregates not named below (and of no aggregate).
    pub default: Strategy,
    /// By aggregate name.
    pub per_aggregate: Vec<(String, Strategy)>,
}

impl Default for Conflicts {
    /// `rebase` for everything.
    fn default() -> Self {
        Conflicts {
            default: Strategy::Rebase,
            per_aggregate: Vec::new(),
        }
    }
}

impl Conflicts {
    /// The strategy for a stream of the aggregate named `owner` (`None`: the stream belongs to
    /// no defined aggregate, so there is no decider to rebase with and its events are
    /// re-placed instead).
    pub fn strategy(&self, owner: Option<&str>) -> Strategy {
        let configured = owner
            .and_then(|name| self.per_aggregate.iter().find(|(n, _)| n == name))
            .map_or(self.default, |(_, s)| *s);
        match (configured, owner) {
            (Strategy::Rebase, None) => Strategy::Append,
            (s, _) => s,
        }
    }
}

const EXPECTED: &str =
    "\"rebase\", \"append\" or \"manual\" (or an object of them by aggregate name)";

fn strategy<E: serde::de::Error>(name: &str) -> Result<Strategy, E> {
    match name {
        "rebase" => Ok(Strategy::Rebase),
        "append" => Ok(Strategy::Append),
        "manual" => Ok(Strategy::Manual),
        _ => Err(E::custom(format!("conflicts must be {EXPECTED}"))),
    }
}

/// One strategy name, as a value of the per-aggregate form.
struct Named(Strategy);

impl<'de> Deserialize<'de> for Named {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Named;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Named, E> {
                strategy(s).map(Named)
            }
        }
        d.deserialize_str(V)
    }
}

/// A strategy name for everything, or `{ aggregateName: strategy }` (the others rebase).
impl<'de> Deserialize<'de> for Conflicts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Conflicts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Conflicts, E> {
                Ok(Conflicts {
                    default: strategy(s)?,
                    per_aggregate: Vec::new(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Conflicts, A::Error> {
                let mut per_aggregate = Vec::new();
                while let Some((name, Named(s))) = map.next_entry::<String, Named>()? {
                    per_aggregate.push((name, s));
                }
                Ok(Conflicts {
                    default: Strategy::Rebase,
                    per_aggregate,
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> serde_json::Result<Conflicts> {
        serde_json::from_str(json)
    }

    #[test]
    fn one_strategy_or_one_per_aggregate() {
        let all = parse(r#""manual""#).unwrap();
        assert_eq!(all.strategy(Some("order")), Strategy::Manual);
        let per = parse(r#"{"cart":"append","order":"manual"}"#).unwrap();
        assert_eq!(per.strategy(Some("order")), Strategy::Manual);
        assert_eq!(per.strategy(Some("cart")), Strategy::Append);
        // Aggregates not named rebase.
        assert_eq!(per.strategy(Some("user")), Strategy::Rebase);
        assert_eq!(Conflicts::default().strategy(Some("x")), Strategy::Rebase);
    }

    #[test]
    fn no_decider_means_no_rebase() {
        assert_eq!(Conflicts::default().strategy(None), Strategy::Append);
        let manual = parse(r#""manual""#).unwrap();
        assert_eq!(manual.strategy(None), Strategy::Manual);
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad = [
            r#""merge""#,
            "5",
            r#"{"order":"merge"}"#,
            r#"{"order":1}"#,
            r#"{"order":{}}"#,
            "[]",
        ];
        for bad in bad {
            let e = parse(bad).unwrap_err().to_string();
            assert!(
                e.contains(r#""rebase", "append" or "manual""#),
                "{bad}: {e}"
            );
        }
    }
}
