//! The form response document: field values the rep fills in (each field merges on its
//! own), and a grow-only `submitted` mark after which the response is final.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile};

use super::{DocError, parse_id, read, write};
use crate::model::FormResponse;

/// The schema of a form response document. Values are JSON text, one register per field.
#[derive(Debug, Clone, Reconcile, Hydrate)]
struct FormResponseDoc {
    id: String,
    template_id: String,
    template_version: u32,
    visit_id: Option<String>,
    rep_id: String,
    values: BTreeMap<String, String>,
    submitted: bool,
}

/// Writes a new response into an empty document.
pub fn create(doc: &mut AutoCommit, response: &FormResponse) -> Result<(), DocError> {
    let value = FormResponseDoc {
        id: response.id.to_string(),
        template_id: response.template_id.to_string(),
        template_version: response.template_version,
        visit_id: response.visit_id.map(|v| v.to_string()),
        rep_id: response.rep_id.to_string(),
        values: response.values.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        submitted: response.submitted,
    };
    write(doc, &value)
}

/// Reads the response a document holds.
pub fn project(doc: &AutoCommit) -> Result<FormResponse, DocError> {
    let d: FormResponseDoc = read(doc)?;
    let values = d
        .values
        .iter()
        .map(|(k, v)| {
            serde_json::from_str(v)
                .map(|v| (k.clone(), v))
                .map_err(|_| DocError::Shape(format!("value of {k:?} is not json")))
        })
        .collect::<Result<_, _>>()?;
    Ok(FormResponse {
        id: parse_id("response id", &d.id)?,
        template_id: parse_id("template id", &d.template_id)?,
        template_version: d.template_version,
        visit_id: d.visit_id.as_deref().map(|v| parse_id("visit id", v)).transpose()?,
        rep_id: parse_id("rep id", &d.rep_id)?,
        values,
        submitted: d.submitted,
    })
}

/// Sets field values (and submits, if asked) as one change. A submitted response is final.
pub fn apply(
    doc: &mut AutoCommit,
    values: &BTreeMap<String, serde_json::Value>,
    submit: bool,
) -> Result<(), DocError> {
    let mut d: FormResponseDoc = read(doc)?;
    if d.submitted {
        return Err(DocError::Edit("the response is already submitted".into()));
    }
    for (key, value) in values {
        d.values.insert(key.clone(), value.to_string());
    }
    d.submitted = submit;
    write(doc, &d)
}
