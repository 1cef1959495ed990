//! Forms and SOPs as the app shows them: form templates (fields, types, rules), the
//! responses the rep fills in, and the SOP a visit follows.

use std::collections::HashMap;

use fieldkit_domain::model;

/// The type of one form field, with what the app needs to draw it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum FieldKind {
    /// Free text (value: a JSON string).
    Text,
    /// A decimal number (a JSON number).
    Number,
    /// A whole number (a JSON integer).
    Integer,
    /// An amount in minor units (a JSON integer).
    Money,
    /// A date and time (Unix milliseconds).
    DateTime,
    /// One of the choices (a JSON string).
    SingleChoice {
        /// The allowed values.
        choices: Vec<String>,
    },
    /// Any of the choices (a JSON array of strings).
    MultiChoice {
        /// The allowed values.
        choices: Vec<String>,
    },
    /// Yes or no (`true` / `false`).
    YesNo,
    /// A rating from 1 to `max`.
    Rating {
        /// The highest rating.
        max: u8,
    },
    /// One or more photos (a JSON array of photo ids).
    Photos {
        /// The fewest photos accepted.
        min: u8,
        /// The most photos accepted.
        max: u8,
    },
    /// A scanned barcode (a JSON string).
    Barcode,
    /// A location fix.
    Location,
    /// A signature image.
    Signature,
    /// Rows of products with quantities.
    ProductTable {
        /// The fewest rows accepted.
        min_rows: u32,
        /// The most rows accepted.
        max_rows: u32,
    },
    /// A heading that groups the fields after it; holds no value.
    Section,
}

impl From<model::FieldKind> for FieldKind {
    fn from(k: model::FieldKind) -> Self {
        use model::FieldKind as K;
        match k {
            K::Text => Self::Text,
            K::Number => Self::Number,
            K::Integer => Self::Integer,
            K::Money => Self::Money,
            K::DateTime => Self::DateTime,
            K::SingleChoice { choices } => Self::SingleChoice { choices },
            K::MultiChoice { choices } => Self::MultiChoice { choices },
            K::YesNo => Self::YesNo,
            K::Rating { max } => Self::Rating { max },
            K::Photos { min, max } => Self::Photos { min, max },
            K::Barcode => Self::Barcode,
            K::Location => Self::Location,
            K::Signature => Self::Signature,
            K::ProductTable { min_rows, max_rows } => Self::ProductTable { min_rows, max_rows },
            K::Section => Self::Section,
        }
    }
}

/// Limits on a field's value (each `null`/`nil` when not set).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FieldRules {
    /// The smallest value (or count) accepted.
    pub min: Option<f64>,
    /// The largest value (or count) accepted.
    pub max: Option<f64>,
    /// The fewest characters accepted.
    pub min_length: Option<u32>,
    /// The most characters accepted.
    pub max_length: Option<u32>,
    /// A regular expression the whole text must match.
    pub pattern: Option<String>,
}

/// One field of a form template.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FormField {
    /// The key its value is stored under in a response.
    pub key: String,
    /// The label shown to the rep.
    pub label: String,
    /// Its type.
    pub kind: FieldKind,
    /// Whether a value is required (when the field is shown).
    pub required: bool,
    /// Limits on the value.
    pub rules: FieldRules,
    /// When the field is shown, as the template's JSON condition (`{"field": …, "test":
    /// …}`); `null`/`nil`: always.
    pub show_if_json: Option<String>,
}

/// One version of a form template.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FormTemplate {
    /// The template id (a UUID), shared by all versions.
    pub id: String,
    /// The version, from 1.
    pub version: u32,
    /// The title shown to the rep.
    pub title: String,
    /// The fields, in display order.
    pub fields: Vec<FormField>,
}

impl From<model::FormTemplate> for FormTemplate {
    fn from(t: model::FormTemplate) -> Self {
        Self {
            id: t.id.to_string(),
            version: t.version,
            title: t.title,
            fields: t
                .fields
                .into_iter()
                .map(|f| FormField {
                    show_if_json: f.show_if.as_ref().and_then(|c| serde_json::to_string(c).ok()),
                    key: f.key,
                    label: f.label,
                    kind: f.kind.into(),
                    required: f.required,
                    rules: FieldRules {
                        min: f.rules.min,
                        max: f.rules.max,
                        min_length: f.rules.min_length,
                        max_length: f.rules.max_length,
                        pattern: f.rules.pattern,
                    },
                })
                .collect(),
        }
    }
}

/// A form response: values by field key, each as JSON text (`"12"`, `"\"yes\""`,
/// `"[\"a\",\"b\"]"`), so that every field type crosses the FFI the same way.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FormResponse {
    /// The response's id (a UUID).
    pub id: String,
    /// The form template (a UUID).
    pub template_id: String,
    /// The template version it is filled against.
    pub template_version: u32,
    /// The visit it is filled in during, if any (a UUID).
    pub visit_id: Option<String>,
    /// Values by field key, as JSON text.
    pub values: HashMap<String, String>,
    /// Whether it was submitted (final).
    pub submitted: bool,
}

impl From<model::FormResponse> for FormResponse {
    fn from(r: model::FormResponse) -> Self {
        Self {
            id: r.id.to_string(),
            template_id: r.template_id.to_string(),
            template_version: r.template_version,
            visit_id: r.visit_id.map(|v| v.to_string()),
            values: r.values.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
            submitted: r.submitted,
        }
    }
}

/// What one SOP step asks the rep to do.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SopStepKind {
    /// Fill in and submit this form in the visit.
    Form {
        /// The form template (a UUID).
        template_id: String,
    },
    /// Take a photo in the visit.
    Photo,
    /// Count stock.
    StockCount,
    /// Take an order in the visit.
    Order,
}

/// One step of an SOP.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SopStep {
    /// Its index: pass it to `updateVisit` as `completeStep`.
    pub index: u32,
    /// The title shown to the rep.
    pub title: String,
    /// What it asks for.
    pub kind: SopStepKind,
    /// Whether the visit may end without it.
    pub required: bool,
}

/// The standard operating procedure a visit follows; steps are done in order.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Sop {
    /// The SOP template's id (a UUID).
    pub id: String,
    /// The steps, in order.
    pub steps: Vec<SopStep>,
}

impl From<model::SopTemplate> for Sop {
    fn from(t: model::SopTemplate) -> Self {
        Self {
            id: t.id.to_string(),
            steps: (0u32..)
                .zip(t.steps)
                .map(|(index, s)| SopStep {
                    index,
                    title: s.title,
                    kind: match s.kind {
                        model::SopStepKind::Form { template_id } => {
                            SopStepKind::Form { template_id: template_id.to_string() }
                        }
                        model::SopStepKind::Photo => SopStepKind::Photo,
                        model::SopStepKind::StockCount => SopStepKind::StockCount,
                        model::SopStepKind::Order => SopStepKind::Order,
                    },
                    required: s.required,
                })
                .collect(),
        }
    }
}
