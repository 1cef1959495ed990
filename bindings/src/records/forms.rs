//! Form responses as the app edits them: every value as JSON text (`"12"`, `"\"yes\""`,
//! `"[\"a\",\"b\"]"`) in a map keyed by field, so that every field type crosses the FFI the
//! same way. Templates and SOPs cross as the domain defines them.

use std::collections::HashMap;

use fieldkit_domain::ids::{FormResponseId, FormTemplateId, VisitId};
use fieldkit_domain::model;

/// A form response: values by field key, each as JSON text.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FormResponse {
    /// The response's id.
    pub id: FormResponseId,
    /// The form template.
    pub template_id: FormTemplateId,
    /// The template version it is filled against.
    pub template_version: u32,
    /// The visit it is filled in during, if any.
    pub visit_id: Option<VisitId>,
    /// Values by field key, as JSON text.
    pub values: HashMap<String, String>,
    /// Whether it was submitted (final).
    pub submitted: bool,
}

impl From<model::FormResponse> for FormResponse {
    fn from(r: model::FormResponse) -> Self {
        Self {
            id: r.id,
            template_id: r.template_id,
            template_version: r.template_version,
            visit_id: r.visit_id,
            values: r.values.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
            submitted: r.submitted,
        }
    }
}
