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

/// What happened to a link, as its audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkEventKind {
    Linked,
    Relinked,
    Unlinked,
    /// The refresh token was revoked or expired: the link needs a new sign-in.
    RefreshFailed,
    TestOk,
    TestFailed,
    SwitchCancelled,
    Switched,
}

impl LinkEventKind {
    /// The event's code, as pages mark their rows with it.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkEventKind::Linked => "linked",
            LinkEventKind::Relinked => "relinked",
            LinkEventKind::Unlinked => "unlinked",
            LinkEventKind::RefreshFailed => "refresh_failed",
            LinkEventKind::TestOk => "test_ok",
            LinkEventKind::TestFailed => "test_failed",
            LinkEventKind::SwitchCancelled => "switch_cancelled",
            LinkEventKind::Switched => "switched",
        }
    }

    /// What the event is called on the page.
    pub fn label(self) -> &'static str {
        match self {
            LinkEventKind::Linked => "Linked",
            LinkEventKind::Relinked => "Relinked",
            LinkEventKind::Unlinked => "Unlinked",
            LinkEventKind::RefreshFailed => "Refresh failed",
            LinkEventKind::TestOk => "Connection tested",
            LinkEventKind::TestFailed => "Connection test failed",
            LinkEventKind::SwitchCancelled => "Switch cancelled",
            LinkEventKind::Switched => "Switched org",
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

/// What a project's mappings were last validated against, as the decision
/// needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validation {
    /// The project maps nothing, so there is nothing to write anywhere.
    NoMappings,
    /// Some mapping does not fit (or was never checked).
    NotValidated,
    /// The mappings fit once, but the org changed under them since (a
    /// schema check found it): what changed, in words.
    Drifted { changes: String },
    /// Every mapping fit `org_id` when checked with the link of the owner of
    /// that time; `by_current_owner` is false after a transfer.
    Validated { org_id: String, by_current_owner: bool },
}

/// Where a project's Salesforce work may go — the one decision every caller
/// asks (the delivery worker, the project's Salesforce panel, the switch
/// preview, the transition, ownership transfer): written with the original
/// owner's link into the org the survey was validated against, or held, and
/// why. A collaborator's own link is not an input at all, so it can never be
/// lent; an org the survey was not validated against is never written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SalesforceWork {
    /// Salesforce work runs with the owner's link, into the owner's org.
    GoesToOwnersOrg { owner: Owner, link: LinkFacts },
    /// The owner has not linked Salesforce; work is held.
    OwnerHasNoLink { owner: Owner },
    /// The owner's link needs the owner to sign in to Salesforce again; work is held.
    OwnerLinkNeedsReauthentication { owner: Owner, link: LinkFacts },
    /// The owner's link now points at another org than the one the survey was
    /// validated against (the owner switched orgs): the survey is pinned to
    /// that org and held until its transition.
    PinnedAfterSwitch { owner: Owner, link: LinkFacts, validated_org: String },
    /// Ownership moved to another account: the survey was validated with the
    /// previous owner's link, so it is pinned and held until the new owner's
    /// transition validates it against their own org.
    PinnedAfterTransfer { owner: Owner, link: LinkFacts, validated_org: String },
    /// Some mapping does not fit the owner's org yet; work is held until it
    /// does. `drift` says what changed in the org, when that is why.
    MappingsDoNotFitYet { owner: Owner, link: LinkFacts, drift: Option<String> },
}

/// Kept for the pages and tests that speak of a project's link status.
pub type ProjectLinkStatus = SalesforceWork;

impl SalesforceWork {
    pub fn decide(owner: Owner, owner_link: Option<LinkFacts>, validation: Validation) -> SalesforceWork {
        let Some(link) = owner_link else { return SalesforceWork::OwnerHasNoLink { owner } };
        if link.needs_reauthentication {
            return SalesforceWork::OwnerLinkNeedsReauthentication { owner, link };
        }
        match validation {
            Validation::NoMappings => SalesforceWork::GoesToOwnersOrg { owner, link },
            Validation::NotValidated => SalesforceWork::MappingsDoNotFitYet { owner, link, drift: None },
            Validation::Drifted { changes } => SalesforceWork::MappingsDoNotFitYet { owner, link, drift: Some(changes) },
            Validation::Validated { org_id, by_current_owner: false } => {
                SalesforceWork::PinnedAfterTransfer { owner, link, validated_org: org_id }
            }
            Validation::Validated { org_id, .. } if org_id != link.org_id => {
                SalesforceWork::PinnedAfterSwitch { owner, link, validated_org: org_id }
            }
            Validation::Validated { .. } => SalesforceWork::GoesToOwnersOrg { owner, link },
        }
    }

    /// May Salesforce work of this project run now?
    pub fn may_deliver(&self) -> bool {
        self.delivers_to().is_some()
    }

    /// The org work is written into, when it may be written at all.
    pub fn delivers_to(&self) -> Option<&LinkFacts> {
        match self {
            SalesforceWork::GoesToOwnersOrg { link, .. } => Some(link),
            _ => None,
        }
    }

    /// Pinned to the org it was validated against until a transition: editing
    /// its mappings meanwhile does not re-enable it.
    pub fn is_pinned(&self) -> bool {
        matches!(self, SalesforceWork::PinnedAfterSwitch { .. } | SalesforceWork::PinnedAfterTransfer { .. })
    }

