//! Customers: the shops and accounts reps visit.

use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, UserId};
use crate::model::Place;

/// How valuable a customer is; drives visit frequency and pricing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Grade {
    /// Key account.
    A,
    /// Regular account.
    B,
    /// Occasional account.
    C,
}

/// A customer, as reference data owned by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Customer {
    /// The customer id.
    pub id: CustomerId,
    /// Shop or account name.
    pub name: String,
    /// Where the customer is.
    pub place: Place,
    /// Account grade.
    pub grade: Grade,
    /// Free labels (channel, region, chain…).
    pub tags: Vec<String>,
    /// Check-in geofence radius in metres; `None` means the org default.
    pub geofence_radius_m: Option<u32>,
    /// The rep who owns the account, if any.
    pub owner_id: Option<UserId>,
}
