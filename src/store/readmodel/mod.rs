//! Storage of read models: keyed JSON records with secondary indexes, queried by index range
//! without loading the whole model. A read model's writes and its checkpoint commit together.

use std::cmp::Ordering;

use crate::core::json::Json;
use crate::error::Result;

mod query;

/// A value an index orders by: numbers sort before strings (as in IndexedDB).
#[derive(Clone, Debug, PartialEq)]
pub enum IndexKey {
    /// A finite number.
    Number(f64),
    /// A string.
    Text(String),
}

impl IndexKey {
    /// A number as an index value: finite only (NaN and the infinities do not order).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::error::Error::InvalidInput) naming `what`.
    pub fn number(n: f64, what: &str) -> Result<IndexKey> {
        if n.is_finite() {
            Ok(IndexKey::Number(n))
        } else {
            Err(crate::error::Error::invalid(format!(
                "{what} must be a string or a finite number"
            )))
        }
    }

    /// Total order: numbers (by value) before strings (by code units of their UTF-16 form,
    /// which matches IndexedDB for the BMP and byte order for ASCII).
    pub fn cmp_key(&self, other: &IndexKey) -> Ordering {
        match (self, other) {
            (IndexKey::Number(a), IndexKey::Number(b)) => a.total_cmp(b),
            (IndexKey::Number(_), IndexKey::Text(_)) => Ordering::Less,
            (IndexKey::Text(_), IndexKey::Number(_)) => Ordering::Greater,
            (IndexKey::Text(a), IndexKey::Text(b)) => a.encode_utf16().cmp(b.encode_utf16()),
        }
    }
}

/// One bound of an index range.
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    /// The bound's key.
    pub key: IndexKey,
    /// Whether the key itself is excluded.
    pub open: bool,
}

/// Which index entries a query reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IndexRange {
    /// Lower bound (none: from the start).
    pub lower: Option<Bound>,
    /// Upper bound (none: to the end).
    pub upper: Option<Bound>,
}

impl IndexRange {
    /// Whether `key` lies in the range.
    pub fn contains(&self, key: &IndexKey) -> bool {
        let above = self
            .lower
            .as_ref()
            .is_none_or(|b| match key.cmp_key(&b.key) {
                Ordering::Greater => true,
                Ordering::Equal => !b.open,
                Ordering::Less => false,
            });
        let below = self
            .upper
            .as_ref()
            .is_none_or(|b| match key.cmp_key(&b.key) {
                Ordering::Less => true,
                Ordering::Equal => !b.open,
                Ordering::Greater => false,
            });
        above && below
    }
}

/// A stored record: its JSON value and its index entries (index name, key).
pub type IndexedValue = (Json, Vec<(String, IndexKey)>);

/// One record write of a read model: put (value and its index keys) or delete (`None`).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordWrite {
    /// The record's key.
    pub key: String,
    /// The new value with its index entries, or `None` to delete the record.
    pub value: Option<IndexedValue>,
}

/// A query over one index of one read model. It deserializes from what an application writes,
/// `{ index, equals?, range?: { gt?, gte?, lt?, lte? }, limit?, reverse? }`: `equals` selects
/// one key (and wins over `range`), a range takes at most one bound per side, and keys are
/// strings or finite numbers (`INVALID_INPUT` otherwise).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(try_from = "query::QueryOptions")]
pub struct IndexQuery {
    /// The index name.
    pub index: String,
    /// Which index keys to read.
    pub range: IndexRange,
    /// Most records to return.
    pub limit: Option<usize>,
    /// Highest index keys first.
    pub reverse: bool,
}

/// Keyed JSON records grouped by read model, with secondary indexes.
#[allow(async_fn_in_trait)]
pub trait ReadModelStore {
    /// The record `key` of read model `model`.
    ///
    /// # Errors
    /// Backend failures only.
    async fn record(&self, model: &str, key: &str) -> Result<Option<Json>>;

    /// Applies `writes` to `model` and stores `state_value` under `state_key` (the model's
    /// checkpoint) in one atomic step: after a crash both are old or both are new.
    ///
    /// # Errors
    /// Backend failures; nothing is written then.
    async fn commit_records(
        &self,
        model: &str,
        writes: Vec<RecordWrite>,
        state_key: &str,
        state_value: Json,
    ) -> Result<()>;

    /// Records of `model` whose `query.index` entry lies in the range, ordered by index key
    /// then record key (reversed with `reverse`), as `(key, value)`.
    ///
    /// # Errors
    /// Backend failures only.
    async fn query_records(&self, model: &str, query: &IndexQuery) -> Result<Vec<(String, Json)>>;

    /// Deletes every record of `model` (for a rebuild).
    ///
    /// # Errors
    /// Backend failures only.
    async fn clear_records(&self, model: &str) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_numbers_are_finite() {
        assert_eq!(
            IndexKey::number(2.5, "equals").unwrap(),
            IndexKey::Number(2.5)
        );
        for n in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let e = IndexKey::number(n, "equals").unwrap_err();
            assert_eq!(e.code(), "INVALID_INPUT");
            assert_eq!(
                e.to_string(),
                "invalid input: equals must be a string or a finite number"
            );
        }
    }

    #[test]
    fn keys_order_numbers_before_strings() {
        let (n1, n2, a, b) = (
            IndexKey::Number(-1.5),
            IndexKey::Number(2.0),
            IndexKey::Text("a".into()),
            IndexKey::Text("b".into()),
        );
        assert_eq!(n1.cmp_key(&n2), Ordering::Less);
        assert_eq!(n2.cmp_key(&a), Ordering::Less);
        assert_eq!(b.cmp_key(&a), Ordering::Greater);
        let r = IndexRange {
            lower: Some(Bound {
                key: n2.clone(),
                open: true,
            }),
            upper: Some(Bound {
                key: b.clone(),
                open: false,
            }),
        };
        assert!(
            !r.contains(&n2)
                && r.contains(&a)
                && r.contains(&b)
                && !r.contains(&IndexKey::Text("c".into()))
        );
        assert!(IndexRange::default().contains(&n1));
    }
}
