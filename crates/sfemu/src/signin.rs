//! Signing in through the emulator's own login and consent pages the way a
//! browser does, for the tests and benchmarks of clients whose OAuth flow
//! goes through them. The pages are the emulator's own and plain, so reading
//! their forms needs no HTML parser.

/// The action and hidden inputs of the form holding the element with this `id` (the form
/// itself or one of its inputs).
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

/// Where a page that sends the browser on by script (the answer to the approval page's Allow
/// or Deny) sends it: its link `#redirect`.
pub fn redirect_target(html: &str) -> Option<String> {
    let at = html.find("id=\"redirect\"")?;
    let open = html[..at].rfind("<a")?;
    attr(&html[open..open + html[open..].find('>')?], "href")
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

/// Follows an authorize URL like a person would: to the login page
/// (`/?ec=302&startURL=…`) and logs in when asked, on to the approval page and
/// allows (or denies) the app when asked, until the emulator sends the browser
/// back to the client. `http` keeps cookies and does not follow redirects.
pub async fn sign_in(http: &reqwest::Client, authorize_url: &str, username: &str, password: &str, allow: bool) -> anyhow::Result<SignIn> {
    let mut saw_login_form = false;
    let mut r = http.get(authorize_url).send().await?;
    for _ in 0..8 {
        if r.status().is_redirection() {
            let location = r.headers().get("location").and_then(|v| v.to_str().ok()).ok_or_else(|| anyhow::anyhow!("no Location"))?.to_string();
            // The emulator's own pages redirect within the host (a path); the way
            // back to the client is its absolute callback URL.
            if !location.starts_with('/') {
                return Ok(SignIn { saw_login_form, redirect: location });
            }
            r = http.get(absolute(authorize_url, &location)).send().await?;
            continue;
        }
        anyhow::ensure!(r.status().is_success(), "the emulator answered {}", r.status());
        let html = r.text().await?;
        // A page whose script sends the browser on: within the host (after the login) it is
        // followed; elsewhere it is the way back to the client.
        if let Some(to) = redirect_target(&html) {
            if !to.starts_with('/') {
                return Ok(SignIn { saw_login_form, redirect: to });
            }
            r = http.get(absolute(authorize_url, &to)).send().await?;
            continue;
        }
        // The pages are told apart by Salesforce's own element ids: the login button
        // `#Login`, the approval page's `#oaapprove` / `#oadeny`.
        r = if let Some((action, mut fields)) = form(&html, "Login") {
            anyhow::ensure!(!saw_login_form, "the login was refused: {html}");
            saw_login_form = true;
            fields.extend([("username".into(), username.into()), ("pw".into(), password.into()), ("Login".into(), "Log In".into())]);
            http.post(absolute(authorize_url, &action)).form(&fields).send().await?
        } else if let Some((action, mut fields)) = form(&html, "oaapprove") {
            fields.push(if allow { ("oaapprove".into(), "Allow".into()) } else { ("oadeny".into(), "Deny".into()) });
            http.post(absolute(authorize_url, &action)).form(&fields).send().await?
        } else {
            anyhow::bail!("neither a login nor a consent page: {html}");
        };
    }
    anyhow::bail!("the sign-in did not send the browser back")
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
