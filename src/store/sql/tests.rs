//! The SQL store natively, over `rusqlite` (an executor that, like a Durable Object, refuses
//! statements binding more than [`MAX_PARAMS`] values): the shared contract suite, then what
//! only this backend has.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use rusqlite::types::{Value, ValueRef};

use super::*;
use crate::contract_tests;
use crate::error::Error;
use crate::store::contract::{evs, sid, snapshot, test_clock};
use crate::store::{Bound, IndexKey, IndexRange, MemoryStore};

/// A `rusqlite` connection as a [`SqlExecutor`], and its
/// [`rows_per_insert`](SqlExecutor::rows_per_insert).
pub(crate) struct Rusq(rusqlite::Connection, usize);

impl Rusq {
    fn memory() -> Self {
        Rusq(rusqlite::Connection::open_in_memory().unwrap(), 1)
    }

    fn file(path: &std::path::Path) -> Self {
        Rusq(rusqlite::Connection::open(path).unwrap(), 1)
    }

    /// The same connection asking for `n` events per `INSERT` (as a Durable Object's adapter).
    fn rows(self, n: usize) -> Self {
        Rusq(self.0, n)
    }
}

fn sql_err(e: rusqlite::Error) -> Error {
    Error::storage(format!("sqlite: {e}"))
}

impl SqlExecutor for Rusq {
    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>> {
        assert!(
            params.len() <= MAX_PARAMS,
            "{} parameters: {sql}",
            params.len()
        );
        let mut stmt = self.0.prepare_cached(sql).map_err(sql_err)?;
        let values = params.iter().map(|p| match p {
            SqlValue::Null => Value::Null,
            SqlValue::Integer(n) => Value::Integer(*n),
            SqlValue::Real(f) => Value::Real(*f),
            SqlValue::Text(s) => Value::Text(s.clone()),
        });
        let n = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(values))
            .map_err(sql_err)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(sql_err)? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(match r.get_ref(i).map_err(sql_err)? {
                    ValueRef::Null => SqlValue::Null,
                    ValueRef::Integer(n) => SqlValue::Integer(n),
                    ValueRef::Real(f) => SqlValue::Real(f),
                    ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => SqlValue::Null,
                });
            }
            out.push(row);
        }
        Ok(out)
    }

    fn rows_per_insert(&self) -> usize {
        self.1
    }

    fn transaction_with(&self, body: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        self.0.execute_batch("BEGIN IMMEDIATE").map_err(sql_err)?;
        match body() {
            Ok(()) => self.0.execute_batch("COMMIT").map_err(sql_err),
            Err(e) => {
                self.0.execute_batch("ROLLBACK").map_err(sql_err)?;
                Err(e)
            }
        }
    }
}

fn open(db: Rusq) -> SqlStore<Rusq> {
    SqlStore::open(
        db,
        test_clock(),
        StoreLimits::default(),
        "test-store".into(),
    )
    .unwrap()
}

contract_tests!(native, open(Rusq::memory()));

/// The contract suite again with 12 events per `INSERT`, as a Durable Object writes them.
mod multi_row_inserts {
    use super::*;

