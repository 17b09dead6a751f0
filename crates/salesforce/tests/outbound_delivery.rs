//! The emulator's outbound messages (its own SOAP writer) parsed by this crate's codec.

mod common;

use common::TestSalesforce;
use salesforce::outbound::{self, OutboundMessage};
use salesforce::session::IgnoreTokenEvents;
use salesforce::{AccessToken, ApiVersion, Client, Environment, Session};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A listener like Insight's trigger endpoint: parse, hand over, acknowledge.
async fn listener() -> (String, mpsc::UnboundedReceiver<OutboundMessage>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/outbound",
        axum::routing::post(move |body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                match outbound::parse_notifications(&body) {
                    Ok(m) => {
                        let _ = tx.send(m);
                        (axum::http::StatusCode::OK, [("content-type", outbound::ACK_CONTENT_TYPE)], outbound::ack_response(true))
                    }
                    Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, [("content-type", outbound::ACK_CONTENT_TYPE)], outbound::fault_response(&e.to_string())),
                }
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/outbound", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, rx)
}

#[tokio::test]
async fn outbound_message_for_a_new_contact_parses_and_its_session_calls_back() {
    let sf = TestSalesforce::start().await;
    let tokens = sf.link(Environment::Production).await;
    let client = Client::new(
        Session::new(sf.http.clone(), sf.app.clone(), sf.production.login_url.clone(), tokens, Arc::new(IgnoreTokenEvents)),
        ApiVersion::DEFAULT,
    );
    let (endpoint, mut rx) = listener().await;
    let r = sf.http.post(format!("{}/orgs/{}/outbound/rules", sf.emu.admin_url(), sf.production.id))
        .json(&json!({"object": "Contact", "fields": ["Email", "LastName"], "endpoint_url": endpoint, "include_session_id": true}))
        .send().await.unwrap();
    assert!(r.status().is_success());

    let id = client.create("Contact", &json!({"LastName": "Rivera", "Email": "rivera@example.com"})).await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await.expect("outbound message within 20 s").unwrap();

    assert_eq!(msg.organization_id.as_str(), sf.production.id);
    assert_eq!(msg.notifications.len(), 1);
    let rec = &msg.notifications[0].record;
    assert_eq!(rec.sobject_type, "Contact");
    assert_eq!(rec.id.as_ref(), Some(&id));
    assert_eq!(rec.field("Email"), Some("rivera@example.com"));

    // The session id in the message is a working API session on the instance named by PartnerUrl.
    let sid = msg.session_id.clone().expect("include_session_id");
    let callback = Client::new(Session::with_access_token(sf.http.clone(), msg.instance_url().unwrap(), AccessToken::new(sid.expose())), ApiVersion::DEFAULT);
    assert_eq!(callback.organization().await.unwrap().id, msg.organization_id);
}
