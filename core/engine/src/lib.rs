//! `fieldkit-engine`: the runtime a rep's phone embeds.
//!
//! It keeps the rep's work in a local SQLite database, works offline for days, queues every
//! local change in an outbox written in the same transaction as the change, and syncs with
//! the FieldKit server over the wire protocol of `fieldkit-domain`. Apps use it through the
//! [`FieldKit`] facade (from Kotlin and Swift via `fieldkit-ffi`).
//!
//! With the `uniffi` feature (turned on by `fieldkit-ffi` only) the results apps see derive
//! uniffi's FFI traits in place; the generated trait impls are the only unsafe code, hence
//! the allowance under that feature.

#![cfg_attr(feature = "uniffi", allow(unsafe_code))]

mod blobs;
mod documents;
mod error;
mod fieldkit;
pub mod photo;
mod session;
mod signer;
pub mod store;
pub mod sync;
mod time;

pub use blobs::{BlobReport, QueuedBlob};
pub use error::{Error, Result};
pub use fieldkit::{
    ApprovalRefusal, CheckInInput, CheckedOut, Config, Customer360, FieldKit, MyApproval, MyDay,
    OrderLineInput, PlanOptions, StepProblem, SyncStatus, TaskStepRefusal, TaskSteps, TrackIntake,
    VisitRefusal, VisitSummary,
};
pub use signer::SharedSigner;
pub use store::DatabaseKey;
pub use store::kb::KbHit;
pub use store::outbox::{OutboxStats, ParkedItem};
pub use sync::scheduler::{ScheduleConfig, ScheduleHandle, SyncObserver, SyncState};
pub use sync::{SyncProgress, SyncReport};

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();
