//! New customers a rep finds in the field: proposed from the phone (name, the fix at the
//! door, address, grade, an optional storefront photo already taken), queued as a fact; the
//! manager approves or rejects it on the server, and an approved customer arrives by sync.

use fieldkit_domain::DomainError;
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
    /// Offline.
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
        let rep = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user.id;
        let now = now_ms();
        self.write_local(|tx, _| {
            let proposal = CustomerProposal {
                id: FactId::new(),
                rep_id: rep,
                name: name.to_owned(),
                place,
                grade,
                tags,
                photo_sha256,
                at: self.event_time(tx, now)?,
            };
            facts::insert(tx, &Fact::CustomerProposal(proposal.clone()), None, now)?;
            outbox::append(tx, outbox::KIND_FACT, &proposal.id.to_string(), now)?;
            Ok(proposal)
        })
    }
}
