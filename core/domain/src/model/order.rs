//! Orders taken at a customer, totalled in integer minor units.

use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::clock::EventTime;
use crate::ids::{CustomerId, FactId, ProductId, UserId, VisitId};
use crate::model::{Currency, Grade, Money, Product};

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
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
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
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
    /// The total the phone computed and showed the customer, minor units: the server
    /// computes it again from the price list and refuses an order where they differ.
    pub total_minor: i64,
    /// When it was submitted.
    pub at: EventTime,
    /// The approved order-discount request (an approval fact) that lets its discounts go
    /// beyond the products' limits, up to the approved amount; `None` for an order within
    /// the limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_approval: Option<FactId>,
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

/// Why an order does not match the price list. Messages name products by id and amounts in
/// minor units.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OrderError {
    /// No lines at all.
    #[error("an order needs at least one line")]
    Empty,
    /// A line of zero units.
    #[error("line {line} orders 0 units of product {product}")]
    ZeroQuantity {
        /// The line's index.
        line: usize,
        /// Its product.
        product: ProductId,
    },
    /// A product not on the price list.
    #[error("product {0} is not on the price list")]
    UnknownProduct(ProductId),
    /// A product priced in another currency than the order.
    #[error("product {product} is priced in {product_currency}, the order is in {order_currency}")]
    CurrencyMismatch {
        /// The product.
        product: ProductId,
        /// Its price list currency.
        product_currency: String,
        /// The order's currency.
        order_currency: String,
    },
    /// A unit price other than the price list's for the customer's grade.
    #[error("product {product} costs {expected} per unit for this customer, the order says {found}")]
    WrongPrice {
        /// The product.
        product: ProductId,
        /// The price list's unit price.
        expected: i64,
        /// The order's unit price.
        found: i64,
    },
    /// A discount that is negative or above the product's limit.
    #[error("line {line} discount {discount} is outside 0..={max} (the product's limit)")]
    BadDiscount {
        /// The line's index.
        line: usize,
        /// The discount given.
        discount: i64,
        /// The largest allowed.
        max: i64,
    },
    /// The claimed total differs from the lines' sum.
    #[error("order total {claimed} does not match its lines, which sum to {computed}")]
    TotalMismatch {
        /// What the order says.
        claimed: i64,
        /// What its lines sum to.
        computed: i64,
    },
    /// With an approved discount: the lines' discounts add up to more than was approved.
    #[error("the order's discounts add up to {total}, more than the {approved} approved")]
    OverApprovedDiscount {
        /// The order's discounts, summed.
        total: i64,
        /// The approved discount.
        approved: i64,
    },
    /// An amount overflowed.
    #[error(transparent)]
    Amount(#[from] DomainError),
}

