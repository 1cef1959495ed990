//! Validating a response's values against the template version it was filled in.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use super::visible_fields;
use crate::model::{FieldKind, FieldRules, FormField, FormTemplate, WgsPoint};
use crate::protocol::is_sha256_hex;

/// The rule a value breaks.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// A shown, required field has no value.
    Required,
    /// The value is not of the field's type.
    WrongType(&'static str),
    /// Below the minimum (value, or count of choices, photos or rows).
    BelowMin(f64),
    /// Above the maximum (value, or count of choices, photos or rows).
    AboveMax(f64),
    /// Fewer characters than allowed.
    TooShort(u32),
    /// More characters than allowed.
    TooLong(u32),
    /// The text does not match the field's pattern.
    Pattern,
    /// A choice that is not offered.
    NotAChoice(String),
    /// A choice given twice.
    DuplicateChoice(String),
    /// A key that is not a field of the template version.
    NotAField,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Required => write!(f, "a value is required"),
            Rule::WrongType(expected) => write!(f, "expected {expected}"),
            Rule::BelowMin(min) => write!(f, "must be at least {min}"),
            Rule::AboveMax(max) => write!(f, "must be at most {max}"),
            Rule::TooShort(min) => write!(f, "must have at least {min} characters"),
            Rule::TooLong(max) => write!(f, "must have at most {max} characters"),
            Rule::Pattern => write!(f, "does not match the required pattern"),
            Rule::NotAChoice(choice) => write!(f, "{choice:?} is not one of the choices"),
            Rule::DuplicateChoice(choice) => write!(f, "{choice:?} is chosen twice"),
            Rule::NotAField => write!(f, "is not a field of this form version"),
        }
    }
}

/// A value that breaks a rule, naming the field (never the value, which may be personal).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("field {field:?}: {rule}")]
pub struct FieldError {
    /// The field's key.
    pub field: String,
    /// The rule broken.
    pub rule: Rule,
}

