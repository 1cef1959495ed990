//! One sync round trip: push facts from the outbox, pull the change feed since a cursor.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::approval::{ApprovalFlow, ApprovalRequest, ApprovalView, Decision, TaskFlow, TaskStepDone};
use crate::clock::EventTime;
use crate::ids::{DeviceId, FactId, UserId};
use crate::model::{
    CheckIn, CheckOut, Customer, CustomerProposal, DayPlan, FormTemplate, KbArticle, Order, OrgSettings,
    PhotoRecord, Product, SopTemplate, StockCount, TrackBatch, VoiceNote,
};

/// The most facts one sync request may push.
pub const MAX_PUSH_ITEMS: usize = 500;
/// The most feed entries one sync response returns.
pub const MAX_PULL_LIMIT: u32 = 1_000;

/// An immutable fact recorded in the field. Facts form a grow-only set keyed by their id:
/// pushing the same fact twice is a no-op; a different body under a known id is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum Fact {
    /// A rep arrived at a customer.
    CheckIn(CheckIn),
    /// A rep left a customer.
    CheckOut(CheckOut),
    /// A photo was taken (boxed: with its signed receipt it is much larger than the rest).
    Photo(Box<PhotoRecord>),
    /// A batch of track points.
    Track(TrackBatch),
    /// An order was submitted.
    Order(Order),
    /// A rep planned (or re-planned) their day.
    DayPlan(DayPlan),
    /// A rep proposed a new customer.
    CustomerProposal(CustomerProposal),
    /// A rep counted stock at a customer.
    StockCount(StockCount),
    /// Someone asked for an approval (a discount, leave, a new customer…).
    ApprovalRequest(ApprovalRequest),
    /// An approver decided a step of a request.
    ApprovalDecision(Decision),
    /// The assignee did an action step of a task flow.
    TaskStepDone(TaskStepDone),
    /// A rep recorded a voice note (the audio travels as a blob).
    VoiceNote(VoiceNote),
}

impl Fact {
    /// The fact's id, its idempotency key.
    #[must_use]
    pub fn id(&self) -> FactId {
        match self {
            Fact::CheckIn(f) => f.id,
            Fact::CheckOut(f) => f.id,
            Fact::Photo(f) => f.id,
            Fact::Track(f) => f.id,
            Fact::Order(f) => f.id,
            Fact::DayPlan(f) => f.id,
            Fact::CustomerProposal(f) => f.id,
            Fact::StockCount(f) => f.id,
            Fact::ApprovalRequest(f) => f.id,
            Fact::ApprovalDecision(f) => f.id,
            Fact::TaskStepDone(f) => f.id,
            Fact::VoiceNote(f) => f.id,
        }
    }

    /// When it happened, for facts that carry an event time (all but tracks, whose points
    /// carry their own times).
    #[must_use]
    pub fn at(&self) -> Option<&EventTime> {
        match self {
            Fact::CheckIn(f) => Some(&f.at),
            Fact::CheckOut(f) => Some(&f.at),
            Fact::Photo(f) => Some(&f.at),
            Fact::Order(f) => Some(&f.at),
            Fact::DayPlan(f) => Some(&f.at),
            Fact::CustomerProposal(f) => Some(&f.at),
            Fact::StockCount(f) => Some(&f.at),
            Fact::TaskStepDone(f) => Some(&f.at),
            Fact::VoiceNote(f) => Some(&f.at),
            Fact::Track(_) | Fact::ApprovalRequest(_) | Fact::ApprovalDecision(_) => None,
        }
    }

    /// The rep who recorded it.
    #[must_use]
    pub fn rep_id(&self) -> UserId {
        match self {
            Fact::CheckIn(f) => f.rep_id,
            Fact::CheckOut(f) => f.rep_id,
            Fact::Photo(f) => f.rep_id,
            Fact::Track(f) => f.rep_id,
            Fact::Order(f) => f.rep_id,
            Fact::DayPlan(f) => f.rep_id,
            Fact::CustomerProposal(f) => f.rep_id,
            Fact::StockCount(f) => f.rep_id,
            Fact::ApprovalRequest(f) => f.requester_id,
            Fact::ApprovalDecision(f) => f.approver_id,
            Fact::TaskStepDone(f) => f.rep_id,
            Fact::VoiceNote(f) => f.rep_id,
        }
    }

