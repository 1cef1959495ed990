//! Orders taken at a customer, priced on the phone from the synced price list (the
//! customer's grade price or the list price) and checked with the same rule the server
//! applies again: a submitted order is a fact, changed only by an amending order.

use std::collections::HashMap;

use fieldkit_domain::ids::{CustomerId, FactId, ProductId, VisitId};
use fieldkit_domain::model::{Currency, Customer, Order, OrderError, OrderLine, Product};
use fieldkit_domain::protocol::{Fact, Record, RecordKind};

use super::FieldKit;
use crate::error::{Error, Result};
use crate::session;
use crate::store::{facts, outbox, records};
use crate::time::now_ms;

/// One line as the rep enters it: the price comes from the price list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderLineInput {
    /// The product.
    pub product_id: ProductId,
    /// How many units.
    pub quantity: u32,
    /// Discount on the whole line, minor units (within the product's limit).
    pub discount_minor: i64,
}

impl FieldKit {
    /// The price list on this phone.
    pub fn products(&self) -> Result<Vec<Product>> {
        Ok(self
            .store
            .read(|conn| records::all(conn, RecordKind::Product))?
            .into_iter()
            .filter_map(|r| match r {
                Record::Product(p) => Some(p),
                _ => None,
            })
            .collect())
    }

    /// Submits an order at `customer_id` (in `visit_id`, amending `amends` if given): each
    /// line priced for the customer's grade, the total computed, the whole checked against
    /// the price list ([`Error::Order`] names the rule broken; nothing is stored), then stored
    /// and queued as a fact. Offline. With `discount_approval`, the id of the rep's approved
    /// order-discount request for this customer (as this phone last heard from the server),
    /// the lines may be discounted beyond the products' limits up to the approved amount;
    /// a request that is not here, not approved, for someone or something else, or already
    /// used by another order is refused ([`Error::Approval`]).
    pub fn take_order(
        &self,
        customer_id: CustomerId,
        visit_id: Option<VisitId>,
        lines: &[OrderLineInput],
        amends: Option<FactId>,
        discount_approval: Option<FactId>,
    ) -> Result<Order> {
        let rep = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user.id;
        let customer: Customer =
            match self.store.read(|c| records::get(c, RecordKind::Customer, customer_id.0))? {
                Some(Record::Customer(c)) => c,
                _ => return Err(Error::NotFound(format!("customer {customer_id}"))),
            };
        let products: HashMap<ProductId, Product> = self.products()?.into_iter().map(|p| (p.id, p)).collect();
        let currency = lines
            .first()
            .and_then(|l| products.get(&l.product_id))
            .map_or(Currency::CNY, |p| p.list_price.currency);
        let lines: Vec<OrderLine> = lines
            .iter()
            .map(|l| {
                let unit = products
                    .get(&l.product_id)
                    .map(|p| p.unit_price_minor(customer.grade))
                    .ok_or(OrderError::UnknownProduct(l.product_id))?;
                Ok(OrderLine {
                    product_id: l.product_id,
                    quantity: l.quantity,
                    unit_price_minor: unit,
                    discount_minor: l.discount_minor,
                })
            })
            .collect::<std::result::Result<_, OrderError>>()?;
        let now = now_ms();
        self.write_local(|tx, _| {
            let mut order = Order {
                id: FactId::new(),
                customer_id,
                visit_id,
                rep_id: rep,
                currency,
                lines,
                amends,
                total_minor: 0,
                at: self.event_time(tx, now)?,
                discount_approval,
            };
            order.total_minor = order.total().map_err(OrderError::from)?.minor;
            let allowance =
                discount_approval.map(|id| super::approvals::allowance(tx, id, &order)).transpose()?;
            order.check(customer.grade, |id| products.get(&id).cloned(), allowance)?;
            facts::insert(tx, &Fact::Order(order.clone()), visit_id.map(|v| v.to_string()), now)?;
            outbox::append(tx, outbox::KIND_FACT, &order.id.to_string(), now)?;
            Ok(order)
        })
    }
}
