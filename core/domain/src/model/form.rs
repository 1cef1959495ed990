//! Form templates designed by admins, the responses reps fill in, and SOP templates.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{FormResponseId, FormTemplateId, SopTemplateId, UserId, VisitId};
use crate::model::TaskKind;

/// The type of one form field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum FieldKind {
    /// Free text.
    Text,
    /// A decimal number.
    Number,
    /// A whole number.
    Integer,
    /// An amount in minor units.
    Money,
    /// A date and time.
    DateTime,
    /// One of the choices.
    SingleChoice {
        /// The allowed values.
        choices: Vec<String>,
    },
    /// Any of the choices.
    MultiChoice {
        /// The allowed values.
        choices: Vec<String>,
    },
    /// Yes or no.
    YesNo,
    /// A rating from 1 to `max`.
    Rating {
        /// The highest rating.
        max: u8,
    },
    /// One or more photos.
    Photos {
        /// The fewest photos accepted.
        min: u8,
        /// The most photos accepted.
        max: u8,
    },
    /// A scanned barcode.
    Barcode,
    /// A location fix.
    Location,
    /// A signature image.
    Signature,
    /// Rows of products with quantities (e.g. a stock count).
    ProductTable {
        /// The fewest rows accepted.
        min_rows: u32,
        /// The most rows accepted.
        max_rows: u32,
    },
    /// A heading that groups the fields after it; holds no value.
    Section,
}

/// Limits on a field's value; which apply depends on the field's type (numbers: `min`,
/// `max`; text and barcodes: lengths and `pattern`; multi-choice: `min`/`max` count).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FieldRules {
    /// The smallest value (or count) accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The largest value (or count) accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The fewest characters accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// The most characters accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// A regular expression the whole text must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

/// When a field is shown: a test on another field's value. A hidden field is not required
/// and its value is not kept; a field whose condition names a hidden field is hidden too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Condition {
    /// The key of the field tested.
    pub field: String,
    /// The test.
    #[serde(flatten)]
    pub test: ConditionTest,
}

/// The test of a [`Condition`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ConditionTest {
    /// The value equals this one.
    Equals {
        /// The value compared with.
        value: serde_json::Value,
    },
    /// The value is one of these (for a multi-choice: contains one of them).
    OneOf {
        /// The values compared with.
        values: Vec<serde_json::Value>,
    },
    /// The field has a value.
    IsSet,
    /// The value is `true`.
    IsTrue,
}

/// One field of a form template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FormField {
    /// Stable key the response stores the value under.
    pub key: String,
    /// Label shown to the rep.
    pub label: String,
    /// The field's type.
    pub kind: FieldKind,
    /// Whether a value is required (when the field is shown).
    pub required: bool,
    /// Limits on the value.
    #[serde(default)]
    pub rules: FieldRules,
    /// Show the field only when this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<Condition>,
}

/// A version of a form template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FormTemplate {
    /// The template id, shared by all versions.
    pub id: FormTemplateId,
    /// The version, starting at 1.
    pub version: u32,
    /// Title shown to the rep.
    pub title: String,
    /// The fields, in display order.
    pub fields: Vec<FormField>,
}

impl FormTemplate {
    /// The id of version `version` of template `id` as reference data: each version is its
    /// own record, so a response filled against version 3 is still checked against version 3
    /// after version 4 arrives.
    #[must_use]
    pub fn record_id(id: FormTemplateId, version: u32) -> uuid::Uuid {
        let mut bytes = id.0.into_bytes();
        for (b, v) in bytes[12..].iter_mut().zip(version.to_be_bytes()) {
            *b ^= v;
        }
        uuid::Uuid::from_bytes(bytes)
    }
}

/// A form filled in by a rep against one template version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormResponse {
    /// The response id.
    pub id: FormResponseId,
    /// The template filled in.
    pub template_id: FormTemplateId,
    /// The template version filled in.
    pub template_version: u32,
    /// The visit it was filled in during, if any.
    pub visit_id: Option<VisitId>,
    /// The rep.
    pub rep_id: UserId,
    /// Values by field key.
    pub values: BTreeMap<String, serde_json::Value>,
    /// Whether the rep has submitted it (final: later edits are refused).
    pub submitted: bool,
}

/// What one SOP step asks the rep to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SopStepKind {
    /// Fill in a form.
    Form {
        /// The form to fill in.
        template_id: FormTemplateId,
    },
    /// Take a photo.
    Photo,
    /// Count stock.
    StockCount,
    /// Take an order.
    Order,
}

/// One step of an SOP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SopStep {
    /// Title shown to the rep.
    pub title: String,
    /// What the step asks for.
    pub kind: SopStepKind,
    /// Whether the visit may end without it.
    pub required: bool,
}

/// The standard operating procedure for one kind of visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SopTemplate {
    /// The template id.
    pub id: SopTemplateId,
    /// The kind of task it applies to.
    pub task_kind: TaskKind,
    /// The steps, in order.
    pub steps: Vec<SopStep>,
}

impl SopTemplate {
    /// The required steps not among `completed` (indexes, ascending).
    #[must_use]
    pub fn open_required(&self, completed: &[u32]) -> Vec<u32> {
        (0u32..)
            .zip(&self.steps)
            .filter(|(i, s)| s.required && !completed.contains(i))
            .map(|(i, _)| i)
            .collect()
    }
}
