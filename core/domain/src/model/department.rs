//! The org tree and data scopes: which departments sit under which, and whose data a user
//! may read.
//!
//! A department is what the rest of the model calls a team ([`TeamId`]): a user belongs to at
//! most one, and departments nest. A user's [`DataScope`] then says how far their reads
//! reach: their own data, their department's, their department's and every department under
//! it, or the whole org.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::ids::TeamId;
use crate::model::{Role, User};

/// The longest chain of nested departments accepted (a guard against runaway trees).
pub const MAX_DEPARTMENT_DEPTH: usize = 16;

/// A department (team) of an org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    /// The department id; users refer to it as their `team_id`.
    pub id: TeamId,
    /// Display name, unique among its siblings.
    pub name: String,
    /// The department this one belongs to; `None` for a top-level department.
    pub parent_id: Option<TeamId>,
}

/// How far a user's reads reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DataScope {
    /// Only the user's own data.
    #[serde(rename = "self")]
    Own,
    /// The user's own department (not the ones under it).
    Department,
    /// The user's department and every department nested under it.
    DepartmentAndBelow,
    /// The whole org.
    All,
}

impl DataScope {
    /// The scope a role has unless an admin sets another: a rep their own data, a manager
    /// their department, an admin everything.
    #[must_use]
    pub fn default_for(role: Role) -> Self {
        match role {
            Role::Rep => DataScope::Own,
            Role::Manager => DataScope::Department,
            Role::Admin => DataScope::All,
        }
    }

    /// The stable text form used in storage and on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DataScope::Own => "self",
            DataScope::Department => "department",
            DataScope::DepartmentAndBelow => "department_and_below",
            DataScope::All => "all",
        }
    }

    /// Parses the text form produced by [`DataScope::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "self" => DataScope::Own,
            "department" => DataScope::Department,
            "department_and_below" => DataScope::DepartmentAndBelow,
            "all" => DataScope::All,
            _ => return None,
        })
    }
}

/// Why a change to the org tree is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// The named parent department does not exist.
    #[error("department {0} does not exist")]
    UnknownDepartment(TeamId),
    /// Moving the department under the named one would put it under itself.
    #[error("department {moved} cannot move under {parent}: that department is inside it")]
    Cycle {
        /// The department being moved.
        moved: TeamId,
        /// The parent asked for.
        parent: TeamId,
    },
    /// The tree would nest deeper than [`MAX_DEPARTMENT_DEPTH`].
    #[error("departments may nest at most {MAX_DEPARTMENT_DEPTH} deep")]
    TooDeep,
}

/// An org's departments, indexed for walking up and down the tree.
#[derive(Debug, Clone, Default)]
pub struct OrgTree {
    parents: HashMap<TeamId, Option<TeamId>>,
}

impl OrgTree {
    /// The tree of `departments`.
    #[must_use]
    pub fn new<'a>(departments: impl IntoIterator<Item = &'a Department>) -> Self {
        Self { parents: departments.into_iter().map(|d| (d.id, d.parent_id)).collect() }
    }

    /// The chain of departments from the top of the tree down to `team`, `team` last. A team
    /// with no department record is a top-level department of its own. Stops at a cycle
    /// (which [`OrgTree::check_parent`] keeps out) rather than looping.
    #[must_use]
    pub fn path_to(&self, team: TeamId) -> Vec<TeamId> {
        let mut path = vec![team];
        let mut current = team;
        while let Some(Some(parent)) = self.parents.get(&current) {
            if path.contains(parent) || path.len() > MAX_DEPARTMENT_DEPTH {
                break;
            }
            path.push(*parent);
            current = *parent;
        }
        path.reverse();
        path
    }

    /// `team` and every department nested under it.
    #[must_use]
    pub fn subtree(&self, team: TeamId) -> HashSet<TeamId> {
        let mut found = HashSet::from([team]);
        loop {
            let before = found.len();
            for (id, parent) in &self.parents {
                if parent.is_some_and(|p| found.contains(&p)) {
                    found.insert(*id);
                }
            }
            if found.len() == before {
                return found;
            }
        }
    }

    /// Checks that `department` (new or existing) may sit under `parent`.
    ///
    /// # Errors
    /// The parent is unknown, is `department` or inside it, or the tree would grow too deep.
    pub fn check_parent(&self, department: TeamId, parent: Option<TeamId>) -> Result<(), TreeError> {
        let Some(parent) = parent else { return Ok(()) };
        if !self.parents.contains_key(&parent) {
            return Err(TreeError::UnknownDepartment(parent));
        }
        let above = self.path_to(parent);
        if above.contains(&department) {
            return Err(TreeError::Cycle { moved: department, parent });
        }
        let below = self.subtree(department).iter().map(|d| self.path_to(*d).len()).max().unwrap_or(1)
            - self.path_to(department).len()
            + 1;
        if above.len() + below > MAX_DEPARTMENT_DEPTH {
            return Err(TreeError::TooDeep);
        }
        Ok(())
    }
}

impl User {
    /// The scope the user's reads have: the one an admin set, else their role's default.
    #[must_use]
    pub fn scope(&self) -> DataScope {
        self.data_scope.unwrap_or_else(|| DataScope::default_for(self.role))
    }

