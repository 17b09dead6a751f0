//! The frame every page shares, and small pieces pages reuse.

use crate::auth::session::{CurrentAccount, CSRF_FIELD};
use maud::{html, Markup, PreEscaped, DOCTYPE};

const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f5f6f8}
a{color:#1b5fc1}
header.top{display:flex;align-items:center;gap:1.5rem;padding:.6rem 1.5rem;background:#12284a;color:#fff}
header.top a{color:#fff;text-decoration:none}
header.top .brand{font-weight:700;font-size:1.15rem;letter-spacing:.02em}
header.top nav{display:flex;gap:1rem;flex:1}
header.top form{margin:0}
header.top button{background:none;border:1px solid #fff6;color:#fff;padding:.2rem .7rem;border-radius:4px;cursor:pointer}
main{max-width:1100px;margin:1.5rem auto;padding:0 1.5rem}
h1{font-size:1.5rem;margin:.2rem 0 1rem}
h2{font-size:1.15rem;margin:1.5rem 0 .6rem}
.card{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:1rem 1.25rem;margin-bottom:1rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e3e6ec;padding:.45rem .6rem;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600;font-size:.9rem}
label{display:block;font-weight:600;margin:.6rem 0 .2rem}
label.inline{display:inline;font-weight:normal;margin:0 .8rem 0 .2rem}
input[type=text],input[type=email],input[type=password],input[type=number],input[type=url],select,textarea{width:100%;max-width:34rem;padding:.45rem .55rem;border:1px solid #b9c0cc;border-radius:5px;font:inherit}
textarea{min-height:5rem}
label>input:not([type=checkbox]):not([type=radio]),label>select,label>textarea{display:block;margin-top:.2rem;font-weight:normal}
button,.button{display:inline-block;background:#1b5fc1;color:#fff;border:0;border-radius:5px;padding:.45rem .95rem;font:inherit;cursor:pointer;text-decoration:none}
button.secondary,.button.secondary{background:#e7ebf1;color:#1d2330}
button.danger{background:#b3261e}
button.small{padding:.15rem .5rem;font-size:.85rem}
.row{display:flex;gap:.5rem;align-items:center;flex-wrap:wrap}
.muted{color:#5d6778}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.8rem;background:#e7ebf1}
.badge.published{background:#d7f0dd;color:#14632b}
.badge.draft{background:#fdf1d6;color:#7a5300}
.flash{padding:.6rem .9rem;border-radius:6px;margin-bottom:1rem}
.flash.error{background:#fde8e7;border:1px solid #f2b8b5;color:#8c1d18}
.flash.ok{background:#e3f4e7;border:1px solid #b5dfbf;color:#14632b}
.field-error{color:#b3261e;font-size:.9rem;margin:.2rem 0}
.tabs{display:flex;gap:.3rem;border-bottom:1px solid #dde1e8;margin-bottom:1rem;align-items:flex-end}
.tabs a{padding:.45rem .9rem;text-decoration:none;border-radius:6px 6px 0 0;color:#1d2330}
.tabs a.active{background:#fff;border:1px solid #dde1e8;border-bottom-color:#fff;margin-bottom:-1px;font-weight:600}
.tabs .spacer{flex:1}
details.menu{position:relative;display:inline-block}
details.menu>summary{list-style:none;cursor:pointer;padding:.4rem .9rem;border:1px solid #b9c0cc;border-radius:5px;background:#fff}
details.menu>summary::-webkit-details-marker{display:none}
details.menu .menu-items{position:absolute;right:0;z-index:10;min-width:17rem;background:#fff;border:1px solid #dde1e8;border-radius:6px;box-shadow:0 6px 18px #0002;padding:.3rem 0}
details.menu .menu-items a,details.menu .menu-items span{display:block;padding:.35rem .9rem;text-decoration:none;color:#1d2330}
details.menu .menu-items a:hover{background:#eef1f5}
details.menu .menu-items .group{padding:.35rem .9rem .1rem;font-size:.8rem;text-transform:uppercase;color:#5d6778;letter-spacing:.04em}
details.menu .menu-items .disabled{color:#9aa3b2}
.question{border:1px solid #dde1e8;border-radius:6px;padding:.7rem .9rem;margin-bottom:.6rem;background:#fff}
.question .meta{font-size:.85rem;color:#5d6778}
.survey-form .question{padding:1rem 1.1rem}
.nps{display:flex;gap:.25rem;flex-wrap:wrap}
.nps label{display:flex;flex-direction:column;align-items:center;font-weight:normal;margin:0;border:1px solid #b9c0cc;border-radius:5px;padding:.2rem .55rem}
code.link{display:inline-block;background:#eef1f5;padding:.2rem .45rem;border-radius:4px;word-break:break-all}
"#;

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) }
            style { (PreEscaped(STYLE)) }
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
                        span.muted style="color:#c9d3e6" { (who.account.name) " · " (who.account.email) }
                        form method="post" action="/signout" {
                            (csrf_field(&who.csrf))
                            button type="submit" { "Sign out" }
                        }
                    } @else {
                        a href="/signin" { "Sign in" }
                        a href="/signup" { "Sign up" }
                    }
                }
                @if who.is_some_and(|w| w.link_needs_reauthentication) {
                    div.flash.error #reauth-banner role="alert" style="border-radius:0;margin:0" {
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
            body { main style="max-width:760px" { (body) } }
        }
    }
}

pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

pub fn flash_error(message: Option<&str>) -> Markup {
    html! { @if let Some(m) = message { div.flash.error role="alert" { (m) } } }
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
