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

/// One fact of every kind, with fixed ids and times.
fn every_fact() -> Vec<Fact> {
    vec![
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
        Fact::Track(TrackBatch {
            id: id(22),
            rep_id: id(2),
            points: vec![TrackPoint {
                point: WgsPoint::new(31.2301, 121.4741).expect("valid point"),
                accuracy_m: 8.0,
                time_ms: 1_764_201_540_000,
            }],
        }),
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
        Fact::CustomerProposal(CustomerProposal {
            id: id(27),
            rep_id: id(2),
            name: "小李水果店".into(),
            place: shop(),
            grade: Grade::C,
            tags: vec!["fruit".into()],
            photo_sha256: Some("ef".repeat(32)),
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
        Fact::ApprovalRequest(discount_request()),
        Fact::ApprovalDecision(crate::approval::Decision {
            id: id(29),
            request_id: id(28),
            step: crate::approval::StepId::from("manager"),
            approver_id: id(4),
            at_ms: 1_764_202_000_000,
            verdict: crate::approval::Verdict::Approve,
            comment: "ok this once".into(),
        }),
        Fact::TaskStepDone(crate::approval::TaskStepDone {
            id: id(26),
            task_id: id(13),
            step: crate::approval::StepId::from("diagnose"),
            rep_id: id(2),
            at: at(),
        }),
        Fact::VoiceNote(VoiceNote {
            id: id(31),
            visit_id: Some(id(11)),
            customer_id: Some(id(12)),
            rep_id: id(2),
            sha256: "9a".repeat(32),
            size_bytes: 96_000,
            duration_ms: 24_500,
            mime_type: "audio/aac".into(),
            transcript: Some("冰柜坏了, 下周派人修".into()),
            at: at(),
        }),
    ]
}

/// Where `fact` stands in [`every_fact`]. Exhaustive on purpose: a new fact kind does not
/// compile until it is given a place (and a sample, and a snapshot).
fn fact_slot(fact: &Fact) -> usize {
    match fact {
        Fact::CheckIn(_) => 0,
        Fact::CheckOut(_) => 1,
        Fact::Photo(_) => 2,
        Fact::Track(_) => 3,
        Fact::Order(_) => 4,
        Fact::DayPlan(_) => 5,
        Fact::CustomerProposal(_) => 6,
        Fact::StockCount(_) => 7,
        Fact::ApprovalRequest(_) => 8,
        Fact::ApprovalDecision(_) => 9,
        Fact::TaskStepDone(_) => 10,
        Fact::VoiceNote(_) => 11,
    }
}

fn discount_request() -> crate::approval::ApprovalRequest {
    crate::approval::ApprovalRequest {
        id: id(28),
        requester_id: id(2),
        department_id: Some(id(3)),
        subject: crate::approval::RequestSubject::OrderDiscount {
            customer_id: id(12),
            order_id: None,
            currency: Currency::CNY,
            order_total_minor: 120_000,
            discount_minor: 12_000,
        },
        reason: "opening promotion".into(),
        submitted_ms: 1_764_201_600_000,
        flow_version: 3,
    }
}

fn manager_flow() -> crate::approval::ApprovalFlow {
    use crate::approval::{
        ApprovalFlow, ApprovalKind, Approvers, Escalation, FlowStep, NoApproverPolicy, StepCondition,
        StepRule, StepTimeout,
    };
    ApprovalFlow {
        kind: ApprovalKind::OrderDiscount,
        version: 3,
        steps: vec![FlowStep {
            id: crate::approval::StepId::from("manager"),
            title: "Manager".into(),
            approvers: vec![Approvers::Manager],
            rule: StepRule::AnyOf,
            condition: Some(StepCondition::AmountOver { minor: 5_000 }),
            timeout: Some(StepTimeout { after_ms: 86_400_000, escalate_to: Escalation::NextStep }),
            escalation_only: false,
        }],
        when_no_approver: NoApproverPolicy::Wait,
    }
}

/// One reference record of every kind, with fixed ids.
fn every_record() -> Vec<Record> {
    use crate::approval::{ApprovalStatus, ApprovalView, DecisionNote, StepOutcome, StepRecord, Verdict};
    use crate::approval::{TaskFlow, TaskFlowStep, TaskStepKind};
    vec![
        Record::Customer(Customer {
            id: id(12),
            name: "老王便利店".into(),
            place: shop(),
            grade: Grade::A,
            tags: vec!["convenience".into()],
            geofence_radius_m: Some(150),
            owner_id: Some(id(2)),
        }),
        Record::Product(Product {
            id: id(30),
            sku: "TEA-500".into(),
            name: "乌龙茶 500ml".into(),
            line: "tea".into(),
            list_price: Money { minor: 500, currency: Currency::CNY },
            grade_prices: [(Grade::A, 450)].into_iter().collect(),
            max_discount_pct: 10,
        }),
        Record::FormTemplate(FormTemplate {
            id: id(40),
            version: 2,
            title: "Competitor check".into(),
            fields: vec![
                FormField {
                    key: "seen".into(),
                    label: "Competitor on shelf".into(),
                    kind: FieldKind::YesNo,
                    required: true,
                    rules: FieldRules::default(),
                    show_if: None,
                },
                FormField {
                    key: "facings".into(),
                    label: "Facings".into(),
                    kind: FieldKind::Integer,
                    required: true,
                    rules: FieldRules { min: Some(0.0), max: Some(50.0), ..FieldRules::default() },
                    show_if: Some(Condition {
                        field: "seen".into(),
                        test: ConditionTest::Equals { value: serde_json::json!(true) },
                    }),
                },
            ],
        }),
        Record::SopTemplate(SopTemplate {
            id: id(41),
            task_kind: TaskKind::StoreInspection,
            steps: vec![
                SopStep { title: "Shelf photo".into(), kind: SopStepKind::Photo, required: true },
                SopStep {
                    title: "Competitor check".into(),
                    kind: SopStepKind::Form { template_id: id(40) },
                    required: false,
                },
            ],
        }),
        Record::KbArticle(KbArticle {
            id: id(42),
            title: "Cooler care".into(),
            body: "Clean the condenser monthly.".into(),
            tags: vec!["cooler".into()],
            attachments: vec![KbAttachment {
                name: "cooler.pdf".into(),
                sha256: "cd".repeat(32),
                size_bytes: 204_800,
                content_type: "application/pdf".into(),
            }],
        }),
        Record::OrgSettings(OrgSettings::default()),
        Record::ApprovalFlow(manager_flow()),
        Record::Approval(Box::new(ApprovalView {
            request: discount_request(),
            status: ApprovalStatus::Approved { at_ms: 1_764_202_000_000 },
            history: vec![StepRecord {
                step: crate::approval::StepId::from("manager"),
                since_ms: 1_764_201_600_000,
                ended_ms: 1_764_202_000_000,
                outcome: StepOutcome::Approved { by: [id(4)].into_iter().collect() },
            }],
            decisions: vec![DecisionNote {
                approver_id: id(4),
                verdict: Verdict::Approve,
                comment: "ok this once".into(),
                at_ms: 1_764_202_000_000,
            }],
        })),
        Record::TaskFlow(TaskFlow {
            task_kind: TaskKind::Repair,
            steps: vec![
                TaskFlowStep {
                    id: crate::approval::StepId::from("diagnose"),
                    title: "Diagnose".into(),
                    kind: TaskStepKind::Action { evidence: Some(SopStepKind::Photo) },
                },
                TaskFlowStep {
                    id: crate::approval::StepId::from("approval"),
                    title: "Approval".into(),
                    kind: TaskStepKind::Approval {
                        flow: crate::approval::ApprovalFlow {
                            kind: crate::approval::ApprovalKind::TaskStep,
                            ..manager_flow()
                        },
                    },
                },
            ],
        }),
    ]
}

/// Where `record` stands in [`every_record`]. Exhaustive on purpose, as [`fact_slot`].
fn record_slot(record: &Record) -> usize {
    match record {
        Record::Customer(_) => 0,
        Record::Product(_) => 1,
        Record::FormTemplate(_) => 2,
        Record::SopTemplate(_) => 3,
        Record::KbArticle(_) => 4,
        Record::OrgSettings(_) => 5,
        Record::ApprovalFlow(_) => 6,
        Record::Approval(_) => 7,
        Record::TaskFlow(_) => 8,
    }
}

#[test]
fn every_fact_kind_has_a_sample_in_its_place() {
    let facts = every_fact();
    for (i, fact) in facts.iter().enumerate() {
        assert_eq!(fact_slot(fact), i, "{} is out of place", fact.kind());
    }
    assert_eq!(facts.len(), 12, "one sample per fact kind");
}

#[test]
fn every_record_kind_has_a_sample_in_its_place() {
    let records = every_record();
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record_slot(record), i, "{} is out of place", record.kind().as_str());
    }
    assert_eq!(records.len(), 9, "one sample per record kind");
}

#[test]
fn every_fact_kind_wire_format() {
    for fact in every_fact() {
        insta::assert_json_snapshot!(format!("fact_{}_wire_format", fact.kind()), fact);
    }
}

#[test]
fn every_record_kind_wire_format() {
    for record in every_record() {
        insta::assert_json_snapshot!(format!("record_{}_wire_format", record.kind().as_str()), record);
    }
}

#[test]
fn every_fact_kind_round_trips_through_json() {
    for fact in every_fact() {
        let json = serde_json::to_string(&fact).expect("serializes");
        let back: Fact = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, fact, "{}", fact.kind());
        assert!(json.contains(&format!("\"kind\":\"{}\"", fact.kind())));
    }
}

#[test]
fn every_record_kind_round_trips_through_json() {
    for record in every_record() {
        let json = serde_json::to_string(&record).expect("serializes");
        let back: Record = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, record, "{}", record.kind().as_str());
        assert!(json.contains(&format!("\"kind\":\"{}\"", record.kind().as_str())));
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
