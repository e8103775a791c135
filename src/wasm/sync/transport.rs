//! The sync client's requests over HTTP `fetch` (`syncRequest` in `js/bindings.js`).

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::cqrs::runtime::Signal;
use crate::error::{Error, Result};
use crate::sync::client::Transport;
use crate::sync::protocol::{
    self, ErrorBody, Message, PullRequest, PullResponse, PushRequest, PushResponse,
};
use crate::wasm::convert::get;
use crate::wasm::error::message_of;

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    #[wasm_bindgen(js_name = syncRequest)]
    fn sync_request(url: &str, token: &JsValue, path: &str, body: &str) -> Promise;
}

/// `POST`s protocol messages to a server at `url` with an optional bearer `token`.
pub(super) struct FetchTransport {
    pub(super) url: String,
    pub(super) token: JsValue,
}

impl FetchTransport {
    async fn call<M: Message>(&self, path: &str, body: Vec<u8>) -> Result<M> {
        let body = String::from_utf8(body).map_err(|e| Error::invalid(e.to_string()))?;
        let network = |message: String| Error::Network { message };
        let out = JsFuture::from(sync_request(&self.url, &self.token, path, &body))
            .await
            .map_err(|e| network(message_of(&e)))?;
        if let Some(message) = get(&out, "network")?.as_string() {
            return Err(network(message));
        }
        let status = get(&out, "status")?.as_f64().unwrap_or(0.0);
        let text = get(&out, "text")?.as_string().unwrap_or_default();
        if (200.0..300.0).contains(&status) {
            return protocol::decode_str(&text);
        }
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => Err(body.into_error()),
            // Not the server's answer (a proxy, a server starting): try again later.
            Err(_) => Err(network(format!("{path} answered HTTP {status}"))),
        }
    }
}

impl Transport for FetchTransport {
    async fn pull(&self, request: &PullRequest) -> Result<PullResponse> {
        self.call("/v1/pull", protocol::encode(request)?).await
    }

    async fn push(&self, request: &PushRequest) -> Result<PushResponse> {
        self.call("/v1/push", protocol::encode(request)?).await
    }
}

/// The transport of one exchange, whose requests fail at once when `stop` is stopped: a
/// cancelled exchange (every `now()` caller aborted) ends at its next request, and what it
/// stored before stays consistent (a pulled page is stored whole or not at all, see
/// [`SyncClient::sync`](crate::sync::client::SyncClient::sync)).
pub(super) struct Interruptible<'a> {
    pub(super) inner: &'a FetchTransport,
    pub(super) stop: &'a Signal,
}

impl Interruptible<'_> {
    async fn run<T>(&self, request: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        self.stop.until_stopped(request).await.unwrap_or_else(|| {
            Err(Error::Network {
                message: "the sync was aborted".into(),
            })
        })
    }
}

impl Transport for Interruptible<'_> {
    async fn pull(&self, request: &PullRequest) -> Result<PullResponse> {
        self.run(self.inner.pull(request)).await
    }

    async fn push(&self, request: &PushRequest) -> Result<PushResponse> {
        self.run(self.inner.push(request)).await
    }
}
