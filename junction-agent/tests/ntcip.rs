//! The `ntcip1202` driver against a real SNMP agent: net-snmp's `snmpd` on a free port
//! with a pass_persist handler holding an NTCIP 1202 controller's phase, pattern and
//! split rows (`ntcip_agent.py`). `junction-agent` downloads its local plan at start
//! and central's plan when it takes over; every value is read back from the agent.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use firmware_profiles::JunctionProfile;
use protocol::plan::sign;

mod common;
use common::{Killed, now_ms, write_sample_profile_at_noon};

const PHASE: &str = ".1.3.6.1.4.1.1206.4.2.1.1.2.1";
const CYCLE: &str = ".1.3.6.1.4.1.1206.4.2.1.4.7.1.2.1";
const SPLIT: &str = ".1.3.6.1.4.1.1206.4.2.1.4.9.1.3.1";

/// Waits until the agent's table satisfies `ok`; returns it.
fn table_when(store: &std::path::Path, what: &str, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let t = Instant::now();
    loop {
        if let Some(v) = std::fs::read(store).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            && ok(&v)
        {
            return v;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "{what}: the controller's table never showed it: {:?}",
            std::fs::read_to_string(store).ok()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn ntcip_driver_downloads_local_and_central_plans_over_snmp() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("controller.json");
    let snmp_port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let agent = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ntcip_agent.py");
    let conf = dir.path().join("snmpd.conf");
    std::fs::write(
        &conf,
        format!("rwcommunity s3cret 127.0.0.1\npass_persist .1.3.6.1.4.1.1206 {agent} {}\n", store.display()),
    )
    .unwrap();
    let _snmpd = Killed(
        Command::new("snmpd")
            .args(["-f", "-Lo", "-C", "-c", conf.to_str().unwrap(), &format!("udp:127.0.0.1:{snmp_port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("snmpd (apt install snmpd)"),
    );
    let mqtt_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _mosquitto = Killed(
        Command::new("mosquitto")
            .args(["-p", &mqtt_port.to_string()])
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto"),
    );
    let central = SigningKey::from_bytes(&[21; 32]);
    let public = base64::engine::general_purpose::STANDARD.encode(central.verifying_key().to_bytes());
    // No wait for snmpd or mosquitto: the agent retries its download and its connection.
    let profile_path = write_sample_profile_at_noon(dir.path());
    let _junction = Killed(
        Command::new(env!("CARGO_BIN_EXE_junction-agent"))
            .args([
                "--profile",
                &profile_path,
                "--port",
                &mqtt_port.to_string(),
                "--trust",
                &format!("central={public}"),
                "--ntcip-target",
                &format!("127.0.0.1:{snmp_port}"),
            ])
            .env("NTCIP_COMMUNITY", "s3cret")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // At start: the local day plan (40 / 12 / 25 s greens, 3 s yellow, 2 s all-red; the
    // east-west stage carries a 7 s walk and 12 s clearance).
    let local = table_when(&store, "local plan", |v| v[format!("{SPLIT}.1")] == 45);
    let get = |v: &serde_json::Value, k: String| v[&k].as_i64().unwrap();
    assert_eq!(get(&local, format!("{SPLIT}.2")), 17);
    assert_eq!(get(&local, format!("{SPLIT}.3")), 30);
    assert_eq!(get(&local, CYCLE.into()), 92);
    assert_eq!(
        (get(&local, format!("{PHASE}.4.1")), get(&local, format!("{PHASE}.8.1")), get(&local, format!("{PHASE}.9.1"))),
        (7, 30, 20),
        "min green s, yellow and red clear in tenths"
    );
    assert_eq!(
        (get(&local, format!("{PHASE}.2.3")), get(&local, format!("{PHASE}.3.3"))),
        (7, 12),
        "walk and ped clear of the third phase"
    );

    // Central's plan, once the junction has taken it over.
    let profile = JunctionProfile::builtin("hcmc_sample_4arm").unwrap();
    let mut plan = profile.local_plan(0);
    for (s, g) in plan.stages.iter_mut().zip([30_000, 10_000, 25_000]) {
        s.green_ms = g;
    }
    plan.cycle_ms = plan.stages.iter().map(|s| s.length_ms()).sum::<u64>() as u32;
    (plan.plan_id, plan.version, plan.valid_from_ms, plan.valid_until_ms, plan.offset_ms) =
        ("central".into(), 5, now_ms(), now_ms() + 600_000, 12_000);
    let ok = Command::new("mosquitto_pub")
        .args([
            "-p",
            &mqtt_port.to_string(),
            "-q",
            "1",
            "-r",
            "-t",
            "tac/v1/junctions/hcmc_sample_4arm/plan",
            "-m",
            &serde_json::to_string(&sign(plan, "central", &central)).unwrap(),
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    let taken = table_when(&store, "central plan", |v| v[format!("{SPLIT}.1")] == 35);
    assert_eq!(
        (get(&taken, format!("{SPLIT}.2")), get(&taken, format!("{SPLIT}.3")), get(&taken, CYCLE.into())),
        (15, 30, 80)
    );
    assert_eq!(get(&taken, ".1.3.6.1.4.1.1206.4.2.1.4.7.1.3.1".into()), 12, "offset");
}
