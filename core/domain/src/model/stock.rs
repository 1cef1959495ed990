//! Stock counted on a customer's shelf during a visit.

use serde::{Deserialize, Serialize};

use crate::clock::EventTime;
use crate::ids::{CustomerId, FactId, ProductId, UserId, VisitId};

/// One product counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLine {
    /// The product.
    pub product_id: ProductId,
    /// Units on the shelf.
    pub on_shelf: u32,
    /// Units in the back room, if counted.
    pub in_storage: Option<u32>,
}

/// A stock count (a fact: a later count is a new fact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockCount {
    /// The fact id.
    pub id: FactId,
    /// The customer.
    pub customer_id: CustomerId,
    /// The visit it was counted in.
    pub visit_id: Option<VisitId>,
    /// The rep.
    pub rep_id: UserId,
    /// The products counted.
    pub lines: Vec<StockLine>,
    /// When.
    pub at: EventTime,
}
