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

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Editor => "Editor",
            Role::Viewer => "Viewer",
        }
    }
}

/// The access rules of a project, decided once from the account's role and,
/// for an editor, whether the owner granted Salesforce changes on the share.
/// An account with no role cannot see that the project exists (404).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub role: Role,
    /// The owner's grant: "may change what this project writes into my
    /// Salesforce org". Meaningful for editors only.
    pub salesforce_changes: bool,
}

impl Access {
    pub fn new(role: Role, salesforce_changes: bool) -> Access {
        Access { role, salesforce_changes }
    }

    pub fn can_view(self) -> bool {
        true
    }

    /// Build the survey, publish it, rename the project.
    pub fn can_edit(self) -> bool {
        matches!(self.role, Role::Owner | Role::Editor)
    }

    /// Share, revoke, delete, transfer: only the original owner.
    pub fn can_manage(self) -> bool {
        self.role == Role::Owner
    }

    /// Add, change and remove mappings (and triggers), run the transition:
    /// the owner's credentials do the writing, so the owner decides — they
    /// may, and so may an editor they explicitly granted it to.
    pub fn can_change_salesforce(self) -> bool {
        match self.role {
            Role::Owner => true,
            Role::Editor => self.salesforce_changes,
            Role::Viewer => false,
        }
    }

    /// The owner's org schema (objects and fields beyond what the project
    /// already maps) is shown only to those who may change the mappings.
    pub fn can_see_org_schema(self) -> bool {
        self.can_change_salesforce()
    }

    /// Sign survey links and see or replace the survey's signing key: a
    /// signed record id picks where the owner's Salesforce credentials
    /// write, so the same people who may change the mappings.
    pub fn can_sign_links(self) -> bool {
        self.can_change_salesforce()
    }
}

/// Whether a grant of Salesforce changes may be set on a share of this role:
/// only editors can change anything at all.
pub fn grant_applies(role: Role) -> bool {
    role == Role::Editor
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Who may do what, as a table: (role, Salesforce grant) → edit, manage, change Salesforce.
    #[test]
    fn who_may_do_what() {
        let cases = [
            (Role::Owner, false, true, true, true),
            (Role::Editor, false, true, false, false),
            (Role::Editor, true, true, false, true),
            (Role::Viewer, false, false, false, false),
            // A grant on a viewer's share (never set by the store) gives nothing.
            (Role::Viewer, true, false, false, false),
        ];
        for (role, grant, edit, manage, salesforce) in cases {
            let a = Access::new(role, grant);
            assert!(a.can_view());
            assert_eq!(a.can_edit(), edit, "{role:?} {grant}");
            assert_eq!(a.can_manage(), manage, "{role:?} {grant}");
            assert_eq!(a.can_change_salesforce(), salesforce, "{role:?} {grant}");
            assert_eq!(a.can_see_org_schema(), salesforce, "{role:?} {grant}");
        }
    }

    #[test]
    fn only_an_editor_share_carries_the_salesforce_grant() {
        assert!(grant_applies(Role::Editor));
        assert!(!grant_applies(Role::Viewer));
    }

    #[test]
    fn links_are_signed_by_those_who_may_change_what_the_project_writes() {
        let cases = [(Role::Owner, false, true), (Role::Editor, false, false), (Role::Editor, true, true), (Role::Viewer, false, false)];
        for (role, grant, may) in cases {
            assert_eq!(Access::new(role, grant).can_sign_links(), may, "{role:?} {grant}");
        }
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
