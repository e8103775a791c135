//! The optimistic-concurrency condition of an append.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::core::event::Version;
use crate::core::invalid::{Invalid, Result};

/// What the caller expects of a stream's version before its append.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist (version 0).
    NoStream,
    /// The stream must exist (version ≥ 1).
    Exists,
    /// The stream must be at exactly this version. `Exact(Version(0))` behaves as `NoStream`.
    Exact(Version),
}

impl ExpectedVersion {
    /// Whether a stream at `actual` satisfies this expectation.
    pub fn matches(self, actual: Version) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual.0 == 0,
            ExpectedVersion::Exists => actual.0 > 0,
            ExpectedVersion::Exact(v) => actual == v,
        }
    }

    /// Whether a batch that was recorded starting at `first` could have been appended under
    /// this expectation (used to recognise an idempotent retry).
    pub fn admits_first_version(self, first: Version) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => first.0 == 1,
            ExpectedVersion::Exists => first.0 > 1,
            ExpectedVersion::Exact(v) => first.0 == v.0 + 1,
        }
    }

    /// Parses the string forms `"any"`, `"no_stream"` and `"exists"`.
    ///
    /// # Errors
    /// [`Invalid`] for any other string.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "any" => Ok(ExpectedVersion::Any),
            "no_stream" => Ok(ExpectedVersion::NoStream),
            "exists" => Ok(ExpectedVersion::Exists),
            other => Err(Invalid::new(format!(
                "expectedVersion {other:?} is not \"any\", \"no_stream\", \"exists\" or a non-negative integer"
            ))),
        }
    }

    /// Converts a number (as JavaScript passes it): a non-negative integer.
    ///
    /// # Errors
    /// [`Invalid`] for negative, fractional, non-finite or unsafe integers.
    pub fn from_f64(n: f64) -> Result<Self> {
        const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
        if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= MAX_SAFE {
            Ok(ExpectedVersion::Exact(Version(n as u64)))
        } else {
            Err(Invalid::new(format!(
                "expectedVersion {} is not a non-negative integer",
                describe_number(n)
            )))
        }
    }
}

/// A short description of a number for error messages, without pulling float formatting into
/// the wasm build (it costs ~15 KB): integers print as integers, other values by their kind.
pub(crate) fn describe_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        "a fractional number".into()
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any"),
            ExpectedVersion::NoStream => f.write_str("no_stream"),
            ExpectedVersion::Exists => f.write_str("exists"),
            ExpectedVersion::Exact(v) => write!(f, "{v}"),
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum Repr {
    Number(u64),
    Name(String),
}

/// Serializes as JavaScript spells it: `"any"`, `"no_stream"`, `"exists"` or a number.
impl Serialize for ExpectedVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ExpectedVersion::Exact(v) => Repr::Number(v.0),
            other => Repr::Name(other.to_string()),
        }
        .serialize(s)
    }
}

/// Deserializes a non-negative integer or one of the names. A visitor rather than an untagged
/// enum: an untagged derive buffers the input first, and that code weighs ~3 KB in wasm.
impl<'de> Deserialize<'de> for ExpectedVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ExpectedVersion;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a non-negative integer, "any", "no_stream" or "exists""#)
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> std::result::Result<Self::Value, E> {
                Ok(ExpectedVersion::Exact(Version(n)))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> std::result::Result<Self::Value, E> {
                u64::try_from(n)
                    .map(|n| ExpectedVersion::Exact(Version(n)))
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(n), &self))
            }
            fn visit_str<E: serde::de::Error>(
                self,
                s: &str,
            ) -> std::result::Result<Self::Value, E> {
                ExpectedVersion::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_rules() {
        use ExpectedVersion::*;
        assert!(Any.matches(Version(0)) && Any.matches(Version(9)));
        assert!(NoStream.matches(Version(0)) && !NoStream.matches(Version(1)));
        assert!(!Exists.matches(Version(0)) && Exists.matches(Version(1)));
        assert!(Exact(Version(0)).matches(Version(0)));
        assert!(Exact(Version(3)).matches(Version(3)) && !Exact(Version(3)).matches(Version(4)));
    }

    #[test]
    fn parsing_rejects_malformed_values() {
        assert_eq!(ExpectedVersion::parse("any").unwrap(), ExpectedVersion::Any);
        assert!(ExpectedVersion::parse("Any").is_err());
        assert!(ExpectedVersion::from_f64(-1.0).is_err());
        assert!(ExpectedVersion::from_f64(1.5).is_err());
        assert!(ExpectedVersion::from_f64(f64::NAN).is_err());
        assert!(ExpectedVersion::from_f64(f64::INFINITY).is_err());
        assert_eq!(
            ExpectedVersion::from_f64(4.0).unwrap(),
            ExpectedVersion::Exact(Version(4))
        );
        let j = serde_json::to_string(&[
            ExpectedVersion::NoStream,
            ExpectedVersion::Exact(Version(2)),
        ])
        .unwrap();
        assert_eq!(j, r#"["no_stream",2]"#);
        let back: Vec<ExpectedVersion> = serde_json::from_str(&j).unwrap();
        assert_eq!(
            back,
            vec![
                ExpectedVersion::NoStream,
                ExpectedVersion::Exact(Version(2))
            ]
        );
        let all: Vec<ExpectedVersion> =
            serde_json::from_str(r#"["any","exists",0,18446744073709551615]"#).unwrap();
        assert_eq!(
            all,
            vec![
                ExpectedVersion::Any,
                ExpectedVersion::Exists,
                ExpectedVersion::Exact(Version(0)),
                ExpectedVersion::Exact(Version(u64::MAX))
            ]
        );
        for bad in [
            "-1",
            "1.5",
            "1e2",
            "18446744073709551616",
            r#""Any""#,
            "null",
            "true",
            "[]",
            "{}",
        ] {
            assert!(
                serde_json::from_str::<ExpectedVersion>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
