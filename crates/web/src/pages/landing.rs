//! The first page for someone not signed in: what Insight is, in a few
//! plain lines, and Sign up / Sign in. Server-rendered, no external assets.

use super::layout;
use maud::{html, Markup};

pub fn page() -> Markup {
    layout::page(
        "Surveys that land in Salesforce",
        None,
        html! {
            section.landing #landing {
                div.landing-hero {
                    h1 { "Surveys whose answers land on the right Salesforce record" }
                    p.lead { "Insight is a survey platform built around its link to Salesforce. "
                        "Build a survey, link your org once, and every response is written onto the Case, Contact or Opportunity it is about — "
                        "no exports, no copy and paste, no duplicates." }
                    div.row {
                        a.button href="/signup" data-testid="landing-sign-up" { "Sign up" }
                        a.button.secondary href="/signin" data-testid="landing-sign-in" { "Sign in" }
                    }
                }
                div.landing-points {
                    div.card {
                        h2 .mt-0 { "Responses on the right record" }
                        p { "Map answers, scores and embedded data onto standard or custom objects: create, update by record id, or upsert. "
                            "Every delivery is queued durably, retried, and logged with the Salesforce record id or Salesforce's exact error." }
                    }
                    div.card {
                        h2 .mt-0 { "Invitations from Salesforce events" }
                        p { "A case closed or an opportunity won triggers a personal invitation by mail, once, "
                            "and its answer goes back onto the record that triggered it." }
                    }
                    div.card {
                        h2 .mt-0 { "The owner decides what is written" }
                        p { "Work runs with the project owner's own Salesforce link. Collaborators change what is written only when the owner allows it, "
                            "and every change is in the project's history." }
                    }
                    div.card {
                        h2 .mt-0 { "Sandbox or production" }
                        p { "Link a sandbox to try things out, then production. Switching orgs pauses each survey until it is checked against the new org, "
                            "so nothing is written into an org a survey was not validated against." }
                    }
                }
                p.muted { "Already have an account? " a href="/signin" { "Sign in" } ". New here? " a href="/signup" { "Create an account" } " — it takes a minute." }
            }
        },
    )
}
