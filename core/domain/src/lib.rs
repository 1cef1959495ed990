//! `fieldkit-domain`: the part of FieldKit that both the phone and the server run.
//!
//! It owns the identifiers, the hybrid logical clock, the model of the field-work loop
//! (dispatch → route → check-in → execution → collection → reports) and the versioned wire
//! protocol. It performs no I/O: no database, no network, no FFI, no system clock (callers
//! pass the time in), so every rule here is deterministic and testable.
//!
//! With the `uniffi` feature (turned on by `fieldkit-ffi` only) the records and enums that
//! apps see derive uniffi's FFI traits in place, and ids cross as strings; the generated
//! trait impls are the only unsafe code, hence the allowance under that feature.

#![cfg_attr(feature = "uniffi", allow(unsafe_code))]

pub mod approval;
pub mod checkin;
pub mod clock;
pub mod docs;
pub mod error;
#[cfg(feature = "uniffi")]
pub mod ffi_types;
pub mod forms;
pub mod geo;
pub mod ids;
pub mod model;
pub mod nav;
pub mod protocol;
pub mod route;
pub mod signing;

pub use error::DomainError;

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();