    /// The stable name of the fact's kind, as on the wire.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Fact::CheckIn(_) => "check_in",
            Fact::CheckOut(_) => "check_out",
            Fact::Photo(_) => "photo",
            Fact::Track(_) => "track",
            Fact::Order(_) => "order",
            Fact::DayPlan(_) => "day_plan",
            Fact::CustomerProposal(_) => "customer_proposal",
            Fact::StockCount(_) => "stock_count",
            Fact::ApprovalRequest(_) => "approval_request",
            Fact::ApprovalDecision(_) => "approval_decision",
            Fact::TaskStepDone(_) => "task_step_done",
            Fact::VoiceNote(_) => "voice_note",
        }
    }
}

/// `POST /v1/sync`: push a batch, pull what changed since `cursor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The protocol version the client speaks.
    pub protocol: u16,
    /// The installation syncing.
    pub device_id: DeviceId,
    /// The last feed sequence number the client has applied (0 for none).
    pub cursor: u64,
    /// The most feed entries to return (capped at [`MAX_PULL_LIMIT`]).
    pub pull_limit: u32,
    /// Device wall-clock time when the request was sent, Unix milliseconds.
    pub sent_at_ms: i64,
    /// Facts from the outbox, oldest first.
    pub push: Vec<Fact>,
    /// Changes to shared documents from the outbox. Facts and documents together are at
    /// most [`MAX_PUSH_ITEMS`].
    #[serde(default)]
    pub docs: Vec<DocPush>,
}

/// Changes a client made to one shared document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocPush {
    /// The document's kind (a task, visit or form response).
    pub kind: RecordKind,
    /// The document's id (the record's id).
    pub id: Uuid,
    /// automerge changes the server is not known to have (base64 on the wire); the whole
    /// document when the server asked for it with [`PushOutcome::ResendWhole`].
    #[serde(with = "crate::protocol::bytes")]
    pub changes: Vec<u8>,
}

/// The answer for one pushed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocAck {
    /// The document's kind.
    pub kind: RecordKind,
    /// The document's id.
    pub id: Uuid,
    /// What became of the changes (flattened).
    #[serde(flatten)]
    pub outcome: PushOutcome,
}

/// Why the server refused a pushed fact for good. Refused facts are parked on the phone,
/// shown to the app, and never retried automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// A fact with the same id but a different body is already stored.
    ConflictingBody,
    /// The fact claims another user as its author.
    WrongAuthor,
    /// The fact or document breaks a domain rule.
    Invalid,
    /// The caller may not make this change (a rep editing what only managers may, or a
    /// record outside the caller's scope).
    NotAllowed,
}

/// What became of one pushed fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PushOutcome {
    /// Stored (facts) or merged (documents) now, at this feed sequence number.
    Stored {
        /// The per-org sequence number it was stored at.
        seq: u64,
    },
    /// Already stored with the same body, or every change already merged (a retry):
    /// nothing changed.
    AlreadyStored,
    /// Documents only: the changes depend on history the server does not have; send the
    /// whole document next time.
    ResendWhole,
    /// Refused for good.
    Rejected {
        /// Why, for programs.
        code: RejectCode,
        /// Why, for people (lower-case, no personal data).
        reason: String,
    },
}

/// The answer for one pushed fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushAck {
    /// The fact's id.
    pub id: FactId,
    /// What became of it (flattened: `{"id", "outcome", …}`).
    #[serde(flatten)]
    pub outcome: PushOutcome,
}

/// The kind of a record in the change feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A task (a shared document).
    Task,
    /// A visit (a shared document).
    Visit,
    /// A form response (a shared document).
    FormResponse,
    /// A [`Customer`].
    Customer,
    /// A [`Product`].
    Product,
    /// A [`FormTemplate`].
    FormTemplate,
    /// A [`SopTemplate`].
    SopTemplate,
    /// A [`KbArticle`].
    KbArticle,
    /// The org's [`OrgSettings`] (one per org).
    OrgSettings,
    /// The org's current [`ApprovalFlow`] of one kind of request.
    ApprovalFlow,
    /// An [`ApprovalView`]: a request as its requester sees it.
    Approval,
    /// The org's [`TaskFlow`] of one kind of task.
    TaskFlow,
}

