//! The records of the field-work loop, shared by the phone and the server.
//!
//! Reference data (org, users, customers, products, templates, articles) is owned by the
//! server; tasks and visits are edited by several parties; check-ins, check-outs, photos,
//! tracks, orders and voice notes are immutable facts (see [`crate::protocol::Fact`]).

mod customer;
mod department;
mod form;
mod kb;
mod order;
mod org;
mod photo;
mod place;
mod plan;
mod product;
mod proposal;
mod settings;
mod stock;
mod task;
mod track;
mod visit;
mod voice;

pub use customer::{Customer, Grade};
pub use department::{DataScope, Department, MAX_DEPARTMENT_DEPTH, OrgTree, TreeError};
pub use form::{
    Condition, ConditionTest, FieldKind, FieldRules, FormField, FormResponse, FormTemplate, SopStep,
    SopStepKind, SopTemplate,
};
pub use kb::{KbArticle, KbAttachment};
pub use order::{Order, OrderError, OrderLine};
pub use org::{Org, Role, User};
pub use photo::PhotoRecord;
pub use place::{Place, WgsPoint};
pub use plan::{DayPlan, PlanTrigger, PlannedStop, UnplannedReason, UnplannedTask};
pub use product::{Currency, Money, Product};
pub use proposal::CustomerProposal;
pub use settings::{OrgSettings, SettingsError, SopIncomplete, VisitFrequency};
pub use stock::{StockCount, StockLine};
pub use task::{Task, TaskKind, TaskStatus};
pub use track::{TrackBatch, TrackPoint};
pub use visit::{CheckIn, CheckOut, LocationFix, LocationProvider, Visit};
pub use voice::{
    MAX_TRANSCRIPT_CHARS, MAX_VOICE_NOTE_BYTES, MAX_VOICE_NOTE_MS, MIN_VOICE_NOTE_MS, VOICE_NOTE_MIME_TYPES,
    VoiceNote, VoiceNoteError,
};
