//! Checks of a template as designed: every mistake an admin can make that would leave a
//! rep with a form that cannot be filled in, each naming the field.

use std::collections::BTreeSet;

use crate::model::{FieldKind, FormTemplate};

/// A mistake in a form template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Two fields share a key.
    #[error("field key {0:?} is used twice")]
    DuplicateKey(String),
    /// A key that is empty or not `[a-z0-9_]`.
    #[error("field key {0:?} must be lower-case letters, digits and underscores")]
    BadKey(String),
    /// A choice field with no choices, or a choice listed twice.
    #[error("field {0:?} needs distinct choices")]
    BadChoices(String),
    /// A show-if naming a field that does not exist.
    #[error("field {field:?} is shown only if {missing:?}, which is not a field of this form")]
    UnknownConditionField {
        /// The field with the condition.
        field: String,
        /// The key it names.
        missing: String,
    },
    /// Show-if conditions that depend on each other in a circle.
    #[error("field {0:?} is shown only if a chain of conditions that comes back to it")]
    ConditionCycle(String),
    /// A minimum above its maximum, or a limit that makes no sense for the type.
    #[error("field {field:?}: {problem}")]
    BadLimits {
        /// The field.
        field: String,
        /// What is wrong, lower-case.
        problem: String,
    },
    /// A pattern that is not a valid regular expression.
    #[error("field {0:?} has a pattern that is not a valid regular expression")]
    BadPattern(String),
}

/// Every mistake in `template`, in field order; empty when it can be published.
#[must_use]
pub fn check_template(template: &FormTemplate) -> Vec<TemplateError> {
    let mut errors = Vec::new();
    let mut keys = BTreeSet::new();
    for field in &template.fields {
        let key = &field.key;
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            errors.push(TemplateError::BadKey(key.clone()));
        }
        if !keys.insert(key.as_str()) {
            errors.push(TemplateError::DuplicateKey(key.clone()));
        }
        if let FieldKind::SingleChoice { choices } | FieldKind::MultiChoice { choices } = &field.kind {
            let distinct: BTreeSet<_> = choices.iter().collect();
            if choices.is_empty() || distinct.len() != choices.len() {
                errors.push(TemplateError::BadChoices(key.clone()));
            }
        }
        errors.extend(
            limit_problems(field)
                .into_iter()
                .map(|problem| TemplateError::BadLimits { field: key.clone(), problem }),
        );
        if let Some(pattern) = &field.rules.pattern
            && regex::Regex::new(pattern).is_err()
        {
            errors.push(TemplateError::BadPattern(key.clone()));
        }
    }
    for field in &template.fields {
        if let Some(condition) = &field.show_if {
            if !keys.contains(condition.field.as_str()) {
                errors.push(TemplateError::UnknownConditionField {
                    field: field.key.clone(),
                    missing: condition.field.clone(),
                });
            } else if in_cycle(template, &field.key) {
                errors.push(TemplateError::ConditionCycle(field.key.clone()));
            }
        }
    }
    errors
}

fn limit_problems(field: &crate::model::FormField) -> Vec<String> {
    let mut problems = Vec::new();
    let rules = &field.rules;
    if let (Some(min), Some(max)) = (rules.min, rules.max)
        && min > max
    {
        problems.push(format!("minimum {min} is above maximum {max}"));
    }
    if let (Some(min), Some(max)) = (rules.min_length, rules.max_length)
        && min > max
    {
        problems.push(format!("minimum length {min} is above maximum length {max}"));
    }
    match &field.kind {
        FieldKind::Photos { min, max } if min > max || *max == 0 => {
            problems.push(format!("photo count {min}..={max} is empty"));
        }
        FieldKind::ProductTable { min_rows, max_rows } if min_rows > max_rows || *max_rows == 0 => {
            problems.push(format!("row count {min_rows}..={max_rows} is empty"));
        }
        FieldKind::Rating { max } if *max == 0 => {
            problems.push("a rating needs a maximum of at least 1".into())
        }
        FieldKind::Section if field.required => {
            problems.push("a section holds no value and cannot be required".into())
        }
        _ => {}
    }
    problems
}

/// Whether following `key`'s show-if chain comes back to `key`.
fn in_cycle(template: &FormTemplate, key: &str) -> bool {
    let mut current = key;
    for _ in 0..template.fields.len() {
        let Some(next) = template.fields.iter().find(|f| f.key == current).and_then(|f| f.show_if.as_ref())
        else {
            return false;
        };
        if next.field == key {
            return true;
        }
        current = &next.field;
    }
    false
}
