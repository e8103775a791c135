//! `GET /v1/live`: server-sent events announcing new head positions.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::{push_body, start, tokens};
use serde_json::{json, Value};

/// Reads SSE frames until one `head` event arrives; returns its data.
async fn next_head(res: &mut reqwest::Response, buf: &mut String) -> Value {
    loop {
        if let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            if frame.contains("event: head") {
                let data = frame
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap();
                return serde_json::from_str(data).unwrap();
            }
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), res.chunk())
            .await
            .expect("no SSE event within 10 s")
            .unwrap()
            .expect("the event stream ended");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn live_announces_the_head_then_every_move() {
    let s = start(tokens(), None).await;
    let mut res = s
        .client
        .get(format!("{}/v1/live", s.url))
        .header("accept-encoding", "gzip")
        .bearer_auth("reader")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    assert!(
        res.headers().get("content-encoding").is_none(),
        "SSE is never compressed"
    );
    let mut buf = String::new();
    let first = next_head(&mut res, &mut buf).await;
    assert_eq!(first["head"], 0, "a narrow token's first event says 0");
    let store = first["store"].clone();
    s.post(
        "/v1/push",
        Some("admin"),
        push_body("order-1", json!(0), 0..3),
    )
    .await;
    let moved = next_head(&mut res, &mut buf).await;
    assert_eq!((moved["head"].as_u64(), &moved["store"]), (Some(3), &store));
    // An event outside the reader's scope (user-1 at 4) is not announced to it, and the next
    // announcement carries its scope's newest position, not the global head.
    s.post(
        "/v1/push",
        Some("admin"),
        push_body("user-1", json!(0), 3..4),
    )
    .await;
    s.post(
        "/v1/push",
        Some("admin"),
        push_body("user-2", json!(0), 4..6),
    )
    .await;
    s.post(
        "/v1/push",
        Some("admin"),
        push_body("order-2", json!(0), 6..7),
    )
    .await;
    assert_eq!(next_head(&mut res, &mut buf).await["head"], 7);
    // A token reading everything sees the global head.
    let mut all = s
        .client
        .get(format!("{}/v1/live", s.url))
        .bearer_auth("admin")
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    assert_eq!(next_head(&mut all, &mut buf).await["head"], 7);
    s.post(
        "/v1/push",
        Some("admin"),
        push_body("user-3", json!(0), 7..8),
    )
    .await;
    assert_eq!(next_head(&mut all, &mut buf).await["head"], 8);
}

#[tokio::test]
async fn live_takes_the_token_from_the_query_for_event_source() {
    let s = start(tokens(), None).await;
    let denied = s.get("/v1/live", None).await;
    assert_eq!(denied.status, 401);
    let mut res = s
        .client
        .get(format!("{}/v1/live?token=orders", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut buf = String::new();
    assert_eq!(next_head(&mut res, &mut buf).await["head"], 0);
}