/// Checks `values` against `template`: every shown field's type and rules, required fields,
/// and keys that are not fields. Values of hidden fields are not checked (the app drops
/// them). Returns every error, in field order.
pub fn validate_response(
    template: &FormTemplate,
    values: &BTreeMap<String, Value>,
) -> Result<(), Vec<FieldError>> {
    let shown = visible_fields(template, values);
    let mut errors: Vec<FieldError> = values
        .keys()
        .filter(|key| !template.fields.iter().any(|f| &f.key == *key))
        .map(|key| FieldError { field: key.clone(), rule: Rule::NotAField })
        .collect();
    for field in template.fields.iter().filter(|f| shown.contains(&f.key)) {
        let value = values.get(&field.key).filter(|v| !is_empty(v));
        let broken = match value {
            None if field.required => vec![Rule::Required],
            None => vec![],
            Some(value) => check(field, value),
        };
        errors.extend(broken.into_iter().map(|rule| FieldError { field: field.key.clone(), rule }));
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn bounds(rules: &FieldRules, n: f64) -> Vec<Rule> {
    let mut broken = Vec::new();
    if let Some(min) = rules.min
        && n < min
    {
        broken.push(Rule::BelowMin(min));
    }
    if let Some(max) = rules.max
        && n > max
    {
        broken.push(Rule::AboveMax(max));
    }
    broken
}

fn count_bounds(count: usize, min: u32, max: u32) -> Vec<Rule> {
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    if count < min {
        vec![Rule::BelowMin(f64::from(min))]
    } else if count > max {
        vec![Rule::AboveMax(f64::from(max))]
    } else {
        vec![]
    }
}

fn text_rules(rules: &FieldRules, text: &str) -> Vec<Rule> {
    let mut broken = Vec::new();
    let chars = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
    if let Some(min) = rules.min_length
        && chars < min
    {
        broken.push(Rule::TooShort(min));
    }
    if let Some(max) = rules.max_length
        && chars > max
    {
        broken.push(Rule::TooLong(max));
    }
    if let Some(pattern) = &rules.pattern {
        // A template with a bad pattern is refused at design time; here it matches nothing.
        let whole = regex::Regex::new(&format!("^(?:{pattern})$"));
        if !whole.is_ok_and(|re| re.is_match(text)) {
            broken.push(Rule::Pattern);
        }
    }
    broken
}

fn check(field: &FormField, value: &Value) -> Vec<Rule> {
    let wrong = |expected| vec![Rule::WrongType(expected)];
    let rules = &field.rules;
    match &field.kind {
        FieldKind::Text | FieldKind::Barcode => {
            value.as_str().map_or_else(|| wrong("text"), |t| text_rules(rules, t))
        }
        FieldKind::Number => match value.as_f64() {
            Some(n) if n.is_finite() => bounds(rules, n),
            _ => wrong("a number"),
        },
        FieldKind::Integer | FieldKind::Money => match value.as_i64() {
            Some(n) => bounds(rules, n as f64),
            None => wrong(if matches!(field.kind, FieldKind::Money) {
                "an amount in minor units"
            } else {
                "a whole number"
            }),
        },
        FieldKind::DateTime => {
            value.as_i64().map_or_else(|| wrong("a time in unix milliseconds"), |_| vec![])
        }
        FieldKind::YesNo => value.as_bool().map_or_else(|| wrong("yes or no"), |_| vec![]),
        FieldKind::SingleChoice { choices } => match value.as_str() {
            Some(c) if choices.iter().any(|x| x == c) => vec![],
            Some(c) => vec![Rule::NotAChoice(c.to_owned())],
            None => wrong("one of the choices"),
        },
        FieldKind::MultiChoice { choices } => match value.as_array() {
            Some(items) => {
                let mut broken = Vec::new();
                let mut seen = Vec::new();
                for item in items {
                    match item.as_str() {
                        Some(c) if seen.contains(&c) => broken.push(Rule::DuplicateChoice(c.to_owned())),
                        Some(c) if choices.iter().any(|x| x == c) => seen.push(c),
                        Some(c) => broken.push(Rule::NotAChoice(c.to_owned())),
                        None => broken.push(Rule::WrongType("a list of choices")),
                    }
                }
                broken.extend(bounds(rules, items.len() as f64));
                broken
            }
            None => wrong("a list of choices"),
        },
        FieldKind::Rating { max } => match value.as_u64() {
            Some(n) if (1..=u64::from(*max)).contains(&n) => vec![],
            Some(0) => vec![Rule::BelowMin(1.0)],
            Some(_) => vec![Rule::AboveMax(f64::from(*max))],
            None => wrong("a whole rating"),
        },
        FieldKind::Photos { min, max } => match value.as_array() {
            Some(items) if items.iter().all(|i| i.as_str().is_some_and(is_sha256_hex)) => {
                count_bounds(items.len(), u32::from(*min), u32::from(*max))
            }
            _ => wrong("a list of photo hashes"),
        },
        FieldKind::Signature => match value.as_str() {
            Some(h) if is_sha256_hex(h) => vec![],
            _ => wrong("a signature image hash"),
        },
        FieldKind::Location => {
            let lat = value.get("lat").and_then(Value::as_f64);
            let lng = value.get("lng").and_then(Value::as_f64);
            match (lat, lng) {
                (Some(lat), Some(lng)) if WgsPoint::new(lat, lng).is_ok() => vec![],
                _ => wrong("a wgs-84 location"),
            }
        }
        FieldKind::ProductTable { min_rows, max_rows } => match value.as_array() {
            Some(rows) if rows.iter().all(is_product_row) => count_bounds(rows.len(), *min_rows, *max_rows),
            _ => wrong("rows of product ids with whole, non-negative quantities"),
        },
        FieldKind::Section => wrong("nothing (a section holds no value)"),
    }
}

fn is_product_row(row: &Value) -> bool {
    let product =
        row.get("product_id").and_then(Value::as_str).is_some_and(|p| uuid::Uuid::parse_str(p).is_ok());
    let quantity = row.get("quantity").and_then(Value::as_u64).is_some();
    product && quantity
}
