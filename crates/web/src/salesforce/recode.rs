//! A rule that needs a recoding first: a choice question into a picklist
//! that lacks some of its choices, or into a checkbox; NPS groups into a
//! picklist with words of its own. Before the rule is saved, this step asks
//! what each choice (or group) becomes, offering only the field's values,
//! each preselected where a value has the same name.

use crate::auth::session::CurrentAccount;
use crate::pages::layout::{flash_error, page, post_form};
use crate::pages::project_frame::{self, Tab};
use app::projects::Project;
use domain::mapping::{Convert, FieldSchema, Recoding};
use domain::Invalid;
use maud::{html, Markup};
use std::collections::BTreeMap;

/// What the add-rule form carries besides the field and the value.
pub struct Typed<'a> {
    pub field: &'a str,
    pub source: &'a str,
    pub value: &'a str,
    pub cut: bool,
}

/// The conversion the recoding step's answers make (`to[i]` for
/// `recoding.from[i]`), or why they do not.
pub fn conversion(recoding: &Recoding, to: &BTreeMap<usize, String>) -> Result<Convert, Invalid> {
    let mut chosen = Vec::with_capacity(recoding.from.len());
    for (i, from) in recoding.from.iter().enumerate() {
        match to.get(&i).map(|t| t.trim()).filter(|t| !t.is_empty()) {
            Some(t) if recoding.to.iter().any(|v| v == t) => chosen.push(t.to_string()),
            Some(t) => return Err(Invalid::new(format!("\"{t}\" is not a value the field takes; pick one of the list for \"{from}\"."))),
            None => return Err(Invalid::new(format!("Choose what \"{from}\" becomes."))),
        }
    }
    Ok(match (recoding.nps, chosen.as_slice()) {
        (true, [promoter, passive, detractor]) => Convert::NpsGroup { promoter: promoter.clone(), passive: passive.clone(), detractor: detractor.clone() },
        _ => Convert::Recode { values: recoding.from.iter().cloned().zip(chosen).collect() },
    })
}

/// The step: each choice (or group) with the field's values to pick from.
pub fn step(who: &CurrentAccount, project: &Project, mapping: usize, field: &FieldSchema, recoding: &Recoding, typed: &Typed, error: Option<&str>) -> Markup {
    let access = app::projects::access(project);
    let base = format!("/projects/{}/salesforce", project.id);
    let guesses = recoding.guesses();
    page(
        &project.name,
        Some(who),
        html! {
            (project_frame::header(project, access, Tab::Salesforce))
            p.muted { a href=(base) { "‹ Salesforce" } }
            h2 { "What each answer becomes in " (field.label) }
            (flash_error(error))
            div.card #recode {
                p.muted {
                    @if recoding.nps { "Each NPS group is written as one of " (field.label) "'s values." }
                    @else { (field.label) " takes only its own values. Choose the one each choice of the question becomes." }
                }
                (post_form(&format!("{base}/mappings/{mapping}/rules"), &who.csrf, html! {
                    input type="hidden" name="field" value=(typed.field);
                    input type="hidden" name="source" value=(typed.source);
                    input type="hidden" name="value" value=(typed.value);
                    @if typed.cut { input type="hidden" name="cut" value="on"; }
                    table {
                        thead { tr { th { @if recoding.nps { "NPS group" } @else { "Choice" } } th { "Becomes" } } }
                        tbody {
                            @for (i, from) in recoding.from.iter().enumerate() {
                                tr data-choice=(from) {
                                    td { (from) }
                                    td {
                                        select name={"to_" (i)} aria-label={"What " (from) " becomes"} required {
                                            option value="" { "Choose…" }
                                            @for v in &recoding.to { option value=(v) selected[guesses[i] == *v] { (v) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    p { button type="submit" { "Save the rule" } " " a href=(base) { "Cancel" } }
                }))
            }
        },
    )
}
