//! Form responses: started, filled field by field (offline, merged at sync) and submitted.

use std::collections::BTreeMap;

use fieldkit_domain::docs::form_response;
use fieldkit_domain::forms::validate_response;
use fieldkit_domain::ids::{FormResponseId, FormTemplateId, VisitId};
use fieldkit_domain::model::{FormResponse, FormTemplate};
use fieldkit_domain::protocol::{Record, RecordKind};

use super::FieldKit;
use crate::documents;
use crate::error::{Error, Result};
use crate::session;
use crate::store::{records, visits};
use crate::time::now_ms;

impl FieldKit {
    /// Starts a response to version `template_version` of a form template.
    pub fn start_form(
        &self,
        template_id: FormTemplateId,
        template_version: u32,
        visit_id: Option<VisitId>,
    ) -> Result<FormResponse> {
        let session = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?;
        let response = FormResponse {
            id: FormResponseId::new(),
            template_id,
            template_version,
            visit_id,
            rep_id: session.user.id,
            values: BTreeMap::new(),
            submitted: false,
        };
        self.write_local(|tx, docs| {
            documents::create(tx, docs, RecordKind::FormResponse, response.id.0, now_ms(), |doc| {
                form_response::create(doc, &response)
            })
        })?;
        Ok(response)
    }

    /// Sets field values of a response, and submits it if `submit` (a submitted response
    /// is final). Submitting checks the whole response against the template version it was
    /// started on (every version is kept): [`Error::Form`] lists every field and rule broken,
    /// and nothing is stored.
    pub fn fill_form(
        &self,
        id: FormResponseId,
        values: BTreeMap<String, serde_json::Value>,
        submit: bool,
    ) -> Result<FormResponse> {
        self.write_local(|tx, docs| {
            let response = documents::edit(tx, docs, RecordKind::FormResponse, id.0, now_ms(), |doc| {
                form_response::apply(doc, &values, submit)?;
                form_response::project(doc)
            })?;
            let version = FormTemplate::record_id(response.template_id, response.template_version);
            if submit
                && let Some(Record::FormTemplate(template)) =
                    records::get(tx, RecordKind::FormTemplate, version)?
            {
                validate_response(&template, &response.values).map_err(Error::Form)?;
            }
            Ok(response)
        })
    }

    /// The form responses on this phone.
    pub fn form_responses(&self) -> Result<Vec<FormResponse>> {
        self.store.read(visits::responses)
    }

    /// The form templates on this phone, every version kept (a response is checked against
    /// the version it was started on). Offline.
    pub fn form_templates(&self) -> Result<Vec<FormTemplate>> {
        Ok(self
            .store
            .read(|conn| records::all(conn, RecordKind::FormTemplate))?
            .into_iter()
            .filter_map(|r| match r {
                Record::FormTemplate(t) => Some(t),
                _ => None,
            })
            .collect())
    }
}
