//! The HTTP API on 127.0.0.1:0 with a real HTTP client: pull, push, conflicts, idempotent
//! retries, auth, limits, compression, one-stream reads and errors.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{push_body, start, tokens, uuid};
use eventfold_server::Auth;
use serde_json::{json, Value};

fn positions(pull: &Value) -> Vec<u64> {
    pull["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["position"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn health_answers_without_a_token() {
    let s = start(tokens(), None).await;
    let a = s.get("/v1/health", None).await;
    assert_eq!(a.status, 200);
    let j = a.json();
    assert_eq!((j["v"].as_u64(), j["head"].as_u64()), (Some(1), Some(0)));
    assert!(j["store"].as_str().unwrap().len() >= 16);
}

#[tokio::test]
async fn push_then_pull_pages_with_checkpoints() {
    let s = start(Auth::Open, None).await;
    for (i, stream) in ["order-1", "cart-1", "order-2"].iter().enumerate() {
        let i = i as u32 * 10;
        let a = s
            .post("/v1/push", None, push_body(stream, json!(0), i..i + 3))
            .await;
        assert_eq!(a.status, 200, "{}", a.json());
        assert!(a.json()["results"][0]["ok"]["version"] == 3);
    }
    let p1 = s
        .post("/v1/pull", None, r#"{"v":1,"limit":4,"scope":["order-"]}"#)
        .await
        .json();
    assert_eq!(positions(&p1), [1, 2, 3, 7]);
    assert_eq!(p1["more"], true);
    let body = json!({"v": 1, "after": p1["checkpoint"], "limit": 4, "scope": ["order-"]});
    let p2 = s.post("/v1/pull", None, body.to_string()).await.json();
    assert_eq!(positions(&p2), [8, 9]);
    assert_eq!(
        (p2["more"].as_bool(), p2["checkpoint"]["position"].as_u64()),
        (Some(false), Some(9))
    );
    let e = &p2["events"][0];
    assert_eq!(e["data"], json!({"n": 21}));
    assert_eq!(
        (
            e["stream"].as_str(),
            e["version"].as_u64(),
            e["type"].as_str()
        ),
        (Some("order-2"), Some(2), Some("Added"))
    );
    let body = json!({"v": 1, "after": p2["checkpoint"], "scope": ["order-"]});
    let p3 = s.post("/v1/pull", None, body.to_string()).await.json();
    assert!(positions(&p3).is_empty());
}

#[tokio::test]
async fn a_conflict_answers_the_missing_range_and_writes_nothing() {
    let s = start(Auth::Open, None).await;
    s.post(
        "/v1/push",
        None,
        push_body("order-1", json!("no_stream"), 0..3),
    )
    .await;
    let a = s
        .post("/v1/push", None, push_body("order-1", json!(1), 10..12))
        .await;
    assert_eq!(a.status, 200);
    let c = &a.json()["results"][0]["conflict"];
    assert_eq!(c["actual"], 3);
    let missing: Vec<_> = c["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    assert_eq!(missing, [2, 3]);
    assert_eq!(c["more"], false);
    let head = s.get("/v1/health", None).await.json()["head"].as_u64();
    assert_eq!(head, Some(3), "nothing written");
    // Rebased onto version 3, the same events go through.
    let a = s
        .post("/v1/push", None, push_body("order-1", json!(3), 10..12))
        .await;
    assert_eq!(
        a.json()["results"][0]["ok"],
        json!({"version": 5, "position": 5})
    );
}

#[tokio::test]
async fn a_retried_push_never_duplicates() {
    let s = start(Auth::Open, None).await;
    let body = push_body("order-1", json!(0), 0..5);
    let first = s.post("/v1/push", None, body.clone()).await;
    let again = s.post("/v1/push", None, body).await;
    assert_eq!(first.json()["results"], again.json()["results"]);
    let all = s.post("/v1/pull", None, r#"{"v":1}"#).await.json();
    assert_eq!(positions(&all), [1, 2, 3, 4, 5]);
    // The same id with other content is refused for that stream only.
    let changed = push_body("order-1", json!(0), 0..5).replace(r#"{"n":2}"#, r#"{"n":"x"}"#);
    let a = s.post("/v1/push", None, changed).await;
    assert_eq!(a.json()["results"][0]["error"]["code"], "EVENT_ID_CONFLICT");
    assert_eq!(a.json()["results"][0]["error"]["id"], uuid(2));
}

#[tokio::test]
async fn tokens_are_required_and_bound_to_prefixes() {
    let s = start(tokens(), None).await;
    let body = push_body("order-1", json!(0), 0..2);
    let none = s.post("/v1/push", None, body.clone()).await;
    assert_eq!((none.status, none.code().as_str()), (401, "UNAUTHORIZED"));
    assert_eq!(none.headers["www-authenticate"], "Bearer");
    assert_eq!(
        s.post("/v1/push", Some("nope"), body.clone()).await.status,
        401
    );
    assert_eq!(s.post("/v1/pull", None, r#"{"v":1}"#).await.status, 401);
    let ro = s.post("/v1/push", Some("reader"), body.clone()).await;
    assert_eq!((ro.status, ro.code().as_str()), (403, "FORBIDDEN"));
    let outside = s
        .post(
            "/v1/push",
            Some("orders"),
            push_body("user-1", json!(0), 5..6),
        )
        .await;
    assert_eq!(outside.status, 403);
    assert_eq!(
        s.get("/v1/health", None).await.json()["head"],
        0,
        "nothing written"
    );
    assert_eq!(s.post("/v1/push", Some("orders"), body).await.status, 200);
    assert_eq!(
        s.post(
            "/v1/push",
            Some("admin"),
            push_body("user-1", json!(0), 5..6)
        )
        .await
        .status,
        200
    );
    // Pulls see only readable streams, and scopes outside them are refused.
    let p = s
        .post("/v1/pull", Some("reader"), r#"{"v":1}"#)
        .await
        .json();
    assert_eq!(positions(&p), [1, 2]);
    assert_eq!(
        (p["checkpoint"]["position"].clone(), p["head"].clone()),
        (json!(2), json!(2)),
        "a narrow token stays at its last event (the head would tell others' writes)"
    );
    let p = s
        .post("/v1/pull", Some("reader"), r#"{"v":1,"scope":["user-"]}"#)
        .await;
    assert_eq!(p.status, 403);
    assert_eq!(
        s.get("/v1/streams/user-1", Some("reader")).await.status,
        403
    );
    assert_eq!(
        s.get("/v1/streams/order-1", Some("reader")).await.status,
        200
    );
    assert_eq!(s.get("/v1/streams/order-1", None).await.status, 401);
}

#[tokio::test]
async fn oversize_bodies_and_batches_are_refused() {
    let s = start(Auth::Open, None).await;
    let huge = format!(
        r#"{{"v":1,"streams":[],"pad":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    let a = s.post("/v1/push", None, huge).await;
    assert_eq!((a.status, a.code().as_str()), (413, "INVALID_INPUT"));
    assert_eq!(a.json()["limitBytes"], 64 * 1024);
    let too_many = s
        .post("/v1/push", None, push_body("order-1", json!(0), 0..51))
        .await;
    assert_eq!(
        (too_many.status, too_many.code().as_str()),
        (400, "INVALID_INPUT")
    );
    let bad_meta =
        push_body("order-1", json!(0), 0..2).replacen(r#""metadata":{}"#, r#""metadata":[]"#, 1);
    let a = s.post("/v1/push", None, bad_meta).await;
    assert_eq!((a.status, a.code().as_str()), (400, "INVALID_INPUT"));
    assert_eq!(s.get("/v1/health", None).await.json()["head"], 0);
}

#[tokio::test]
async fn malformed_requests_are_protocol_errors() {
    let s = start(Auth::Open, None).await;
    for (path, body) in [
        ("/v1/pull", "{"),
        ("/v1/pull", r#"{"v":2}"#),
        ("/v1/pull", r#"{"v":1,"limit":"ten"}"#),
        (
            "/v1/push",
            r#"{"v":1,"streams":[{"stream":"a","expectedVersion":0,"events":[{"type":"T"}]}]}"#,
        ),
        ("/v1/push", ""),
    ] {
        let a = s.post(path, None, body).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (400, "PROTOCOL_ERROR"),
            "{body}"
        );
        assert!(!a.json()["message"].as_str().unwrap().is_empty());
    }
    // A well-formed request with a value the contract refuses is INVALID_INPUT.
    let a = s
        .post(
            "/v1/push",
            None,
            r#"{"v":1,"streams":[{"stream":"a","expectedVersion":0,"events":[{"id":"x"}]}]}"#,
        )
        .await;
    assert_eq!((a.status, a.code().as_str()), (400, "INVALID_INPUT"));
    let a = s.get("/v1/streams/order-1?direction=sideways", None).await;
    assert_eq!((a.status, a.code().as_str()), (400, "PROTOCOL_ERROR"));
    let a = s.get("/v1/nope", None).await;
    assert_eq!(a.status, 404);
    let foreign = r#"{"v":1,"after":{"store":"another-store","position":0}}"#;
    let a = s.post("/v1/pull", None, foreign).await;
    assert_eq!((a.status, a.code().as_str()), (409, "CHECKPOINT_MISMATCH"));
}

#[tokio::test]
async fn one_stream_reads_take_from_limit_and_direction() {
    let s = start(Auth::Open, None).await;
    s.post("/v1/push", None, push_body("order/1 ü", json!(0), 0..6))
        .await;
    let a = s
        .get(
            "/v1/streams/order%2F1%20%C3%BC?from=5&limit=3&direction=backward",
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let j = a.json();
    assert_eq!(
        (j["stream"].as_str(), j["version"].as_u64()),
        (Some("order/1 ü"), Some(6))
    );
    let versions: Vec<_> = j["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [5, 4, 3]);
    let empty = s.get("/v1/streams/missing", None).await.json();
    assert_eq!(
        (
            empty["version"].as_u64(),
            empty["events"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn responses_are_gzipped_when_accepted() {
    let s = start(Auth::Open, None).await;
    s.post("/v1/push", None, push_body("order-1", json!(0), 0..40))
        .await;
    let res = s
        .client
        .post(format!("{}/v1/pull", s.url))
        .header("accept-encoding", "gzip")
        .body(r#"{"v":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let zipped = res.bytes().await.unwrap().len();
    let plain = s.post("/v1/pull", None, r#"{"v":1}"#).await;
    assert!(plain.headers.get("content-encoding").is_none());
    assert!(
        zipped * 3 < plain.body.len(),
        "{zipped} vs {}",
        plain.body.len()
    );
}

#[tokio::test]
async fn columns_carry_the_same_events_in_fewer_bytes() {
    use eventfold::sync::protocol::{decode, Encoding, PullResponse};
    let s = start(Auth::Open, None).await;
    for (i, stream) in ["order-1", "cart-1", "order-2"].into_iter().enumerate() {
        let from = i as u32 * 100;
        let a = s
            .post(
                "/v1/push",
                None,
                push_body(stream, json!(0), from..from + 30),
            )
            .await;
        assert_eq!(a.json()["results"][0]["ok"]["version"], 30);
    }
    let gzipped = |body: &'static str| {
        let req = s.client.post(format!("{}/v1/pull", s.url));
        async move {
            let res = req
                .header("accept-encoding", "gzip")
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.headers()["content-encoding"], "gzip");
            res.bytes().await.unwrap().len()
        }
    };
    let rows_body = r#"{"v":1,"scope":["order-","cart-"]}"#;
    let columns_body = r#"{"v":1,"scope":["order-","cart-"],"encoding":"columns"}"#;
    let rows = s.post("/v1/pull", None, rows_body).await;
    let columns = s.post("/v1/pull", None, columns_body).await;
    assert!(columns.json()["events"].is_null(), "{}", columns.json());
    let rows: PullResponse = decode(&rows.body).unwrap();
    let columns: PullResponse = decode(&columns.body).unwrap();
    assert_eq!(columns.encoding, Encoding::Columns);
    assert_eq!(rows.events.len(), 90);
    assert_eq!(
        PullResponse {
            encoding: Encoding::Rows,
            ..columns
        },
        rows
    );
    let (r, c) = (gzipped(rows_body).await, gzipped(columns_body).await);
    assert!(c * 5 < r * 4, "gzip: columns {c} bytes, rows {r}");
    // An encoding the server does not know is answered with rows.
    let other = s
        .post("/v1/pull", None, r#"{"v":1,"encoding":"binary"}"#)
        .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.json()["events"].as_array().unwrap().len(), 90);
}

#[tokio::test]
async fn a_restarted_server_keeps_its_store_id_and_checkpoints() {
    let dir = std::env::temp_dir().join(format!("eventfold-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("restart.sqlite");
    let _ = std::fs::remove_file(&path);
    let checkpoint = {
        let s = start(Auth::Open, Some(path.clone())).await;
        s.post("/v1/push", None, push_body("order-1", json!(0), 0..3))
            .await;
        s.post("/v1/pull", None, r#"{"v":1}"#).await.json()["checkpoint"].clone()
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let s = start(Auth::Open, Some(path)).await;
    s.post("/v1/push", None, push_body("order-1", json!(3), 3..4))
        .await;
    let p = s
        .post(
            "/v1/pull",
            None,
            json!({"v": 1, "after": checkpoint}).to_string(),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.json());
    assert_eq!(positions(&p.json()), [4]);
    let _ = std::fs::remove_dir_all(dir);
}
