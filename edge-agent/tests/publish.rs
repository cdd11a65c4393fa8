//! Reports stored in the outbox while the broker is down reach a subscriber once it is
//! back, in order, each once, and leave the outbox only when acknowledged. Real
//! Mosquitto (with persistence, so a subscriber's session survives the broker's
//! restart), started by the test on a free loopback port. (Broker SIGKILLs with central
//! storing the reports belong to the data-path issue's end-to-end test.)
//!
//! Readiness, never luck: a broker counts as up once it has acknowledged a subscription
//! (not when its port accepts), and a reader's persistent session is acknowledged before
//! anything it must see is published, so it cannot miss a message however late it reads.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use edge_agent::config::{AckMode, MqttSettings};
use edge_agent::report::link::Publisher;
use edge_agent::report::outbox::{DEFAULT_MAX_BYTES, Outbox, OutboxError};
use protocol::IntervalCounts;
use protocol::messages::{CountReport, Envelope, ModelRef};

struct Broker {
    child: Child,
}

impl Broker {
    fn start(dir: &std::path::Path, port: u16) -> Broker {
        // Run as root, Mosquitto drops to the `mosquitto` user: let it write its database.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
                    autosave_interval 1\nautosave_on_changes true\n",
                dir.display()
            ),
        )
        .unwrap();
        let child = Command::new("mosquitto")
            .args(["-c", conf.to_str().unwrap()])
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto");
        let mut broker = Broker { child };
        wait_for_broker(port, &[], Some(&mut broker.child));
        broker
    }

    /// SIGTERM: Mosquitto saves its database (the subscriber's session) on the way out.
    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TOPIC: &str = "tac/v1/cameras/cam-1/counts";