    /// Whether this user may read `other`'s data (facts, reports, positions). Everyone may
    /// read their own; beyond that the [`DataScope`] decides, using `other`'s place in the
    /// org tree ([`User::department_path`]).
    #[must_use]
    pub fn may_read(&self, other: &User) -> bool {
        if self.org_id != other.org_id {
            return false;
        }
        if self.id == other.id {
            return true;
        }
        match (self.scope(), self.team_id) {
            (DataScope::All, _) => true,
            (DataScope::Own, _) | (_, None) => false,
            (DataScope::Department, Some(team)) => other.team_id == Some(team),
            (DataScope::DepartmentAndBelow, Some(team)) => other.department_path.contains(&team),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OrgId, UserId};

    fn department(name: &str, parent: Option<&Department>) -> Department {
        Department { id: TeamId::new(), name: name.into(), parent_id: parent.map(|p| p.id) }
    }

    fn user(org: OrgId, role: Role, team: Option<&Department>, tree: &OrgTree) -> User {
        User {
            id: UserId::new(),
            org_id: org,
            username: "u".into(),
            display_name: "U".into(),
            role,
            team_id: team.map(|t| t.id),
            data_scope: None,
            department_path: team.map(|t| tree.path_to(t.id)).unwrap_or_default(),
        }
    }

    struct Org {
        east: Department,
        shanghai: Department,
        west: Department,
        tree: OrgTree,
    }

    fn org() -> Org {
        let east = department("East", None);
        let shanghai = department("Shanghai", Some(&east));
        let west = department("West", None);
        let tree = OrgTree::new([&east, &shanghai, &west]);
        Org { east, shanghai, west, tree }
    }

    #[test]
    fn paths_run_from_the_top_of_the_tree_down_to_the_department() {
        let o = org();
        assert_eq!(o.tree.path_to(o.shanghai.id), vec![o.east.id, o.shanghai.id]);
        assert_eq!(o.tree.path_to(o.west.id), vec![o.west.id]);
        let unknown = TeamId::new();
        assert_eq!(o.tree.path_to(unknown), vec![unknown]);
        assert_eq!(o.tree.subtree(o.east.id), HashSet::from([o.east.id, o.shanghai.id]));
    }

    #[test]
    fn each_scope_reaches_exactly_as_far_as_its_name_says() {
        let o = org();
        let id = OrgId::new();
        let rep_east = user(id, Role::Rep, Some(&o.east), &o.tree);
        let rep_shanghai = user(id, Role::Rep, Some(&o.shanghai), &o.tree);
        let rep_west = user(id, Role::Rep, Some(&o.west), &o.tree);
        let mut manager = user(id, Role::Manager, Some(&o.east), &o.tree);
        let reads = |m: &User| [&rep_east, &rep_shanghai, &rep_west].map(|r| m.may_read(r));

        assert_eq!(manager.scope(), DataScope::Department);
        assert_eq!(reads(&manager), [true, false, false]);
        manager.data_scope = Some(DataScope::DepartmentAndBelow);
        assert_eq!(reads(&manager), [true, true, false]);
        manager.data_scope = Some(DataScope::Own);
        assert_eq!(reads(&manager), [false, false, false]);
        assert!(manager.may_read(&manager));
        manager.data_scope = Some(DataScope::All);
        assert_eq!(reads(&manager), [true, true, true]);

        assert!(!rep_east.may_read(&rep_shanghai));
        let admin = user(id, Role::Admin, None, &o.tree);
        assert!(admin.may_read(&rep_west));
        let other_org_rep = user(OrgId::new(), Role::Rep, Some(&o.east), &o.tree);
        assert!(!admin.may_read(&other_org_rep));
    }

    #[test]
    fn a_manager_without_a_department_reads_only_their_own_data() {
        let o = org();
        let id = OrgId::new();
        let mut manager = user(id, Role::Manager, None, &o.tree);
        let rep = user(id, Role::Rep, None, &o.tree);
        assert!(!manager.may_read(&rep));
        manager.data_scope = Some(DataScope::DepartmentAndBelow);
        assert!(!manager.may_read(&rep));
    }

    #[test]
    fn a_department_cannot_move_under_itself_or_an_unknown_parent() {
        let o = org();
        assert_eq!(
            o.tree.check_parent(o.east.id, Some(o.shanghai.id)),
            Err(TreeError::Cycle { moved: o.east.id, parent: o.shanghai.id })
        );
        assert_eq!(
            o.tree.check_parent(o.east.id, Some(o.east.id)),
            Err(TreeError::Cycle { moved: o.east.id, parent: o.east.id })
        );
        let unknown = TeamId::new();
        assert_eq!(o.tree.check_parent(o.west.id, Some(unknown)), Err(TreeError::UnknownDepartment(unknown)));
        assert_eq!(o.tree.check_parent(o.west.id, Some(o.shanghai.id)), Ok(()));
        assert_eq!(o.tree.check_parent(TeamId::new(), None), Ok(()));
    }

    #[test]
    fn the_tree_refuses_to_nest_deeper_than_the_limit() {
        let mut chain = vec![department("d0", None)];
        for i in 1..MAX_DEPARTMENT_DEPTH {
            let next = department(&format!("d{i}"), chain.last());
            chain.push(next);
        }
        let tree = OrgTree::new(chain.iter());
        let deepest = chain.last().expect("non-empty").id;
        assert_eq!(tree.path_to(deepest).len(), MAX_DEPARTMENT_DEPTH);
        assert_eq!(tree.check_parent(TeamId::new(), Some(deepest)), Err(TreeError::TooDeep));
        assert_eq!(tree.check_parent(TeamId::new(), Some(chain[0].id)), Ok(()));
    }

    #[test]
    fn scopes_keep_their_wire_names() {
        for scope in [DataScope::Own, DataScope::Department, DataScope::DepartmentAndBelow, DataScope::All] {
            assert_eq!(DataScope::parse(scope.as_str()), Some(scope));
            assert_eq!(serde_json::to_value(scope).expect("serialises"), scope.as_str());
        }
    }
}
