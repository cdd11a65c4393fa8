//! SIGTERM stops central structurally: one cancellation reaches every part, and each is
//! stopped and joined upstream first, so what is in flight drains downstream: the HTTP
//! API, then the MQTT session, then the store writer (its queue closed), then forecasting
//! (which saves its state on the way out), then retiming. `run` logs each join in that
//! order, and the process exits 0. Real central binary, real Mosquitto.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Mosquitto, free_port, http_get, plan_key};

#[test]
fn sigterm_stops_every_part_upstream_first_and_saves_the_forecast_state() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path(), "");
    plan_key(dir.path());
    let http = free_port();
    let conf = dir.path().join("central.toml");
    std::fs::write(
        &conf,
        format!(
            "[broker]\nhost = \"127.0.0.1\"\nport = {}\n[store]\nkind = \"sqlite\"\npath = \"c.db\"\n\
             [http]\nlisten = \"127.0.0.1:{http}\"\n\
             [signals]\njunctions = [\"hcmc_sample_4arm\"]\nsigning_key_file = \"plan.key\"\nkey_id = \"k\"\n",
            broker.port
        ),
    )
    .unwrap();
    let mut central = Command::new(env!("CARGO_BIN_EXE_central"))
        .args(["run", "--config", conf.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = central.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let t = Instant::now();
    while http_get_ok(http) != Some(200) {
        assert!(t.elapsed() < Duration::from_secs(20), "central never became healthy");
        std::thread::sleep(Duration::from_millis(100));
    }

    assert!(Command::new("kill").args(["-TERM", &central.id().to_string()]).status().unwrap().success());
    let t = Instant::now();
    let status = loop {
        if let Some(s) = central.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "central did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = log.join().unwrap();
    assert!(status.success(), "exit {status:?}\n{log}");
    let order = [
        "HTTP API stopped",
        "MQTT session closed",
        "store writer stopped",
        "forecast worker stopped",
        "signals worker stopped",
        "central stopped",
    ];
    let mut at = 0;
    for line in order {
        let found = log[at..].find(line).unwrap_or_else(|| panic!("{line:?} missing or out of order:\n{log}"));
        at += found + line.len();
    }
    // Written on the way out (the worker logs it itself, once its channel closes), not
    // only after a retraining.
    let saved = log.rfind("forecast state saved").expect("forecast state saved");
    assert!(saved > log.find("HTTP API stopped").unwrap(), "not saved during shutdown:\n{log}");
    assert!(saved < log.find("forecast worker stopped").unwrap(), "{log}");
    assert!(dir.path().join("forecast-state.json").exists(), "{log}");
    // Each part ended by its own way out, none by a panic that a join swallowed.
    assert!(!log.contains("panicked"), "a part panicked:\n{log}");
}

/// The health endpoint's status, or `None` while nothing listens.
fn http_get_ok(port: u16) -> Option<u16> {
    std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    Some(http_get(port, "/healthz").0)
}
