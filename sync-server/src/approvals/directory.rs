//! Who approves, read off the org's users and department tree: the [`ApproverDirectory`]
//! the domain's approval state machine asks.
//!
//! A department's head is its manager (the first by id when it has several); a user's
//! manager is the head of the nearest department, from their own upwards, headed by someone
//! other than them. The org has no named approver groups yet: a flow naming a group finds
//! nobody in it (the step waits, or is skipped, as the flow says).

use std::collections::HashMap;

use fieldkit_domain::approval::ApproverDirectory;
use fieldkit_domain::ids::{OrgId, TeamId, UserId};
use fieldkit_domain::model::{Role, User};

use crate::storage::{Storage, StorageResult};

/// The org's users and department tree, as approval flows see them.
pub struct OrgDirectory {
    users: Vec<User>,
    parents: HashMap<TeamId, Option<TeamId>>,
}

impl OrgDirectory {
    /// The directory of `org_id` as storage holds it now.
    pub async fn load(storage: &dyn Storage, org_id: OrgId) -> StorageResult<Self> {
        let users = storage.users(org_id).await?;
        let parents = storage.departments(org_id).await?.into_iter().map(|d| (d.id, d.parent_id)).collect();
        Ok(Self::new(users, parents))
    }

    /// A directory over `users` and each department's parent.
    #[must_use]
    pub fn new(mut users: Vec<User>, parents: HashMap<TeamId, Option<TeamId>>) -> Self {
        users.sort_by_key(|u| u.id);
        Self { users, parents }
    }

    /// The user `id`, if in the org.
    #[must_use]
    pub fn user(&self, id: UserId) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    fn head(&self, department: TeamId, except: Option<UserId>) -> Option<UserId> {
        self.users
            .iter()
            .find(|u| u.role == Role::Manager && u.team_id == Some(department) && Some(u.id) != except)
            .map(|u| u.id)
    }

    fn parent(&self, department: TeamId) -> Option<TeamId> {
        self.parents.get(&department).copied().flatten()
    }
}

impl ApproverDirectory for OrgDirectory {
    fn manager_of(&self, user: UserId) -> Option<UserId> {
        let mut department = self.user(user)?.team_id;
        // The tree's depth is bounded (MAX_DEPARTMENT_DEPTH); the count guards a bad tree.
        for _ in 0..=fieldkit_domain::model::MAX_DEPARTMENT_DEPTH {
            let current = department?;
            if let Some(head) = self.head(current, Some(user)) {
                return Some(head);
            }
            department = self.parent(current);
        }
        None
    }

    fn department_head(&self, department: TeamId, levels_up: u8) -> Option<UserId> {
        let mut current = department;
        for _ in 0..levels_up {
            current = self.parent(current)?;
        }
        self.head(current, None)
    }

    fn holders_of(&self, role: Role) -> Vec<UserId> {
        self.users.iter().filter(|u| u.role == role).map(|u| u.id).collect()
    }

    fn members_of(&self, _group: &str) -> Vec<UserId> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::ids::OrgId;

    use super::*;

    fn user(role: Role, team: Option<TeamId>) -> User {
        User {
            id: UserId::new(),
            org_id: OrgId::new(),
            username: "u".into(),
            display_name: "U".into(),
            role,
            team_id: team,
            data_scope: None,
            department_path: Vec::new(),
        }
    }

    #[test]
    fn a_reps_manager_is_the_nearest_head_above_and_a_head_is_not_their_own_manager() {
        let (east, shanghai) = (TeamId::new(), TeamId::new());
        let rep = user(Role::Rep, Some(shanghai));
        let shanghai_head = user(Role::Manager, Some(shanghai));
        let east_head = user(Role::Manager, Some(east));
        let admin = user(Role::Admin, None);
        let parents = HashMap::from([(east, None), (shanghai, Some(east))]);
        let dir = OrgDirectory::new(
            vec![rep.clone(), shanghai_head.clone(), east_head.clone(), admin.clone()],
            parents,
        );
        assert_eq!(dir.manager_of(rep.id), Some(shanghai_head.id));
        assert_eq!(dir.manager_of(shanghai_head.id), Some(east_head.id));
        assert_eq!(dir.manager_of(east_head.id), None);
        assert_eq!(dir.department_head(shanghai, 0), Some(shanghai_head.id));
        assert_eq!(dir.department_head(shanghai, 1), Some(east_head.id));
        assert_eq!(dir.department_head(shanghai, 2), None);
        assert_eq!(dir.holders_of(Role::Admin), vec![admin.id]);
        assert!(dir.members_of("finance").is_empty());
    }
}
