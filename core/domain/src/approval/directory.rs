//! Who the approvers of a step are: the org facts a flow needs (managers, department
//! heads, role holders, group members), supplied by the caller so that the domain stays
//! pure, and the resolution of a step's approver set from them.

use std::collections::{BTreeMap, BTreeSet};

use super::flow::{Approvers, FlowStep};
use super::request::ApprovalRequest;
use crate::ids::{TeamId, UserId};
use crate::model::Role;

/// The org facts that resolve approvers. The server answers from its org tree; tests and
/// phones can use [`StaticDirectory`].
pub trait ApproverDirectory {
    /// The direct manager of `user`, if any.
    fn manager_of(&self, user: UserId) -> Option<UserId>;
    /// The head of `department` (`levels_up` 0) or of the department `levels_up` levels
    /// above it, if there is one.
    fn department_head(&self, department: TeamId, levels_up: u8) -> Option<UserId>;
    /// Everyone holding `role`.
    fn holders_of(&self, role: Role) -> Vec<UserId>;
    /// Everyone in the named group.
    fn members_of(&self, group: &str) -> Vec<UserId>;
}

/// An [`ApproverDirectory`] over plain maps of resolved ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticDirectory {
    /// Each user's direct manager.
    pub managers: BTreeMap<UserId, UserId>,
    /// Each department's parent department.
    pub parents: BTreeMap<TeamId, TeamId>,
    /// Each department's head.
    pub heads: BTreeMap<TeamId, UserId>,
    /// Role holders.
    pub roles: Vec<(Role, UserId)>,
    /// Group members by group id.
    pub groups: BTreeMap<String, BTreeSet<UserId>>,
}

impl ApproverDirectory for StaticDirectory {
    fn manager_of(&self, user: UserId) -> Option<UserId> {
        self.managers.get(&user).copied()
    }

    fn department_head(&self, department: TeamId, levels_up: u8) -> Option<UserId> {
        let mut current = department;
        for _ in 0..levels_up {
            current = *self.parents.get(&current)?;
        }
        self.heads.get(&current).copied()
    }

    fn holders_of(&self, role: Role) -> Vec<UserId> {
        self.roles.iter().filter(|(r, _)| *r == role).map(|(_, u)| *u).collect()
    }

    fn members_of(&self, group: &str) -> Vec<UserId> {
        self.groups.get(group).map(|m| m.iter().copied().collect()).unwrap_or_default()
    }
}

/// The users who may decide `step` of `request`: the union of the step's entries, less
/// the requester (nobody approves their own request).
#[must_use]
pub fn resolve_approvers(
    step: &FlowStep,
    request: &ApprovalRequest,
    directory: &dyn ApproverDirectory,
) -> BTreeSet<UserId> {
    let mut users = BTreeSet::new();
    for entry in &step.approvers {
        match entry {
            Approvers::Manager => users.extend(directory.manager_of(request.requester_id)),
            Approvers::DepartmentHead { levels_up } => {
                users.extend(request.department_id.and_then(|d| directory.department_head(d, *levels_up)))
            }
            Approvers::Role { role } => users.extend(directory.holders_of(*role)),
            Approvers::Group { group } => users.extend(directory.members_of(group)),
            Approvers::Users { users: named } => users.extend(named.iter().copied()),
        }
    }
    users.remove(&request.requester_id);
    users
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::flow::StepRule;
    use crate::approval::request::{RequestSubject, StepId};
    use crate::ids::FactId;

    #[test]
    fn a_department_head_is_found_levels_up_and_the_requester_is_never_an_approver() {
        let (rep, head, vp) = (UserId::new(), UserId::new(), UserId::new());
        let (sales_east, sales) = (TeamId::new(), TeamId::new());
        let directory = StaticDirectory {
            parents: BTreeMap::from([(sales_east, sales)]),
            heads: BTreeMap::from([(sales_east, head), (sales, vp)]),
            ..StaticDirectory::default()
        };
        let request = ApprovalRequest {
            id: FactId::new(),
            requester_id: head,
            department_id: Some(sales_east),
            subject: RequestSubject::NewCustomer { proposal_id: FactId::new() },
            reason: String::new(),
            submitted_ms: 0,
            flow_version: 1,
        };
        let step = FlowStep {
            id: StepId::from("heads"),
            title: "Heads".into(),
            approvers: vec![
                Approvers::DepartmentHead { levels_up: 0 },
                Approvers::DepartmentHead { levels_up: 1 },
                Approvers::DepartmentHead { levels_up: 2 },
                Approvers::Users { users: vec![rep] },
            ],
            rule: StepRule::AnyOf,
            condition: None,
            timeout: None,
            escalation_only: false,
        };
        assert_eq!(resolve_approvers(&step, &request, &directory), BTreeSet::from([vp, rep]));
    }
}
