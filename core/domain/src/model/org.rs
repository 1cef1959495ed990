//! Organisations, the people in them and what each may do.

use serde::{Deserialize, Serialize};

use crate::ids::{OrgId, TeamId, UserId};
use crate::model::DataScope;

/// A company using FieldKit: one tenant of the sync server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Org {
    /// The tenant id.
    pub id: OrgId,
    /// The short, unique login name of the org (e.g. `acme`).
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Role {
    /// Works in the field: sees own tasks and customers, records facts.
    Rep,
    /// Leads a team: dispatches tasks, sees the team's data.
    Manager,
    /// Configures the org: users, customers, products, templates, settings.
    Admin,
}

impl Role {
    /// Whether this role may create and assign tasks.
    #[must_use]
    pub fn can_dispatch(self) -> bool {
        matches!(self, Role::Manager | Role::Admin)
    }

    /// The stable text form used in storage and on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Rep => "rep",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    /// Parses the text form produced by [`Role::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "rep" => Some(Role::Rep),
            "manager" => Some(Role::Manager),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A person who logs in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct User {
    /// The user id.
    pub id: UserId,
    /// The org the user belongs to.
    pub org_id: OrgId,
    /// Login name, unique within the org.
    pub username: String,
    /// Name shown to colleagues.
    pub display_name: String,
    /// What the user may do.
    pub role: Role,
    /// The department (team) the user belongs to, if any.
    pub team_id: Option<TeamId>,
    /// How far the user's reads reach, when an admin set it; `None` means the role's default
    /// (see [`User::scope`](crate::model::User::scope)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_scope: Option<DataScope>,
    /// The departments from the top of the org tree down to `team_id` (empty without one).
    /// Filled in by the server from its org tree; used to decide department-and-below reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub department_path: Vec<TeamId>,
}
