//! [`NameMap`]: a map from names to values, kept as a `Vec` sorted by name.
//!
//! The pending set holds a few entries per stream that has offline edits, so a sorted `Vec`
//! is as fast as a tree here, and it keeps the wasm small: every `BTreeMap<K, V>` type adds
//! its own copy of the tree code to the npm package (about 3 KiB gzip each). On the wire and
//! in storage it is the same JSON object a `BTreeMap<String, V>` writes: keys in sorted order;
//! reading one, a repeated key keeps its last value.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Values by name, iterated in name order (byte-wise, as `String`'s `Ord`).
#[derive(Clone, Debug, PartialEq)]
pub struct NameMap<V>(Vec<(String, V)>);

impl<V> Default for NameMap<V> {
    fn default() -> Self {
        NameMap(Vec::new())
    }
}

impl<V> NameMap<V> {
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(name))
    }

    /// The value under `name`.
    pub fn get(&self, name: &str) -> Option<&V> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    /// The value under `name`, to change.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut V> {
        self.find(name).ok().map(|i| &mut self.0[i].1)
    }

    /// The value under `name`, first inserting `make()` if there is none.
    pub fn get_or_insert_with(&mut self, name: &str, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(name) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (name.to_owned(), make()));
                i
            }
        };
        &mut self.0[i].1
    }

    /// Puts `value` under `name`; answers the value it replaces.
    pub fn insert(&mut self, name: String, value: V) -> Option<V> {
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (name, value));
                None
            }
        }
    }

    /// Takes the value under `name` out.
    pub fn remove(&mut self, name: &str) -> Option<V> {
        self.find(name).ok().map(|i| self.0.remove(i).1)
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The entries in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    /// The values, in name order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }

    /// The values, in name order, to change.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.0.iter_mut().map(|(_, v)| v)
    }
}

impl<V> std::ops::Index<&str> for NameMap<V> {
    type Output = V;

    /// The value under `name`.
    ///
    /// # Panics
    /// If there is none (as `BTreeMap`'s indexing).
    fn index(&self, name: &str) -> &V {
        match self.get(name) {
            Some(v) => v,
            None => panic!("no entry named {name:?}"),
        }
    }
}

impl<V: Serialize> Serialize for NameMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for NameMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = NameMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<NameMap<V>, A::Error> {
                let mut map = NameMap::default();
                while let Some((k, v)) = access.next_entry::<String, V>()? {
                    map.insert(k, v);
                }
                Ok(map)
            }
        }
        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn reads_and_writes_the_json_of_a_btree_map() {
        let text = r#"{"b":2,"a":1,"c":3,"a":4}"#;
        let ours: NameMap<u32> = serde_json::from_str(text).unwrap();
        let tree: BTreeMap<String, u32> = serde_json::from_str(text).unwrap();
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&tree).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            r#"{"a":4,"b":2,"c":3}"#
        );
        assert!(serde_json::from_str::<NameMap<u32>>("[]").is_err());
        assert!(serde_json::from_str::<NameMap<u32>>(r#"{"a":"x"}"#).is_err());
    }

    #[test]
    fn keeps_names_sorted_and_unique() {
        let mut m = NameMap::default();
        assert_eq!(m.insert("m".into(), 1), None);
        *m.get_or_insert_with("b", || 0) += 5;
        *m.get_or_insert_with("m", || 0) += 5;
        assert_eq!(m.insert("z".into(), 3), None);
        assert_eq!(m.insert("z".into(), 4), Some(3));
        assert_eq!(m.keys().cloned().collect::<Vec<_>>(), ["b", "m", "z"]);
        assert_eq!(m.values().copied().collect::<Vec<_>>(), [5, 6, 4]);
        assert_eq!((m.len(), m["m"], m.get("x")), (3, 6, None));
        assert_eq!(m.remove("m"), Some(6));
        assert_eq!(m.remove("m"), None);
        m.values_mut().for_each(|v| *v = 0);
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            [(&"b".to_owned(), &0), (&"z".to_owned(), &0)]
        );
        assert!(!m.is_empty());
    }
}
