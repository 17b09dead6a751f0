//! `insight bench outbound`: Salesforce outbound messages posted to a real
//! `insight serve`, envelopes of up to 100 notifications back to back, and,
//! side by side in the same run, the same number of notifications posted
//! one per envelope. Counts acknowledged notifications per second, the ack
//! latency per envelope, and checks that every acknowledged notification is
//! recorded exactly once.

use super::{percentile, start_server, Backend};
use clap::Args;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::testing::TestDatabase;

#[derive(Args, Debug)]
pub struct OutboundArgs {
    /// Which database the server uses (a fresh one is made for the run)
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: Backend,
    /// Notifications to post in each of the two runs
    #[arg(long, default_value_t = 20_000)]
    pub notifications: usize,
    /// Notifications per envelope in the batched run (Salesforce sends up to 100)
    #[arg(long, default_value_t = 100)]
    pub per_envelope: usize,
    /// Envelopes in flight at once (Salesforce sends several at a time)
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

/// The org, as the link stores it (18 characters) and as the messages name
/// it (15): the same org.
const ORG: &str = "00D000000000001EAA";
const ORG_15: &str = "00D000000000001";

/// Salesforce's envelope of `ids`, each a Case with an address to mail.
fn envelope(ids: std::ops::Range<usize>) -> String {
    let mut s = String::with_capacity(600 + ids.len() * 420);
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body><notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\">");
    s.push_str(&format!("<OrganizationId>{ORG_15}</OrganizationId><ActionId>04k000000000001AAA</ActionId><SessionId xsi:nil=\"true\"/><EnterpriseUrl>https://bench.my.salesforce.com/services/Soap/c/62.0/{ORG}</EnterpriseUrl><PartnerUrl>https://bench.my.salesforce.com/services/Soap/u/62.0/{ORG}</PartnerUrl>"));
    for i in ids {
        s.push_str(&format!(
            "<Notification><Id>04l{i:012}</Id><sObject xsi:type=\"sf:Case\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\"><sf:Id>500{i:012}</sf:Id><sf:CaseNumber>{i:08}</sf:CaseNumber><sf:Status>Closed</sf:Status><sf:SuppliedEmail>customer{i}@bench.example</sf:SuppliedEmail><sf:SuppliedName>Customer {i}</sf:SuppliedName></sObject></Notification>"
        ));
    }
    s.push_str("</notifications></soapenv:Body></soapenv:Envelope>");
    s
}

struct Run {
    acknowledged: usize,
    failed: usize,
    seconds: f64,
    latencies: Vec<u32>,
}

/// Posts notifications `first..first + total` in envelopes of `per`.
async fn run(url: &str, first: usize, total: usize, per: usize, concurrency: usize) -> anyhow::Result<Run> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let envelopes = total.div_ceil(per);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, url, next) = (client.clone(), url.to_string(), next.clone());
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut acknowledged, mut failed) = (Vec::new(), 0usize, 0usize);
            loop {
                let e = next.fetch_add(1, Ordering::Relaxed);
                if e >= envelopes {
                    break;
                }
                let ids = first + e * per..first + ((e + 1) * per).min(total);
                let n = ids.len();
                let body = envelope(ids);
                let t = Instant::now();
                let r = client.post(&url).header("content-type", "text/xml; charset=utf-8").header("SOAPAction", "\"\"").body(body).send().await;
                let ok = match r {
                    Ok(resp) if resp.status().is_success() => resp.text().await.is_ok_and(|t| t.contains("<Ack>true</Ack>")),
                    Ok(resp) => {
                        if failed == 0 {
                            let status = resp.status();
                            eprintln!("refused with {status}: {}", resp.text().await.unwrap_or_default());
                        }
                        false
                    }
                    Err(e) => {
                        if failed == 0 {
                            eprintln!("could not post: {e}");
                        }
                        false
                    }
                };
                if ok {
                    latencies.push(t.elapsed().as_micros() as u32);
                    acknowledged += n;
                } else {
                    failed += n;
                }
            }
            (latencies, acknowledged, failed)
        }));
    }
    let mut all = Run { acknowledged: 0, failed: 0, seconds: 0.0, latencies: Vec::new() };
    for w in workers {
        let (l, a, f) = w.await?;
        all.latencies.extend(l);
        all.acknowledged += a;
        all.failed += f;
    }
    all.seconds = started.elapsed().as_secs_f64();
    all.latencies.sort_unstable();
    Ok(all)
}

fn summary(r: &Run) -> serde_json::Value {
    json!({
        "acknowledged": r.acknowledged,
        "failed": r.failed,
        "seconds": r.seconds,
        "notifications_per_second": r.acknowledged as f64 / r.seconds,
        "envelopes": r.latencies.len(),
        "ack_latency_ms": { "p50": percentile(&r.latencies, 0.5), "p99": percentile(&r.latencies, 0.99), "max": percentile(&r.latencies, 1.0) },
    })
}

