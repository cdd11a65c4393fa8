//! The junction role end to end over real Mosquitto: `junction-agent` (dry-run
//! driver: lamp states as JSON lines) accepts central's signed plan and runs it; refuses
//! a plan signed with another key, an expired plan and a replayed old version, each
//! acknowledged as rejected with its reason; when the broker goes away it reverts to its
//! local plan within the backup time and keeps cycling safely; when central's plans
//! return it runs them again. Every lamp state it printed is checked against the
//! junction's conflict matrix.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use firmware_profiles::JunctionProfile;
use protocol::plan::{SignedPlan, TimingPlan, sign};

mod common;
use common::{Killed, free_port, next_matching, now_ms, sample_profile_at_noon, write_sample_profile_at_noon};

fn broker(dir: &std::path::Path, port: u16) -> Killed {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(&conf, format!("listener {port} 127.0.0.1\nallow_anonymous true\n")).unwrap();
    let mut child = Command::new("mosquitto")
        .args(["-c", conf.to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto");
    // Up once it has acknowledged a subscription, not when its port first accepts.
    let t = Instant::now();
    while !Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", "readiness/probe", "-E"])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
    {
        assert!(child.try_wait().unwrap().is_none(), "mosquitto exited");
        assert!(t.elapsed() < Duration::from_secs(10), "mosquitto did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Killed(child)
}

/// Messages on the junction's topics, from the moment the watcher is subscribed.
fn watch(port: u16) -> (Killed, mpsc::Receiver<(String, serde_json::Value)>) {
    let args = ["-h", "127.0.0.1", "-p", &port.to_string(), "-q", "1", "-t", "tac/v1/junctions/hcmc_sample_4arm/#"];
    common::watch(&args.map(String::from))
}

fn wait_for(
    rx: &mpsc::Receiver<(String, serde_json::Value)>,
    what: &str,
    limit: Duration,
    ok: impl Fn(&str, &serde_json::Value) -> bool,
) -> serde_json::Value {
    next_matching(rx, limit, ok).unwrap_or_else(|| panic!("{what}: nothing within {limit:?}"))
}

fn publish(port: u16, signed: &SignedPlan) {
    let ok = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-q",
            "1",
            "-r",
            "-t",
            "tac/v1/junctions/hcmc_sample_4arm/plan",
            "-m",
            &serde_json::to_string(signed).unwrap(),
        ])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn plan(profile: &JunctionProfile, greens: [u32; 3], version: u64, valid_until_ms: i64) -> TimingPlan {
    let mut p = profile.local_plan(0);
    for (s, g) in p.stages.iter_mut().zip(greens) {
        s.green_ms = g;
    }
    p.cycle_ms = p.stages.iter().map(|s| s.length_ms()).sum::<u64>() as u32;
    p.plan_id = "central".into();
    p.version = version;
    p.valid_from_ms = now_ms();
    p.valid_until_ms = valid_until_ms;
    p
}

#[test]
fn junction_takes_central_plans_refuses_bad_ones_and_falls_back_when_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut mqtt = broker(dir.path(), port);
    let profile = JunctionProfile::builtin("hcmc_sample_4arm").unwrap();
    let profile_path = write_sample_profile_at_noon(dir.path());
    let central = SigningKey::from_bytes(&[11; 32]);
    let public = base64::engine::general_purpose::STANDARD.encode(central.verifying_key().to_bytes());
    let mut junction = Command::new(env!("CARGO_BIN_EXE_junction-agent"))
        .args([
            "--profile",
            &profile_path,
            "--port",
            &port.to_string(),
            "--trust",
            &format!("central-2026={public}"),
            "--backup-time-s",
            "8",
            "--dry-run",
            "--status-interval-s",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lamps_out = junction.stdout.take().unwrap();
    let junction = Killed(junction);
    let lamps =
        std::thread::spawn(move || BufReader::new(lamps_out).lines().map_while(Result::ok).collect::<Vec<String>>());
    let (_sub, rx) = watch(port);
    let status = |source: &'static str, plan_id: &'static str| {
        move |t: &str, v: &serde_json::Value| t.ends_with("/status") && v["source"] == source && v["plan_id"] == plan_id
    };
    wait_for(&rx, "local plan status at start", Duration::from_secs(10), status("local", "local:day"));

    let far = now_ms() + 3_600_000;
    publish(port, &sign(plan(&profile, [8_000, 8_000, 20_000], 10, far), "central-2026", &central));
    let ack = wait_for(&rx, "ack of central's plan", Duration::from_secs(5), |t, _| t.ends_with("/plan/ack"));
    assert_eq!((ack["outcome"].as_str(), ack["version"].as_u64()), (Some("accepted"), Some(10)), "{ack}");
    // Taken over at the end of the running stage's minimum green plus the change.
    wait_for(&rx, "central plan running", Duration::from_secs(20), status("central", "central"));

    let rejected = |signed: SignedPlan, reason: &str| {
        publish(port, &signed);
        let ack = wait_for(&rx, reason, Duration::from_secs(5), |t, _| t.ends_with("/plan/ack"));
        assert_eq!((ack["outcome"].as_str(), ack["reason"].as_str()), (Some("rejected"), Some(reason)), "{ack}");
    };
    rejected(
        sign(plan(&profile, [40_000, 10_000, 20_000], 11, far), "central-2026", &SigningKey::from_bytes(&[12; 32])),
        "bad_signature",
    );
    rejected(sign(plan(&profile, [40_000, 10_000, 20_000], 12, now_ms() - 1), "central-2026", &central), "expired");
    rejected(sign(plan(&profile, [40_000, 10_000, 20_000], 9, far), "central-2026", &central), "replayed");

    // Cut off: the broker dies. After the backup time the junction runs its local plan;
    // it reports that as soon as a broker is back (this one has no retained plan).
    drop(mqtt);
    std::thread::sleep(Duration::from_secs(8 + 16));
    mqtt = broker(dir.path(), port);
    let (_sub2, rx) = watch(port);
    wait_for(&rx, "local fallback after the backup time", Duration::from_secs(15), status("local", "local:day"));
    // Central is back with a new plan: the junction runs it again.
    publish(port, &sign(plan(&profile, [9_000, 8_000, 20_000], 20, far), "central-2026", &central));
    let v = wait_for(&rx, "central plan again", Duration::from_secs(25), status("central", "central"));
    assert_eq!(v["greens_ms"][0], 9_000);

    drop(junction);
    drop(mqtt);
    let lines = lamps.join().unwrap();
    // Central's plans and the local fallback share the stage sequence, so each is taken
    // over in the running stage: the lamps change at stage ends, not at every plan.
    assert!(lines.len() >= 2, "lamp changes were logged: {}", lines.len());
    let rules = profile.rules();
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let moving = |m: &str| matches!(v["lamps"][m].as_str(), Some("G") | Some("Y"));
        for (a, b) in &rules.conflicts {
            assert!(!(moving(a) && moving(b)), "{a} and {b} moving together: {line}");
        }
    }
}

/// Lengths (ms) of `movement`'s complete green runs in a dry-run lamp log, with the time
/// each started.
fn green_runs(lines: &[String], movement: &str) -> Vec<(i64, i64)> {
    let mut runs = Vec::new();
    let mut start: Option<i64> = None;
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let t = v["t_ms"].as_i64().unwrap();
        match (v["lamps"][movement].as_str(), start) {
            (Some("G"), None) => start = Some(t),
            (Some("G"), Some(_)) => {}
            (_, Some(s)) => {
                runs.push((s, t - s));
                start = None;
            }
            _ => {}
        }
    }
    runs
}

#[test]
fn junction_actuates_from_live_camera_presence_and_runs_the_plan_as_timed_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _mqtt = broker(dir.path(), port);
    // The sample junction with a queue zone on every approach camera.
    let text = sample_profile_at_noon().replace("line = \"stopline\" }", "line = \"stopline\", zone = \"queue\" }");
    let profile_path = dir.path().join("junction.toml");
    std::fs::write(&profile_path, &text).unwrap();
    let profile = JunctionProfile::from_toml("junction.toml", &text).unwrap();
    let central = SigningKey::from_bytes(&[11; 32]);
    let public = base64::engine::general_purpose::STANDARD.encode(central.verifying_key().to_bytes());
    let mut junction = Command::new(env!("CARGO_BIN_EXE_junction-agent"))
        .args([
            "--profile",
            profile_path.to_str().unwrap(),
            "--port",
            &port.to_string(),
            "--trust",
            &format!("central-2026={public}"),
            "--dry-run",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lamps_out = junction.stdout.take().unwrap();
    let junction = Killed(junction);
    let lamps =
        std::thread::spawn(move || BufReader::new(lamps_out).lines().map_while(Result::ok).collect::<Vec<String>>());
    let (_sub, rx) = watch(port);
    publish(port, &sign(plan(&profile, [20_000, 10_000, 20_000], 10, now_ms() + 3_600_000), "central-2026", &central));
    // Ready: the junction acknowledged the (retained) plan, so it is connected and its
    // presence subscriptions, sent with the plan's, are in place before the cameras start.
    wait_for(&rx, "ack of the plan", Duration::from_secs(15), |t, _| t.ends_with("/plan/ack"));
    // Cameras for 60 s: a queue standing on every approach and nobody arriving (the last
    // arrival 60 s ago): every green gaps out at its minimum.
    let mut opts = rumqttc::MqttOptions::new("cameras", "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut connection) = rumqttc::Client::new(opts, 64);
    std::thread::spawn(move || for _ in connection.iter() {});
    let feed_until = Instant::now() + Duration::from_secs(60);
    let mut seq = 0;
    while Instant::now() < feed_until {
        for (camera, inside, stationary) in [("cam-n", 2, 2), ("cam-s", 1, 1), ("cam-e", 2, 2), ("cam-w", 1, 1)] {
            seq += 1;
            let at_ms = now_ms();
            let zones = [(
                "queue".to_string(),
                protocol::messages::ZoneNow { inside, stationary, last_entry_ms: Some(at_ms - 60_000) },
            )]
            .into();
            let body = protocol::messages::Presence { camera_id: camera.into(), at_ms, zones };
            let payload = serde_json::to_vec(&protocol::messages::Envelope::new(camera, 1, seq, body)).unwrap();
            client
                .publish(format!("tac/v1/cameras/{camera}/presence"), rumqttc::QoS::AtMostOnce, false, payload)
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let feed_stopped = now_ms();
    // Without presence (stale after 3 s) the plan runs as timed again.
    std::thread::sleep(Duration::from_secs(75));
    drop(junction);
    let lines = lamps.join().unwrap();
    let runs = green_runs(&lines, "N_T");
    let actuated: Vec<i64> =
        runs.iter().filter(|(s, _)| *s < feed_stopped - 10_000 && *s > feed_stopped - 50_000).map(|r| r.1).collect();
    let timed: Vec<i64> = runs.iter().filter(|(s, _)| *s > feed_stopped + 5_000).map(|r| r.1).collect();
    // North-south gaps out at its 7 s minimum; as timed it gets its 20 s, give or take
    // the fifth the controller may move it to keep the cycle on the plan's offset.
    assert!(
        !actuated.is_empty() && actuated.iter().all(|&g| (6_900..=8_000).contains(&g)),
        "actuated N_T greens {actuated:?} (all runs {runs:?})"
    );
    assert!(
        !timed.is_empty() && timed.iter().all(|&g| (15_900..=25_000).contains(&g)),
        "timed N_T greens {timed:?} (all runs {runs:?})"
    );
    let rules = profile.rules();
    let mut monitor = protocol::plan::Monitor::new(rules.clone());
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let lamps: Vec<char> =
            rules.movements.iter().map(|m| v["lamps"][m].as_str().unwrap().chars().next().unwrap()).collect();
        let breaches = monitor.observe(v["t_ms"].as_i64().unwrap(), &lamps);
        assert!(breaches.is_empty(), "{breaches:?}");
    }
}
