//! The org's users by username, to resolve a row's `owner` cell.

use std::collections::HashMap;

use fieldkit_domain::model::User;

/// The org's users by username, to resolve `owner`.
pub(super) struct Owners<'a> {
    exact: HashMap<&'a str, &'a User>,
    folded: HashMap<String, Vec<&'a User>>,
}

impl<'a> Owners<'a> {
    pub(super) fn new(users: &'a [User]) -> Self {
        let mut folded: HashMap<String, Vec<&User>> = HashMap::new();
        for user in users {
            folded.entry(user.username.to_lowercase()).or_default().push(user);
        }
        Self { exact: users.iter().map(|u| (u.username.as_str(), u)).collect(), folded }
    }

    /// The user named `username`: exactly, else the one user whose name differs only in case.
    pub(super) fn find(&self, username: &str) -> Option<&'a User> {
        self.exact.get(username).copied().or_else(|| match self.folded.get(&username.to_lowercase()) {
            Some(users) if users.len() == 1 => Some(users[0]),
            _ => None,
        })
    }
}