    /// The owner's link works, so the mappings can be checked against its org
    /// (whether or not work may go there yet).
    pub fn owner_org(&self) -> Option<&LinkFacts> {
        match self {
            SalesforceWork::GoesToOwnersOrg { link, .. }
            | SalesforceWork::PinnedAfterSwitch { link, .. }
            | SalesforceWork::PinnedAfterTransfer { link, .. }
            | SalesforceWork::MappingsDoNotFitYet { link, .. } => Some(link),
            SalesforceWork::OwnerHasNoLink { .. } | SalesforceWork::OwnerLinkNeedsReauthentication { .. } => None,
        }
    }

    pub fn owner(&self) -> &Owner {
        match self {
            SalesforceWork::GoesToOwnersOrg { owner, .. }
            | SalesforceWork::OwnerHasNoLink { owner }
            | SalesforceWork::OwnerLinkNeedsReauthentication { owner, .. }
            | SalesforceWork::PinnedAfterSwitch { owner, .. }
            | SalesforceWork::PinnedAfterTransfer { owner, .. }
            | SalesforceWork::MappingsDoNotFitYet { owner, .. } => owner,
        }
    }

    /// Why work is held, in words for the delivery log; `None` when it is not.
    pub fn held_because(&self) -> Option<String> {
        Some(match self {
            SalesforceWork::GoesToOwnersOrg { .. } => return None,
            SalesforceWork::OwnerHasNoLink { owner } => format!("{} (the owner) has not linked Salesforce", owner.name),
            SalesforceWork::OwnerLinkNeedsReauthentication { owner, .. } => format!("{}'s Salesforce link needs a new sign-in", owner.name),
            SalesforceWork::PinnedAfterSwitch { link, validated_org, .. } => format!(
                "validated against {validated_org}; the owner's link now points at {} ({}): waiting for the transition",
                link.org_name, link.org_id
            ),
            SalesforceWork::PinnedAfterTransfer { owner, validated_org, .. } => format!(
                "validated against {validated_org} with the previous owner's link; waiting for {}'s transition after the transfer",
                owner.name
            ),
            SalesforceWork::MappingsDoNotFitYet { drift: Some(changes), .. } => format!("Salesforce fields changed: {changes} Held until the mappings fit again."),
            SalesforceWork::MappingsDoNotFitYet { drift: None, .. } => "the survey's Salesforce mappings do not fit the owner's org yet".to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "00D000000000001AAA";
    const B: &str = "00D000000000002AAA";

    fn owner() -> Owner {
        Owner { name: "Olive".into(), email: "olive@example.com".into() }
    }

    fn link(org: &str, needs_reauthentication: bool) -> Option<LinkFacts> {
        Some(LinkFacts { org_id: org.into(), org_name: "Acme".into(), environment: Environment::Sandbox, needs_reauthentication })
    }

    fn validated(org: &str, by_current_owner: bool) -> Validation {
        Validation::Validated { org_id: org.into(), by_current_owner }
    }

    /// The whole rule as a table: the owner's link, what the survey was
    /// validated against, and where work goes (`Some(org)`) or that it is held.
    #[test]
    fn where_salesforce_work_goes() {
        type Case = (&'static str, Option<LinkFacts>, Validation, Option<&'static str>, bool);
        let cases: Vec<Case> = vec![
            ("no mappings: nothing to hold", link(A, false), Validation::NoMappings, Some(A), false),
            ("validated against the owner's org", link(A, false), validated(A, true), Some(A), false),
            ("owner has no link", None, validated(A, true), None, false),
            ("owner has no link, nothing mapped", None, Validation::NoMappings, None, false),
            ("link needs a new sign-in", link(A, true), validated(A, true), None, false),
            ("owner switched orgs", link(B, false), validated(A, true), None, true),
            ("transferred, new owner on another org", link(B, false), validated(A, false), None, true),
            ("transferred, new owner on the same org", link(A, false), validated(A, false), None, true),
            ("mappings do not fit yet", link(A, false), Validation::NotValidated, None, false),
            ("the org changed under the mappings", link(A, false), Validation::Drifted { changes: "Case.Score__c was deleted in Salesforce.".into() }, None, false),
        ];
        for (name, owner_link, validation, goes_to, pinned) in cases {
            let work = SalesforceWork::decide(owner(), owner_link, validation);
            assert_eq!(work.delivers_to().map(|l| l.org_id.as_str()), goes_to, "{name}: {work:?}");
            assert_eq!(work.may_deliver(), goes_to.is_some(), "{name}");
            assert_eq!(work.is_pinned(), pinned, "{name}");
            assert_eq!(work.held_because().is_none(), goes_to.is_some(), "{name}: a held project says why");
            assert_eq!(work.owner(), &owner(), "{name}: the owner is always named");
        }
    }

    #[test]
    fn a_transferred_survey_is_pinned_even_when_the_new_owner_uses_the_same_org() {
        let work = SalesforceWork::decide(owner(), link(A, false), validated(A, false));
        assert!(matches!(work, SalesforceWork::PinnedAfterTransfer { .. }));
        assert!(work.held_because().unwrap().contains("transfer"));
    }

    #[test]
    fn a_drifted_survey_is_held_saying_what_changed() {
        let changes = "Survey_Response__c.Score__c was deleted in Salesforce (or renamed).";
        let work = SalesforceWork::decide(owner(), link(A, false), Validation::Drifted { changes: changes.into() });
        assert!(work.held_because().unwrap().contains(changes), "{work:?}");
    }

    #[test]
    fn the_checkbox_picks_the_environment() {
        assert_eq!(Environment::from_checkbox(true), Environment::Sandbox);
        assert_eq!(Environment::from_checkbox(false), Environment::Production);
    }
}
