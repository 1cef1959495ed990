//! Orders priced again on the server: the same domain check the phone ran
//! ([`Order::check`]), with the customer's grade and the price list the server holds. A rep
//! who edits prices, discounts or totals on the phone is refused here. An order that names
//! an approved order-discount request may go beyond the products' discount limits up to the
//! approved amount, once: the request is decided again here, and a second order naming it
//! is refused.

use std::collections::HashMap;

use fieldkit_domain::approval::discount_allowance;
use fieldkit_domain::ids::{FactId, OrgId};
use fieldkit_domain::model::Order;
use fieldkit_domain::protocol::{Fact, Record, RecordKind};

use crate::approvals;
use crate::storage::{FactFilter, Storage, StorageResult, StoredRecord};

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
    let allowance = match order.discount_approval {
        None => None,
        Some(id) => match allowance(storage, org, order, id).await? {
            Ok(allowed) => Some(allowed),
            Err(reason) => return Ok(Err(format!("order {}: {reason}", order.id))),
        },
    };
    Ok(order
        .check(grade, |id| products.get(&id).cloned(), allowance)
        .map_err(|e| format!("order {}: {e}", order.id)))
}

/// The discount the approved request `id` allows `order` as the server decides it now, or
/// why none: unknown, not an approved discount by this rep for this customer, or already
/// used by another order.
async fn allowance(
    storage: &dyn Storage,
    org: OrgId,
    order: &Order,
    id: FactId,
) -> StorageResult<Result<i64, String>> {
    let loaded = match approvals::service::load(storage, org, id).await {
        Ok(loaded) => loaded,
        Err(e) => return Ok(Err(e.message)),
    };
    let directory = approvals::directory::OrgDirectory::load(storage, org).await?;
    let status = match loaded.decide(&directory, crate::now_ms()) {
        Ok((state, _)) => state.status,
        Err(e) => return Ok(Err(e.message)),
    };
    let allowed = match discount_allowance(&loaded.request, &status, order) {
        Ok(allowed) => allowed,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let orders = storage
        .facts(org, FactFilter { kind: Some("order".to_owned()), rep_ids: Some(vec![order.rep_id]) })
        .await?;
    for stored in orders {
        if let Ok(Fact::Order(other)) = serde_json::from_str::<Fact>(&stored.body)
            && other.discount_approval == Some(id)
            && other.id != order.id
        {
            return Ok(Err(format!("approval request {id} was already used by order {}", other.id)));
        }
    }
    Ok(Ok(allowed))
}
