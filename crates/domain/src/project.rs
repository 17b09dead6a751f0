//! Projects and sharing. A project holds one survey; its original owner may
//! share it with other accounts as editor or viewer.

use crate::Invalid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectName(String);

impl ProjectName {
    pub const MAX_CHARS: usize = 120;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(Invalid::new("Give the project a name."));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(Invalid::new(format!(
                "A project name can be at most {} characters.",
                Self::MAX_CHARS
            )));
        }
        if value.chars().any(|c| c.is_control()) {
            return Err(Invalid::new("A project name cannot contain control characters."));
        }
        Ok(ProjectName(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an account may do with a project. `Owner` is the project's original
/// owner; the others are granted by sharing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Editor,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    /// The roles a project can be shared with: never `Owner`.
    pub fn parse_shared(raw: &str) -> Result<Role, Invalid> {
        match raw.trim() {
            "editor" => Ok(Role::Editor),
            "viewer" => Ok(Role::Viewer),
            other => Err(Invalid::new(format!(
                "\"{other}\" is not a role a project can be shared with: choose editor or viewer."
            ))),
        }
    }

    pub fn from_stored(raw: &str) -> Option<Role> {
        match raw {
            "owner" => Some(Role::Owner),
            "editor" => Some(Role::Editor),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Editor => "Editor",
            Role::Viewer => "Viewer",
        }
    }
}

/// The access rules of a project, decided once from the account's role.
/// An account with no role cannot see that the project exists (404).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access(pub Role);

impl Access {
    pub fn can_view(self) -> bool {
        true
    }

    /// Build the survey, publish it, rename the project.
    pub fn can_edit(self) -> bool {
        matches!(self.0, Role::Owner | Role::Editor)
    }

    /// Share, revoke, delete: only the original owner.
    pub fn can_manage(self) -> bool {
        self.0 == Role::Owner
    }

    /// Sign survey links and see or replace the survey's signing key: only
    /// the original owner, since a signed record id picks where the owner's
    /// Salesforce credentials write.
    pub fn can_sign_links(self) -> bool {
        self.0 == Role::Owner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewer_can_view_but_not_edit() {
        let a = Access(Role::Viewer);
        assert!(a.can_view());
        assert!(!a.can_edit());
        assert!(!a.can_manage());
    }

    #[test]
    fn only_the_owner_signs_links() {
        let cases = [(Role::Owner, true), (Role::Editor, false), (Role::Viewer, false)];
        for (role, may) in cases {
            assert_eq!(Access(role).can_sign_links(), may, "{role:?}");
        }
    }

    #[test]
    fn editor_edits_but_only_owner_manages_sharing() {
        assert!(Access(Role::Editor).can_edit());
        assert!(!Access(Role::Editor).can_manage());
        assert!(Access(Role::Owner).can_manage());
    }

    #[test]
    fn a_project_cannot_be_shared_as_owner() {
        assert!(Role::parse_shared("owner").is_err());
        assert_eq!(Role::parse_shared("viewer").unwrap(), Role::Viewer);
    }

    #[test]
    fn blank_project_names_are_refused() {
        assert!(ProjectName::parse("   ").is_err());
        assert_eq!(ProjectName::parse(" NPS Q3 ").unwrap().as_str(), "NPS Q3");
    }
}
