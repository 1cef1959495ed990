//! What the rep sells and looks up at a customer: the price list, orders, the customer
//! 360° view and knowledge-base search hits.

use std::collections::HashMap;

use fieldkit_domain::model;

use super::Place;
use super::Task;
use super::visits::Visit;

/// A product on the price list.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Product {
    /// The product id (a UUID).
    pub id: String,
    /// Stock-keeping unit code.
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Product line.
    pub line: String,
    /// List price per unit, minor units (fen for CNY).
    pub list_price_minor: i64,
    /// The currency, ISO 4217 (`CNY`).
    pub currency: String,
    /// Price per unit by customer grade (`A`, `B`, `C`), minor units; grades not listed pay
    /// the list price.
    pub grade_prices: HashMap<String, i64>,
    /// Largest discount a rep may give on a line, percent of the line's gross.
    pub max_discount_pct: u8,
}

impl From<model::Product> for Product {
    fn from(p: model::Product) -> Self {
        Self {
            id: p.id.to_string(),
            sku: p.sku,
            name: p.name,
            line: p.line,
            list_price_minor: p.list_price.minor,
            currency: p.list_price.currency.as_str().to_owned(),
            grade_prices: p.grade_prices.into_iter().map(|(g, v)| (grade_text(g), v)).collect(),
            max_discount_pct: p.max_discount_pct,
        }
    }
}

/// A customer's grade as text: `A`, `B` or `C`.
pub(crate) fn grade_text(grade: model::Grade) -> String {
    match grade {
        model::Grade::A => "A",
        model::Grade::B => "B",
        model::Grade::C => "C",
    }
    .to_owned()
}

/// One order line as the rep enters it; the price comes from the price list.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OrderLineInput {
    /// The product (a UUID).
    pub product_id: String,
    /// How many units.
    pub quantity: u32,
    /// Discount on the whole line, minor units (within the product's limit).
    pub discount_minor: i64,
}

/// One priced order line.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OrderLine {
    /// The product (a UUID).
    pub product_id: String,
    /// How many units.
    pub quantity: u32,
    /// Price per unit for this customer, minor units.
    pub unit_price_minor: i64,
    /// Discount on the whole line, minor units.
    pub discount_minor: i64,
}

/// An order, final once taken (a change is a new, amending order).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Order {
    /// The order's id (a UUID).
    pub id: String,
    /// The customer (a UUID).
    pub customer_id: String,
    /// The visit it was taken in, if any (a UUID).
    pub visit_id: Option<String>,
    /// The currency of every line, ISO 4217.
    pub currency: String,
    /// The priced lines.
    pub lines: Vec<OrderLine>,
    /// The order it amends, if any (a UUID).
    pub amends: Option<String>,
    /// The total shown to the customer, minor units.
    pub total_minor: i64,
    /// Device time it was taken, Unix milliseconds.
    pub at_ms: i64,
}

impl From<model::Order> for Order {
    fn from(o: model::Order) -> Self {
        Self {
            id: o.id.to_string(),
            customer_id: o.customer_id.to_string(),
            visit_id: o.visit_id.map(|v| v.to_string()),
            currency: o.currency.as_str().to_owned(),
            lines: o
                .lines
                .into_iter()
                .map(|l| OrderLine {
                    product_id: l.product_id.to_string(),
                    quantity: l.quantity,
                    unit_price_minor: l.unit_price_minor,
                    discount_minor: l.discount_minor,
                })
                .collect(),
            amends: o.amends.map(|a| a.to_string()),
            total_minor: o.total_minor,
            at_ms: o.at.device_ms,
        }
    }
}

/// A customer's profile.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Customer {
    /// The customer id (a UUID).
    pub id: String,
    /// Shop or account name.
    pub name: String,
    /// Where the customer is.
    pub place: Place,
    /// Account grade: `A`, `B` or `C`.
    pub grade: String,
    /// Free labels (channel, region, chain…).
    pub tags: Vec<String>,
    /// Check-in geofence radius in metres; `null`/`nil` means the org default.
    pub geofence_radius_m: Option<u32>,
}

impl From<model::Customer> for Customer {
    fn from(c: model::Customer) -> Self {
        Self {
            id: c.id.to_string(),
            name: c.name,
            place: c.place.into(),
            grade: grade_text(c.grade),
            tags: c.tags,
            geofence_radius_m: c.geofence_radius_m,
        }
    }
}

/// One recent visit and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitSummary {
    /// The visit.
    pub visit: Visit,
    /// Photos taken in it.
    pub photos: u32,
    /// Orders taken in it.
    pub orders: u32,
}

/// Everything the rep needs about a customer before walking in.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Customer360 {
    /// The profile.
    pub customer: Customer,
    /// The latest visits, newest first.
    pub recent_visits: Vec<VisitSummary>,
    /// All visits to the customer on this phone.
    pub visit_count: u32,
    /// The latest orders, newest first.
    pub recent_orders: Vec<Order>,
    /// The sum of the listed orders, minor units.
    pub recent_orders_minor: i64,
    /// The customer's open and in-progress tasks.
    pub open_tasks: Vec<Task>,
    /// Device time of the last visit, Unix milliseconds.
    pub last_visit_ms: Option<i64>,
    /// Whole days since the last visit.
    pub days_since_last_visit: Option<i64>,
}

impl From<fieldkit_engine::Customer360> for Customer360 {
    fn from(v: fieldkit_engine::Customer360) -> Self {
        Self {
            customer: v.customer.into(),
            recent_visits: v
                .recent_visits
                .into_iter()
                .map(|s| VisitSummary { visit: s.visit.into(), photos: s.photos, orders: s.orders })
                .collect(),
            visit_count: v.visit_count,
            recent_orders: v.recent_orders.into_iter().map(Order::from).collect(),
            recent_orders_minor: v.recent_orders_minor,
            open_tasks: v.open_tasks.into_iter().map(Task::from).collect(),
            last_visit_ms: v.last_visit_ms,
            days_since_last_visit: v.days_since_last_visit,
        }
    }
}

/// One knowledge-base search result.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct KbHit {
    /// The article's id (a UUID).
    pub id: String,
    /// The title, matches highlighted in 【】.
    pub title: String,
    /// A short piece of the body around the match, highlighted.
    pub snippet: String,
    /// Lower is better.
    pub rank: f64,
}

impl From<fieldkit_engine::KbHit> for KbHit {
    fn from(h: fieldkit_engine::KbHit) -> Self {
        Self { id: h.id.to_string(), title: h.title, snippet: h.snippet, rank: h.rank }
    }
}

/// A knowledge-base article.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct KbArticle {
    /// The article's id (a UUID).
    pub id: String,
    /// The title.
    pub title: String,
    /// The body text.
    pub body: String,
    /// Its tags.
    pub tags: Vec<String>,
}

impl From<model::KbArticle> for KbArticle {
    fn from(a: model::KbArticle) -> Self {
        Self { id: a.id.to_string(), title: a.title, body: a.body, tags: a.tags }
    }
}
