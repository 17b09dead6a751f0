//! The `sfemu` binary: startup lines (human and --json), then it serves.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn run(args: &[&str]) -> (std::process::Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sfemu")).args(args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut lines = vec![];
    let mut r = BufReader::new(child.stdout.take().unwrap());
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap() == 0 { break; }
        let done = l.contains("ready");
        lines.push(l.trim_end().to_string());
        if done { break; }
    }
    (child, lines)
}

#[test]
fn json_startup_lines_then_serves() {
    let (child, lines) = run(&["--json", "--bind", "127.0.0.1:0", "--https-bind", "127.0.0.1:0"]);
    let v: Vec<serde_json::Value> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let events: Vec<&str> = v.iter().map(|x| x["event"].as_str().unwrap()).collect();
    // The sandbox has two users: the demo's and its operations person's.
    assert_eq!(events, ["listening", "org", "user", "org", "user", "user", "connected_app", "ready"]);
    let listening = &v[0];
    let pem = listening["ca_pem_path"].as_str().unwrap();
    assert!(std::fs::read_to_string(pem).unwrap().contains("BEGIN CERTIFICATE"));
    let org = &v[1];
    assert_eq!(org["environment"], "production");
    assert!(org["id"].as_str().unwrap().starts_with("00D") && org["id"].as_str().unwrap().len() == 18);
    assert!(org["instance_url"].as_str().unwrap().starts_with("https://127.0.0.1:"));
    assert_eq!(v[3]["environment"], "sandbox");
    assert!(v[3]["login_url"].as_str().unwrap().ends_with("/sandbox"));
    assert!(v[2]["password"].is_string() && v[6]["client_secret"].is_string());
    let http = listening["http_url"].as_str().unwrap().to_string();
    let body = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async { reqwest::get(format!("{http}/services/data")).await.unwrap().text().await.unwrap() })
    }).join().unwrap();
    assert!(body.contains("\"version\":\"59.0\""));
    stop(child);
}

#[test]
fn human_startup_lines() {
    let (child, lines) = run(&["--bind", "127.0.0.1:0"]);
    let text = lines.join("\n");
    for needle in ["sfemu listening on http://127.0.0.1:", "Acme Production", "Acme Sandbox", "demo@acme.example", "client secret:"] {
        assert!(text.contains(needle), "{needle} missing in:\n{text}");
    }
    stop(child);
}

/// SIGTERM, so the emulator shuts down cleanly (and removes its temporary certificates).
fn stop(mut child: std::process::Child) {
    let ok = Command::new("kill").arg(child.id().to_string()).status().map(|s| s.success()).unwrap_or(false);
    if !ok { let _ = child.kill(); }
    let _ = child.wait();
}
