//! A read-model query as an application writes it (`{ index, equals }` or `{ index, range: {
//! gte, lt } }`, plus `limit` and `reverse`), read into an [`IndexQuery`] by one rule for
//! every caller: `equals` selects one key, a range takes at most one lower (`gte` or `gt`) and
//! one upper (`lte` or `lt`) bound, and keys are strings or finite numbers.

use serde::Deserialize;

use super::{Bound, IndexKey, IndexQuery, IndexRange};
use crate::error::{Error, Result};

/// `{ index, equals?, range?, limit?, reverse? }` before its rules are checked.
#[derive(Deserialize)]
pub(super) struct QueryOptions {
    index: String,
    equals: Option<KeyOption>,
    range: Option<RangeOptions>,
    limit: Option<u64>,
    reverse: Option<bool>,
}

/// `range: { gt?, gte?, lt?, lte? }`.
#[derive(Deserialize)]
struct RangeOptions {
    gt: Option<KeyOption>,
    gte: Option<KeyOption>,
    lt: Option<KeyOption>,
    lte: Option<KeyOption>,
}

/// A key as given: a number (checked to be finite where it is used, to name the field) or a
/// string.
enum KeyOption {
    Number(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for KeyOption {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = KeyOption;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a finite number")
            }
            fn visit_f64<E>(self, n: f64) -> std::result::Result<KeyOption, E> {
                Ok(KeyOption::Number(n))
            }
            fn visit_i64<E>(self, n: i64) -> std::result::Result<KeyOption, E> {
                Ok(KeyOption::Number(n as f64))
            }
            fn visit_u64<E>(self, n: u64) -> std::result::Result<KeyOption, E> {
                Ok(KeyOption::Number(n as f64))
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<KeyOption, E> {
                Ok(KeyOption::Text(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> std::result::Result<KeyOption, E> {
                Ok(KeyOption::Text(s))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl KeyOption {
    fn key(self, what: &str) -> Result<IndexKey> {
        match self {
            KeyOption::Text(s) => Ok(IndexKey::Text(s)),
            KeyOption::Number(n) => IndexKey::number(n, what),
        }
    }
}

/// The bound `key` makes, if given (`open`: the key itself excluded).
fn bound(key: Option<KeyOption>, what: &str, open: bool) -> Result<Option<Bound>> {
    key.map(|k| {
        Ok(Bound {
            key: k.key(what)?,
            open,
        })
    })
    .transpose()
}

/// At most one of a closed and an open bound on the same side.
fn one_of(closed: Option<Bound>, open: Option<Bound>, names: &str) -> Result<Option<Bound>> {
    match (closed, open) {
        (Some(_), Some(_)) => Err(Error::invalid(format!("pass {names}, not both"))),
        (a, b) => Ok(a.or(b)),
    }
}

impl TryFrom<QueryOptions> for IndexQuery {
    /// What is wrong, as the message of the deserializer's error (whose caller makes it
    /// `INVALID_INPUT`).
    type Error = String;

    fn try_from(q: QueryOptions) -> std::result::Result<IndexQuery, String> {
        read(q).map_err(|e| match e {
            Error::InvalidInput { message } => message,
            other => other.to_string(),
        })
    }
}

fn read(q: QueryOptions) -> Result<IndexQuery> {
    let range = match (q.equals, q.range) {
        (Some(equals), _) => {
            let key = equals.key("equals")?;
            IndexRange {
                lower: Some(Bound {
                    key: key.clone(),
                    open: false,
                }),
                upper: Some(Bound { key, open: false }),
            }
        }
        (None, None) => IndexRange::default(),
        (None, Some(r)) => IndexRange {
            lower: one_of(
                bound(r.gte, "range.gte", false)?,
                bound(r.gt, "range.gt", true)?,
                "gte or gt",
            )?,
            upper: one_of(
                bound(r.lte, "range.lte", false)?,
                bound(r.lt, "range.lt", true)?,
                "lte or lt",
            )?,
        },
    };
    Ok(IndexQuery {
        index: q.index,
        range,
        limit: q.limit.map(|l| usize::try_from(l).unwrap_or(usize::MAX)),
        reverse: q.reverse.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(json: &str) -> Result<IndexQuery> {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        serde_json::from_value(value).map_err(|e| Error::invalid(e.to_string()))
    }

    fn key(n: f64) -> IndexKey {
        IndexKey::Number(n)
    }

    #[test]
    fn equals_selects_one_key_and_wins_over_a_range() {
        let q = query(r#"{"index":"status","equals":"open","range":{"gt":1},"limit":2}"#).unwrap();
        let b = Bound {
            key: IndexKey::Text("open".into()),
            open: false,
        };
        assert_eq!(q.range.lower, Some(b.clone()));
        assert_eq!(q.range.upper, Some(b));
        assert_eq!(
            (q.index.as_str(), q.limit, q.reverse),
            ("status", Some(2), false)
        );
    }

    #[test]
    fn a_range_takes_one_bound_per_side() {
        let q = query(r#"{"index":"total","range":{"gte":100,"lt":300},"reverse":true}"#).unwrap();
        assert_eq!(
            q.range.lower,
            Some(Bound {
                key: key(100.0),
                open: false
            })
        );
        assert_eq!(
            q.range.upper,
            Some(Bound {
                key: key(300.0),
                open: true
            })
        );
        assert!(q.reverse && q.limit.is_none());
        let q = query(r#"{"index":"total","range":{"gt":1}}"#).unwrap();
        assert_eq!(
            q.range.lower,
            Some(Bound {
                key: key(1.0),
                open: true
            })
        );
        assert_eq!(q.range.upper, None);
        assert_eq!(
            query(r#"{"index":"i"}"#).unwrap().range,
            IndexRange::default()
        );

        for (json, message) in [
            (
                r#"{"index":"i","range":{"gt":1,"gte":2}}"#,
                "pass gte or gt, not both",
            ),
            (
                r#"{"index":"i","range":{"lt":1,"lte":2}}"#,
                "pass lte or lt, not both",
            ),
        ] {
            let e = query(json).unwrap_err();
            assert_eq!(e.to_string(), format!("invalid input: {message}"));
        }
    }

    #[test]
    fn keys_are_strings_or_finite_numbers() {
        for bad in [
            r#"{"index":"i","equals":true}"#,
            r#"{"index":"i","range":{"lt":[1]}}"#,
        ] {
            let e = query(bad).unwrap_err();
            assert!(e.to_string().contains("a string or a finite number"), "{e}");
        }
        let e = read(QueryOptions {
            index: "i".into(),
            equals: Some(KeyOption::Number(f64::NAN)),
            range: None,
            limit: None,
            reverse: None,
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid input: equals must be a string or a finite number"
        );
        assert!(query(r#"{"equals":1}"#)
            .unwrap_err()
            .to_string()
            .contains("index"));
    }
}
