//! Orders taken at a customer, totalled in integer minor units.

use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::clock::EventTime;
use crate::ids::{CustomerId, FactId, ProductId, UserId, VisitId};
use crate::model::{Currency, Money};

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The product ordered.
    pub product_id: ProductId,
    /// How many units.
    pub quantity: u32,
    /// Price per unit, minor units.
    pub unit_price_minor: i64,
    /// Discount on the whole line, minor units.
    pub discount_minor: i64,
}

impl OrderLine {
    /// `quantity × unit price − discount`, or an error if it overflows.
    pub fn total_minor(&self) -> Result<i64, DomainError> {
        i64::from(self.quantity)
            .checked_mul(self.unit_price_minor)
            .and_then(|gross| gross.checked_sub(self.discount_minor))
            .ok_or(DomainError::AmountOverflow("order line total"))
    }
}

/// An order, immutable once submitted (a change is a new, amending order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// The fact id.
    pub id: FactId,
    /// The customer ordering.
    pub customer_id: CustomerId,
    /// The visit it was taken in, if any.
    pub visit_id: Option<VisitId>,
    /// The rep.
    pub rep_id: UserId,
    /// The currency of every line.
    pub currency: Currency,
    /// The lines.
    pub lines: Vec<OrderLine>,
    /// The order this one amends, if any.
    pub amends: Option<FactId>,
    /// When it was submitted.
    pub at: EventTime,
}

impl Order {
    /// The sum of the line totals.
    pub fn total(&self) -> Result<Money, DomainError> {
        let minor = self.lines.iter().try_fold(0_i64, |sum, line| {
            sum.checked_add(line.total_minor()?).ok_or(DomainError::AmountOverflow("order total"))
        })?;
        Ok(Money { minor, currency: self.currency })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Hlc;

    fn order(lines: Vec<OrderLine>) -> Order {
        Order {
            id: FactId::new(),
            customer_id: CustomerId::new(),
            visit_id: None,
            rep_id: UserId::new(),
            currency: Currency::CNY,
            lines,
            amends: None,
            at: EventTime {
                device_ms: 0,
                hlc: Hlc { wall_ms: 0, counter: 0, node: 0 },
                server_estimate_ms: None,
            },
        }
    }

    #[test]
    fn an_order_totals_its_lines_in_minor_units() {
        let p = ProductId::new();
        let o = order(vec![
            OrderLine { product_id: p, quantity: 3, unit_price_minor: 1_250, discount_minor: 0 },
            OrderLine { product_id: p, quantity: 2, unit_price_minor: 999, discount_minor: 98 },
        ]);
        assert_eq!(o.total(), Ok(Money { minor: 3 * 1_250 + 2 * 999 - 98, currency: Currency::CNY }));
    }

    #[test]
    fn an_order_whose_total_overflows_is_an_error_not_a_wrapped_number() {
        let p = ProductId::new();
        let o = order(vec![OrderLine {
            product_id: p,
            quantity: u32::MAX,
            unit_price_minor: i64::MAX / 2,
            discount_minor: 0,
        }]);
        assert!(matches!(o.total(), Err(DomainError::AmountOverflow(_))));
    }

    #[test]
    fn currency_codes_must_be_three_upper_case_letters() {
        assert_eq!(Currency::parse("CNY"), Ok(Currency::CNY));
        assert!(Currency::parse("cny").is_err());
        assert!(Currency::parse("YUAN").is_err());
    }
}
