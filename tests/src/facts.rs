//! Facts as a phone would push them, built by hand for scenario tests that talk to the
//! server's HTTP API directly: an event time whose server estimate equals the device
//! clock, a GNSS fix 10 m accurate taken a second before, check-ins, check-outs and orders.

use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::ids::{CustomerId, FactId, ProductId, UserId, VisitId};
use fieldkit_domain::model::{
    CheckIn, CheckOut, Currency, LocationFix, LocationProvider, Order, OrderLine, WgsPoint,
};

/// An event at device time `device_ms`, with a server-time estimate that agrees.
#[must_use]
pub fn event(device_ms: i64) -> EventTime {
    EventTime {
        device_ms,
        hlc: Hlc { wall_ms: device_ms.unsigned_abs(), counter: 0, node: 7 },
        server_estimate_ms: Some(device_ms),
    }
}

/// A GNSS fix at `point`, 10 m accurate, taken a second before `at_ms`.
#[must_use]
pub fn fix(point: WgsPoint, at_ms: i64) -> LocationFix {
    LocationFix {
        point,
        accuracy_m: 10.0,
        fix_time_ms: at_ms - 1_000,
        provider: LocationProvider::Gnss,
        is_mock: false,
    }
}

/// A check-in of `rep` at `customer`, standing at `point`, opening a new visit (no task).
#[must_use]
pub fn check_in(rep: UserId, customer: CustomerId, point: WgsPoint, at_ms: i64) -> CheckIn {
    CheckIn {
        id: FactId::new(),
        visit_id: VisitId::new(),
        customer_id: customer,
        task_id: None,
        rep_id: rep,
        fix: fix(point, at_ms),
        at: event(at_ms),
        note: None,
        assessment: None,
    }
}

/// The check-out of `of`'s visit at `at_ms`, where the check-in was.
#[must_use]
pub fn check_out(of: &CheckIn, at_ms: i64) -> CheckOut {
    CheckOut {
        id: FactId::new(),
        visit_id: of.visit_id,
        customer_id: of.customer_id,
        rep_id: of.rep_id,
        fix: fix(of.fix.point, at_ms),
        at: event(at_ms),
        automatic: false,
        assessment: None,
        sop_missing: Vec::new(),
    }
}

/// An order in CNY without discounts: `lines` are (product, quantity, unit price in minor
/// units); the total is their sum.
#[must_use]
pub fn order(
    rep: UserId,
    customer: CustomerId,
    visit: Option<VisitId>,
    lines: &[(ProductId, u32, i64)],
    at_ms: i64,
) -> Order {
    let lines: Vec<OrderLine> = lines
        .iter()
        .map(|&(product_id, quantity, unit_price_minor)| OrderLine {
            product_id,
            quantity,
            unit_price_minor,
            discount_minor: 0,
        })
        .collect();
    let total_minor = lines.iter().map(|l| i64::from(l.quantity) * l.unit_price_minor).sum();
    Order {
        id: FactId::new(),
        customer_id: customer,
        visit_id: visit,
        rep_id: rep,
        currency: Currency::CNY,
        lines,
        amends: None,
        discount_approval: None,
        total_minor,
        at: event(at_ms),
    }
}
