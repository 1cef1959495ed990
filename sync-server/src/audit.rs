//! The audit log of admin actions: what an admin (or a dispatcher importing customers)
//! changed, when and on which id. Each entry is written after the change succeeded; a
//! failure to write it fails the request, so no audited change goes unrecorded. Entries
//! name ids and field names only, never personal data (no names, no passwords).

use fieldkit_domain::ids::UserId;
use fieldkit_domain::model::User;
use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::state::AppState;

/// What was done; stable snake_case names (stored and served as such).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A user was added.
    UserCreated,
    /// A user's name, role, department or scope was changed.
    UserChanged,
    /// A department was added, renamed or moved.
    DepartmentSaved,
    /// The org settings were replaced.
    SettingsChanged,
    /// A new version of an approval flow was published.
    ApprovalFlowPublished,
    /// A task flow was published.
    TaskFlowPublished,
    /// A form template (version) was published.
    FormTemplatePublished,
    /// A device was revoked.
    DeviceRevoked,
    /// Customers were imported from a CSV file.
    CustomersImported,
}

impl AuditAction {
    /// The stable name, as stored and served.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCreated => "user_created",
            Self::UserChanged => "user_changed",
            Self::DepartmentSaved => "department_saved",
            Self::SettingsChanged => "settings_changed",
            Self::ApprovalFlowPublished => "approval_flow_published",
            Self::TaskFlowPublished => "task_flow_published",
            Self::FormTemplatePublished => "form_template_published",
            Self::DeviceRevoked => "device_revoked",
            Self::CustomersImported => "customers_imported",
        }
    }
}

/// An entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// When, server Unix milliseconds.
    pub at_ms: i64,
    /// Who did it.
    pub actor_id: UserId,
    /// What was done.
    pub action: AuditAction,
    /// The id changed.
    pub target: String,
    /// A short lower-case description: ids and field names only.
    pub detail: String,
}

/// A stored entry, as `GET /v1/audit` serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// The org's audit sequence number (the newest entry has the highest).
    pub seq: u64,
    /// When, server Unix milliseconds.
    pub at_ms: i64,
    /// Who did it.
    pub actor_id: UserId,
    /// What was done.
    pub action: AuditAction,
    /// The id changed.
    pub target: String,
    /// A short lower-case description: ids and field names only.
    pub detail: String,
}

/// Records that `caller` did `action` on `target`: logs it and appends it to the caller's
/// org's audit log. Call it after the change succeeded; its error fails the request.
pub(crate) async fn record(
    state: &AppState,
    caller: &User,
    action: AuditAction,
    target: impl ToString,
    detail: impl Into<String>,
) -> ApiResult<()> {
    let entry = NewAuditEntry {
        at_ms: crate::now_ms(),
        actor_id: caller.id,
        action,
        target: target.to_string(),
        detail: detail.into(),
    };
    tracing::info!(
        org = %caller.org_id,
        actor = %caller.id,
        action = action.as_str(),
        target = %entry.target,
        detail = %entry.detail,
        "audit"
    );
    state.storage.append_audit(caller.org_id, entry).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_serialises_as_its_stable_name() {
        let all = [
            AuditAction::UserCreated,
            AuditAction::UserChanged,
            AuditAction::DepartmentSaved,
            AuditAction::SettingsChanged,
            AuditAction::ApprovalFlowPublished,
            AuditAction::TaskFlowPublished,
            AuditAction::FormTemplatePublished,
            AuditAction::DeviceRevoked,
            AuditAction::CustomersImported,
        ];
        for action in all {
            let json = serde_json::to_value(action).expect("an action serialises");
            assert_eq!(json, serde_json::Value::String(action.as_str().to_owned()));
            let back: AuditAction = serde_json::from_value(json).expect("its name parses back");
            assert_eq!(back, action);
        }
    }
}
