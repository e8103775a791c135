//! The order aggregate, written as a decider, handled by eventfold's aggregate runner on the
//! in-memory store. Totals are integers in minor units (cents): no floating point money.
//!
//! Run it with `cargo run --example order`; its tests run with `cargo test`.
#![allow(missing_docs)] // an example binary: its enum fields speak for themselves

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use eventfold::core::decider::Decider;
use eventfold::cqrs::{Aggregate, AggregateConfig, AsOf, DeciderModel, IdSource, SnapshotPolicy};
use eventfold::store::{Clock, MemoryStore};
use eventfold::{EventId, Timestamp};
use serde::{Deserialize, Serialize};

/// Where an order is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not created yet.
    #[default]
    None,
    /// Being filled.
    Open,
    /// Confirmed by the customer.
    Confirmed,
    /// Cancelled.
    Cancelled,
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// Quantity.
    pub qty: u32,
    /// Unit price in minor units.
    pub unit_price: i64,
}

/// The order's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Lifecycle status.
    pub status: Status,
    /// The customer.
    pub customer_id: String,
    /// Lines by SKU.
    pub lines: BTreeMap<String, Line>,
    /// Sum of qty × unit price, in minor units.
    pub total: i64,
}

/// What a user can ask of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Open an order for a customer.
    Create { customer_id: String },
    /// Add a quantity of a product at a unit price.
    AddItem {
        sku: String,
        qty: u32,
        unit_price: i64,
    },
    /// Remove a product's line.
    RemoveItem { sku: String },
    /// Confirm the order.
    Confirm,
    /// Cancel the order.
    Cancel { reason: String },
}

/// What happened to an order (stored as `{"type", "data"}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Event {
    /// The order was opened.
    OrderCreated { customer_id: String },
    /// A quantity was added.
    ItemAdded {
        sku: String,
        qty: u32,
        unit_price: i64,
    },
    /// A line was removed.
    ItemRemoved { sku: String },
    /// The order was confirmed.
    OrderConfirmed,
    /// The order was cancelled.
    OrderCancelled { reason: String },
}

/// The order decider.
pub struct OrderDecider;

impl Decider for OrderDecider {
    type State = Order;
    type Command = Command;
    type Event = Event;
    type Error = String;

    fn initial_state() -> Order {
        Order::default()
    }

    fn evolve(mut state: Order, event: &Event) -> Order {
        match event {
            Event::OrderCreated { customer_id } => {
                state.status = Status::Open;
                state.customer_id = customer_id.clone();
            }
            Event::ItemAdded {
                sku,
                qty,
                unit_price,
            } => {
                let line = state.lines.entry(sku.clone()).or_insert(Line {
                    qty: 0,
                    unit_price: *unit_price,
                });
                line.qty += qty;
                line.unit_price = *unit_price;
            }
            Event::ItemRemoved { sku } => {
                state.lines.remove(sku);
            }
            Event::OrderConfirmed => state.status = Status::Confirmed,
            Event::OrderCancelled { .. } => state.status = Status::Cancelled,
        }
        state.total = state
            .lines
            .values()
            .map(|l| i64::from(l.qty) * l.unit_price)
            .sum();
        state
    }

    fn decide(command: &Command, state: &Order) -> Result<Vec<Event>, String> {
        let open = || match state.status {
            Status::Open => Ok(()),
            Status::None => Err("the order does not exist".to_string()),
            other => Err(format!("the order is {other:?}, not open")),
        };
        match command {
            Command::Create { customer_id } => {
                if state.status != Status::None {
                    return Err("the order already exists".into());
                }
                if customer_id.trim().is_empty() {
                    return Err("a customer is required".into());
                }
                Ok(vec![Event::OrderCreated {
                    customer_id: customer_id.clone(),
                }])
            }
            Command::AddItem {
                sku,
                qty,
                unit_price,
            } => {
                open()?;
                if *qty == 0 {
                    return Err("quantity must be positive".into());
                }
                if *unit_price < 0 {
                    return Err("price must not be negative".into());
                }
                Ok(vec![Event::ItemAdded {
                    sku: sku.clone(),
                    qty: *qty,
                    unit_price: *unit_price,
                }])
            }
            Command::RemoveItem { sku } => {
                open()?;
                if !state.lines.contains_key(sku) {
                    return Err(format!("no line for {sku}"));
                }
                Ok(vec![Event::ItemRemoved { sku: sku.clone() }])
            }
            Command::Confirm => {
                open()?;
                if state.lines.is_empty() {
                    return Err("an empty order cannot be confirmed".into());
                }
                Ok(vec![Event::OrderConfirmed])
            }
            Command::Cancel { reason } => {
                open()?;
                Ok(vec![Event::OrderCancelled {
                    reason: reason.clone(),
                }])
            }
        }
    }
}

/// Ids from a counter (an app would use random UUIDs, e.g. the `uuid` crate).
fn counter_ids() -> IdSource {
    let n = Arc::new(AtomicU64::new(1));
    Arc::new(move || {
        let mut b = [0u8; 16];
        b[8..].copy_from_slice(&n.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        b[6] = 0x40;
        EventId::from_bytes(b)
    })
}

/// The system clock (natively; the browser build passes `Date.now` instead).
fn clock() -> Clock {
    Arc::new(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(i64::try_from(now.as_millis()).unwrap_or(i64::MAX))
    })
}

