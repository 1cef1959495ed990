//! What the phone decodes from the server: the answer to `POST /v1/sync` (a
//! [`SyncResponse`]: acknowledgements and the change feed), a feed entry or record on its
//! own (every record kind), and the other answers (login, blob status, missing blobs, the
//! error body). Each decoded value must survive a JSON round trip; every record's id and
//! kind are computed, and the reference data the phone judges with is used as the phone
//! uses it: the org's settings (check-in verdicts, the tracking gate), form templates (the
//! design check), approval and task flows (their validation), products and customers.

#![no_main]

use fieldkit_domain::checkin::{CheckInInput, CheckInTarget, assess_check_in, assess_check_out};
use fieldkit_domain::forms::check_template;
use fieldkit_domain::geo::{CustomerSite, TrackingPolicy};
use fieldkit_domain::model::{Grade, LocationFix, LocationProvider, OrgSettings, WgsPoint};
use fieldkit_domain::protocol::{
    BlobStatus, DocAck, ErrorBody, FeedChange, FeedEntry, LoginResponse, MissingBlob, PushAck, Record,
    RecordKind, SyncResponse,
};
use fieldkit_fuzz::assert_round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(response) = serde_json::from_slice::<SyncResponse>(data) {
        assert_round_trip(&response);
        for entry in &response.feed {
            apply(&entry.change);
        }
    }
    if let Ok(entry) = serde_json::from_slice::<FeedEntry>(data) {
        assert_round_trip(&entry);
        apply(&entry.change);
    }
    if let Ok(record) = serde_json::from_slice::<Record>(data) {
        assert_round_trip(&record);
        use_record(&record);
    }
    round_trip_if_decodes::<PushAck>(data);
    round_trip_if_decodes::<DocAck>(data);
    round_trip_if_decodes::<LoginResponse>(data);
    round_trip_if_decodes::<BlobStatus>(data);
    round_trip_if_decodes::<MissingBlob>(data);
    round_trip_if_decodes::<ErrorBody>(data);
});

fn round_trip_if_decodes<T>(data: &[u8])
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = serde_json::from_slice::<T>(data) {
        assert_round_trip(&value);
    }
}

fn apply(change: &FeedChange) {
    match change {
        FeedChange::Upsert { record } => use_record(record),
        FeedChange::Doc { kind, .. } | FeedChange::Remove { kind, .. } => {
            assert_eq!(RecordKind::parse(kind.as_str()), Some(*kind));
        }
    }
}

fn use_record(record: &Record) {
    let _ = record.id();
    let wire = serde_json::to_value(record).expect("a decoded record encodes");
    assert_eq!(wire["kind"], record.kind().as_str(), "Record::kind() is not the wire tag");
    match record {
        Record::OrgSettings(settings) => use_settings(settings),
        Record::FormTemplate(template) => {
            let _ = check_template(template);
        }
        Record::ApprovalFlow(flow) => {
            let _ = flow.validate();
        }
        Record::TaskFlow(flow) => {
            let _ = flow.validate();
        }
        Record::Product(product) => {
            for grade in [Grade::A, Grade::B, Grade::C] {
                let _ = product.unit_price_minor(grade);
            }
        }
        Record::Customer(customer) => {
            let _ = CheckInTarget::of_customer(customer);
            let _ = CustomerSite::from_customer(customer, 100.0);
        }
        Record::SopTemplate(sop) => {
            let _ = sop.open_required(&[0, 2]);
        }
        Record::Approval(view) => {
            let _ = view.record_id();
        }
        Record::KbArticle(_) => {}
    }
}

/// The phone judges check-ins and gates track fixes under the org's settings as synced.
fn use_settings(settings: &OrgSettings) {
    let _ = settings.validate();
    let _ = settings.track_retention_ms();
    for grade in [Grade::A, Grade::B, Grade::C] {
        let _ = settings.visit_frequency.days(grade);
    }
    let point = WgsPoint::new(31.2305, 121.4736).expect("a valid point");
    let now_ms = 1_764_201_600_000;
    let fix = LocationFix {
        point: WgsPoint::new(31.2312, 121.4741).expect("a valid point"),
        accuracy_m: 35.0,
        fix_time_ms: now_ms,
        provider: LocationProvider::Fused,
        is_mock: false,
    };
    let previous = LocationFix { fix_time_ms: now_ms - 600_000, point, ..fix };
    let input = CheckInInput {
        fix,
        target: CheckInTarget { point, radius_override_m: None },
        previous_fix: Some(previous),
        device_now_ms: now_ms,
        server_estimate_ms: Some(now_ms + 1_500),
        stated_reason: Some("门口".into()),
    };
    let _ = assess_check_in(&input, &settings.check_in);
    let _ = assess_check_out(&input, &settings.check_in);
    let gate = TrackingPolicy::new(settings.working_hours.clone());
    for t in [now_ms, now_ms + 9 * 3_600_000, 0, -86_400_000 * 365] {
        let _ = gate.gate(t, true, now_ms);
    }
}
