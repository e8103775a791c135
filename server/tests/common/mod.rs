//! Starting a server on 127.0.0.1:0 for tests, and small HTTP helpers.
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use eventfold::store::contract::test_clock;
use eventfold::sync::serve::ServeLimits;
use eventfold::StoreLimits;
use eventfold_server::listen::{self, ListenOptions, Shutdown};
use eventfold_server::store::sqlite::SqliteStore;
use eventfold_server::{app, AppState, Auth, SharedBackend, StoreThread};
use serde_json::Value;

pub struct Server {
    pub url: String,
    pub client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn limits() -> ServeLimits {
    ServeLimits {
        default_pull: 100,
        max_pull: 500,
        max_push_events: 50,
        max_missing: 10,
        max_answer_bytes: 256 * 1024,
        store: StoreLimits::default(),
    }
}

pub fn tokens() -> Auth {
    Auth::from_json(
        r#"{"tokens":{
            "admin":  {"read":[""],       "write":[""]},
            "orders": {"read":["order-"], "write":["order-"]},
            "reader": {"read":["order-"], "write":[]}
        }}"#,
    )
    .unwrap()
}

/// A server on a fresh in-memory SQLite store (or on `path`).
pub async fn start(auth: Auth, path: Option<std::path::PathBuf>) -> Server {
    let store_limits = limits().store;
    let backend = StoreThread::start(
        move || async move {
            let store = match path {
                Some(p) => SqliteStore::open(p, test_clock())?,
                None => SqliteStore::in_memory(test_clock())?,
            };
            Ok(store.with_limits(store_limits))
        },
        limits(),
    )
    .await
    .unwrap();
    serve(Arc::new(backend), auth).await
}

/// A server on 127.0.0.1:0 over `backend`.
pub async fn serve(backend: SharedBackend, auth: Auth) -> Server {
    let state = AppState {
        max_body_bytes: 64 * 1024,
        ..AppState::new(backend, auth, limits())
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        listen::serve(
            listener,
            app(state),
            ListenOptions::default(),
            Shutdown::never(),
        )
        .await;
    });
    Server {
        url: format!("http://{addr}"),
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        task,
    }
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }
}

impl Server {
    pub async fn post(&self, path: &str, token: Option<&str>, body: impl Into<Vec<u8>>) -> Answer {
        let mut req = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body.into());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::answer(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let mut req = self.client.get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::answer(req.send().await.unwrap()).await
    }

    pub async fn answer(res: reqwest::Response) -> Answer {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.bytes().await.unwrap().to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }
}

/// A UUID for test event `n`.
pub fn uuid(n: u32) -> String {
    format!("{n:08x}-0000-4000-8000-000000000000")
}

/// A push body of events `ns` to `stream` at `expected`.
pub fn push_body(stream: &str, expected: Value, ns: std::ops::Range<u32>) -> String {
    let events: Vec<Value> = ns
        .map(|n| serde_json::json!({"id": uuid(n), "type": "Added", "data": {"n": n}, "metadata": {}}))
        .collect();
    serde_json::json!({"v": 1, "streams": [{"stream": stream, "expectedVersion": expected, "events": events}]})
        .to_string()
}
