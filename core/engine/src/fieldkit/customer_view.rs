//! The customer 360° view on the phone: profile, recent visits with their outcome and
//! photos, recent orders and amounts, open tasks, the last visit and the days since — read
//! from the local database by index, offline.

use fieldkit_domain::ids::CustomerId;
use fieldkit_domain::model::{Customer, Order, Task, TaskStatus, Visit};
use fieldkit_domain::protocol::{Fact, Record, RecordKind};

use super::FieldKit;
use crate::error::{Error, Result};
use crate::store::{facts, records, tasks, visits};
use crate::time::now_ms;

/// How many recent visits and orders the view lists.
const RECENT: u32 = 10;

/// One recent visit and what came of it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VisitSummary {
    /// The visit (check-in and check-out times, SOP steps done, notes).
    pub visit: Visit,
    /// Photos taken in it.
    pub photos: u32,
    /// Orders taken in it.
    pub orders: u32,
}

/// Everything the rep needs about a customer before walking in.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Customer360 {
    /// The profile: name, place, grade, tags, geofence.
    pub customer: Customer,
    /// The latest visits, newest first.
    pub recent_visits: Vec<VisitSummary>,
    /// All visits to the customer on this phone.
    pub visit_count: u32,
    /// The latest orders, newest first.
    pub recent_orders: Vec<Order>,
    /// The sum of the listed orders, minor units (orders in several currencies add up as
    /// numbers; a customer orders in one).
    pub recent_orders_minor: i64,
    /// Tasks at the customer still open or in progress.
    pub open_tasks: Vec<Task>,
    /// When the last visit started, device Unix milliseconds.
    pub last_visit_ms: Option<i64>,
    /// Whole days since then.
    pub days_since_last_visit: Option<i64>,
}

impl FieldKit {
    /// The customer 360° view, from this phone's database. Offline.
    pub fn customer_360(&self, id: CustomerId) -> Result<Customer360> {
        let now = now_ms();
        self.store.read(|conn| {
            let customer = match records::get(conn, RecordKind::Customer, id.0)? {
                Some(Record::Customer(c)) => c,
                _ => return Err(Error::NotFound(format!("customer {id}"))),
            };
            let key = id.to_string();
            let (recent, visit_count) = visits::of_customer(conn, &key, RECENT)?;
            let recent_visits = recent
                .into_iter()
                .map(|visit| {
                    let v = visit.id.to_string();
                    Ok(VisitSummary {
                        photos: facts::count_in_visit(conn, &v, "photo")?,
                        orders: facts::count_in_visit(conn, &v, "order")?,
                        visit,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let recent_orders: Vec<Order> = facts::of_customer(conn, &key, "order", RECENT)?
                .into_iter()
                .filter_map(|f| match f {
                    Fact::Order(o) => Some(o),
                    _ => None,
                })
                .collect();
            let recent_orders_minor = recent_orders.iter().map(|o| o.total_minor).sum();
            let open_tasks = tasks::of_customer(conn, id)?
                .into_iter()
                .filter(|t| matches!(t.status, TaskStatus::Open | TaskStatus::InProgress))
                .collect();
            let last_visit_ms = recent_visits.first().map(|s| s.visit.started_ms);
            Ok(Customer360 {
                customer,
                recent_visits,
                visit_count,
                recent_orders,
                recent_orders_minor,
                open_tasks,
                last_visit_ms,
                days_since_last_visit: last_visit_ms.map(|t| (now - t).max(0) / 86_400_000),
            })
        })
    }
}
