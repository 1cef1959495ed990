//! `fieldkit-ffi`: the thin uniffi layer through which Kotlin and Swift apps use the engine.
//!
//! Everything here is a wrapper: the logic lives in `fieldkit-engine`. The crate exports the
//! [`FieldKit`] object (open, login, sync, the rep's day), the callbacks (sync observer, log
//! sink, photo signer) and one error type ([`FieldKitError`]); async calls run on a runtime
//! the crate owns and no panic crosses the FFI (see the `runtime` module). The records apps
//! read are the domain's and the engine's own, derived for uniffi in place (their `uniffi`
//! features, which this crate turns on); [`records`] holds only what the FFI adds. Kotlin
//! bindings are generated into the packages `com.fieldkit.core` (this crate),
//! `com.fieldkit.core.model` and `com.fieldkit.core.engine`, Swift into the one module
//! `FieldKitCore` (the three crates' `uniffi.toml`). Exported names must not clash with the
//! standard library or concurrency types of either language: the task record is `FieldTask`
//! there (`#[uniffi(name)]`), since a Swift `Task` would hide Swift's own in every file that
//! imports the module.

// uniffi's generated scaffolding is `extern "C"` glue.
#![allow(unsafe_code)]

pub mod error;
mod fieldkit;
pub mod logging;
pub mod observer;
pub mod records;
mod runtime;
pub mod signer;

pub use error::FieldKitError;
pub use fieldkit::FieldKit;
pub use records::{Place, Role, SyncReport, SyncStatus, Task, TaskKind, TaskStatus, User};

uniffi::setup_scaffolding!();

/// The version of the FieldKit core library.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
