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

use crate::error::{Error, Result};

/// A JSON value held as validated, compact text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Json(Arc<str>);

impl Json {
    /// Validates JSON text and keeps it as given.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `text` is not one well-formed JSON value.
    pub fn parse(text: impl Into<String>) -> Result<Self> {
        let text: String = text.into();
        serde_json::from_str::<IgnoredAny>(&text)
            .map_err(|e| Error::invalid(format!("not valid JSON: {e}")))?;
        Ok(Json(text.trim().into()))
    }

    /// Serializes any `Serialize` value.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the value cannot be represented as JSON (for example a map
    /// with non-string keys).
    pub fn from_value<T: Serialize + ?Sized>(value: &T) -> Result<Self> {
        serde_json::to_string(value)
            .map(|s| Json(s.into()))
            .map_err(|e| Error::invalid(format!("not representable as JSON: {e}")))
    }

    /// Text already produced by a JSON serializer this crate controls (the engine's own
    /// `JSON.stringify` call on the JavaScript side, or a payload rebuilt from validated
    /// parts). Not validated again.
    pub(crate) fn trusted(text: impl Into<Arc<str>>) -> Self {
        Json(text.into())
    }

    /// Deserializes the payload into `T`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the JSON does not have `T`'s shape.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.0)
            .map_err(|e| Error::invalid(format!("payload does not match the expected shape: {e}")))
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
