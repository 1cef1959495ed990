//! An approved order-discount request as an order's allowance: the discount an order may
//! give beyond the products' limits, when it names the request (`Order::discount_approval`).

use super::decide::ApprovalStatus;
use super::request::{ApprovalRequest, RequestSubject};
use crate::model::Order;

/// Why a request cannot carry an order's discounts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowanceError {
    /// The request asks for something other than an order discount.
    #[error("approval request {0} is not an order-discount request")]
    NotADiscount(String),
    /// The request is pending or was rejected.
    #[error("approval request {0} is not approved")]
    NotApproved(String),
    /// The request was raised by someone else, for another customer or in another currency.
    #[error("approval request {request} is for {what} than order {order}")]
    OtherOrder {
        /// The request.
        request: String,
        /// The order.
        order: String,
        /// What differs, lower-case (e.g. "another customer").
        what: &'static str,
    },
}

/// The discount `request` (whose status is `status`) allows `order`: the approved amount,
/// if the request is an approved order discount by the order's rep, for its customer and in
/// its currency.
pub fn discount_allowance(
    request: &ApprovalRequest,
    status: &ApprovalStatus,
    order: &Order,
) -> Result<i64, AllowanceError> {
    let RequestSubject::OrderDiscount { customer_id, currency, discount_minor, .. } = &request.subject else {
        return Err(AllowanceError::NotADiscount(request.id.to_string()));
    };
    if !matches!(status, ApprovalStatus::Approved { .. }) {
        return Err(AllowanceError::NotApproved(request.id.to_string()));
    }
    let other = |what| AllowanceError::OtherOrder {
        request: request.id.to_string(),
        order: order.id.to_string(),
        what,
    };
    if request.requester_id != order.rep_id {
        return Err(other("another rep"));
    }
    if *customer_id != order.customer_id {
        return Err(other("another customer"));
    }
    if *currency != order.currency {
        return Err(other("another currency"));
    }
    Ok(*discount_minor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{EventTime, Hlc};
    use crate::ids::{CustomerId, FactId, UserId};
    use crate::model::Currency;

    fn order(rep: UserId, customer: CustomerId) -> Order {
        Order {
            id: FactId::new(),
            customer_id: customer,
            visit_id: None,
            rep_id: rep,
            currency: Currency::CNY,
            lines: Vec::new(),
            amends: None,
            total_minor: 0,
            at: EventTime {
                device_ms: 0,
                hlc: Hlc { wall_ms: 0, counter: 0, node: 0 },
                server_estimate_ms: None,
            },
            discount_approval: None,
        }
    }

    fn request(rep: UserId, customer: CustomerId) -> ApprovalRequest {
        ApprovalRequest {
            id: FactId::new(),
            requester_id: rep,
            department_id: None,
            subject: RequestSubject::OrderDiscount {
                customer_id: customer,
                order_id: None,
                currency: Currency::CNY,
                order_total_minor: 100_000,
                discount_minor: 20_000,
            },
            reason: String::new(),
            submitted_ms: 0,
            flow_version: 1,
        }
    }

    #[test]
    fn only_an_approved_discount_for_the_same_rep_and_customer_is_an_allowance() {
        let (rep, shop) = (UserId::new(), CustomerId::new());
        let approved = ApprovalStatus::Approved { at_ms: 1 };
        assert_eq!(discount_allowance(&request(rep, shop), &approved, &order(rep, shop)), Ok(20_000));
        let rejected = ApprovalStatus::Rejected { at_ms: 1, step: "manager".into(), by: UserId::new() };
        assert!(matches!(
            discount_allowance(&request(rep, shop), &rejected, &order(rep, shop)),
            Err(AllowanceError::NotApproved(_))
        ));
        let elsewhere = discount_allowance(&request(rep, shop), &approved, &order(rep, CustomerId::new()));
        assert!(matches!(elsewhere, Err(AllowanceError::OtherOrder { what: "another customer", .. })));
        let colleague = discount_allowance(&request(UserId::new(), shop), &approved, &order(rep, shop));
        assert!(matches!(colleague, Err(AllowanceError::OtherOrder { what: "another rep", .. })));
        let mut leave = request(rep, shop);
        leave.subject = RequestSubject::Leave { range: super::super::TimeRange { start_ms: 0, end_ms: 1 } };
        assert!(matches!(
            discount_allowance(&leave, &approved, &order(rep, shop)),
            Err(AllowanceError::NotADiscount(_))
        ));
    }
}
