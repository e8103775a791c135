//! Storage health, and DOM exceptions mapped to typed errors.

use super::*;

#[wasm_bindgen_test]
async fn storage_reports_usage_and_quota() {
    let s = open(&random_name()).await;
    s.append(&sid("a"), evs(1..50), ExpectedVersion::NoStream)
        .await
        .unwrap();
    let info = s.storage().await.unwrap();
    assert!(info.quota > 0, "{info:?}");
    assert!(info.usage <= info.quota, "{info:?}");
    let granted = s.request_persistence().await.unwrap();
    let after = s.storage().await.unwrap();
    assert_eq!(after.persisted, granted);
}

#[wasm_bindgen_test]
fn dom_exception_names_map_to_typed_errors() {
    let quota = error_from_dom_exception("QuotaExceededError", "the quota has been exceeded");
    assert_eq!(
        quota,
        Error::QuotaExceeded {
            message: "the quota has been exceeded".into()
        }
    );
    assert_eq!(
        error_from_dom_exception("VersionError", "").code(),
        "SCHEMA_TOO_NEW"
    );
    assert_eq!(
        error_from_dom_exception("InvalidStateError", "closing").code(),
        "STORE_CLOSED"
    );
    let abort = error_from_dom_exception("AbortError", "aborted");
    assert_eq!(abort.code(), "STORAGE_ERROR");
    assert!(abort.to_string().contains("aborted"), "{abort}");
    let other = error_from_dom_exception("UnknownError", "disk");
    assert!(other.to_string().contains("UnknownError"), "{other}");
}
