//! Raw IndexedDB from the tests: open a database by hand at a version, read its version, put a
//! record behind the store's back, and small JS helpers.

use super::*;

pub(crate) fn factory() -> IdbFactory {
    js_sys::Reflect::get(&js_sys::global(), &"indexedDB".into())
        .unwrap()
        .unchecked_into()
}

/// Resolves with a request's result (or rejects with its error).
pub(crate) async fn settle(req: &IdbRequest) -> Result<JsValue, JsValue> {
    let r = req.clone();
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let (r1, r2) = (r.clone(), r.clone());
        let ok = Closure::once_into_js(move |_: web_sys::Event| {
            resolve
                .call1(&JsValue::NULL, &r1.result().unwrap_or(JsValue::NULL))
                .unwrap();
        });
        let err = Closure::once_into_js(move |e: web_sys::Event| {
            e.prevent_default();
            let error: JsValue = r2
                .error()
                .ok()
                .flatten()
                .map(Into::into)
                .unwrap_or_default();
            reject.call1(&JsValue::NULL, &error).unwrap();
        });
        r.set_onsuccess(Some(ok.unchecked_ref()));
        r.set_onerror(Some(err.unchecked_ref()));
    });
    JsFuture::from(promise).await
}

/// Opens database `name` at `version` by hand, running `upgrade` in its versionchange
/// transaction.
pub(crate) async fn raw_open(
    name: &str,
    version: u32,
    upgrade: impl FnOnce(&IdbDatabase, &IdbTransaction) + 'static,
) -> IdbDatabase {
    let req: IdbOpenDbRequest = factory().open_with_u32(name, version).unwrap();
    let r = req.clone();
    let upgrade = RefCell::new(Some(upgrade));
    let on_upgrade = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        let db: IdbDatabase = r.result().unwrap().unchecked_into();
        let tx = r.transaction().unwrap();
        if let Some(f) = upgrade.borrow_mut().take() {
            f(&db, &tx);
        }
    });
    req.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let db = settle(&req).await.unwrap();
    drop(on_upgrade);
    db.unchecked_into()
}

pub(crate) async fn raw_version(name: &str) -> f64 {
    let req = factory().open(name).unwrap();
    let db: IdbDatabase = settle(&req).await.unwrap().unchecked_into();
    let v = db.version();
    db.close();
    v
}

/// Puts `record` into `chunks` by hand.
pub(crate) async fn raw_put(name: &str, record: &JsValue) {
    let db = raw_open(name, SCHEMA_VERSION, |_, _| panic!("no upgrade expected")).await;
    let tx = db
        .transaction_with_str_and_mode(CHUNKS, web_sys::IdbTransactionMode::Readwrite)
        .unwrap();
    let req = tx.object_store(CHUNKS).unwrap().put(record).unwrap();
    settle(&req).await.unwrap();
    db.close();
}

pub(crate) fn obj(fields: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in fields {
        js_sys::Reflect::set(&o, &(*k).into(), v).unwrap();
    }
    o.into()
}

pub(crate) fn strings(items: &[&str]) -> JsValue {
    items
        .iter()
        .map(|s| JsValue::from_str(s))
        .collect::<js_sys::Array>()
        .into()
}

/// Yields to the event loop (lets BroadcastChannel messages arrive).
pub(crate) async fn tick(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let w: web_sys::Window = js_sys::global().unchecked_into();
        w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(p).await.unwrap();
}
