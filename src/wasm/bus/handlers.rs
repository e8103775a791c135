//! JavaScript functions as the bus's command handlers, middleware and query handlers, and an
//! aggregate behind the bus ([`crate::cqrs::bus`]'s traits, implemented for `store.bus()`).

use std::rc::{Rc, Weak};

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::cqrs;
use crate::cqrs::bus::{
    AggregateHandler, CommandContext, CommandHandler, Middleware, Next, QueryHandler, Stamped,
};
use crate::cqrs::runtime::LocalBoxFuture;
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::wasm::bus::context::{context_from_js, context_to_js};
use crate::wasm::bus::reply::{set, settle};
use crate::wasm::bus::{invoke, BusInner, Reply};
use crate::wasm::convert::{get, string_arg};
use crate::wasm::error::to_js;
use crate::wasm::model::JsModel;

async fn reply_of(promise: Promise) -> Reply {
    JsFuture::from(promise).await
}

/// A JavaScript function `(command, ctx) => result` as a command handler.
pub(crate) struct JsCommandHandler {
    pub f: Function,
    pub inner: Weak<BusInner>,
}

impl CommandHandler<JsValue, Reply> for JsCommandHandler {
    fn handle(
        &self,
        command: JsValue,
        ctx: CommandContext,
    ) -> LocalBoxFuture<'static, Result<Reply>> {
        let ctx_js = match self.inner.upgrade() {
            Some(inner) => context_to_js(&inner, &ctx, None),
            None => JsValue::UNDEFINED,
        };
        let promise = invoke(&self.f, &command, &ctx_js, &JsValue::UNDEFINED);
        Box::pin(async move { Ok(reply_of(promise).await) })
    }
}

/// A JavaScript middleware `(command, ctx, next) => result`.
pub(crate) struct JsMiddleware {
    pub f: Function,
    pub inner: Weak<BusInner>,
}

impl Middleware<JsValue, Reply> for JsMiddleware {
    fn handle(
        &self,
        command: JsValue,
        ctx: CommandContext,
        next: Next<JsValue, Reply>,
    ) -> LocalBoxFuture<'static, Result<Reply>> {
        let Some(inner) = self.inner.upgrade() else {
            return Box::pin(std::future::ready(Err(Error::invalid("the bus is gone"))));
        };
        let ctx_js = context_to_js(&inner, &ctx, None);
        let (given_command, given_ctx) = (command.clone(), ctx_js.clone());
        let next_fn = Closure::once(move |c: JsValue, x: JsValue| -> Promise {
            let command = if c.is_undefined() { given_command } else { c };
            let obj = if x.is_undefined() { given_ctx } else { x };
            crate::wasm::promise::to_promise(async move {
                let ctx = context_from_js(&obj, &ctx).map_err(to_js)?;
                settle(next.run(command, ctx).await)
            })
        });
        let promise = invoke(&self.f, &command, &ctx_js, next_fn.as_ref());
        Box::pin(async move {
            let reply = reply_of(promise).await;
            // `next` lives until the middleware settles, then is freed (called or not).
            drop(next_fn);
            Ok(reply)
        })
    }
}

/// An aggregate behind the bus: errors become replies (with the decider's throw as `cause`);
/// a command id handled before (its events exist) answers `{ duplicate: true }`.
pub(crate) struct JsAggregateHandler {
    pub handler: AggregateHandler<JsModel, Store, JsValue>,
    pub aggregate: Rc<cqrs::Aggregate<Stamped<JsModel>>>,
}

impl CommandHandler<JsValue, Reply> for JsAggregateHandler {
    fn handle(
        &self,
        command: JsValue,
        ctx: CommandContext,
    ) -> LocalBoxFuture<'static, Result<Reply>> {
        let run = self.handler.handle(command, ctx);
        let aggregate = self.aggregate.clone();
        Box::pin(async move {
            Ok(match run.await {
                Ok(v) => Ok(v),
                Err(e) => {
                    let rejected = matches!(e, Error::DeciderRejected { .. });
                    let js = to_js(e);
                    if rejected {
                        if let Some(cause) = aggregate.model().0.last_rejection.borrow_mut().take()
                        {
                            set(&js, "cause", &cause);
                        }
                    }
                    Err(js)
                }
            })
        })
    }
}

/// A JavaScript function `(query) => result` as a query handler.
pub(crate) struct JsQueryHandler(pub Function);

impl QueryHandler<JsValue, Reply> for JsQueryHandler {
    fn ask(&self, query: JsValue) -> LocalBoxFuture<'static, Result<Reply>> {
        let promise = invoke(&self.0, &query, &JsValue::UNDEFINED, &JsValue::UNDEFINED);
        Box::pin(async move { Ok(reply_of(promise).await) })
    }
}

/// The command types of `registerAggregate`'s `{ commands }`.
pub(crate) fn command_types(options: &JsValue) -> Result<Vec<String>> {
    let list = get(options, "commands")?;
    if !js_sys::Array::is_array(&list) {
        return Err(Error::invalid(
            "registerAggregate needs { commands: [command types] }",
        ));
    }
    js_sys::Array::from(&list)
        .iter()
        .map(|t| string_arg(&t, "a command type"))
        .collect()
}