impl Order {
    /// Checks the order against the price list for a customer of `grade` (`product` looks a
    /// product up): known products, positive quantities, the grade's unit prices, discounts
    /// within each product's limit (rounded down to the minor unit), and the claimed total.
    /// With `approved_discount` (the amount of an approved order-discount request, see
    /// [`crate::approval::discount_allowance`]) a line may be discounted beyond its
    /// product's limit, up to its gross, as long as all discounts add up to at most that.
    pub fn check(
        &self,
        grade: Grade,
        product: impl Fn(ProductId) -> Option<Product>,
        approved_discount: Option<i64>,
    ) -> Result<(), OrderError> {
        if self.lines.is_empty() {
            return Err(OrderError::Empty);
        }
        for (line, l) in self.lines.iter().enumerate() {
            if l.quantity == 0 {
                return Err(OrderError::ZeroQuantity { line, product: l.product_id });
            }
            let p = product(l.product_id).ok_or(OrderError::UnknownProduct(l.product_id))?;
            if p.list_price.currency != self.currency {
                return Err(OrderError::CurrencyMismatch {
                    product: p.id,
                    product_currency: p.list_price.currency.as_str().to_owned(),
                    order_currency: self.currency.as_str().to_owned(),
                });
            }
            let expected = p.unit_price_minor(grade);
            if l.unit_price_minor != expected {
                return Err(OrderError::WrongPrice { product: p.id, expected, found: l.unit_price_minor });
            }
            let gross = i64::from(l.quantity)
                .checked_mul(expected)
                .ok_or(DomainError::AmountOverflow("order line gross"))?;
            let max = match approved_discount {
                Some(_) => gross,
                None => {
                    gross / 100 * i64::from(p.max_discount_pct)
                        + gross % 100 * i64::from(p.max_discount_pct) / 100
                }
            };
            if !(0..=max).contains(&l.discount_minor) {
                return Err(OrderError::BadDiscount { line, discount: l.discount_minor, max });
            }
        }
        if let Some(approved) = approved_discount {
            let total = self
                .lines
                .iter()
                .try_fold(0_i64, |sum, l| sum.checked_add(l.discount_minor))
                .ok_or(DomainError::AmountOverflow("order discounts"))?;
            if total > approved {
                return Err(OrderError::OverApprovedDiscount { total, approved });
            }
        }
        let computed = self.total()?.minor;
        if computed != self.total_minor {
            return Err(OrderError::TotalMismatch { claimed: self.total_minor, computed });
        }
        Ok(())
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
            total_minor: 0,
            lines,
            amends: None,
            discount_approval: None,
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

    fn product(list: i64, grade_b: i64) -> Product {
        Product {
            id: ProductId::new(),
            sku: "SKU-1".into(),
            name: "可乐 330ml".into(),
            line: "drinks".into(),
            list_price: Money { minor: list, currency: Currency::CNY },
            grade_prices: [(Grade::B, grade_b)].into_iter().collect(),
            max_discount_pct: 10,
        }
    }

    #[test]
    fn an_order_priced_from_the_list_for_the_grade_checks_and_tampering_does_not() {
        let cola = product(350, 320);
        let lookup = |id| (id == cola.id).then(|| cola.clone());
        let line = |qty, price, discount| OrderLine {
            product_id: cola.id,
            quantity: qty,
            unit_price_minor: price,
            discount_minor: discount,
        };
        let mut o = order(vec![line(24, 320, 768)]);
        o.total_minor = 24 * 320 - 768;
        assert_eq!(o.check(Grade::B, lookup, None), Ok(()), "B price, discount at exactly 10 %");
        assert!(matches!(o.check(Grade::A, lookup, None), Err(OrderError::WrongPrice { expected: 350, .. })));
        o.total_minor -= 1;
        assert!(matches!(o.check(Grade::B, lookup, None), Err(OrderError::TotalMismatch { .. })));
        let mut greedy = order(vec![line(24, 320, 769)]);
        greedy.total_minor = 24 * 320 - 769;
        assert!(matches!(
            greedy.check(Grade::B, lookup, None),
            Err(OrderError::BadDiscount { max: 768, .. })
        ));
        assert_eq!(order(vec![]).check(Grade::B, lookup, None), Err(OrderError::Empty));
        let stranger = order(vec![OrderLine { product_id: ProductId::new(), ..line(1, 320, 0) }]);
        assert!(matches!(stranger.check(Grade::B, lookup, None), Err(OrderError::UnknownProduct(_))));
    }

    #[test]
    fn an_approved_discount_goes_beyond_the_products_limit_up_to_the_approved_amount() {
        let cola = product(350, 320);
        let lookup = |id| (id == cola.id).then(|| cola.clone());
        let line = |discount| OrderLine {
            product_id: cola.id,
            quantity: 24,
            unit_price_minor: 320,
            discount_minor: discount,
        };
        let mut deep = order(vec![line(2_000)]);
        deep.total_minor = 24 * 320 - 2_000;
        assert!(matches!(deep.check(Grade::B, lookup, None), Err(OrderError::BadDiscount { max: 768, .. })));
        assert_eq!(deep.check(Grade::B, lookup, Some(2_000)), Ok(()));
        assert_eq!(
            deep.check(Grade::B, lookup, Some(1_999)),
            Err(OrderError::OverApprovedDiscount { total: 2_000, approved: 1_999 })
        );
        let mut free = order(vec![line(24 * 320 + 1)]);
        free.total_minor = -1;
        assert!(matches!(free.check(Grade::B, lookup, Some(1_000_000)), Err(OrderError::BadDiscount { .. })));
    }

    proptest::proptest! {
        /// The total of many lines with discounts equals a plain reference sum in i128.
        #[test]
        fn totals_match_a_reference_sum(lines in proptest::collection::vec((1u32..10_000, 0i64..1_000_000, 0i64..100), 1..60)) {
            let p = ProductId::new();
            let o = order(lines.iter().map(|&(q, price, pct)| OrderLine {
                product_id: p,
                quantity: q,
                unit_price_minor: price,
                discount_minor: i64::from(q) * price * pct / 1000,
            }).collect());
            let reference: i128 = o.lines.iter()
                .map(|l| i128::from(l.quantity) * i128::from(l.unit_price_minor) - i128::from(l.discount_minor))
                .sum();
            proptest::prop_assert_eq!(i128::from(o.total().expect("fits").minor), reference);
        }
    }

    #[test]
    fn currency_codes_must_be_three_upper_case_letters() {
        assert_eq!(Currency::parse("CNY"), Ok(Currency::CNY));
        assert!(Currency::parse("cny").is_err());
        assert!(Currency::parse("YUAN").is_err());
    }
}