    contract_tests!(native, open(Rusq::memory().rows(12)));
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

fn temp_db() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "eventfold-sql-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.sqlite");
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn events_ids_and_state_survive_reopening() {
    let path = temp_db();
    let s = open(Rusq::file(&path));
    block(s.append(&sid("order-1"), evs(0..3), ExpectedVersion::NoStream)).unwrap();
    block(s.put_state("snap", Json::parse(r#"{"v":3}"#).unwrap())).unwrap();
    let before = block(snapshot(&s));
    drop(s);
    let s = SqlStore::open(
        Rusq::file(&path),
        test_clock(),
        StoreLimits::default(),
        "other-id".into(),
    )
    .unwrap();
    assert_eq!(s.store_id(), "test-store", "the first id is kept");
    assert_eq!(block(snapshot(&s)), before);
    assert_eq!(s.changes().head(), Position(3));
    assert_eq!(
        block(s.get_state("snap")).unwrap().unwrap().as_str(),
        r#"{"v":3}"#
    );
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let path = temp_db();
    drop(open(Rusq::file(&path)));
    let db = Rusq::file(&path);
    db.execute(
        "UPDATE eventfold_meta SET value = '99' WHERE key = 'schema_version'",
        &[],
    )
    .unwrap();
    let err = SqlStore::open(db, test_clock(), StoreLimits::default(), "x".into())
        .err()
        .unwrap();
    assert_eq!(err.code(), "SCHEMA_TOO_NEW");
    let db = Rusq::file(&path);
    let v = db
        .query(
            "SELECT value FROM eventfold_meta WHERE key = 'schema_version'",
            &[],
        )
        .unwrap();
    assert_eq!(v, vec![vec![SqlValue::Text("99".into())]]);
}

#[test]
fn a_large_batch_stays_within_the_parameter_limit() {
    let s = open(Rusq::memory());
    let r = block(s.append(&sid("big"), evs(0..250), ExpectedVersion::NoStream)).unwrap();
    assert_eq!((r.version.0, r.position.0), (250, 250));
    let again = block(s.append(&sid("big"), evs(0..250), ExpectedVersion::NoStream)).unwrap();
    assert_eq!(again, r, "a retried batch of 250 is idempotent");
    let all = block(s.read_all(&ReadAllOptions::default())).unwrap();
    assert_eq!(all.len(), 250);
    assert!(all
        .iter()
        .enumerate()
        .all(|(i, e)| e.position.0 == i as u64 + 1));
}

#[test]
fn multi_row_inserts_write_every_event_in_order() {
    // Batches around the 12-row statements' edges; too many rows per insert for the
    // parameter limit are clamped to 12 (the executor refuses more than 100 values).
    for rows in [2, 12, 13, 100] {
        let s = open(Rusq::memory().rows(rows));
        let mut from = 0;
        for (i, n) in [1, 11, 12, 13, 24, 25, 100].into_iter().enumerate() {
            let stream = sid(&format!("s{i}"));
            let r =
                block(s.append(&stream, evs(from..from + n), ExpectedVersion::NoStream)).unwrap();
            assert_eq!((r.version.0, r.position.0), (n as u64, (from + n) as u64));
            let again = block(s.append(&stream, evs(from..from + n), ExpectedVersion::NoStream));
            assert_eq!(again.unwrap(), r, "a retried batch of {n} is idempotent");
            from += n;
        }
        let all = block(s.read_all(&ReadAllOptions::default())).unwrap();
        let ids: Vec<_> = all.iter().map(|e| e.id.clone()).collect();
        let expected: Vec<_> = evs(0..from).into_iter().map(|e| e.id).collect();
        assert_eq!(ids, expected, "{rows} rows per insert");
        assert!(all
            .iter()
            .enumerate()
            .all(|(i, e)| e.position.0 == i as u64 + 1));
    }
}

#[test]
fn a_failed_multi_row_append_rolls_back_its_inserts() {
    // The second statement of 12-row inserts fails: the first 12 rows go too.
    let s = open(Rusq::memory().rows(12));
    block(s.append(&sid("s"), evs(0..1), ExpectedVersion::NoStream)).unwrap();
    s.executor()
        .execute(
            "CREATE TRIGGER fail_late AFTER INSERT ON eventfold_events \
             WHEN NEW.version = 20 BEGIN SELECT RAISE(ABORT, 'disk says no'); END",
            &[],
        )
        .unwrap();
    let before = block(snapshot(&s));
    let err =
        block(s.append(&sid("s"), evs(1..30), ExpectedVersion::Exact(Version(1)))).unwrap_err();
    assert_eq!(err.code(), "STORAGE_ERROR", "{err}");
    assert_eq!(block(snapshot(&s)), before);
}

#[test]
fn a_filter_too_large_for_one_statement_is_applied_over_pages() {
    let s = open(Rusq::memory());
    for i in 0..30 {
        block(s.append(
            &sid(&format!("s{i}-x")),
            evs(i * 10..i * 10 + 3),
            ExpectedVersion::Any,
        ))
        .unwrap();
    }
    let prefixes: Vec<String> = (0..60).map(|i| format!("s{}-", i * 2)).collect();
    let options = ReadAllOptions {
        filter: crate::store::EventFilter {
            stream_prefixes: prefixes,
            types: None,
        },
        limit: Some(20),
        ..ReadAllOptions::default()
    };
    let got = block(s.read_all(&options)).unwrap();
    let mem = MemoryStore::new(test_clock());
    for i in 0..30 {
        block(mem.append(
            &sid(&format!("s{i}-x")),
            evs(i * 10..i * 10 + 3),
            ExpectedVersion::Any,
        ))
        .unwrap();
    }
    let want = block(mem.read_all(&options)).unwrap();
    let ids = |v: &[RecordedEvent]| v.iter().map(|e| e.position).collect::<Vec<_>>();
    assert_eq!(ids(&got), ids(&want));
    assert_eq!(got.len(), 20);
}

#[test]
fn state_compare_and_swap() {
    let s = open(Rusq::memory());
    let a = Json::parse("1").unwrap();
    let b = Json::parse("2").unwrap();
    assert!(block(s.swap_state("k", None, Some(a.clone()))).unwrap());
    assert!(!block(s.swap_state("k", None, Some(b.clone()))).unwrap());
    assert!(block(s.swap_state("k", Some(&a), Some(b.clone()))).unwrap());
    assert_eq!(block(s.get_state("k")).unwrap(), Some(b.clone()));
    assert!(block(s.swap_state("k", Some(&b), None)).unwrap());
    assert_eq!(block(s.get_state("k")).unwrap(), None);
}

fn text(s: &str) -> IndexKey {
    IndexKey::Text(s.into())
}

fn num(n: f64) -> IndexKey {
    IndexKey::Number(n)
}

fn put(key: &str, value: &str, entries: Vec<(&str, IndexKey)>) -> RecordWrite {
    RecordWrite {
        key: key.into(),
        value: Some((
            Json::parse(value).unwrap(),
            entries
                .into_iter()
                .map(|(n, k)| (n.to_owned(), k))
                .collect(),
        )),
    }
}

#[test]
fn read_model_queries_match_the_memory_store() {
    let sql = open(Rusq::memory());
    let mem = MemoryStore::new(test_clock());
    let writes = vec![
        put(
            "a",
            r#"{"n":1}"#,
            vec![("status", text("open")), ("total", num(10.0))],
        ),
        put(
            "b",
            r#"{"n":2}"#,
            vec![("status", text("closed")), ("total", num(-2.5))],
        ),
        put(
            "c",
            r#"{"n":3}"#,
            vec![("status", text("open")), ("total", text("n/a"))],
        ),
        put(
            "d",
            r#"{"n":4}"#,
            vec![("status", text("open")), ("total", num(10.0))],
        ),
        put(
            "e",
            r#"{"n":5}"#,
            vec![("tags", text("x")), ("tags", text("y"))],
        ),
    ];
    let cp = Json::parse("7").unwrap();
    block(sql.commit_records("m", writes.clone(), "cp", cp.clone())).unwrap();
    block(mem.commit_records("m", writes, "cp", cp.clone())).unwrap();
    // Overwrite and delete: old index entries go away.
    let more = vec![
        put("a", r#"{"n":10}"#, vec![("status", text("closed"))]),
        RecordWrite {
            key: "d".into(),
            value: None,
        },
    ];
    block(sql.commit_records("m", more.clone(), "cp", cp.clone())).unwrap();
    block(mem.commit_records("m", more, "cp", cp)).unwrap();
    let b = |key: IndexKey, open: bool| Some(Bound { key, open });
    let ranges = [
        IndexRange::default(),
        IndexRange {
            lower: b(text("open"), false),
            upper: b(text("open"), false),
        },
        IndexRange {
            lower: b(num(0.0), false),
            upper: None,
        },
        IndexRange {
            lower: None,
            upper: b(num(10.0), true),
        },
        IndexRange {
            lower: b(num(-3.0), true),
            upper: b(text("a"), false),
        },
        IndexRange {
            lower: b(text("c"), true),
            upper: b(text("p"), false),
        },
    ];
    for index in ["status", "total", "tags", "none"] {
        for range in &ranges {
            for (limit, reverse) in [
                (None, false),
                (Some(1), false),
                (None, true),
                (Some(2), true),
            ] {
                let q = IndexQuery {
                    index: index.into(),
                    range: range.clone(),
                    limit,
                    reverse,
                };
                assert_eq!(
                    block(sql.query_records("m", &q)).unwrap(),
                    block(mem.query_records("m", &q)).unwrap(),
                    "{q:?}"
                );
            }
        }
    }
    assert_eq!(
        block(sql.record("m", "a")).unwrap().unwrap().as_str(),
        r#"{"n":10}"#
    );
    assert_eq!(block(sql.record("m", "d")).unwrap(), None);
    assert_eq!(block(sql.get_state("cp")).unwrap().unwrap().as_str(), "7");
    block(sql.clear_records("m")).unwrap();
    assert_eq!(block(sql.record("m", "b")).unwrap(), None);
    let all = IndexQuery {
        index: "status".into(),
        range: IndexRange::default(),
        limit: None,
        reverse: false,
    };
    assert!(block(sql.query_records("m", &all)).unwrap().is_empty());
}

#[test]
fn a_failing_reset_changes_nothing_and_a_reset_keeps_positions() {
    let s = open(Rusq::memory());
    block(s.append(&sid("a-1"), evs(0..2), ExpectedVersion::NoStream)).unwrap();
    block(s.append(&sid("b-1"), evs(2..3), ExpectedVersion::NoStream)).unwrap();
    block(s.put_state("proj", Json::parse("1").unwrap())).unwrap();
    block(s.put_state("keep", Json::parse("2").unwrap())).unwrap();
    let before = block(snapshot(&s));
    let fail: crate::store::Rewrite<'_> = &|_| Err(Error::invalid("no"));
    let bad = LogReset {
        drops: &|s: &str| s.starts_with("a-"),
        forgets: &|k: &str| k == "proj",
        rewrites: vec![("keep", fail)],
    };
    assert_eq!(
        block(s.reset_log(&bad)).unwrap_err().code(),
        "INVALID_INPUT"
    );
    assert_eq!(block(snapshot(&s)), before);
    assert!(block(s.get_state("proj")).unwrap().is_some());

    let bump: crate::store::Rewrite<'_> = &|v| Ok(v.map(|_| Json::parse("3").unwrap()));
    let ok = LogReset {
        drops: &|s: &str| s.starts_with("a-"),
        forgets: &|k: &str| k == "proj",
        rewrites: vec![("keep", bump)],
    };
    let out = block(s.reset_log(&ok)).unwrap();
    assert_eq!((out.dropped, out.kept, out.head), (2, 1, Position(4)));
    assert_eq!(block(s.head()).unwrap(), Position(4));
    assert_eq!(s.changes().resets(), 1);
    let left = block(s.read_all(&ReadAllOptions::default())).unwrap();
    assert_eq!(
        left.iter().map(|e| e.position.0).collect::<Vec<_>>(),
        vec![3]
    );
    assert_eq!(block(s.get_state("proj")).unwrap(), None);
    assert_eq!(block(s.get_state("keep")).unwrap().unwrap().as_str(), "3");
    // The dropped ids may be appended again, after the marker.
    let r = block(s.append(&sid("a-1"), evs(0..2), ExpectedVersion::NoStream)).unwrap();
    assert_eq!((r.version.0, r.position.0), (2, 6));
}

#[test]
fn corrupt_rows_are_reported_with_their_position() {
    let s = open(Rusq::memory());
    block(s.append(&sid("s"), evs(0..1), ExpectedVersion::NoStream)).unwrap();
    s.executor()
        .execute("UPDATE eventfold_events SET data = '{not json'", &[])
        .unwrap();
    let err = block(s.read_all(&ReadAllOptions::default())).unwrap_err();
    assert_eq!(err.code(), "CORRUPT_DATA");
    assert!(err.to_string().contains("position 1"), "{err}");
}

#[test]
fn packed_rows_carry_any_text_byte_for_byte() {
    // Rows are read packed into one text cell each (log::rows::SELECT_PACKED), split by byte
    // lengths: multi-byte characters, commas and digits in names and payloads, escapes.
    let s = open(Rusq::memory());
    let texts = [
        r#"{"a":"ü ✓ 🎉","b":[1,2.5e3,"x,y"],"c":"q\"\\\n"}"#,
        r#""1,2,3,""#,
        "[]",
        r#"{"Ωmega":{"ñ":null}}"#,
    ];
    let batch: Vec<NewEvent> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            NewEvent::new(
                crate::core::event::EventId::from_bytes([i as u8 + 1; 16]),
                crate::core::event::EventType::new(format!("Tÿpe,{i}")).unwrap(),
                Json::parse(t).unwrap(),
            )
            .with_metadata(Json::parse(r#"{"ü":"1,2"}"#).unwrap())
            .unwrap()
        })
        .collect();
    let stream = sid("strëam,12,");
    block(s.append(&stream, batch.clone(), ExpectedVersion::NoStream)).unwrap();
    let read = block(s.read_all(&ReadAllOptions::default())).unwrap();
    assert_eq!(read.len(), texts.len());
    for (e, n) in read.iter().zip(&batch) {
        assert_eq!(
            (&e.id, &e.event_type, &e.stream),
            (&n.id, &n.event_type, &stream)
        );
        assert_eq!(e.data.as_str(), n.data.as_str());
        assert_eq!(e.metadata.as_str(), n.metadata.as_str());
    }
    let by_stream = block(s.read_stream(&stream, &ReadStreamOptions::default())).unwrap();
    assert_eq!(by_stream, read);
}

#[test]
fn packed_rows_that_are_not_events_are_reported_with_their_position() {
    // Rows are read packed (log::rows::SELECT_PACKED): a payload that is not UTF-8 text, a version
    // or timestamp that is not an integer, a control character in a name (the packing's
    // separator included) are still named.
    for update in [
        "UPDATE eventfold_events SET metadata = x'ff' WHERE position = 2",
        "UPDATE eventfold_events SET version = 'two' WHERE position = 2",
        "UPDATE eventfold_events SET stream = 'bad\u{1}' WHERE position = 2",
        "UPDATE eventfold_events SET type = 'a' || char(31) || 'b' WHERE position = 2",
        "UPDATE eventfold_events SET timestamp = 1.5 WHERE position = 2",
    ] {
        let s = open(Rusq::memory());
        block(s.append(&sid("s"), evs(0..3), ExpectedVersion::NoStream)).unwrap();
        s.executor().execute(update, &[]).unwrap();
        let err = block(s.read_all(&ReadAllOptions::default())).unwrap_err();
        assert_eq!(err.code(), "CORRUPT_DATA", "{update}: {err}");
        assert!(err.to_string().contains("position 2"), "{update}: {err}");
    }
}

#[test]
fn payloads_read_to_send_are_taken_as_stored_and_refused_by_the_encoder() {
    use crate::sync::protocol::{encode, Checkpoint, Encoding, PullResponse, StoreId};
    let s = open(Rusq::memory());
    block(s.append(&sid("s"), evs(0..3), ExpectedVersion::NoStream)).unwrap();
    let checked = block(s.read_all(&ReadAllOptions::default())).unwrap();
    let sent = block(s.read_all_to_send(&ReadAllOptions::default())).unwrap();
    assert_eq!(sent, checked);
    s.executor()
        .execute(
            "UPDATE eventfold_events SET data = '{not json' WHERE position = 2",
            &[],
        )
        .unwrap();
    let err = block(s.read_all(&ReadAllOptions::default())).unwrap_err();
    assert_eq!(err.code(), "CORRUPT_DATA");
    // Unchecked, the damaged payload reaches the columns encoder, which refuses it: the
    // answer fails as CORRUPT_DATA naming the event, nothing malformed is sent.
    let events = block(s.read_all_to_send(&ReadAllOptions::default())).unwrap();
    assert_eq!(events[1].data.as_str(), "{not json");
    let page = PullResponse {
        v: 1,
        events,
        checkpoint: Checkpoint {
            store: StoreId::new("s-1").unwrap(),
            position: Position(3),
            mark: None,
        },
        more: false,
        head: Position(3),
        encoding: Encoding::Columns,
    };
    let err = encode(&page).unwrap_err();
    assert_eq!(err.code(), "CORRUPT_DATA", "{err}");
    assert!(err.to_string().contains("position 2"), "{err}");
}

#[test]
fn a_failed_append_rolls_back_its_inserts() {
    // A trigger makes the third insert of the batch fail (as a full disk would): the rows
    // inserted before it in the same transaction are rolled back.
    let s = open(Rusq::memory());
    block(s.append(&sid("s"), evs(0..1), ExpectedVersion::NoStream)).unwrap();
    s.executor()
        .execute(
            "CREATE TRIGGER fail_second AFTER INSERT ON eventfold_events \
             WHEN NEW.version = 3 BEGIN SELECT RAISE(ABORT, 'disk says no'); END",
            &[],
        )
        .unwrap();
    let before = block(snapshot(&s));
    let err =
        block(s.append(&sid("s"), evs(1..4), ExpectedVersion::Exact(Version(1)))).unwrap_err();
    assert_eq!(err.code(), "STORAGE_ERROR", "{err}");
    assert_eq!(block(snapshot(&s)), before);
}

#[test]
fn appends_stay_right_when_another_connection_changed_the_log_since() {
    // Store `a` plans appends on the tip its own last append left (log::TipCache); `b` is a
    // second connection to the same file that changes the log behind `a`'s back.
    let path = temp_db();
    let a = open(Rusq::file(&path));
    let b = open(Rusq::file(&path));
    block(a.append(&sid("s"), evs(0..2), ExpectedVersion::NoStream)).unwrap();
    block(a.append(&sid("t"), evs(2..3), ExpectedVersion::NoStream)).unwrap();
    // `b` appends to `s` and to another stream: `a`'s guess of both the head and s's version
    // is now stale.
    block(b.append(&sid("s"), evs(3..5), ExpectedVersion::Exact(Version(2)))).unwrap();
    block(b.append(&sid("u"), evs(5..6), ExpectedVersion::NoStream)).unwrap();
    // An expected version that only the real tip satisfies succeeds...
    let r = block(a.append(&sid("s"), evs(6..7), ExpectedVersion::Exact(Version(4)))).unwrap();
    assert_eq!((r.version.0, r.position.0), (5, 7));
    // ...and one only the stale guess satisfied fails, naming the real version.
    block(b.append(&sid("t"), evs(7..8), ExpectedVersion::Any)).unwrap();
    let err =
        block(a.append(&sid("t"), evs(8..9), ExpectedVersion::Exact(Version(1)))).unwrap_err();
    assert_eq!(err.code(), "WRONG_EXPECTED_VERSION", "{err}");
    assert!(err.to_string().contains("found 2"), "{err}");
    // A stream whose newest events another connection removed (as an enclosing transaction
    // rolled back would) after `a` appended them: no constraint catches the stale guess, the
    // check of the real tip does, and the append goes right after what is really there.
    let r = block(a.append(&sid("s"), evs(9..10), ExpectedVersion::Any)).unwrap();
    assert_eq!((r.version.0, r.position.0), (6, 9));
    b.executor()
        .execute("DELETE FROM eventfold_events WHERE position >= 8", &[])
        .unwrap();
    let r = block(a.append(&sid("s"), evs(10..11), ExpectedVersion::Any)).unwrap();
    assert_eq!((r.version.0, r.position.0), (6, 8));
    let all = block(a.read_all(&ReadAllOptions::default())).unwrap();
    let positions: Vec<u64> = all.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, (1..=8).collect::<Vec<_>>());
    let s = block(a.read_stream(&sid("s"), &ReadStreamOptions::default())).unwrap();
    let versions: Vec<u64> = s.iter().map(|e| e.version.0).collect();
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(s[5].id, evs(10..11)[0].id);
}

#[test]
fn a_reset_by_this_store_is_not_hidden_by_what_it_remembered() {
    let s = open(Rusq::memory());
    block(s.append(&sid("keep"), evs(0..2), ExpectedVersion::NoStream)).unwrap();
    block(s.append(&sid("drop"), evs(2..5), ExpectedVersion::NoStream)).unwrap();
    let reset = LogReset {
        drops: &|stream: &str| stream == "drop",
        forgets: &|_: &str| false,
        rewrites: Vec::new(),
    };
    block(s.reset_log(&reset)).unwrap();
    let r = block(s.append(&sid("drop"), evs(5..6), ExpectedVersion::NoStream)).unwrap();
    assert_eq!(r.version.0, 1, "the dropped stream starts again");
    assert!(r.position.0 > 5, "positions never repeat: {r:?}");
}
