//! What needs attention on a project, as My Projects shows it at a glance:
//! one plain line per thing a person should fix, worded for the person
//! looking (the owner fixes their own link; a collaborator is told whom to
//! ask), and where it is fixed. Nothing when all is well.

use crate::link::SalesforceWork;
use crate::project::Access;
use crate::DeliveryStatus;

/// A project's deliveries that a person may have to look at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryTally {
    pub failed: i64,
    pub held: i64,
    /// Of the pending: waiting for API budget.
    pub waiting_for_budget: i64,
}

/// Everything the rule needs to know about one project, as one account sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFacts {
    /// What the account looking may do (owner, or a collaborator and their grant).
    pub access: Access,
    /// Where its Salesforce work may go (`SalesforceWork::decide`).
    pub work: SalesforceWork,
    /// It maps responses or has a trigger: the owner's link matters to it.
    pub uses_salesforce: bool,
    /// The last schema check found a mapping that no longer fits (kept
    /// while the survey is pinned, when `work` does not say it).
    pub schema_drift: bool,
    pub deliveries: DeliveryTally,
}

/// Why a project needs attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionKind {
    /// The owner switched orgs: the survey waits for its transition.
    PausedBySwitch,
    /// Ownership moved: the survey waits for the new owner's transition.
    PausedByTransfer,
    /// A schema check found a mapped field or object that no longer fits.
    MappingBroken,
    /// Some mapping does not fit the owner's org (never validated there).
    MappingDoesNotFit,
    /// The owner's refresh token was revoked or expired.
    LinkNeedsSignIn,
    /// The owner has no link, and the project needs one.
    OwnerHasNoLink,
    DeliveriesFailed,
    DeliveriesHeld,
    WaitingForBudget,
}

impl AttentionKind {
    /// The kind's code in pages' data attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            AttentionKind::PausedBySwitch => "paused-by-switch",
            AttentionKind::PausedByTransfer => "paused-by-transfer",
            AttentionKind::MappingBroken => "mapping-broken",
            AttentionKind::MappingDoesNotFit => "mapping-does-not-fit",
            AttentionKind::LinkNeedsSignIn => "link-needs-sign-in",
            AttentionKind::OwnerHasNoLink => "owner-has-no-link",
            AttentionKind::DeliveriesFailed => "deliveries-failed",
            AttentionKind::DeliveriesHeld => "deliveries-held",
            AttentionKind::WaitingForBudget => "waiting-for-budget",
        }
    }
}

/// Where the person fixes it (the web layer turns it into a path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixAt {
    /// The project's Salesforce tab.
    ProjectSalesforce,
    /// The project's delivery log, filtered by a status.
    DeliveryLog(DeliveryStatus),
    /// The account's own Salesforce page (its link, API budget).
    AccountSalesforce,
}

/// One thing that needs attention: why, in words, and where to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attention {
    pub kind: AttentionKind,
    pub words: String,
    pub fix_at: FixAt,
}

fn deliveries(n: i64) -> String {
    if n == 1 {
        "1 delivery".to_string()
    } else {
        format!("{n} deliveries")
    }
}

/// A pinned survey's mapping that a schema check found broken: its
/// transition cannot succeed until the mapping is fixed.
fn drifted_before_transition(may_change: bool, owner: &str) -> String {
    if may_change {
        "Salesforce fields changed — fix the mapping before the transition".to_string()
    } else {
        format!("Salesforce fields changed — {owner} fixes the mapping before the transition")
    }
}

