//! The aggregates an app defined, by name: which one a stream belongs to (`<name>-<id>`), for
//! work that starts from a stream rather than from an aggregate (a sync's rebase decides a
//! stream's pending commands again with its aggregate).

use std::cell::RefCell;
use std::rc::Rc;

use super::Aggregate;
use crate::cqrs::model::Model;

/// Defined aggregates, the latest definition of each name winning.
pub struct Registry<M> {
    aggregates: RefCell<Vec<Rc<Aggregate<M>>>>,
}

impl<M> Default for Registry<M> {
    fn default() -> Self {
        Registry {
            aggregates: RefCell::new(Vec::new()),
        }
    }
}

impl<M: Model> Registry<M> {
    /// Adds `aggregate`, replacing an earlier one of the same name.
    pub fn define(&self, aggregate: Rc<Aggregate<M>>) {
        let mut all = self.aggregates.borrow_mut();
        all.retain(|a| a.config().name != aggregate.config().name);
        all.push(aggregate);
    }

    /// The aggregate `stream` belongs to and the id within it: `stream` is `<name>-<id>` with
    /// a non-empty id; when several names fit (`order` and `order-line`), the longest.
    pub fn owner(&self, stream: &str) -> Option<(Rc<Aggregate<M>>, String)> {
        let all = self.aggregates.borrow();
        let found = all
            .iter()
            .filter(|a| {
                let name = a.config().name.as_str();
                stream.len() > name.len() + 1
                    && stream.starts_with(name)
                    && stream.as_bytes()[name.len()] == b'-'
            })
            .max_by_key(|a| a.config().name.len())?;
        let id = stream[found.config().name.len() + 1..].to_owned();
        Some((found.clone(), id))
    }
}
