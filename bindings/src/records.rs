//! The plain values crossing the FFI. The domain's and the engine's own records and enums
//! cross as they are (derived in place behind their `uniffi` features; Kotlin packages
//! `com.fieldkit.core.model` and `com.fieldkit.core.engine`, ids as `String` typealiases,
//! dates as `YYYY-MM-DD`, JSON values as JSON text). This module holds only what the FFI adds:
//!
//! * inputs the app builds whose ids must be checked at the edge ([`sales::OrderLineInput`],
//!   [`approvals::RequestSubjectInput`]):
//!   uniffi would surface a failed lift as an untyped internal error, not `InvalidInput`;
//! * views that flatten what the app would otherwise dig for ([`photos::Photo`] from a signed
//!   receipt, [`route::NavLink`], [`sales::Product`]'s grade prices, [`forms::FormResponse`]'s
//!   values as JSON text, [`tracking::MyDay`]);
//! * the edge checks of values the app built ([`geo`]).

pub mod approvals;
pub mod forms;
pub mod geo;
pub mod photos;
pub mod route;
pub mod sales;
pub mod sync;
pub mod tracking;

pub use fieldkit_domain::model::{DataScope, Place, Role, Task, TaskKind, TaskStatus, User, WgsPoint};
pub use fieldkit_engine::{SyncReport, SyncStatus};
