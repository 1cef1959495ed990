//! New customers a rep finds in the field: proposed from the phone (name, the fix at the
//! door, address, grade, an optional storefront photo already taken), queued as a fact; the
//! manager approves or rejects it on the server (or, where the org has a new-customer
//! approval flow, the flow's approvers do: the request is raised with the proposal), and an
//! approved customer arrives by sync.

use fieldkit_domain::DomainError;
use fieldkit_domain::approval::{ApprovalKind, RequestSubject};
use fieldkit_domain::ids::FactId;
use fieldkit_domain::model::{CustomerProposal, Grade, Place};
use fieldkit_domain::protocol::Fact;

use super::FieldKit;
use crate::error::{Error, Result};
use crate::session;
use crate::store::{facts, outbox};
use crate::time::now_ms;

impl FieldKit {
    /// Proposes a new customer at `place`. An empty name is refused; `photo_sha256` names a
    /// photo taken with [`FieldKit::take_photo`] or attached, whose bytes upload as a blob.
    /// When the org has a new-customer approval flow, its request is queued with the
    /// proposal (see [`FieldKit::approvals`]). Offline.
    pub fn propose_customer(
        &self,
        name: &str,
        place: Place,
        grade: Grade,
        tags: Vec<String>,
        photo_sha256: Option<String>,
    ) -> Result<CustomerProposal> {
        let name = name.trim();
        if name.is_empty() {
            return Err(DomainError::Empty("customer name").into());
        }
        let user = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user;
        let now = now_ms();
        self.write_local(|tx, _| {
            let proposal = CustomerProposal {
                id: FactId::new(),
                rep_id: user.id,
                name: name.to_owned(),
                place,
                grade,
                tags,
                photo_sha256,
                at: self.event_time(tx, now)?,
            };
            facts::insert(tx, &Fact::CustomerProposal(proposal.clone()), None, now)?;
            outbox::append(tx, outbox::KIND_FACT, &proposal.id.to_string(), now)?;
            // Where the org routes new customers through an approval flow, the request for
            // this one goes with it, in the same transaction.
            if let Some(flow) = super::approvals::flow_of(tx, ApprovalKind::NewCustomer)? {
                let subject = RequestSubject::NewCustomer { proposal_id: proposal.id };
                self.queue_request(tx, &user, &flow, subject, String::new(), now)?;
            }
            Ok(proposal)
        })
    }
}
