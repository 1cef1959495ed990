//! One snapshot per wire message: a change to the format shows up as a changed snapshot.

use uuid::Uuid;

use super::*;
use crate::checkin::{CheckInAssessment, Verdict};
use crate::clock::{EventTime, Hlc};
use crate::model::*;
use crate::signing::ReceiptSigner;

fn id<T: From<Uuid>>(n: u128) -> T {
    T::from(Uuid::from_u128(n))
}

fn at() -> EventTime {
    EventTime {
        device_ms: 1_764_201_600_000,
        hlc: Hlc { wall_ms: 1_764_201_600_000, counter: 2, node: 42 },
        server_estimate_ms: Some(1_764_201_600_350),
    }
}

fn shop() -> Place {
    Place {
        point: WgsPoint::new(31.2304, 121.4737).expect("valid point"),
        address: "上海市黄浦区人民大道 1 号".into(),
    }
}

fn user() -> User {
    User {
        id: id(2),
        org_id: id(1),
        username: "rep1".into(),
        display_name: "Rep One".into(),
        role: Role::Rep,
        team_id: Some(id(3)),
        data_scope: None,
        department_path: Vec::new(),
    }
}

fn check_in() -> CheckIn {
    CheckIn {
        id: id(10),
        visit_id: id(11),
        customer_id: id(12),
        task_id: Some(id(13)),
        rep_id: id(2),
        fix: LocationFix {
            point: WgsPoint::new(31.2305, 121.4736).expect("valid point"),
            accuracy_m: 12.5,
            fix_time_ms: 1_764_201_599_000,
            provider: LocationProvider::Fused,
            is_mock: false,
        },
        at: at(),
        note: None,
        assessment: Some(CheckInAssessment { verdict: Verdict::Accepted, distance_m: 14.2, limit_m: 212.5 }),
    }
}

#[test]
fn login_request_wire_format() {
    insta::assert_json_snapshot!(LoginRequest {
        org: "acme".into(),
        username: "rep1".into(),
        password: "correct horse".into(),
        device_id: id(99),
        device_key: Some(crate::signing::SoftwareKey::from_seed(&[7; 32]).public_key()),
    });
}

#[test]
fn login_response_wire_format() {
    insta::assert_json_snapshot!(LoginResponse {
        token: "fk_abc".into(),
        expires_at_ms: 1_766_793_600_000,
        user: user(),
        server_time_ms: 1_764_201_600_000,
    });
}

#[test]
fn sync_request_wire_format() {
    insta::assert_json_snapshot!(SyncRequest {
        protocol: PROTOCOL_VERSION,
        device_id: id(99),
        cursor: 17,
        pull_limit: 500,
        sent_at_ms: 1_764_201_600_000,
        push: vec![Fact::CheckIn(check_in())],
        docs: vec![DocPush {
            kind: RecordKind::Task,
            id: Uuid::from_u128(13),
            changes: b"automerge changes".to_vec()
        }],
    });
}

#[test]
fn sync_response_wire_format() {
    insta::assert_json_snapshot!(SyncResponse {
        protocol: PROTOCOL_VERSION,
        acks: vec![
            PushAck { id: id(10), outcome: PushOutcome::Stored { seq: 18 } },
            PushAck { id: id(14), outcome: PushOutcome::AlreadyStored },
            PushAck {
                id: id(15),
                outcome: PushOutcome::Rejected {
                    code: RejectCode::ConflictingBody,
                    reason: "fact 00000000-0000-0000-0000-00000000000f already stored with another body"
                        .into(),
                },
            },
        ],
        doc_acks: vec![
            DocAck {
                kind: RecordKind::Task,
                id: Uuid::from_u128(13),
                outcome: PushOutcome::Stored { seq: 19 }
            },
            DocAck { kind: RecordKind::Visit, id: Uuid::from_u128(11), outcome: PushOutcome::ResendWhole },
        ],
        feed: vec![
            FeedEntry {
                seq: 19,
                change: FeedChange::Doc {
                    kind: RecordKind::Task,
                    id: Uuid::from_u128(13),
                    state: b"automerge document".to_vec(),
                },
            },
            FeedEntry {
                seq: 20,
                change: FeedChange::Upsert {
                    record: Record::Customer(Customer {
                        id: id(12),
                        name: "老王便利店".into(),
                        place: shop(),
                        grade: Grade::A,
                        tags: vec!["convenience".into()],
                        geofence_radius_m: Some(150),
                        owner_id: Some(id(2)),
                    }),
                },
            },
            FeedEntry {
                seq: 21,
                change: FeedChange::Remove { kind: RecordKind::Task, id: Uuid::from_u128(16) }
            },
        ],
        cursor: 21,
        has_more: false,
        reset: false,
        server_time_ms: 1_764_201_600_400,
    });
}

