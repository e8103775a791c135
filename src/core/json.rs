//! JSON payloads kept as validated text.
//!
//! Event data and metadata are stored, compared and shipped as JSON text: an append from
//! JavaScript runs the engine's `JSON.stringify` once, a read runs `JSON.parse` once per batch,
//! and nothing is converted field by field across the wasm boundary. Two payloads are the same
//! content when their texts are byte-identical.

use std::fmt;
use std::sync::Arc;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::core::invalid::{Invalid, Result};

/// Deepest nesting of arrays and objects accepted in event data and metadata (`[[1]]` is depth
/// 2). JavaScript's `JSON.stringify` and most parsers recurse, so deeper values could be stored
/// but not read back everywhere.
pub const MAX_JSON_DEPTH: usize = 64;

/// Checks that JSON text travels between Rust, JavaScript and the databases without change:
/// nesting at most [`MAX_JSON_DEPTH`] deep, and every number one that a JavaScript `number`
/// (an IEEE 754 double) holds: no overflow to infinity (`1e400`), no non-zero number rounding
/// to zero (`1e-400`), and integers written without a fraction or exponent exact
/// (`9007199254740993` would read back as `9007199254740992`). Fractions are rounded to the
/// nearest double as every JSON parser does.
///
/// `text` must be well-formed JSON (this only scans it).
///
/// # Errors
/// [`Invalid`] naming the first problem.
pub fn check_portable(text: &str) -> Result<()> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(Invalid::new(format!(
                        "JSON nests deeper than {MAX_JSON_DEPTH} arrays and objects"
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i + 1 < bytes.len()
                    && matches!(bytes[i + 1], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                check_number(&text[start..=i])?;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

fn check_number(n: &str) -> Result<()> {
    let digits = n.trim_start_matches('-');
    let integer = !n.contains(['.', 'e', 'E']);
    // Up to 15 digits every integer is exact: the common case needs no parsing.
    if integer && digits.len() <= 15 {
        return Ok(());
    }
    let refuse = |why: &str| Err(Invalid::new(format!("the number {n} {why}")));
    let Ok(value) = n.parse::<f64>() else {
        return refuse("is not a number");
    };
    if !value.is_finite() {
        return refuse("is too large for a JavaScript number (it would read back as Infinity)");
    }
    let mantissa = digits.split(['e', 'E']).next().unwrap_or("");
    if value == 0.0 && mantissa.bytes().any(|b| matches!(b, b'1'..=b'9')) {
        return refuse("is too small for a JavaScript number (it would read back as 0)");
    }
    if integer {
        let exact = n
            .parse::<i128>()
            .is_ok_and(|i| value as i128 == i && value.abs() < 1e38);
        if !exact {
            return refuse(
                "is an integer a JavaScript number cannot hold exactly (beyond 2^53 only some are); send it as a string",
            );
        }
    }
    Ok(())
}

/// A JSON value held as validated, compact text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Json(Arc<str>);

impl Json {
    /// Validates JSON text and keeps it as given.
    ///
    /// # Errors
    /// [`Invalid`] if `text` is not one well-formed JSON value.
    pub fn parse(text: impl AsRef<str>) -> Result<Self> {
        Self::parse_str(text.as_ref())
    }

    /// [`parse`](Self::parse), compiled once.
    fn parse_str(text: &str) -> Result<Self> {
        serde_json::from_str::<IgnoredAny>(text)
            .map_err(|e| Invalid::new(format!("not valid JSON: {e}")))?;
        Ok(Json(text.trim().into()))
    }

    /// Serializes any `Serialize` value.
    ///
    /// # Errors
    /// [`Invalid`] if the value cannot be represented as JSON (for example a map
    /// with non-string keys).
    pub fn from_value<T: Serialize + ?Sized>(value: &T) -> Result<Self> {
        serde_json::to_string(value)
            .map(|s| Json(s.into()))
            .map_err(|e| Invalid::new(format!("not representable as JSON: {e}")))
    }

    /// Text already produced by a JSON serializer this crate controls (the engine's own
    /// `JSON.stringify` call on the JavaScript side, or a payload rebuilt from validated
    /// parts). Not validated again. (Its callers are the bindings, sync and sagas: a native build
    /// with neither feature has none.)
    #[cfg_attr(
        not(any(target_arch = "wasm32", feature = "sync", feature = "bus")),
        allow(dead_code)
    )]
    pub(crate) fn trusted(text: impl Into<Arc<str>>) -> Self {
        Json(text.into())
    }

    /// Deserializes the payload into `T`.
    ///
    /// # Errors
    /// [`Invalid`] if the JSON does not have `T`'s shape.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.0)
            .map_err(|e| Invalid::new(format!("payload does not match the expected shape: {e}")))
    }

    /// `null`.
    pub fn null() -> Self {
        Json("null".into())
    }

    /// `{}`.
    pub fn empty_object() -> Self {
        Json("{}".into())
    }

    /// Whether the value is a JSON object.
    pub fn is_object(&self) -> bool {
        self.0.starts_with('{')
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Json({})", &*self.0)
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Serializes as the JSON value itself (not as a string), with `serde_json`.
impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match RawValue::from_string(self.0.to_string()) {
            Ok(raw) => raw.serialize(serializer),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

/// Deserializes any JSON value, keeping its text (with `serde_json`, from a `&str` or `&[u8]`:
/// the text is borrowed from the input and copied once).
impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(deserializer)?;
        Ok(Json(raw.get().into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_json_refuses_what_does_not_round_trip() {
        for ok in [
            "0",
            "-0",
            "1.5e300",
            "9007199254740991",
            "-9007199254740991",
            "1152921504606846976",
            "0.1",
            "1e-300",
            "0e-999",
            r#"{"a":[1,2,{"b":"1e400 \\\" [[[["}],"c":-12.5E+3}"#,
        ] {
            assert!(check_portable(ok).is_ok(), "{ok}");
        }
        let deep_ok = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH),
            "]".repeat(MAX_JSON_DEPTH)
        );
        assert!(check_portable(&deep_ok).is_ok());
        let deep = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH + 1),
            "]".repeat(MAX_JSON_DEPTH + 1)
        );
        for bad in [
            "1e400",
            "-1e400",
            "[1e400]",
            r#"{"x":1E999}"#,
            "1e-400",
            "9007199254740993",
            "12345678901234567890",
            "123456789012345678901234567890123456789012",
            deep.as_str(),
        ] {
            let e = check_portable(bad).unwrap_err();
            assert_eq!(
                crate::error::Error::from(e).code(),
                "INVALID_INPUT",
                "{bad}"
            );
        }
    }

    #[test]
    fn parse_validates_and_keeps_text() {
        let j = Json::parse(r#" {"b":1,"a":[true,null,"ü"]} "#).unwrap();
        assert_eq!(j.as_str(), r#"{"b":1,"a":[true,null,"ü"]}"#);
        assert!(j.is_object());
        assert!(Json::parse("{").is_err());
        assert!(Json::parse("1 2").is_err());
        assert!(Json::parse("NaN").is_err());
    }

    #[test]
    fn serde_embeds_raw_json() {
        #[derive(Serialize, Deserialize)]
        struct W {
            data: Json,
        }
        let w: W = serde_json::from_str(r#"{"data":{"x":[1,2.5,"s"]}}"#).unwrap();
        assert_eq!(w.data.as_str(), r#"{"x":[1,2.5,"s"]}"#);
        assert_eq!(
            serde_json::to_string(&w).unwrap(),
            r#"{"data":{"x":[1,2.5,"s"]}}"#
        );
        let n: u32 = Json::parse("7").unwrap().decode().unwrap();
        assert_eq!(n, 7);
    }
}

/// Appends `s` to `out` as a JSON string literal (quoted and escaped).
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod write_tests {
    #[test]
    fn strings_are_escaped_like_serde_json() {
        for s in [
            "plain",
            "q\"b\\s",
            "nl\ncr\rtab\t",
            "\u{1}\u{1f}",
            "ü ✓ 🎉",
            "",
        ] {
            let mut out = String::new();
            super::write_string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
        }
    }
}
