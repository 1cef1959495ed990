//! Orders priced again on the server: the same domain check the phone ran
//! ([`Order::check`]), with the customer's grade and the price list the server holds. A rep
//! who edits prices, discounts or totals on the phone is refused here.

use std::collections::HashMap;

use fieldkit_domain::ids::OrgId;
use fieldkit_domain::model::Order;
use fieldkit_domain::protocol::{Record, RecordKind};

use crate::storage::{Storage, StorageResult, StoredRecord};

/// `Ok(Err(reason))` when the order does not match the price list; `Err` only when storage
/// fails.
pub(crate) async fn check(
    storage: &dyn Storage,
    org: OrgId,
    order: &Order,
) -> StorageResult<Result<(), String>> {
    let grade = match storage.record(org, RecordKind::Customer, order.customer_id.0).await? {
        Some(StoredRecord { record: Record::Customer(c), .. }) => c.grade,
        _ => return Ok(Err(format!("order {}: customer {} not found", order.id, order.customer_id))),
    };
    let mut products = HashMap::new();
    for line in &order.lines {
        if products.contains_key(&line.product_id) {
            continue;
        }
        if let Some(StoredRecord { record: Record::Product(p), .. }) =
            storage.record(org, RecordKind::Product, line.product_id.0).await?
        {
            products.insert(p.id, p);
        }
    }
    Ok(order.check(grade, |id| products.get(&id).cloned()).map_err(|e| format!("order {}: {e}", order.id)))
}
