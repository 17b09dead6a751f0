//! The getting-started checklist a new account sees on My Projects: four
//! steps to Insight's point, each ticked from what the account has really
//! done (never from a click), each linking to where it is done.

/// What the account has done so far, read from its real state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// The account has a Salesforce link.
    pub linked: bool,
    /// A project it owns maps responses into Salesforce.
    pub mapped: bool,
    /// A survey it owns is published.
    pub published: bool,
    /// A survey it owns has a trigger.
    pub triggered: bool,
    /// The newest project it owns, where the project steps are done.
    pub newest_project: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    LinkSalesforce,
    MapResponses,
    PublishSurvey,
    TriggerInvitations,
}

impl Step {
    /// The step's code in pages' data attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::LinkSalesforce => "link-salesforce",
            Step::MapResponses => "map-responses",
            Step::PublishSurvey => "publish-survey",
            Step::TriggerInvitations => "trigger-invitations",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Step::LinkSalesforce => "Link your Salesforce org",
            Step::MapResponses => "Map responses onto Salesforce records",
            Step::PublishSurvey => "Publish a survey",
            Step::TriggerInvitations => "Send invitations from Salesforce events",
        }
    }
}

/// Where a step is done (the web layer turns it into a path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoneAt {
    /// Setup Link to Salesforce Account.
    LinkSetup,
    /// My Projects' "New project" form: there is no project yet.
    NewProject,
    ProjectSurvey(i64),
    ProjectSalesforce(i64),
    ProjectTrigger(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChecklistItem {
    pub step: Step,
    pub done: bool,
    pub done_at: DoneAt,
}

/// The checklist, in the order a person would go; `None` once every step
/// is done or the account hid it.
pub fn checklist(progress: &Progress, hidden: bool) -> Option<Vec<ChecklistItem>> {
    let all_done = progress.linked && progress.mapped && progress.published && progress.triggered;
    if hidden || all_done {
        return None;
    }
    let in_project = |at: fn(i64) -> DoneAt| progress.newest_project.map_or(DoneAt::NewProject, at);
    Some(vec![
        ChecklistItem { step: Step::LinkSalesforce, done: progress.linked, done_at: DoneAt::LinkSetup },
        ChecklistItem { step: Step::MapResponses, done: progress.mapped, done_at: in_project(DoneAt::ProjectSalesforce) },
        ChecklistItem { step: Step::PublishSurvey, done: progress.published, done_at: in_project(DoneAt::ProjectSurvey) },
        ChecklistItem { step: Step::TriggerInvitations, done: progress.triggered, done_at: in_project(DoneAt::ProjectTrigger) },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(linked: bool, mapped: bool, published: bool, triggered: bool, newest_project: Option<i64>) -> Progress {
        Progress { linked, mapped, published, triggered, newest_project }
    }

    #[test]
    fn the_checklist_ticks_from_real_state_and_goes_when_done_or_hidden() {
        type Case = (&'static str, Progress, bool, Option<Vec<(Step, bool, DoneAt)>>);
        let cases: Vec<Case> = vec![
            (
                "a new account: nothing done, no project yet",
                progress(false, false, false, false, None),
                false,
                Some(vec![
                    (Step::LinkSalesforce, false, DoneAt::LinkSetup),
                    (Step::MapResponses, false, DoneAt::NewProject),
                    (Step::PublishSurvey, false, DoneAt::NewProject),
                    (Step::TriggerInvitations, false, DoneAt::NewProject),
                ]),
            ),
            (
                "linked and published, in project 7",
                progress(true, false, true, false, Some(7)),
                false,
                Some(vec![
                    (Step::LinkSalesforce, true, DoneAt::LinkSetup),
                    (Step::MapResponses, false, DoneAt::ProjectSalesforce(7)),
                    (Step::PublishSurvey, true, DoneAt::ProjectSurvey(7)),
                    (Step::TriggerInvitations, false, DoneAt::ProjectTrigger(7)),
                ]),
            ),
            ("hidden by the account", progress(true, false, false, false, Some(7)), true, None),
            ("every step done", progress(true, true, true, true, Some(7)), false, None),
        ];
        for (name, p, hidden, expected) in cases {
            let got = checklist(&p, hidden).map(|items| items.iter().map(|i| (i.step, i.done, i.done_at)).collect::<Vec<_>>());
            assert_eq!(got, expected, "{name}");
        }
    }
}
