//! Stock counts at a customer: what is on the shelf (and in the back room), per product,
//! recorded as a fact in the visit. Offline.

use fieldkit_domain::ids::{CustomerId, FactId, VisitId};
use fieldkit_domain::model::{StockCount, StockLine};
use fieldkit_domain::protocol::{Fact, RecordKind};

use super::FieldKit;
use crate::error::{Error, Result};
use crate::session;
use crate::store::{facts, outbox, records};
use crate::time::now_ms;

impl FieldKit {
    /// Records a stock count at `customer_id` in `visit_id`. Every product must be on the
    /// price list and counted once; an empty count is refused. Offline.
    pub fn count_stock(
        &self,
        customer_id: CustomerId,
        visit_id: Option<VisitId>,
        lines: Vec<StockLine>,
    ) -> Result<StockCount> {
        let rep = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user.id;
        if lines.is_empty() {
            return Err(fieldkit_domain::DomainError::Empty("stock count").into());
        }
        let now = now_ms();
        self.write_local(|tx, _| {
            for (i, line) in lines.iter().enumerate() {
                if records::get(tx, RecordKind::Product, line.product_id.0)?.is_none() {
                    return Err(Error::NotFound(format!("product {}", line.product_id)));
                }
                if lines[..i].iter().any(|l| l.product_id == line.product_id) {
                    return Err(Error::NotFound(format!("a single count of product {}", line.product_id)));
                }
            }
            let count = StockCount {
                id: FactId::new(),
                customer_id,
                visit_id,
                rep_id: rep,
                lines,
                at: self.event_time(tx, now)?,
            };
            facts::insert(tx, &Fact::StockCount(count.clone()), visit_id.map(|v| v.to_string()), now)?;
            outbox::append(tx, outbox::KIND_FACT, &count.id.to_string(), now)?;
            Ok(count)
        })
    }
}
