//! Handlers by message type, one per type: what the command bus and the query bus share.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::error::{Error, Result};

/// The handlers of one kind of message (`"command"` or `"query"`), by message type.
pub(super) struct Registry<H: ?Sized> {
    kind: &'static str,
    handlers: RefCell<HashMap<String, Rc<H>>>,
}

impl<H: ?Sized> Registry<H> {
    /// An empty registry of `kind` handlers.
    pub(super) fn new(kind: &'static str) -> Self {
        Registry {
            kind,
            handlers: RefCell::new(HashMap::new()),
        }
    }

    /// Whether `message_type` has a handler.
    pub(super) fn contains(&self, message_type: &str) -> bool {
        self.handlers.borrow().contains_key(message_type)
    }

    /// Checks that a handler of `message_type` may be registered.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the type is empty or already has a handler.
    pub(super) fn check_new(&self, message_type: &str) -> Result<()> {
        if message_type.is_empty() {
            return Err(Error::invalid(format!(
                "a {} type must be a non-empty string",
                self.kind
            )));
        }
        if self.contains(message_type) {
            return Err(self.taken(message_type));
        }
        Ok(())
    }

    /// The error of registering a second handler of `message_type`.
    pub(super) fn taken(&self, message_type: &str) -> Error {
        Error::invalid(format!(
            "{} type {message_type:?} already has a handler",
            self.kind
        ))
    }

    /// Registers the handler of `message_type`.
    ///
    /// # Errors
    /// As [`check_new`](Self::check_new); nothing is registered then.
    pub(super) fn register(&self, message_type: &str, handler: Rc<H>) -> Result<()> {
        self.check_new(message_type)?;
        self.handlers
            .borrow_mut()
            .insert(message_type.to_owned(), handler);
        Ok(())
    }

    /// The handler of `message_type`.
    ///
    /// # Errors
    /// [`Error::HandlerNotFound`] if it has none.
    pub(super) fn get(&self, message_type: &str) -> Result<Rc<H>> {
        self.handlers
            .borrow()
            .get(message_type)
            .cloned()
            .ok_or_else(|| Error::HandlerNotFound {
                kind: self.kind.into(),
                message_type: message_type.to_owned(),
            })
    }
}
