//! The frame every page shares, and small pieces pages reuse.

use crate::auth::session::{CurrentAccount, CSRF_FIELD};
use maud::{html, Markup, DOCTYPE};


fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) }
            link rel="icon" type="image/svg+xml" href=(crate::assets::FAVICON_HREF);
            link rel="stylesheet" href=(crate::assets::stylesheet_href());
            script src=(crate::assets::script_href()) defer {}
        }
    }
}

pub fn page(title: &str, who: Option<&CurrentAccount>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&format!("{title} · Insight")))
            body {
                header.top {
                    a.brand href="/" { "Insight" }
                    nav {
                        @if who.is_some() {
                            a href="/projects" { "My Projects" }
                            a href="/salesforce" { "Salesforce" }
                            a href="/account" { "Account" }
                        }
                    }
                    @if let Some(who) = who {
                        span.muted .who { (who.account.name) " · " (who.account.email) }
                        (post_form("/signout", &who.csrf, html! {
                            button type="submit" { "Sign out" }
                        }))
                    } @else {
                        a href="/signin" { "Sign in" }
                        a href="/signup" { "Sign up" }
                    }
                }
                @if who.is_some_and(|w| w.link_needs_reauthentication) {
                    div.flash.error #reauth-banner role="alert" .banner {
                        "Your Salesforce link needs you to sign in to Salesforce again; surveys that use it are paused (nothing is lost). "
                        a href="/salesforce/link" { "Sign in again" }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A page for someone who is not signed in to Insight: a respondent.
pub fn public_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { main .public { (body) } }
        }
    }
}

pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

/// A form that posts to `action` with the session's CSRF token: every form a
/// signed-in person (or one signing in) submits.
pub fn post_form(action: &str, csrf: &str, body: Markup) -> Markup {
    html! { form method="post" action=(action) { (csrf_field(csrf)) (body) } }
}

/// The same, with a class on the form (`row`, `inline`, …).
pub fn post_form_with_class(class: &str, action: &str, csrf: &str, body: Markup) -> Markup {
    html! { form class=(class) method="post" action=(action) { (csrf_field(csrf)) (body) } }
}

/// A form that removes something: the script asks `question` first.
pub fn confirm_form(action: &str, csrf: &str, question: &str, body: Markup) -> Markup {
    html! { form method="post" action=(action) data-confirm=(question) { (csrf_field(csrf)) (body) } }
}

pub fn flash_error(message: Option<&str>) -> Markup {
    html! { @if let Some(m) = message { div.flash.error role="alert" { (m) } } }
}

/// A Salesforce error as people read it: what it means in a plain sentence,
/// then Salesforce's own words (which an admin searches for, and which carry
/// a validation rule's message).
pub fn salesforce_error(text: &str) -> Markup {
    html! {
        @match app::salesforce_words::explain(text) {
            Some(plain) => span.sf-error { span.plain data-testid="plain-error" { (plain) } " " span.sf-said { "Salesforce said: " code { (text) } } },
            None => span.sf-error { (text) },
        }
    }
}

pub fn flash_ok(message: Option<&str>) -> Markup {
    html! { @if let Some(m) = message { div.flash.ok role="status" { (m) } } }
}

pub fn error_page(status: u16, title: &str, message: &str) -> Markup {
    public_page(
        title,
        html! {
            div.card {
                h1 { (title) }
                p { (message) }
                p.muted { "HTTP " (status) }
                p { a href="/" { "Go to Insight" } }
            }
        },
    )
}
