//! Which fields of a template are shown, given the values so far (show-if conditions,
//! followed through chains: a field whose condition names a hidden field is hidden).

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{ConditionTest, FieldKind, FormTemplate};

/// The keys of the fields shown for `values`. Conditions are followed in template order;
/// a condition naming an unknown field, or a cycle, hides the field (templates with either
/// are refused by [`super::check_template`]).
#[must_use]
pub fn visible_fields(
    template: &FormTemplate,
    values: &BTreeMap<String, serde_json::Value>,
) -> BTreeSet<String> {
    let mut shown: BTreeMap<&str, Option<bool>> =
        template.fields.iter().map(|f| (f.key.as_str(), None)).collect();
    for field in &template.fields {
        resolve(template, values, &field.key, &mut shown, 0);
    }
    shown.into_iter().filter(|(_, v)| *v == Some(true)).map(|(k, _)| k.to_owned()).collect()
}

fn resolve<'a>(
    template: &'a FormTemplate,
    values: &BTreeMap<String, serde_json::Value>,
    key: &str,
    shown: &mut BTreeMap<&'a str, Option<bool>>,
    depth: usize,
) -> bool {
    let Some(field) = template.fields.iter().find(|f| f.key == key) else { return false };
    if let Some(Some(known)) = shown.get(field.key.as_str()) {
        return *known;
    }
    // A chain longer than the template is a cycle.
    let visible = depth <= template.fields.len()
        && match &field.show_if {
            None => true,
            Some(condition) => {
                resolve(template, values, &condition.field, shown, depth + 1)
                    && holds(
                        &condition.test,
                        values.get(&condition.field),
                        is_multi(template, &condition.field),
                    )
            }
        };
    shown.insert(field.key.as_str(), Some(visible));
    visible
}

fn is_multi(template: &FormTemplate, key: &str) -> bool {
    template.fields.iter().any(|f| f.key == key && matches!(f.kind, FieldKind::MultiChoice { .. }))
}

fn holds(test: &ConditionTest, value: Option<&serde_json::Value>, multi: bool) -> bool {
    let set = value.is_some_and(|v| !v.is_null());
    match test {
        ConditionTest::IsSet => set,
        ConditionTest::IsTrue => value == Some(&serde_json::Value::Bool(true)),
        ConditionTest::Equals { value: wanted } => value == Some(wanted),
        ConditionTest::OneOf { values } => match value {
            Some(serde_json::Value::Array(items)) if multi => items.iter().any(|i| values.contains(i)),
            Some(v) => values.contains(v),
            None => false,
        },
    }
}
