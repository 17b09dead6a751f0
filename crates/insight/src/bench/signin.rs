//! `insight bench signin`: many sign-ins at once against a real
//! `insight serve` (SQLite in a temporary folder), each with a wrong
//! password for an email of its own, from a loopback address of its own, so
//! that every one passes the rate limits and costs a password check, as a
//! botnet's would. Reports the server's peak resident memory (VmHWM), what
//! stayed resident after the burst, and how long the burst took to be
//! answered.

use super::{csrf, proc_status_kib, start_server};
use clap::Args;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use store::testing::TestDatabase;

#[derive(Args, Debug)]
pub struct SigninArgs {
    /// Sign-ins fired at once
    #[arg(long, default_value_t = 400)]
    pub concurrent: usize,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

pub async fn signin(args: SigninArgs) -> anyhow::Result<()> {
    let db = TestDatabase::sqlite();
    db.store().await;
    let server = start_server(&db.url, &[])?;
    let base = server.url.clone();

    // Each attacker first fetches the sign-in form for its CSRF cookie, so
    // the burst itself is nothing but password checks.
    let mut attackers = Vec::with_capacity(args.concurrent);
    for i in 0..args.concurrent {
        let address = IpAddr::V4(Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8));
        let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).local_address(address).build()?;
        let page = http.get(format!("{base}/signin")).send().await?.text().await?;
        attackers.push((http, csrf(&page)?));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_kib = proc_status_kib(server.pid, "VmRSS:").unwrap_or(0);

    let started = Instant::now();
    let mut burst = Vec::with_capacity(args.concurrent);
    for (i, (http, csrf)) in attackers.into_iter().enumerate() {
        let url = format!("{base}/signin");
        burst.push(tokio::spawn(async move {
            let email = format!("nobody{i}@bench.example");
            let r = http.post(url).form(&[("csrf", csrf.as_str()), ("email", &email), ("password", "not the password")]).send().await;
            (r.map(|r| r.status().as_u16()).unwrap_or(0), started.elapsed())
        }));
    }
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut last = Duration::ZERO;
    for b in burst {
        let (status, at) = b.await?;
        *statuses.entry(status).or_default() += 1;
        last = last.max(at);
    }
    let peak_kib = proc_status_kib(server.pid, "VmHWM:").unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_kib = proc_status_kib(server.pid, "VmRSS:").unwrap_or(0);

    let mib = |kib: u64| (kib as f64 / 1024.0 * 10.0).round() / 10.0;
    let result = json!({
        "bench": "signin",
        "concurrent": args.concurrent,
        "answers": statuses.iter().map(|(s, n)| (if *s == 0 { "no answer".to_string() } else { s.to_string() }, *n)).collect::<BTreeMap<_, _>>(),
        "burst_answered_s": (last.as_secs_f64() * 100.0).round() / 100.0,
        "server_idle_rss_mib": mib(idle_kib),
        "server_peak_rss_mib": mib(peak_kib),
        "server_rss_after_mib": mib(after_kib),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    });
    if args.json {
        println!("{result}");
    } else {
        println!("{}", serde_json::to_string_pretty(&result)?);
    }
    Ok(())
}

