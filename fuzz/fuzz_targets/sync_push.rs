//! What the server decodes from a phone: the body of `POST /v1/sync` (a [`SyncRequest`]),
//! a fact on its own (every kind), and the login body. Each decoded value must survive a
//! JSON round trip, and every fact goes through the checks the server runs on arrival: the
//! order re-priced, voice-note and approval-request rules, the check-in / check-out verdict
//! against the rep's previous fix (earlier in the same push, as the server does), a photo's
//! receipt against a registered key, and a track batch through the day-report pipeline.

#![no_main]

use std::collections::HashMap;

use fieldkit_domain::checkin::{
    CheckInInput, CheckInPolicy, CheckInTarget, assess_check_in, assess_check_out, visit_duration,
};
use fieldkit_domain::clock::EventTime;
use fieldkit_domain::geo::{
    KalmanConfig, MileageConfig, StayConfig, UtcOffset, daily_mileage, detect_stays, filter_track,
    simplify_track, smooth_track,
};
use fieldkit_domain::ids::{ProductId, VisitId};
use fieldkit_domain::model::{Grade, LocationFix, Money, Order, Product, TrackPoint, WgsPoint};
use fieldkit_domain::protocol::{Fact, LoginRequest, RecordKind, SyncRequest};
use fieldkit_domain::signing::{ReceiptSigner, verify};
use fieldkit_fuzz::{assert_round_trip, p256_key, software_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<SyncRequest>(data) {
        assert_round_trip(&request);
        let mut arrival = Arrival::default();
        for fact in &request.push {
            arrival.check(fact);
        }
        for doc in &request.docs {
            assert_eq!(RecordKind::parse(doc.kind.as_str()), Some(doc.kind));
        }
    }
    if let Ok(fact) = serde_json::from_slice::<Fact>(data) {
        assert_round_trip(&fact);
        Arrival::default().check(&fact);
    }
    if let Ok(login) = serde_json::from_slice::<LoginRequest>(data) {
        assert_round_trip(&login);
        if let Some(key) = &login.device_key {
            let _ = key.key_id();
        }
    }
});

/// What the server keeps while it goes through one push: the rep's latest fix and the
/// check-ins seen, for the checks of the facts after them.
#[derive(Default)]
struct Arrival {
    last_fix: Option<LocationFix>,
    check_ins: HashMap<VisitId, EventTime>,
}

impl Arrival {
    fn check(&mut self, fact: &Fact) {
        let _ = (fact.id(), fact.at(), fact.rep_id());
        let wire = serde_json::to_value(fact).expect("a decoded fact encodes");
        assert_eq!(wire["kind"], fact.kind(), "Fact::kind() is not the wire tag");
        match fact {
            Fact::CheckIn(c) => {
                for target in targets() {
                    let input = CheckInInput::from_check_in(c, target, self.last_fix);
                    let _ = assess_check_in(&input, &CheckInPolicy::default());
                }
                self.last_fix = Some(c.fix);
                self.check_ins.insert(c.visit_id, c.at.clone());
            }
            Fact::CheckOut(c) => {
                for target in targets() {
                    let input = CheckInInput::from_check_out(c, target, self.last_fix);
                    let _ = assess_check_out(&input, &CheckInPolicy::default());
                }
                if let Some(at) = self.check_ins.get(&c.visit_id) {
                    let _ = visit_duration(at, &c.at);
                }
                self.last_fix = Some(c.fix);
            }
            Fact::Order(order) => check_order(order),
            Fact::VoiceNote(note) => {
                let _ = note.validate();
            }
            Fact::ApprovalRequest(request) => {
                let _ = request.check();
            }
            Fact::Photo(photo) => {
                if let Some(signed) = &photo.receipt {
                    let _ = signed.receipt.validate();
                    let _ = signed.receipt.receipt_hash();
                    for key in [software_key().public_key(), p256_key()] {
                        let _ = verify(&signed.receipt, &signed.signature, Some(&key), None, None, |_| false);
                    }
                }
            }
            Fact::Track(batch) => day_report(&batch.points),
            Fact::DayPlan(_)
            | Fact::CustomerProposal(_)
            | Fact::StockCount(_)
            | Fact::ApprovalDecision(_)
            | Fact::TaskStepDone(_) => {}
        }
    }
}

/// A customer with its own radius and one on the org's default, in Shanghai.
fn targets() -> [CheckInTarget; 2] {
    let point = WgsPoint::new(31.2305, 121.4736).expect("a valid point");
    [CheckInTarget { point, radius_override_m: Some(150) }, CheckInTarget { point, radius_override_m: None }]
}

/// Prices the order as the server does, against a price list in which every product costs
/// what the line says, with the discount limits the server accepts (0 to 100 %).
fn check_order(order: &Order) {
    let _ = order.total();
    for pct in [0, 10, 100] {
        let product = |id: ProductId| {
            let line = order.lines.iter().find(|l| l.product_id == id)?;
            Some(Product {
                id,
                sku: "SKU".into(),
                name: "product".into(),
                line: "line".into(),
                list_price: Money { minor: line.unit_price_minor, currency: order.currency },
                grade_prices: Default::default(),
                max_discount_pct: pct,
            })
        };
        for approved in [None, Some(0), Some(i64::MAX)] {
            let _ = order.check(Grade::B, product, approved);
        }
    }
}

/// The latest time a day report can ask for (the end of year 9999), Unix milliseconds.
const LAST_DAY_MS: i64 = 253_402_300_799_999;

/// The rep's day report (routes/reports.rs) over one day of the batch's points: the server
/// reads a day's points (of a calendar date) in time order.
fn day_report(points: &[TrackPoint]) {
    let Some(first) = points.iter().find(|p| p.time_ms.abs() <= LAST_DAY_MS) else { return };
    let mut day: Vec<TrackPoint> = points
        .iter()
        .filter(|p| p.time_ms.abs() <= LAST_DAY_MS && p.time_ms.abs_diff(first.time_ms) < 86_400_000)
        .cloned()
        .collect();
    day.sort_by_key(|p| p.time_ms);
    let filtered = filter_track(&day, &Default::default());
    let smooth = smooth_track(&filtered.kept, &KalmanConfig::default());
    let _ = detect_stays(&smooth, &StayConfig::default(), &[]);
    let _ = daily_mileage(&smooth, &MileageConfig::new(UtcOffset::CHINA));
    let _ = simplify_track(&smooth, 10.0);
}
