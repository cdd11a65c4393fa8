//! What the junction agent's integration tests share: children killed at the end of a
//! test, free ports, the wall clock in milliseconds, and a watcher of the broker's
//! junction topics that is ready only once its subscription is acknowledged.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child process killed when the test ends, pass or fail.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Messages as (topic, JSON) from `mosquitto_sub -v` run with `args` (connection options
/// and `-t` filters), from the moment the broker acknowledged the subscription
/// (line-buffered `-d` output shows the SUBACK).
pub fn watch(args: &[String]) -> (Killed, mpsc::Receiver<(String, serde_json::Value)>) {
    let mut child = Command::new("stdbuf")
        .args(["-oL", "mosquitto_sub", "-d", "-v"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let (subscribed_tx, subscribed) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if line.contains("received SUBACK") {
                let _ = subscribed_tx.send(());
            } else if let Some((topic, body)) = line.split_once(' ')
                && let Ok(v) = serde_json::from_str(body)
            {
                let _ = tx.send((topic.to_string(), v));
            }
        }
    });
    subscribed.recv_timeout(Duration::from_secs(10)).expect("the watcher's subscription acknowledged");
    (Killed(child), rx)
}

/// The first message within `limit` that satisfies `ok`.
pub fn next_matching(
    rx: &mpsc::Receiver<(String, serde_json::Value)>,
    limit: Duration,
    ok: impl Fn(&str, &serde_json::Value) -> bool,
) -> Option<serde_json::Value> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Ok((topic, v)) = rx.recv_timeout(Duration::from_millis(200))
            && ok(&topic, &v)
        {
            return Some(v);
        }
    }
    None
}

/// The built-in sample junction's profile (TOML) with its clock offset set so that its
/// local time is about noon now. Its day plan (06:00–22:00) is then in force for hours
/// whenever the test runs; with the real offset (UTC+7) the night plan runs from 15:00 to
/// 23:00 UTC, and a test expecting the day plan would pass or fail by the hour.
pub fn sample_profile_at_noon() -> String {
    let (_, text) = firmware_profiles::junction::BUILTIN.iter().find(|(id, _)| *id == "hcmc_sample_4arm").unwrap();
    // Within (-12 h, +12 h], like a real zone's.
    let offset = 12 * 3600 - (now_ms() / 1000).rem_euclid(86_400);
    let lines: Vec<String> = text
        .lines()
        .map(|l| if l.starts_with("utc_offset_s") { format!("utc_offset_s = {offset}") } else { l.to_string() })
        .collect();
    assert!(lines.iter().any(|l| l.starts_with("utc_offset_s")), "the sample profile sets utc_offset_s");
    lines.join("\n") + "\n"
}

/// [`sample_profile_at_noon`] written to `<dir>/hcmc_sample_4arm.toml`; returns the path.
pub fn write_sample_profile_at_noon(dir: &std::path::Path) -> String {
    let path = dir.join("hcmc_sample_4arm.toml");
    std::fs::write(&path, sample_profile_at_noon()).unwrap();
    path.to_str().unwrap().to_string()
}
