//! Signing in through the emulator's own login and consent pages the way a
//! browser does, for the tests and benchmarks of clients whose OAuth flow
//! goes through them. The pages are the emulator's own and plain, so reading
//! their forms needs no HTML parser.

/// The action and hidden inputs of the page's form with this `id`.
pub fn form(html: &str, id: &str) -> Option<(String, Vec<(String, String)>)> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let open = html[..at].rfind("<form")?;
    let end = open + html[open..].find("</form>")?;
    let body = &html[open..end];
    let action = attr(&body[..body.find('>')?], "action").unwrap_or_default();
    let hidden = body
        .split("<input")
        .skip(1)
        .filter_map(|t| {
            let tag = &t[..t.find('>').unwrap_or(t.len())];
            if attr(tag, "type").as_deref() != Some("hidden") {
                return None;
            }
            Some((attr(tag, "name")?, attr(tag, "value")?))
        })
        .collect();
    Some((action, hidden))
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!("{name}=\"");
    let i = tag.find(&marker)? + marker.len();
    Some(unescape(&tag[i..i + tag[i..].find('"')?]))
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http") {
        location.to_string()
    } else {
        format!("{}{location}", base.splitn(4, '/').take(3).collect::<Vec<_>>().join("/"))
    }
}

/// Where a sign-in through the pages ended.
#[derive(Debug, Clone)]
pub struct SignIn {
    /// The login page was shown (with `prompt=login` it always is).
    pub saw_login_form: bool,
    /// Where the emulator sent the browser back to: the client's callback
    /// URL with `code` and `state`, or with `error=access_denied`.
    pub redirect: String,
}

/// Follows an authorize URL like a person would: logs in when asked, then
/// allows (or denies) the app when asked. `http` keeps cookies and does not
/// follow redirects.
pub async fn sign_in(http: &reqwest::Client, authorize_url: &str, username: &str, password: &str, allow: bool) -> anyhow::Result<SignIn> {
    let page = http.get(authorize_url).send().await?;
    anyhow::ensure!(page.status().is_success(), "authorize answered {}", page.status());
    let mut html = page.text().await?;
    let mut answered = None;
    let saw_login_form = html.contains("id=\"login_form\"");
    if saw_login_form {
        let (action, mut fields) = form(&html, "login_form").ok_or_else(|| anyhow::anyhow!("no login form"))?;
        fields.push(("username".into(), username.into()));
        fields.push(("password".into(), password.into()));
        let r = http.post(absolute(authorize_url, &action)).form(&fields).send().await?;
        // An app the user approved before is not asked about again.
        if r.status().is_redirection() {
            answered = Some(r);
        } else {
            html = r.text().await?;
        }
    }
    let r = match answered {
        Some(r) => r,
        None => {
            let (action, mut fields) = form(&html, "consent_form").ok_or_else(|| anyhow::anyhow!("no consent form in {html}"))?;
            fields.push(("action".into(), if allow { "allow" } else { "deny" }.into()));
            http.post(absolute(authorize_url, &action)).form(&fields).send().await?
        }
    };
    anyhow::ensure!(r.status().is_redirection(), "the sign-in did not send the browser back ({})", r.status());
    let redirect = r.headers().get("location").and_then(|v| v.to_str().ok()).ok_or_else(|| anyhow::anyhow!("no Location"))?.to_string();
    Ok(SignIn { saw_login_form, redirect })
}

#[cfg(test)]
mod tests {
    #[test]
    fn forms_are_read_with_their_hidden_inputs_unescaped() {
        let html = r#"<form method="post" action="/x?a=1&amp;b=2" id="f"><input type="hidden" name="state" value="s&quot;1"><input type="text" name="u"></form>"#;
        let (action, fields) = super::form(html, "f").unwrap();
        assert_eq!(action, "/x?a=1&b=2");
        assert_eq!(fields, [("state".to_string(), "s\"1".to_string())]);
        assert!(super::form(html, "missing").is_none());
    }
}