fn main() -> Result<(), eventfold::Error> {
    futures::executor::block_on(async {
        let store = MemoryStore::new(clock());
        let mut config = AggregateConfig::new("order");
        config.snapshot = SnapshotPolicy::Every(2);
        let orders = Aggregate::new(DeciderModel::<OrderDecider>::new(counter_ids()), config)?;
        orders
            .execute(
                &store,
                "42",
                &Command::Create {
                    customer_id: "c1".into(),
                },
            )
            .await?;
        orders
            .execute(
                &store,
                "42",
                &Command::AddItem {
                    sku: "p1".into(),
                    qty: 2,
                    unit_price: 1250,
                },
            )
            .await?;
        let done = orders
            .execute(
                &store,
                "42",
                &Command::AddItem {
                    sku: "p2".into(),
                    qty: 1,
                    unit_price: 399,
                },
            )
            .await?;
        println!(
            "order-42 at version {}: total {} cents",
            done.version.0, done.state.total
        );
        match orders
            .execute(
                &store,
                "42",
                &Command::AddItem {
                    sku: "p3".into(),
                    qty: 0,
                    unit_price: 1,
                },
            )
            .await
        {
            Err(e) => println!("rejected: {} ({})", e, e.code()),
            Ok(_) => println!("unexpectedly accepted"),
        }
        let before = orders
            .load(&store, "42", AsOf::Version(eventfold::Version(2)))
            .await?;
        println!("as of version 2: total {} cents", before.state.total);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventfold::core::testkit::given;
    use eventfold::store::{contract::test_clock, EventStore};
    use eventfold::{StreamId, Version};

    fn created() -> Event {
        Event::OrderCreated {
            customer_id: "c1".into(),
        }
    }

    fn add(sku: &str, qty: u32, unit_price: i64) -> Event {
        Event::ItemAdded {
            sku: sku.into(),
            qty,
            unit_price,
        }
    }

    #[test]
    fn rules() {
        given::<OrderDecider>([])
            .when(Command::Create {
                customer_id: "c1".into(),
            })
            .then_expect([created()]);
        given::<OrderDecider>([])
            .when(Command::Create {
                customer_id: " ".into(),
            })
            .then_expect_error("a customer is required".into());
        given::<OrderDecider>([created()])
            .when(Command::Create {
                customer_id: "c2".into(),
            })
            .then_expect_error("the order already exists".into());
        given::<OrderDecider>([created()])
            .when(Command::AddItem {
                sku: "p1".into(),
                qty: 2,
                unit_price: 1250,
            })
            .then_expect([add("p1", 2, 1250)]);
        given::<OrderDecider>([created()])
            .when(Command::AddItem {
                sku: "p1".into(),
                qty: 0,
                unit_price: 1,
            })
            .then_expect_error("quantity must be positive".into());
        given::<OrderDecider>([created()])
            .when(Command::Confirm)
            .then_expect_error("an empty order cannot be confirmed".into());
        given::<OrderDecider>([created(), add("p1", 1, 5), Event::OrderConfirmed])
            .when(Command::Cancel {
                reason: "late".into(),
            })
            .then_expect_error("the order is Confirmed, not open".into());
        given::<OrderDecider>([created(), add("p1", 1, 5)])
            .when(Command::RemoveItem { sku: "p2".into() })
            .then_expect_error("no line for p2".into());
    }

    #[test]
    fn totals_are_exact_integers() {
        let state = OrderDecider::fold(&[
            created(),
            add("p1", 3, 1999),
            add("p2", 1, 1),
            add("p1", 1, 1999),
        ]);
        assert_eq!(state.total, 4 * 1999 + 1);
        assert_eq!(state.lines["p1"].qty, 4);
    }

    #[test]
    fn the_runner_appends_decided_events_and_rejects_without_writing() {
        futures::executor::block_on(async {
            let store = MemoryStore::new(test_clock());
            let orders = Aggregate::new(
                DeciderModel::<OrderDecider>::new(counter_ids()),
                AggregateConfig::new("order"),
            )
            .unwrap();
            orders
                .execute(
                    &store,
                    "7",
                    &Command::Create {
                        customer_id: "c1".into(),
                    },
                )
                .await
                .unwrap();
            let r = orders
                .execute(
                    &store,
                    "7",
                    &Command::AddItem {
                        sku: "p".into(),
                        qty: 2,
                        unit_price: 300,
                    },
                )
                .await
                .unwrap();
            assert_eq!(
                (r.version, r.state.total, r.events.len()),
                (Version(2), 600, 1)
            );
            assert_eq!(r.events[0].event_type.as_str(), "ItemAdded");
            assert_eq!(
                r.events[0].data.as_str(),
                r#"{"sku":"p","qty":2,"unit_price":300}"#
            );
            let err = orders.execute(&store, "7", &Command::Confirm).await;
            assert!(err.is_ok());
            let err = orders
                .execute(
                    &store,
                    "7",
                    &Command::AddItem {
                        sku: "q".into(),
                        qty: 1,
                        unit_price: 1,
                    },
                )
                .await
                .unwrap_err();
            assert_eq!(err.code(), "DECIDER_REJECTED");
            assert_eq!(
                store
                    .stream_version(&StreamId::new("order-7").unwrap())
                    .await
                    .unwrap(),
                Version(3)
            );
        });
    }
}
