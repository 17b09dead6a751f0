//! The Salesforce link: one per account, to one org, production or sandbox.
//! A project's Salesforce work always runs with the link of the project's
//! original owner — never with a collaborator's.

use serde::{Deserialize, Serialize};

/// Which kind of Salesforce org a link points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Production,
    Sandbox,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Sandbox => "sandbox",
        }
    }

    pub fn from_stored(raw: &str) -> Option<Environment> {
        match raw {
            "production" => Some(Environment::Production),
            "sandbox" => Some(Environment::Sandbox),
            _ => None,
        }
    }

    /// The Sandbox Environment checkbox picks the environment.
    pub fn from_checkbox(sandbox_ticked: bool) -> Environment {
        if sandbox_ticked {
            Environment::Sandbox
        } else {
            Environment::Production
        }
    }

    /// What the org itself says (`Organization.IsSandbox`), which is the
    /// truth; the checkbox is only the user's intent.
    pub fn from_is_sandbox(is_sandbox: bool) -> Environment {
        Environment::from_checkbox(is_sandbox)
    }

    pub fn label(self) -> &'static str {
        match self {
            Environment::Production => "Production",
            Environment::Sandbox => "Sandbox",
        }
    }
}

/// The state of an account's link as the project pages need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFacts {
    pub org_id: String,
    pub org_name: String,
    pub environment: Environment,
    pub needs_reauthentication: bool,
}

/// The person whose link a project uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub name: String,
    pub email: String,
}

/// What a project's Salesforce panel says, decided from the owner's link and
/// the org the project's integrations were built against (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectLinkStatus {
    /// Salesforce work runs with the owner's link.
    UsesOwnerLink { owner: Owner, link: LinkFacts },
    /// The owner has not linked Salesforce; work is held.
    OwnerHasNoLink { owner: Owner },
    /// The owner's link needs the owner to sign in to Salesforce again; work is held.
    OwnerLinkNeedsReauthentication { owner: Owner, link: LinkFacts },
    /// The owner's link points at another org than the one the project's
    /// integrations were validated against; work is held until a transition.
    OwnerLinkedElsewhere { owner: Owner, link: LinkFacts, built_against_org: String },
}

impl ProjectLinkStatus {
    /// The rule: only the original owner's link counts. A collaborator's own
    /// link is not an input at all, so it can never be lent.
    pub fn decide(owner: Owner, owner_link: Option<LinkFacts>, built_against_org: Option<&str>) -> ProjectLinkStatus {
        match owner_link {
            None => ProjectLinkStatus::OwnerHasNoLink { owner },
            Some(link) if link.needs_reauthentication => ProjectLinkStatus::OwnerLinkNeedsReauthentication { owner, link },
            Some(link) => match built_against_org {
                Some(org) if org != link.org_id => {
                    ProjectLinkStatus::OwnerLinkedElsewhere { owner, link, built_against_org: org.to_string() }
                }
                _ => ProjectLinkStatus::UsesOwnerLink { owner, link },
            },
        }
    }

    /// May Salesforce work of this project run now?
    pub fn may_deliver(&self) -> bool {
        matches!(self, ProjectLinkStatus::UsesOwnerLink { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner { name: "Olive".into(), email: "olive@example.com".into() }
    }

    fn link(org: &str) -> LinkFacts {
        LinkFacts { org_id: org.into(), org_name: "Acme".into(), environment: Environment::Sandbox, needs_reauthentication: false }
    }

    #[test]
    fn a_project_uses_its_owners_link() {
        let s = ProjectLinkStatus::decide(owner(), Some(link("00D000000000001AAA")), None);
        assert!(s.may_deliver());
    }

    #[test]
    fn without_an_owner_link_work_is_held_and_the_owner_named() {
        let s = ProjectLinkStatus::decide(owner(), None, None);
        assert_eq!(s, ProjectLinkStatus::OwnerHasNoLink { owner: owner() });
        assert!(!s.may_deliver());
    }

    #[test]
    fn a_link_to_another_org_than_the_one_built_against_holds_work() {
        let s = ProjectLinkStatus::decide(owner(), Some(link("00D000000000002AAA")), Some("00D000000000001AAA"));
        assert!(matches!(s, ProjectLinkStatus::OwnerLinkedElsewhere { .. }));
        assert!(!s.may_deliver());
    }

    #[test]
    fn a_link_needing_reauthentication_holds_work() {
        let mut l = link("00D000000000001AAA");
        l.needs_reauthentication = true;
        assert!(!ProjectLinkStatus::decide(owner(), Some(l), None).may_deliver());
    }

    #[test]
    fn the_checkbox_picks_the_environment() {
        assert_eq!(Environment::from_checkbox(true), Environment::Sandbox);
        assert_eq!(Environment::from_checkbox(false), Environment::Production);
    }
}
