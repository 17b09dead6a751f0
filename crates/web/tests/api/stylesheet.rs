//! The stylesheet is one static, content-hashed asset, and no page carries a
//! style of its own, so the Content-Security-Policy needs no 'unsafe-inline'.

use crate::helpers::{apps, inline_style_in, Browser};
use reqwest::StatusCode;

fn stylesheet_href(html: &str) -> Option<String> {
    let start = html.find("href=\"/assets/insight-")? + "href=\"".len();
    Some(html[start..].chars().take_while(|c| *c != '"').collect())
}

#[tokio::test]
async fn pages_link_an_immutable_stylesheet_and_carry_no_inline_style() {
    for app in apps().await {
        let b = Browser::new(&app);
        let (_, signed_out) = b.get_text("/signin").await;
        b.sign_up("ada@example.com", "Ada").await;
        let id = b.create_project("Styled").await;
        b.add_question(id, "nps", "How likely?", "", true).await;
        let link = b.publish(id).await;
        let respondent = Browser::new(&app);
        let mut pages = vec![("/signin".to_string(), signed_out)];
        for path in [
            "/signup".to_string(),
            "/projects".to_string(),
            "/account".to_string(),
            "/salesforce".to_string(),
            format!("/projects/{id}/survey"),
            "/salesforce/link".to_string(),
            format!("/projects/{id}/responses"),
            format!("/projects/{id}/sharing"),
            format!("/projects/{id}/settings"),
            format!("/projects/{id}/salesforce"),
            "/no/such/page".to_string(),
        ] {
            let (_, html) = b.get_text(&path).await;
            pages.push((path, html));
        }
        let (_, survey) = respondent.get_text(&link).await;
        pages.push((link.clone(), survey));
        let (_, unknown_survey) = respondent.get_text("/s/nosuchsurvey").await;
        pages.push(("/s/nosuchsurvey".into(), unknown_survey));

        let href = stylesheet_href(&pages[0].1).expect("the sign-in page links the stylesheet");
        assert!(href.ends_with(".css") && href.len() > "/assets/insight-.css".len(), "{href}");
        for (path, html) in &pages {
            assert_eq!(inline_style_in(html), None, "{path} carries an inline style");
            assert!(!html.contains("<style"), "{path} carries a style element");
            assert_eq!(stylesheet_href(html).as_ref(), Some(&href), "{path} links the one stylesheet: {html}");
        }

        let page = b.get("/projects").await;
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("style-src 'self'"), "{csp}");

        let css = respondent.get(&href).await;
        assert_eq!(css.status(), StatusCode::OK);
        assert_eq!(css.headers()["cache-control"], "public, max-age=31536000, immutable");
        assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
        assert!(css.text().await.unwrap().contains(".card{"));
    }
}
