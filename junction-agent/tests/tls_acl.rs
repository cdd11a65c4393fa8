//! The junction agent joins the production broker: Mosquitto with the TLS listener,
//! password file and per-device ACL of `deploy/mosquitto/` (the ACL file itself, read from
//! the repository), the junction logged in as its junction id. It reports its status,
//! takes a plan central signed and acknowledges it, all through the ACL; with a wrong
//! password it is refused and nothing of it reaches central.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use firmware_profiles::JunctionProfile;
use protocol::plan::sign;

mod common;
use common::{Killed, next_matching};

const JUNCTION: &str = "hcmc_sample_4arm";

fn make_certs(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ca = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt"];
    run(&[&ca[..], &["-days", "2", "-subj", "/CN=tac-test-ca"]].concat());
    let csr = ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out", "broker.csr"];
    run(&[&csr[..], &["-subj", "/CN=127.0.0.1"]].concat());
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let sign = ["x509", "-req", "-in", "broker.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"];
    run(&[&sign[..], &["-out", "broker.crt", "-days", "2", "-extfile", "ext.cnf"]].concat());
}

/// Mosquitto configured as `deploy/mosquitto/mosquitto.conf` prescribes for devices: TLS
/// only, no anonymous clients, the password file and the repository's ACL file.
fn production_broker(dir: &Path, port: u16) -> Killed {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let passwd = dir.join("passwd");
    for (user, pass) in [("central", "central-pw"), (JUNCTION, "junction-pw")] {
        let mut cmd = Command::new("mosquitto_passwd");
        if !passwd.exists() {
            cmd.arg("-c");
        }
        assert!(cmd.args(["-b", passwd.to_str().unwrap(), user, pass]).status().unwrap().success());
    }
    let acl = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/mosquitto/acl");
    std::fs::copy(&acl, dir.join("acl")).unwrap();
    for f in ["passwd", "acl", "ca.crt", "broker.crt", "broker.key"] {
        std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let d = dir.display();
    std::fs::write(
        dir.join("mosquitto.conf"),
        format!(
            "per_listener_settings false\nallow_anonymous false\npassword_file {d}/passwd\nacl_file {d}/acl\n\
             listener {port} 127.0.0.1\ncafile {d}/ca.crt\ncertfile {d}/broker.crt\nkeyfile {d}/broker.key\n\
             tls_version tlsv1.2\n"
        ),
    )
    .unwrap();
    let mut child = Command::new("mosquitto")
        .args(["-c", dir.join("mosquitto.conf").to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto");
    // Ready once central can subscribe over TLS (the SUBACK came back).
    let t = Instant::now();
    loop {
        assert!(child.try_wait().unwrap().is_none(), "mosquitto exited");
        let ok = Command::new("mosquitto_sub")
            .args(central_args(dir, port))
            .args(["-t", "readiness/probe", "-E"])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        if ok {
            return Killed(child);
        }
        assert!(t.elapsed() < Duration::from_secs(20), "TLS broker never acknowledged a subscription");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn central_args(dir: &Path, port: u16) -> Vec<String> {
    let ca = dir.join("ca.crt").display().to_string();
    ["-h", "127.0.0.1", "-p", &port.to_string(), "--cafile", &ca, "-u", "central", "-P", "central-pw", "-q", "1"]
        .map(String::from)
        .to_vec()
}

/// Central's view of the junction's topics, from the moment its subscription is acknowledged.
fn watch(dir: &Path, port: u16) -> (Killed, mpsc::Receiver<(String, serde_json::Value)>) {
    let mut args = central_args(dir, port);
    args.extend(["-t".to_string(), format!("tac/v1/junctions/{JUNCTION}/#")]);
    common::watch(&args)
}

fn junction(dir: &Path, port: u16, password: &str, public: &str) -> Killed {
    Killed(
        Command::new(env!("CARGO_BIN_EXE_junction-agent"))
            .args(["--profile", JUNCTION, "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--username", JUNCTION, "--password-env", "TAC_TEST_JUNCTION_PASSWORD"])
            .args(["--tls-ca-file", dir.join("ca.crt").to_str().unwrap()])
            .args(["--trust", &format!("central-2026={public}"), "--dry-run", "--no-actuation"])
            .args(["--status-interval-s", "1"])
            .env("TAC_TEST_JUNCTION_PASSWORD", password)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

#[test]
fn the_junction_reports_and_takes_plans_over_tls_through_the_production_acl() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _broker = production_broker(dir.path(), port);
    let (_watch, rx) = watch(dir.path(), port);
    let key = SigningKey::from_bytes(&[23; 32]);
    let public = base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes());

    // A wrong password: refused at CONNECT, so central hears nothing from it.
    let intruder = junction(dir.path(), port, "not-the-password", &public);
    assert!(
        next_matching(&rx, Duration::from_secs(4), |t, _| t.ends_with("/status")).is_none(),
        "a junction with a wrong password got a status through"
    );
    drop(intruder);

    let _junction = junction(dir.path(), port, "junction-pw", &public);
    let status = next_matching(&rx, Duration::from_secs(15), |t, v| t.ends_with("/status") && v["source"] == "local")
        .expect("the junction's status reached central through TLS and the ACL");
    assert_eq!(status["junction_id"], JUNCTION);

    let profile = JunctionProfile::builtin(JUNCTION).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let mut plan = profile.local_plan(0);
    plan.plan_id = "central".into();
    plan.version = 7;
    plan.valid_from_ms = now;
    plan.valid_until_ms = now + 3_600_000;
    let signed = sign(plan, "central-2026", &key);
    let sent = Command::new("mosquitto_pub")
        .args(central_args(dir.path(), port))
        .args(["-r", "-t", &format!("tac/v1/junctions/{JUNCTION}/plan")])
        .args(["-m", &serde_json::to_string(&signed).unwrap()])
        .status()
        .unwrap();
    assert!(sent.success(), "central could not publish the plan");
    let ack = next_matching(&rx, Duration::from_secs(10), |t, _| t.ends_with("/plan/ack"))
        .expect("the junction's plan ack reached central through the ACL");
    assert_eq!((ack["outcome"].as_str(), ack["version"].as_u64()), (Some("accepted"), Some(7)), "{ack}");
}