pub async fn outbound(args: OutboundArgs) -> anyhow::Result<()> {
    let db = match args.backend {
        Backend::Sqlite => TestDatabase::sqlite(),
        Backend::Postgres => TestDatabase::postgres().await.ok_or_else(|| anyhow::anyhow!("PostgreSQL is unreachable"))?,
    };
    let key = store::sealed::Sealer::generate_key();
    // The set-up goes through the same use cases as the pages.
    let mut config = app::Config::new(db.url.clone());
    config.secret_key = Some(key.clone());
    config.public_url = Some("http://127.0.0.1".into());
    let app = app::App::build(&config).await?;
    let owner = app
        .create_account_with_confirmed_address(
            &domain::Email::parse("bench@insight.example")?,
            &domain::DisplayName::parse("Bench")?,
            &web::hash_password(domain::NewPassword::parse("bench-password")?).await?,
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("bench account exists"))?;
    let id = app.create_project(owner.id, &domain::ProjectName::parse("Outbound bench")?).await?;
    let project = app.project(owner.id, id).await?;
    app.change_survey(&project, |d| d.add_question(domain::QuestionText::parse("Recommend?")?, domain::QuestionKind::Nps, true).map(drop)).await?;
    app.set_survey_status(&project, domain::SurveyStatus::Published).await?;
    // The owner's link names the org the messages come from; the endpoint
    // makes no Salesforce call.
    let store = db.store().await.with_sealer(store::sealed::Sealer::from_encoded_key(Some(&key))?);
    store
        .save_link(
            &store::links::NewLink {
                account_id: owner.id,
                environment: domain::Environment::Production,
                requested_environment: domain::Environment::Production,
                login_url: "https://login.salesforce.com".into(),
                org_id: ORG.into(),
                org_name: "Bench Org".into(),
                instance_url: "http://127.0.0.1:9".into(),
                sf_user_id: "005000000000001AAA".into(),
                sf_username: "bench@bench.example".into(),
                sf_display_name: "Bench".into(),
                identity_url: "https://login.salesforce.com/id/00D000000000001EAA/005000000000001AAA".into(),
                refresh_token: store::sealed::Secret::new("bench-refresh".to_string()),
                access_token: store::sealed::Secret::new("bench-access".to_string()),
                linked_by: owner.id,
                api_used: None,
                api_max: None,
            },
            domain::LinkEventKind::Linked,
            "bench",
        )
        .await?;
    let form = app::triggers::TriggerForm {
        recipient_kind: "field".into(),
        email_field: "SuppliedEmail".into(),
        name_field: "SuppliedName".into(),
        sender_name: "Bench".into(),
        ..app::triggers::TriggerForm::of(None)
    };
    app.save_trigger(&project, &owner, &form).await?;
    let endpoint = app.trigger_page(&project).await?.endpoint_url.ok_or_else(|| anyhow::anyhow!("no endpoint URL"))?;
    let path = &endpoint[endpoint.find("/salesforce/outbound/").ok_or_else(|| anyhow::anyhow!("odd endpoint {endpoint}"))?..];
    drop(app);

    let server = start_server(&db.url, &[("INSIGHT_SECRET_KEY", key)])?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let url = format!("{}{path}", server.url);
    let n = args.notifications;
    let batched = run(&url, 0, n, args.per_envelope.clamp(1, 100), args.concurrency).await?;
    let recorded_batched = store.notification_counts(id).await?.all;
    // The naive way: one notification per envelope, as many notifications.
    let single = run(&url, n, n, 1, args.concurrency).await?;
    let recorded = store.notification_counts(id).await?.all;
    // The worker's side is not measured here: it reads each batch's records
    // from the owner's org before it invites anyone, and this bench has no
    // org (its link points at a closed local port, so those reads fail at once
    // and the notifications wait, as they would for an unreachable org).
    let result = json!({
        "bench": "outbound",
        "backend": format!("{:?}", args.backend).to_lowercase(),
        "concurrency": args.concurrency,
        "batched": { "per_envelope": args.per_envelope, "recorded": recorded_batched, "run": summary(&batched) },
        "one_per_envelope": { "recorded": recorded - recorded_batched, "run": summary(&single) },
        "ratio": (batched.acknowledged as f64 / batched.seconds) / (single.acknowledged as f64 / single.seconds),
    });
    if args.json {
        println!("{result}");
    } else {
        let line = |name: &str, r: &Run| {
            println!(
                "  {name}: {:.0} notifications/s acknowledged ({} in {:.2} s, {} failed); ack ms p50 {:.2} p99 {:.2} max {:.2}",
                r.acknowledged as f64 / r.seconds,
                r.acknowledged,
                r.seconds,
                r.failed,
                percentile(&r.latencies, 0.5),
                percentile(&r.latencies, 0.99),
                percentile(&r.latencies, 1.0)
            )
        };
        println!("outbound on {:?}, {} envelopes in flight:", args.backend, args.concurrency);
        line(&format!("{} per envelope", args.per_envelope), &batched);
        line("1 per envelope  ", &single);
        println!("  batched / one per envelope: {:.1}x", result["ratio"].as_f64().unwrap_or(0.0));
    }
    drop(server);
    store.close().await;
    if recorded as usize != batched.acknowledged + single.acknowledged {
        anyhow::bail!("{} notifications were acknowledged but {recorded} are recorded", batched.acknowledged + single.acknowledged);
    }
    Ok(())
}