/// Subscribes with `args` (`mosquitto_sub -E`: exit once the broker acknowledged the
/// subscription), retrying for up to 20 s; fails at once if `broker` has exited.
fn subscribe_acknowledged(port: u16, args: &[&str], mut broker: Option<&mut Child>, what: &str) {
    let t = Instant::now();
    loop {
        if let Some(c) = broker.as_deref_mut() {
            assert!(c.try_wait().unwrap().is_none(), "mosquitto exited (port {port} taken?)");
        }
        let ok = Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-E"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        if ok {
            return;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Returns once the broker on `port` has acknowledged a subscription.
fn wait_for_broker(port: u16, client_args: &[&str], broker: Option<&mut Child>) {
    let args = [&["-t", "readiness/probe"], client_args].concat();
    subscribe_acknowledged(port, &args, broker, "mosquitto never acknowledged a subscription");
}

/// Creates (or resumes) the persistent QoS 1 session `id` on `topic` and returns once the
/// broker acknowledged the subscription: from then on the broker queues the topic for `id`.
fn persistent_session(port: u16, id: &str, topic: &str, client_args: &[&str]) {
    let args = [&["-i", id, "-c", "-q", "1", "-t", topic], client_args].concat();
    subscribe_acknowledged(port, &args, None, "subscription not acknowledged");
}

fn subscriber(port: u16, count: usize, seconds: u32) -> Child {
    Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-i", "test-central", "-c", "-q", "1", "-t", TOPIC])
        .args(["-C", &count.to_string(), "-W", &seconds.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn report(seq: u64) -> Vec<u8> {
    let interval = IntervalCounts {
        start_ms: seq as i64 * 1000,
        end_ms: seq as i64 * 1000 + 1000,
        coverage: 1.0,
        fps: 25.0,
        frames: 25,
        ..Default::default()
    };
    let body =
        CountReport { camera_id: "cam-1".into(), model: ModelRef { id: "m".into(), sha256: "0".repeat(64) }, interval };
    serde_json::to_vec(&Envelope::new("cam-1", 7, seq, body)).unwrap()
}

fn initial_status(camera: &str) -> Arc<Mutex<protocol::messages::Status>> {
    Arc::new(Mutex::new(protocol::messages::Status {
        camera_id: camera.into(),
        state: protocol::messages::AgentState::Online,
        fps: 0.0,
        coverage: 0.0,
        outbox_depth: 0,
        dropped: 0,
        uptime_s: 0,
        model: None,
        calibration: None,
        box_profile: None,
    }))
}

#[test]
fn reports_queued_while_the_broker_is_down_arrive_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();

    // The subscriber's persistent session exists before the outage (-E: exit once the
    // broker has acknowledged the subscription).
    let broker = Broker::start(dir.path(), port);
    persistent_session(port, "test-central", TOPIC, &[]);
    broker.stop();

    // Broker down: the agent stores 15 reports.
    let (mut ob, _) = Outbox::open(&dir.path().join("outbox"), DEFAULT_MAX_BYTES).unwrap();
    for seq in 0..15 {
        assert_eq!(ob.append(&report(seq)).unwrap(), seq);
    }
    let outbox = Arc::new(Mutex::new(ob));
    let settings = MqttSettings {
        host: "127.0.0.1".into(),
        port,
        client_id: None,
        username: None,
        password_env: None,
        keep_alive_s: 5,
        status_interval_s: 30,
        // No central here: the broker's PUBACK is the delivery this test checks.
        ack: AckMode::Broker,
        ack_timeout_s: 30,
        presence_interval_ms: 0,
        tls: None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut publisher = Publisher::new(&settings, "cam-1", 7, outbox.clone(), initial_status("cam-1")).unwrap();
    let stats = publisher.stats();
    let handle = {
        let stop = stop.clone();
        std::thread::spawn(move || publisher.run(&stop))
    };
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(outbox.lock().depth(), 15, "nothing leaves the outbox without a PUBACK");

    // Broker back: every report is delivered and acknowledged.
    let broker = Broker::start(dir.path(), port);
    let t = Instant::now();
    while outbox.lock().depth() > 0 {
        assert!(t.elapsed() < Duration::from_secs(20), "outbox still holds {}", outbox.lock().depth());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(stats.published.load(Ordering::Relaxed), 15);
    let mut sub = subscriber(port, 15, 10);
    let _ = sub.wait();
    let mut out = String::new();
    sub.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let seqs: Vec<u64> =
        out.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (0..15).collect::<Vec<_>>(), "in order, each once");

    // A restarted agent resends nothing already acknowledged.
    stop.store(true, Ordering::Relaxed);
    handle.join().unwrap();
    drop(outbox);
    // The directory lock is an flock on an open file: a process another test forks at
    // that moment shares it until it execs, so the lock is released a moment later, not
    // necessarily at once. Wait for it (the restart of a real agent is a new process).
    let t = Instant::now();
    let (ob, rec) = loop {
        match Outbox::open(&dir.path().join("outbox"), DEFAULT_MAX_BYTES) {
            Err(OutboxError::Locked { .. }) if t.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            other => break other.unwrap(),
        }
    };
    assert_eq!((ob.depth(), rec.pending), (0, 0));
    broker.stop();
}

#[test]
fn the_agent_publishes_every_interval_it_reports() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let broker = Broker::start(dir.path(), port);
    let clip = edge_agent::assets::assets_dir().join("clips/overhead_road_short.mp4");
    let text = format!(
        "[camera]\nid = \"cam-2\"\nsource = \"{}\"\ninterval_s = 1\n[[lines]]\nname = \"mid\"\na = [0, 200]\n\
            b = [639, 200]\n[mqtt]\nhost = \"127.0.0.1\"\nport = {port}\nstatus_interval_s = 1\nack = \"broker\"\n\
                [outbox]\ndir = \"{}\"\n",
        clip.display(),
        dir.path().join("agent-outbox").display()
    );
    let config = edge_agent::config::AgentConfig::parse(&text).unwrap();
    assert!(config.validate(None).is_empty(), "{:?}", config.validate(None));
    persistent_session(port, "test-reader-2", "tac/v1/cameras/cam-2/counts", &[]);
    let printed = Arc::new(Mutex::new(Vec::new()));
    {
        let printed = printed.clone();
        edge_agent::agent::run(&config, None, None, Arc::new(AtomicBool::new(false)), move |i, _, _| {
            printed.lock().push(i.clone())
        })
        .unwrap();
    }
    // At the end of the file the agent waits (up to 5 s) for its outbox to drain.
    // The reader's session has queued every report since before the agent started: read as
    // many as were printed (a shortfall shows as a 20 s timeout and a short list).
    let printed = printed.lock().clone();
    let t = Instant::now();
    let read = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-i", "test-reader-2", "-c", "-q", "1"])
        .args(["-t", "tac/v1/cameras/cam-2/counts", "-C", &printed.len().max(1).to_string(), "-W", "20"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&read.stdout).to_string();
    // The retained status: the agent's own `offline` on its way out (not the last will,
    // which carries seq 0), after heartbeats with the interval figures.
    let status = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", "tac/v1/cameras/cam-2/status", "-C", "1", "-W", "5"])
        .output()
        .unwrap();
    let status: Envelope<protocol::messages::Status> =
        protocol::messages::decode(&status.stdout).expect("a retained status");
    assert_eq!(status.body.camera_id, "cam-2");
    assert_eq!(status.body.model.as_ref().unwrap().id, "yolox_nano_416");
    assert!(status.seq >= 2, "heartbeats came before the goodbye: seq {}", status.seq);
    assert_eq!(status.body.state, protocol::messages::AgentState::Offline);
    let reports: Vec<Envelope<CountReport>> =
        out.lines().map(|l| protocol::messages::decode(l.as_bytes()).unwrap()).collect();
    eprintln!("{} intervals printed, {} reports received in {:?}", printed.len(), reports.len(), t.elapsed());
    assert!(!printed.is_empty());
    assert_eq!(reports.len(), printed.len());
    for (r, p) in reports.iter().zip(&printed) {
        assert_eq!(&r.body.interval, p);
        assert_eq!(r.body.model.id, "yolox_nano_416");
    }
    let seqs: Vec<u64> = reports.iter().map(|r| r.seq).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    broker.stop();
}

/// Self-signed CA and a broker certificate for 127.0.0.1, made with the openssl CLI.
fn make_certs(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=tac-test-ca",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "broker.key",
        "-out",
        "broker.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "broker.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "broker.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    use std::os::unix::fs::PermissionsExt;
    for f in ["ca.crt", "broker.crt", "broker.key"] {
        std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
}

#[test]
fn reports_travel_over_tls_with_a_password() {
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    make_certs(dir.path());
    let passwd = dir.path().join("passwd");
    for (user, pass) in [("cam-t", "s3cret"), ("reader", "r3ad")] {
        let mut cmd = Command::new("mosquitto_passwd");
        if !passwd.exists() {
            cmd.arg("-c");
        }
        assert!(cmd.args(["-b", passwd.to_str().unwrap(), user, pass]).status().unwrap().success());
    }
    std::fs::set_permissions(&passwd, std::fs::Permissions::from_mode(0o644)).unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let d = dir.path().display();
    std::fs::write(
        dir.path().join("mosquitto.conf"),
        format!(
            "per_listener_settings false\nallow_anonymous false\npassword_file {d}/passwd\n\
            listener {port} 127.0.0.1\ncafile {d}/ca.crt\ncertfile {d}/broker.crt\nkeyfile {d}/broker.key\n"
        ),
    )
    .unwrap();
    let mut broker = Command::new("mosquitto")
        .args(["-c", dir.path().join("mosquitto.conf").to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ca = dir.path().join("ca.crt");
    let reader: [&str; 6] = ["--cafile", ca.to_str().unwrap(), "-u", "reader", "-P", "r3ad"];
    wait_for_broker(port, &reader, Some(&mut broker));
    persistent_session(port, "test-reader-tls", "tac/v1/cameras/cam-t/counts", &reader);
    let sub = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-i", "test-reader-tls", "-c"])
        .args(reader)
        .args(["-q", "1", "-t", "tac/v1/cameras/cam-t/counts", "-C", "1", "-W", "15"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();

    let (mut ob, _) = Outbox::open(&dir.path().join("outbox"), DEFAULT_MAX_BYTES).unwrap();
    let interval =
        IntervalCounts { start_ms: 0, end_ms: 1000, coverage: 1.0, fps: 25.0, frames: 25, ..Default::default() };
    let body =
        CountReport { camera_id: "cam-t".into(), model: ModelRef { id: "m".into(), sha256: "0".repeat(64) }, interval };
    ob.append(&serde_json::to_vec(&Envelope::new("cam-t", 9, 0, body)).unwrap()).unwrap();
    let outbox = Arc::new(Mutex::new(ob));
    // SAFETY: set before any thread of this test reads the environment.
    unsafe { std::env::set_var("TAC_TEST_MQTT_PASSWORD", "s3cret") };
    let settings = MqttSettings {
        host: "127.0.0.1".into(),
        port,
        client_id: None,
        username: Some("cam-t".into()),
        password_env: Some("TAC_TEST_MQTT_PASSWORD".into()),
        keep_alive_s: 5,
        status_interval_s: 30,
        ack: AckMode::Broker,
        ack_timeout_s: 30,
        presence_interval_ms: 0,
        tls: Some(edge_agent::config::TlsSettings {
            ca_file: dir.path().join("ca.crt"),
            client_cert_file: None,
            client_key_file: None,
        }),
    };
    let mut publisher = Publisher::new(&settings, "cam-t", 9, outbox.clone(), initial_status("cam-t")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let handle = {
        let stop = stop.clone();
        std::thread::spawn(move || publisher.run(&stop))
    };
    let out = sub.wait_with_output().unwrap();
    // The reader can see the report before the agent has processed the broker's PUBACK.
    let t = Instant::now();
    while outbox.lock().depth() > 0 && t.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    handle.join().unwrap();
    let _ = broker.kill();
    let _ = broker.wait();
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the report arrived over TLS");
    assert_eq!((got["camera_id"].as_str(), got["epoch"].as_u64()), (Some("cam-t"), Some(9)));
    assert_eq!(outbox.lock().depth(), 0, "acknowledged over TLS");
}