/// What needs attention on a project, most pressing first; empty when all
/// is well. The owner is told to act; a collaborator who may not act is
/// told who will.
pub fn needs_attention(facts: &ProjectFacts) -> Vec<Attention> {
    let mut out = Vec::new();
    let is_owner = facts.access.can_manage();
    let may_change = facts.access.can_change_salesforce();
    let owner = &facts.work.owner().name;
    let tally = facts.deliveries;
    let relevant = facts.uses_salesforce || tally.held > 0 || tally.failed > 0 || tally.waiting_for_budget > 0;
    let held = if tally.held > 0 { format!(" ({} held)", deliveries(tally.held)) } else { String::new() };
    let mut push = |kind, words: String, fix_at| out.push(Attention { kind, words, fix_at });

    if relevant {
        match &facts.work {
            SalesforceWork::GoesToOwnersOrg { .. } => {}
            SalesforceWork::OwnerLinkNeedsReauthentication { .. } => {
                if is_owner {
                    push(AttentionKind::LinkNeedsSignIn, format!("Your Salesforce link needs a new sign-in — Salesforce work is paused{held}"), FixAt::AccountSalesforce);
                } else {
                    push(
                        AttentionKind::LinkNeedsSignIn,
                        format!("{owner}'s Salesforce link needs a new sign-in — paused until {owner} signs in again{held}"),
                        FixAt::ProjectSalesforce,
                    );
                }
            }
            SalesforceWork::OwnerHasNoLink { .. } => {
                if is_owner {
                    push(AttentionKind::OwnerHasNoLink, format!("Salesforce is not linked — deliveries are held until you link it{held}"), FixAt::AccountSalesforce);
                } else {
                    push(AttentionKind::OwnerHasNoLink, format!("{owner} (the owner) has not linked Salesforce — deliveries are held{held}"), FixAt::ProjectSalesforce);
                }
            }
            SalesforceWork::PinnedAfterSwitch { .. } => {
                let words = if may_change {
                    format!("Paused by an org switch — run its transition{held}")
                } else {
                    format!("Paused by an org switch — waiting for {owner}'s transition{held}")
                };
                push(AttentionKind::PausedBySwitch, words, FixAt::ProjectSalesforce);
                if facts.schema_drift {
                    push(AttentionKind::MappingBroken, drifted_before_transition(may_change, owner), FixAt::ProjectSalesforce);
                }
            }
            SalesforceWork::PinnedAfterTransfer { .. } => {
                let words = if may_change {
                    format!("Paused after the transfer — run its transition{held}")
                } else {
                    format!("Paused after the transfer — waiting for {owner}'s transition{held}")
                };
                push(AttentionKind::PausedByTransfer, words, FixAt::ProjectSalesforce);
                if facts.schema_drift {
                    push(AttentionKind::MappingBroken, drifted_before_transition(may_change, owner), FixAt::ProjectSalesforce);
                }
            }
            SalesforceWork::MappingsDoNotFitYet { drift: Some(_), .. } => {
                let words = if may_change {
                    format!("Salesforce fields changed — deliveries held{held}")
                } else {
                    format!("Salesforce fields changed — deliveries held until {owner} fixes the mapping{held}")
                };
                push(AttentionKind::MappingBroken, words, FixAt::ProjectSalesforce);
            }
            SalesforceWork::MappingsDoNotFitYet { drift: None, link, .. } => {
                let words = if may_change {
                    format!("A mapping does not fit {} — deliveries held{held}", link.org_name)
                } else {
                    format!("A mapping does not fit {} — deliveries held until {owner} fixes it{held}", link.org_name)
                };
                push(AttentionKind::MappingDoesNotFit, words, FixAt::ProjectSalesforce);
            }
        }
    }
    if tally.failed > 0 {
        push(AttentionKind::DeliveriesFailed, format!("{} failed", deliveries(tally.failed)), FixAt::DeliveryLog(DeliveryStatus::Failed));
    }
    // Held for a reason of its own while the project may deliver (a survey
    // edit, a refused signed link): the log says why for each.
    if tally.held > 0 && facts.work.may_deliver() {
        push(AttentionKind::DeliveriesHeld, format!("{} held", deliveries(tally.held)), FixAt::DeliveryLog(DeliveryStatus::Held));
    }
    if tally.waiting_for_budget > 0 {
        let words = format!("{} waiting for Salesforce API budget", deliveries(tally.waiting_for_budget));
        let fix_at = if is_owner { FixAt::AccountSalesforce } else { FixAt::DeliveryLog(DeliveryStatus::Pending) };
        push(AttentionKind::WaitingForBudget, words, fix_at);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{LinkFacts, Owner, Validation};
    use crate::{Environment, Role};

    const A: &str = "00D000000000001AAA";
    const B: &str = "00D000000000002AAA";

    fn work(link: Option<(&str, bool)>, validation: Validation) -> SalesforceWork {
        let owner = Owner { name: "Olive".into(), email: "olive@example.com".into() };
        let link = link.map(|(org, reauth)| LinkFacts { org_id: org.into(), org_name: "Acme".into(), environment: Environment::Sandbox, needs_reauthentication: reauth });
        SalesforceWork::decide(owner, link, validation)
    }

    fn validated(org: &str, by_current_owner: bool) -> Validation {
        Validation::Validated { org_id: org.into(), by_current_owner }
    }

    fn tally(failed: i64, held: i64, waiting_for_budget: i64) -> DeliveryTally {
        DeliveryTally { failed, held, waiting_for_budget }
    }

    const OWNER: Access = Access { role: Role::Owner, salesforce_changes: false };
    const VIEWER: Access = Access { role: Role::Viewer, salesforce_changes: false };
    const GRANTED: Access = Access { role: Role::Editor, salesforce_changes: true };

    /// The whole rule as a table: who looks, the project's state, and what
    /// they are shown (kind, words, where to fix it).
    #[test]
    fn what_needs_attention_in_which_words_linking_where() {
        type Case = (&'static str, Access, SalesforceWork, bool, DeliveryTally, Vec<(AttentionKind, &'static str, FixAt)>);
        // (name, who looks, where work goes, uses Salesforce, deliveries, what shows)
        let cases: Vec<Case> = vec![
            ("all is well: nothing shows", OWNER, work(Some((A, false)), validated(A, true)), true, tally(0, 0, 0), vec![]),
            ("a project without Salesforce and no link: nothing", OWNER, work(None, Validation::NoMappings), false, tally(0, 0, 0), vec![]),
            ("a project without Salesforce ignores a link needing a sign-in", OWNER, work(Some((A, true)), Validation::NoMappings), false, tally(0, 0, 0), vec![]),
            (
                "paused by a switch, owner",
                OWNER,
                work(Some((B, false)), validated(A, true)),
                true,
                tally(0, 2, 0),
                vec![(AttentionKind::PausedBySwitch, "Paused by an org switch — run its transition (2 deliveries held)", FixAt::ProjectSalesforce)],
            ),
            (
                "paused by a switch, viewer",
                VIEWER,
                work(Some((B, false)), validated(A, true)),
                true,
                tally(0, 0, 0),
                vec![(AttentionKind::PausedBySwitch, "Paused by an org switch — waiting for Olive's transition", FixAt::ProjectSalesforce)],
            ),
            (
                "paused by a switch, an editor granted Salesforce changes may run it",
                GRANTED,
                work(Some((B, false)), validated(A, true)),
                true,
                tally(0, 0, 0),
                vec![(AttentionKind::PausedBySwitch, "Paused by an org switch — run its transition", FixAt::ProjectSalesforce)],
            ),
            (
                "paused after a transfer",
                OWNER,
                work(Some((A, false)), validated(A, false)),
                true,
                tally(0, 0, 0),
                vec![(AttentionKind::PausedByTransfer, "Paused after the transfer — run its transition", FixAt::ProjectSalesforce)],
            ),
            (
                "a field changed in Salesforce, owner",
                OWNER,
                work(Some((A, false)), Validation::Drifted { changes: "Score__c was deleted.".into() }),
                true,
                tally(0, 1, 0),
                vec![(AttentionKind::MappingBroken, "Salesforce fields changed — deliveries held (1 delivery held)", FixAt::ProjectSalesforce)],
            ),
            (
                "a field changed in Salesforce, viewer",
                VIEWER,
                work(Some((A, false)), Validation::Drifted { changes: "Score__c was deleted.".into() }),
                true,
                tally(0, 0, 0),
                vec![(AttentionKind::MappingBroken, "Salesforce fields changed — deliveries held until Olive fixes the mapping", FixAt::ProjectSalesforce)],
            ),
            (
                "a mapping never fit",
                OWNER,
                work(Some((A, false)), Validation::NotValidated),
                true,
                tally(0, 0, 0),
                vec![(AttentionKind::MappingDoesNotFit, "A mapping does not fit Acme — deliveries held", FixAt::ProjectSalesforce)],
            ),
            (
                "the owner's link needs a sign-in, owner goes to their Salesforce page",
                OWNER,
                work(Some((A, true)), validated(A, true)),
                true,
                tally(0, 0, 0),
                vec![(AttentionKind::LinkNeedsSignIn, "Your Salesforce link needs a new sign-in — Salesforce work is paused", FixAt::AccountSalesforce)],
            ),
            (
                "the owner's link needs a sign-in, a collaborator is told the owner fixes it",
                GRANTED,
                work(Some((A, true)), validated(A, true)),
                true,
                tally(0, 0, 0),
                vec![(AttentionKind::LinkNeedsSignIn, "Olive's Salesforce link needs a new sign-in — paused until Olive signs in again", FixAt::ProjectSalesforce)],
            ),
            (
                "the owner unlinked",
                OWNER,
                work(None, validated(A, true)),
                true,
                tally(0, 3, 0),
                vec![(AttentionKind::OwnerHasNoLink, "Salesforce is not linked — deliveries are held until you link it (3 deliveries held)", FixAt::AccountSalesforce)],
            ),
            (
                "the owner unlinked, viewer",
                VIEWER,
                work(None, validated(A, true)),
                true,
                tally(0, 0, 0),
                vec![(AttentionKind::OwnerHasNoLink, "Olive (the owner) has not linked Salesforce — deliveries are held", FixAt::ProjectSalesforce)],
            ),
            (
                "failed deliveries go to the log's failed",
                VIEWER,
                work(Some((A, false)), validated(A, true)),
                true,
                tally(1, 0, 0),
                vec![(AttentionKind::DeliveriesFailed, "1 delivery failed", FixAt::DeliveryLog(DeliveryStatus::Failed))],
            ),
            (
                "held while the project may deliver go to the log's held",
                OWNER,
                work(Some((A, false)), validated(A, true)),
                true,
                tally(0, 4, 0),
                vec![(AttentionKind::DeliveriesHeld, "4 deliveries held", FixAt::DeliveryLog(DeliveryStatus::Held))],
            ),
            (
                "waiting for budget: the owner sees their budget",
                OWNER,
                work(Some((A, false)), validated(A, true)),
                true,
                tally(0, 0, 5),
                vec![(AttentionKind::WaitingForBudget, "5 deliveries waiting for Salesforce API budget", FixAt::AccountSalesforce)],
            ),
            (
                "waiting for budget: a collaborator sees the log",
                VIEWER,
                work(Some((A, false)), validated(A, true)),
                true,
                tally(0, 0, 5),
                vec![(AttentionKind::WaitingForBudget, "5 deliveries waiting for Salesforce API budget", FixAt::DeliveryLog(DeliveryStatus::Pending))],
            ),
            (
                "several at once, most pressing first",
                OWNER,
                work(Some((B, false)), validated(A, true)),
                true,
                tally(2, 1, 0),
                vec![
                    (AttentionKind::PausedBySwitch, "Paused by an org switch — run its transition (1 delivery held)", FixAt::ProjectSalesforce),
                    (AttentionKind::DeliveriesFailed, "2 deliveries failed", FixAt::DeliveryLog(DeliveryStatus::Failed)),
                ],
            ),
        ];
        for (name, access, work, uses_salesforce, deliveries, expected) in cases {
            let schema_drift = matches!(&work, SalesforceWork::MappingsDoNotFitYet { drift: Some(_), .. });
            let got = needs_attention(&ProjectFacts { access, work, uses_salesforce, schema_drift, deliveries });
            let got: Vec<(AttentionKind, &str, FixAt)> = got.iter().map(|a| (a.kind, a.words.as_str(), a.fix_at)).collect();
            assert_eq!(got, expected, "{name}");
        }
    }

    /// A survey pinned by a switch keeps its pin when a schema check finds
    /// the new org changed under it: both are said, the pause first.
    #[test]
    fn a_pinned_survey_whose_fields_changed_says_both() {
        let pinned = work(Some((B, false)), validated(A, true));
        let cases: Vec<(Access, Vec<&str>)> = vec![
            (OWNER, vec!["Paused by an org switch — run its transition", "Salesforce fields changed — fix the mapping before the transition"]),
            (VIEWER, vec!["Paused by an org switch — waiting for Olive's transition", "Salesforce fields changed — Olive fixes the mapping before the transition"]),
        ];
        for (access, expected) in cases {
            let facts = ProjectFacts { access, work: pinned.clone(), uses_salesforce: true, schema_drift: true, deliveries: DeliveryTally::default() };
            let got: Vec<String> = needs_attention(&facts).into_iter().map(|a| a.words).collect();
            assert_eq!(got, expected, "{access:?}");
        }
        let facts = ProjectFacts { access: OWNER, work: pinned, uses_salesforce: true, schema_drift: false, deliveries: DeliveryTally::default() };
        assert_eq!(needs_attention(&facts).len(), 1, "no drift, only the pause");
    }
}
