//! `Deserialize` for plain structs read only from JSON objects, without the array half.
//!
//! A derived `Deserialize` also reads a struct from a JSON array of its fields in order
//! (`visit_seq`), which none of our formats use; in the wasm build that half costs as much
//! code as the object half, per struct. [`object_deserialize!`] writes the object half only,
//! with the derived code's behaviour on objects: unknown fields ignored, a repeated field
//! `duplicate field`, an absent required one `missing field`, optional ones defaulted, and
//! the same error texts. An array is refused (`invalid type: sequence, expected struct …`).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Visitor};

/// A field name as read from a JSON object: borrowed from the input unless it had escapes.
/// One type for every struct, so the wasm carries one key reader.
pub(crate) struct FieldName<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for FieldName<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FieldName<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("field identifier")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<FieldName<'de>, E> {
                Ok(FieldName(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<FieldName<'de>, E> {
                Ok(FieldName(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<FieldName<'de>, E> {
                Ok(FieldName(Cow::Owned(s)))
            }
        }
        d.deserialize_identifier(V)
    }
}

/// Implements `Deserialize` for a struct with named fields, reading JSON objects only (see
/// the module docs). Each field is `name: Type = "json key"`, then `required` (absent: the
/// `missing field` error) or `default` (absent: `Default::default()`, what derive does for an
/// `Option` or a `#[serde(default)]` field). A struct borrowing from the input names its
/// lifetime: `object_deserialize!(Columns<'de> { ids: Cow<'de, str> = "ids" required, … })`.
///
/// ```ignore
/// object_deserialize!(Checkpoint {
///     store: StoreId = "store" required,
///     position: Position = "position" required,
/// });
/// ```
macro_rules! object_deserialize {
    ($ty:ident { $($fields:tt)+ }) => {
        $crate::core::object::object_deserialize!(@impl 'de, $ty, $ty, { $($fields)+ });
    };
    ($ty:ident<$lt:lifetime> { $($fields:tt)+ }) => {
        $crate::core::object::object_deserialize!(@impl $lt, $ty, $ty<$lt>, { $($fields)+ });
    };
    (@impl $lt:lifetime, $name:ident, $self_ty:ty,
        { $($field:ident : $fty:ty = $key:literal $mode:ident),+ $(,)? }) => {
        impl<$lt> ::serde::Deserialize<$lt> for $self_ty {
            fn deserialize<D: ::serde::Deserializer<$lt>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                struct V;
                impl<$lt> ::serde::de::Visitor<$lt> for V {
                    type Value = $self_ty;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("struct ", stringify!($name)))
                    }
                    fn visit_map<A: ::serde::de::MapAccess<$lt>>(
                        self,
                        mut map: A,
                    ) -> ::std::result::Result<$self_ty, A::Error> {
                        use ::serde::de::Error as _;
                        $(let mut $field: ::std::option::Option<$fty> = None;)+
                        while let Some(name) =
                            map.next_key::<$crate::core::object::FieldName<$lt>>()?
                        {
                            match &*name.0 {
                                $($key => {
                                    if $field.is_some() {
                                        return Err(A::Error::duplicate_field($key));
                                    }
                                    $field = Some(map.next_value()?);
                                })+
                                _ => {
                                    map.next_value::<::serde::de::IgnoredAny>()?;
                                }
                            }
                        }
                        Ok($name {
                            $($field: $crate::core::object::object_deserialize!(
                                @absent $field, $key, $mode, A
                            ),)+
                        })
                    }
                }
                deserializer.deserialize_struct(stringify!($name), &[$($key),+], V)
            }
        }
    };
    (@absent $field:ident, $key:literal, required, $a:ident) => {
        match $field {
            Some(v) => v,
            None => return Err(<$a::Error as ::serde::de::Error>::missing_field($key)),
        }
    };
    (@absent $field:ident, $key:literal, default, $a:ident) => {
        $field.unwrap_or_default()
    };
}

pub(crate) use object_deserialize;

/// `deserialize_with` for an option field whose `null` (or JavaScript `undefined`) means its
/// default, as an absent field does.
pub(crate) fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `deserialize_with` for an optional list that must be an array (`null`: `None`). Read with
/// `deserialize_any`, so a JavaScript string is refused rather than iterated.
pub(crate) fn array<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Option<Vec<T>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element()? {
                out.push(item);
            }
            Ok(Some(out))
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Deserialize)]
    struct Derived {
        #[serde(rename = "type")]
        kind: String,
        n: u64,
        #[serde(default)]
        list: Vec<u32>,
        opt: Option<bool>,
    }

    #[derive(Debug, PartialEq)]
    struct Derived2 {
        kind: String,
        n: u64,
        list: Vec<u32>,
        opt: Option<bool>,
    }
    object_deserialize!(Derived2 {
        kind: String = "type" required,
        n: u64 = "n" required,
        list: Vec<u32> = "list" default,
        opt: Option<bool> = "opt" default,
    });

    fn both(text: &str) -> (Result<Derived, String>, Result<Derived2, String>) {
        (
            serde_json::from_str(text).map_err(|e| e.to_string()),
            serde_json::from_str(text).map_err(|e| e.to_string().replace("Derived2", "Derived")),
        )
    }

    #[test]
    fn objects_read_as_derive_reads_them() {
        for text in [
            r#"{"type":"a","n":1}"#,
            r#"{"n":2,"x":[1,{"y":null}],"type":"b\"q","list":[3],"opt":true}"#,
            r#"{"t\u0079pe":"a","n":1,"opt":null}"#,
        ] {
            let (a, b) = both(text);
            let (a, b) = (a.unwrap(), b.unwrap());
            assert_eq!(
                (a.kind, a.n, a.list, a.opt),
                (b.kind, b.n, b.list, b.opt),
                "{text}"
            );
        }
    }

    #[test]
    fn errors_read_as_derive_words_them() {
        // (Derived2's name reads as Derived in its messages.)
        for text in [
            r#"{"n":1}"#,
            r#"{"type":"a","n":1,"n":2}"#,
            r#"{"type":"a","n":-1}"#,
            r#"{"type":1,"n":1}"#,
            r#"{"type":"a","n":1"#,
            r#""s""#,
            "7",
        ] {
            let (a, b) = both(text);
            assert_eq!(a.unwrap_err(), b.unwrap_err(), "{text}");
        }
        let (a, b) = both(r#"["a",1,[],null]"#);
        assert!(a.is_ok());
        assert_eq!(
            b.unwrap_err(),
            "invalid type: sequence, expected struct Derived at line 1 column 1"
        );
    }
}