impl RecordKind {
    /// The stable text form used in storage and on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Task => "task",
            RecordKind::Visit => "visit",
            RecordKind::FormResponse => "form_response",
            RecordKind::Customer => "customer",
            RecordKind::Product => "product",
            RecordKind::FormTemplate => "form_template",
            RecordKind::SopTemplate => "sop_template",
            RecordKind::KbArticle => "kb_article",
            RecordKind::OrgSettings => "org_settings",
            RecordKind::ApprovalFlow => "approval_flow",
            RecordKind::Approval => "approval",
            RecordKind::TaskFlow => "task_flow",
        }
    }

    /// Parses the text form produced by [`RecordKind::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [
            RecordKind::Task,
            RecordKind::Visit,
            RecordKind::FormResponse,
            RecordKind::Customer,
            RecordKind::Product,
            RecordKind::FormTemplate,
            RecordKind::SopTemplate,
            RecordKind::KbArticle,
            RecordKind::OrgSettings,
            RecordKind::ApprovalFlow,
            RecordKind::Approval,
            RecordKind::TaskFlow,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether records of this kind are shared automerge documents (else reference data).
    #[must_use]
    pub fn is_document(self) -> bool {
        matches!(self, RecordKind::Task | RecordKind::Visit | RecordKind::FormResponse)
    }
}

/// A reference record the server sends down the feed (read-only on the phone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum Record {
    /// A customer.
    Customer(Customer),
    /// A product.
    Product(Product),
    /// A form template version.
    FormTemplate(FormTemplate),
    /// An SOP template.
    SopTemplate(SopTemplate),
    /// A knowledge-base article.
    KbArticle(KbArticle),
    /// The org's settings.
    OrgSettings(OrgSettings),
    /// The org's current approval flow of one kind.
    ApprovalFlow(ApprovalFlow),
    /// A request as its requester sees it (sent to the requester only; boxed: much larger
    /// than the other records).
    Approval(Box<ApprovalView>),
    /// The org's flow of one kind of task.
    TaskFlow(TaskFlow),
}

impl Record {
    /// The record's kind.
    #[must_use]
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Customer(_) => RecordKind::Customer,
            Record::Product(_) => RecordKind::Product,
            Record::FormTemplate(_) => RecordKind::FormTemplate,
            Record::SopTemplate(_) => RecordKind::SopTemplate,
            Record::KbArticle(_) => RecordKind::KbArticle,
            Record::OrgSettings(_) => RecordKind::OrgSettings,
            Record::ApprovalFlow(_) => RecordKind::ApprovalFlow,
            Record::Approval(_) => RecordKind::Approval,
            Record::TaskFlow(_) => RecordKind::TaskFlow,
        }
    }

    /// The record's id.
    #[must_use]
    pub fn id(&self) -> Uuid {
        match self {
            Record::Customer(r) => r.id.0,
            Record::Product(r) => r.id.0,
            Record::FormTemplate(r) => FormTemplate::record_id(r.id, r.version),
            Record::SopTemplate(r) => r.id.0,
            Record::KbArticle(r) => r.id.0,
            Record::OrgSettings(_) => OrgSettings::RECORD_ID,
            Record::ApprovalFlow(r) => ApprovalFlow::record_id(r.kind),
            Record::Approval(r) => r.record_id(),
            Record::TaskFlow(r) => TaskFlow::record_id(r.task_kind),
        }
    }
}

/// A change in the feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FeedChange {
    /// The record is new or changed: replace the local copy.
    Upsert {
        /// The record's current state.
        record: Record,
    },
    /// A shared document is new or changed: merge this state into the local copy.
    Doc {
        /// The document's kind.
        kind: RecordKind,
        /// The document's id.
        id: Uuid,
        /// The whole document as the server holds it (base64 on the wire); merging it is
        /// idempotent.
        #[serde(with = "crate::protocol::bytes")]
        state: Vec<u8>,
    },
    /// The record was deleted or left the user's scope: drop the local copy.
    Remove {
        /// The record's kind.
        kind: RecordKind,
        /// The record's id.
        id: Uuid,
    },
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedEntry {
    /// The per-org sequence number of the change.
    pub seq: u64,
    /// The change.
    pub change: FeedChange,
}

/// The answer to a sync request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The protocol version the server answered in.
    pub protocol: u16,
    /// One answer per pushed fact, in push order.
    pub acks: Vec<PushAck>,
    /// One answer per pushed document, in push order.
    #[serde(default)]
    pub doc_acks: Vec<DocAck>,
    /// Feed entries after the request's cursor, in sequence order.
    pub feed: Vec<FeedEntry>,
    /// The cursor to send next time.
    pub cursor: u64,
    /// Whether more entries wait after `cursor`.
    pub has_more: bool,
    /// The client's cursor was older than what the server still keeps: this page starts
    /// from the beginning, and the client drops its reference data before applying it
    /// (its own queued work is kept).
    #[serde(default)]
    pub reset: bool,
    /// Server time when the answer was made, Unix milliseconds.
    pub server_time_ms: i64,
}