#[test]
fn error_body_wire_format() {
    insta::assert_json_snapshot!(ErrorBody {
        error: ErrorDetail {
            code: ErrorCode::UnsupportedProtocol,
            message: "protocol version 9 is not supported; this server speaks 1".into(),
        },
    });
}

#[test]
fn every_fact_kind_round_trips_through_json() {
    let facts = vec![
        Fact::CheckIn(check_in()),
        Fact::CheckOut(CheckOut {
            id: id(20),
            visit_id: id(11),
            customer_id: id(12),
            rep_id: id(2),
            fix: check_in().fix,
            at: at(),
            automatic: true,
            assessment: None,
            sop_missing: vec![2],
        }),
        Fact::Photo(Box::new(PhotoRecord {
            id: id(21),
            visit_id: Some(id(11)),
            rep_id: id(2),
            sha256: "ab".repeat(32),
            size_bytes: 345_678,
            fix: None,
            at: at(),
            receipt: None,
        })),
        Fact::Track(TrackBatch { id: id(22), rep_id: id(2), points: vec![] }),
        Fact::Order(Order {
            id: id(23),
            customer_id: id(12),
            visit_id: None,
            rep_id: id(2),
            currency: Currency::CNY,
            lines: vec![OrderLine {
                product_id: id(30),
                quantity: 2,
                unit_price_minor: 500,
                discount_minor: 0,
            }],
            amends: None,
            discount_approval: None,
            total_minor: 1_000,
            at: at(),
        }),
        Fact::DayPlan(DayPlan {
            id: id(24),
            rep_id: id(2),
            date: crate::geo::CivilDate::new(2025, 11, 27).expect("a date"),
            stops: vec![PlannedStop {
                task_id: id(13),
                customer_id: Some(id(12)),
                arrive_ms: 1_764_205_200_000,
                depart_ms: 1_764_207_000_000,
            }],
            unplanned: vec![UnplannedTask { task_id: id(14), reason: UnplannedReason::NoPlace }],
            distance_m: 4_200.5,
            proven_optimal: true,
            trigger: PlanTrigger::VisitRanLong,
            at: at(),
        }),
        Fact::StockCount(StockCount {
            id: id(25),
            customer_id: id(12),
            visit_id: Some(id(11)),
            rep_id: id(2),
            lines: vec![StockLine { product_id: id(30), on_shelf: 18, in_storage: None }],
            at: at(),
        }),
        Fact::TaskStepDone(crate::approval::TaskStepDone {
            id: id(26),
            task_id: id(13),
            step: crate::approval::StepId::from("diagnose"),
            rep_id: id(2),
            at: at(),
        }),
    ];
    for fact in facts {
        let json = serde_json::to_string(&fact).expect("serializes");
        let back: Fact = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, fact, "{}", fact.kind());
        assert!(json.contains(&format!("\"kind\":\"{}\"", fact.kind())));
    }
}

#[test]
fn blob_status_wire_format() {
    insta::assert_json_snapshot!(BlobStatus {
        sha256: "ab".repeat(32),
        size: 5_242_880,
        received: 4_194_304,
        complete: false,
    });
}

#[test]
fn missing_blob_wire_format() {
    insta::assert_json_snapshot!(MissingBlob { sha256: "cd".repeat(32), fact_id: id(21), received: 0 });
}

#[test]
fn only_lower_case_sha256_hex_names_a_blob() {
    assert!(is_sha256_hex(&"0f".repeat(32)));
    assert!(!is_sha256_hex(&"0F".repeat(32)));
    assert!(!is_sha256_hex("../../etc/passwd"));
    assert!(!is_sha256_hex(&"0f".repeat(31)));
}
