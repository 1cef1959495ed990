//! Approval requests as the app builds them: what is asked for, with ids and the currency
//! as text checked here (a malformed one is `InvalidInput` naming the field, where a failed
//! uniffi lift of the domain's `RequestSubject` would be an untyped internal error).

use fieldkit_domain::approval::{RequestSubject, StepId, TimeRange};
use fieldkit_domain::model::Currency;

use crate::error::FieldKitError;
use crate::fieldkit::{parse_id, parse_opt_id};

/// What an approval request asks for, as the app gives it: ids and the currency as text,
/// checked here (a malformed one is `InvalidInput` naming the field).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum RequestSubjectInput {
    /// Accept a check-in made outside the customer's geofence.
    OutOfRangeCheckIn {
        /// The visit checked in to.
        visit_id: String,
        /// The customer visited.
        customer_id: String,
        /// How far the fix was from the customer, metres.
        distance_m: f64,
    },
    /// Create the customer proposed from the field.
    NewCustomer {
        /// The proposal's id.
        proposal_id: String,
    },
    /// Allow a discount above the rep's own limit.
    OrderDiscount {
        /// The customer ordering.
        customer_id: String,
        /// The order, when it already exists.
        order_id: Option<String>,
        /// The currency of the amounts (ISO 4217, e.g. `CNY`).
        currency: String,
        /// The order's total before the discount, minor units.
        order_total_minor: i64,
        /// The discount asked for, minor units.
        discount_minor: i64,
    },
    /// Leave: once approved, tracking pauses inside the range.
    Leave {
        /// The period of leave, `[start, end)` in Unix milliseconds.
        range: TimeRange,
    },
    /// A business trip: once approved, tracking pauses inside the range.
    BusinessTrip {
        /// The period of the trip, `[start, end)` in Unix milliseconds.
        range: TimeRange,
        /// Where to (free text).
        destination: String,
    },
    /// An approval step of a task flow.
    TaskStep {
        /// The task.
        task_id: String,
        /// The task flow's step this request decides.
        step: String,
        /// The amount at stake (e.g. a repair quote), minor units, if any.
        amount_minor: Option<i64>,
    },
}

impl RequestSubjectInput {
    /// The domain's subject, with every id and the currency checked.
    pub(crate) fn parse(self) -> Result<RequestSubject, FieldKitError> {
        Ok(match self {
            Self::OutOfRangeCheckIn { visit_id, customer_id, distance_m } => {
                RequestSubject::OutOfRangeCheckIn {
                    visit_id: parse_id("visit_id", &visit_id)?,
                    customer_id: parse_id("customer_id", &customer_id)?,
                    distance_m,
                }
            }
            Self::NewCustomer { proposal_id } => {
                RequestSubject::NewCustomer { proposal_id: parse_id("proposal_id", &proposal_id)? }
            }
            Self::OrderDiscount { customer_id, order_id, currency, order_total_minor, discount_minor } => {
                RequestSubject::OrderDiscount {
                    customer_id: parse_id("customer_id", &customer_id)?,
                    order_id: parse_opt_id("order_id", order_id.as_deref())?,
                    currency: Currency::parse(&currency)
                        .map_err(|e| FieldKitError::invalid("currency", e.to_string()))?,
                    order_total_minor,
                    discount_minor,
                }
            }
            Self::Leave { range } => RequestSubject::Leave { range },
            Self::BusinessTrip { range, destination } => RequestSubject::BusinessTrip { range, destination },
            Self::TaskStep { task_id, step, amount_minor } => {
                if step.is_empty() {
                    return Err(FieldKitError::invalid("step", "the step id is empty"));
                }
                RequestSubject::TaskStep {
                    task_id: parse_id("task_id", &task_id)?,
                    step: StepId(step),
                    amount_minor,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_ids_and_currencies_are_invalid_input_naming_the_field() {
        let bad_visit = RequestSubjectInput::OutOfRangeCheckIn {
            visit_id: "nope".into(),
            customer_id: "x".into(),
            distance_m: 1.0,
        };
        assert!(
            matches!(bad_visit.parse(), Err(FieldKitError::InvalidInput { field, .. }) if field == "visit_id")
        );
        let bad_currency = RequestSubjectInput::OrderDiscount {
            customer_id: fieldkit_domain::ids::CustomerId::new().to_string(),
            order_id: None,
            currency: "yuan".into(),
            order_total_minor: 100,
            discount_minor: 10,
        };
        assert!(
            matches!(bad_currency.parse(), Err(FieldKitError::InvalidInput { field, .. }) if field == "currency")
        );
        let empty_step = RequestSubjectInput::TaskStep {
            task_id: fieldkit_domain::ids::TaskId::new().to_string(),
            step: String::new(),
            amount_minor: None,
        };
        assert!(
            matches!(empty_step.parse(), Err(FieldKitError::InvalidInput { field, .. }) if field == "step")
        );
    }

    #[test]
    fn a_leave_crosses_unchanged() {
        let range = TimeRange { start_ms: 1_000, end_ms: 2_000 };
        assert_eq!(RequestSubjectInput::Leave { range }.parse(), Ok(RequestSubject::Leave { range }));
    }
}
