//! The production ACL (`deploy/mosquitto/acl`) against a real Mosquitto started on a free
//! loopback port: a device cannot forge another camera's counts nor send a plan, and
//! reads only its own junction's plans; the police feed's user reads its feed and can
//! publish nothing.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::Subscriber;

const PASSWORD: &str = "test-password";

struct Broker {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn start_broker(users: &[&str]) -> Broker {
    let dir = tempfile::tempdir().unwrap();
    let passwd = dir.path().join("passwd");
    for (i, u) in users.iter().enumerate() {
        let mut cmd = Command::new("mosquitto_passwd");
        if i == 0 {
            cmd.arg("-c");
        }
        let ok = cmd
            .args(["-b", passwd.to_str().unwrap(), u, PASSWORD])
            .status()
            .expect("mosquitto_passwd (make setup installs mosquitto)");
        assert!(ok.success());
    }
    // Run as root, Mosquitto reads its ACL as the `mosquitto` user: give it a readable
    // copy (the checkout may sit in a private directory).
    use std::os::unix::fs::PermissionsExt;
    let acl = dir.path().join("acl");
    std::fs::copy(repo().join("deploy/mosquitto/acl"), &acl).unwrap();
    for (path, mode) in [(dir.path(), 0o755), (acl.as_path(), 0o644), (passwd.as_path(), 0o644)] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "per_listener_settings false\nallow_anonymous false\npassword_file {}\nacl_file {}\n\
                listener {port} 127.0.0.1\n",
            passwd.display(),
            acl.display()
        ),
    )
    .unwrap();
    let child = Command::new("mosquitto")
        .args(["-c", conf.to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .expect("start mosquitto");
    let mut broker = Broker { child, port, _dir: dir };
    common::wait_for_mqtt(port, &mut broker.child, Duration::from_secs(10));
    broker
}

/// Collects everything `user` receives on `filter` for `seconds`, from the moment the broker
/// acknowledged the subscription.
fn subscribe(b: &Broker, user: &str, filter: &str, seconds: u32) -> Subscriber {
    Subscriber::start(b.port, &["-u", user, "-P", PASSWORD, "-q", "1", "-v", "-t", filter, "-W", &seconds.to_string()])
}

fn publish(b: &Broker, user: &str, topic: &str, message: &str) {
    let status = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &b.port.to_string(),
            "-u",
            user,
            "-P",
            PASSWORD,
            "-q",
            "1",
            "-t",
            topic,
            "-m",
            message,
        ])
        .status()
        .unwrap();
    assert!(status.success(), "{user} could not connect and publish");
}

fn received(sub: Subscriber) -> String {
    sub.output()
}

#[test]
fn devices_write_only_their_own_topics_and_read_only_their_own_plans() {
    let b = start_broker(&["central", "cam-a", "cam-b"]);
    let central = subscribe(&b, "central", "tac/v1/#", 3);
    let a_own_plan = subscribe(&b, "cam-a", "tac/v1/junctions/cam-a/plan", 3);
    let a_other_plan = subscribe(&b, "cam-a", "tac/v1/junctions/cam-b/plan", 3);
    let a_everything = subscribe(&b, "cam-a", "tac/v1/#", 3);
    let a_own_acks = subscribe(&b, "cam-a", "tac/v1/cameras/cam-a/counts/ack", 3);
    publish(&b, "cam-a", "tac/v1/cameras/cam-a/counts", "own-counts");
    publish(&b, "cam-a", "tac/v1/cameras/cam-b/counts", "forged-counts");
    publish(&b, "cam-a", "tac/v1/junctions/cam-a/plan", "forged-plan");
    publish(&b, "cam-a", "tac/v1/junctions/cam-a/plan/ack", "own-ack");
    publish(&b, "central", "tac/v1/junctions/cam-a/plan", "plan-for-a");
    publish(&b, "central", "tac/v1/junctions/cam-b/plan", "plan-for-b");
    // Central's stored-acks: a device reads its own, and cannot forge one for another
    // camera (which would make that camera drop unsent reports from its outbox).
    publish(&b, "central", "tac/v1/cameras/cam-a/counts/ack", "ack-for-a");
    publish(&b, "central", "tac/v1/cameras/cam-b/counts/ack", "ack-for-b");
    publish(&b, "cam-a", "tac/v1/cameras/cam-b/counts/ack", "forged-ack");

    let central = received(central);
    assert!(central.contains("tac/v1/cameras/cam-a/counts own-counts"), "{central}");
    assert!(central.contains("tac/v1/junctions/cam-a/plan/ack own-ack"), "{central}");
    assert!(!central.contains("forged"), "the broker let a forged message through: {central}");
    let own = received(a_own_plan);
    assert_eq!(own.trim(), "tac/v1/junctions/cam-a/plan plan-for-a");
    assert_eq!(received(a_other_plan).trim(), "", "cam-a read cam-b's plan");
    let everything = received(a_everything);
    assert!(
        !everything.contains("own-counts") && !everything.contains("plan-for-b") && !everything.contains("ack-for-b"),
        "cam-a read beyond its plan and acks: {everything}"
    );
    assert_eq!(received(a_own_acks).trim(), "tac/v1/cameras/cam-a/counts/ack ack-for-a");
}

#[test]
fn a_device_reads_only_its_own_config_and_cannot_write_one() {
    let b = start_broker(&["central", "cam-a", "cam-b"]);
    let central = subscribe(&b, "central", "tac/v1/cameras/+/config/#", 3);
    let a_own = subscribe(&b, "cam-a", "tac/v1/cameras/cam-a/config", 3);
    let a_other = subscribe(&b, "cam-a", "tac/v1/cameras/cam-b/config", 3);
    publish(&b, "central", "tac/v1/cameras/cam-a/config", "config-for-a");
    publish(&b, "central", "tac/v1/cameras/cam-b/config", "config-for-b");
    publish(&b, "cam-a", "tac/v1/cameras/cam-a/config", "forged-own-config");
    publish(&b, "cam-a", "tac/v1/cameras/cam-b/config", "forged-config");
    publish(&b, "cam-a", "tac/v1/cameras/cam-a/config/ack", "own-config-ack");
    publish(&b, "cam-a", "tac/v1/cameras/cam-b/config/ack", "forged-config-ack");
    let central = received(central);
    assert!(central.contains("tac/v1/cameras/cam-a/config/ack own-config-ack"), "{central}");
    assert!(!central.contains("forged"), "the broker let a forged message through: {central}");
    assert_eq!(received(a_own).trim(), "tac/v1/cameras/cam-a/config config-for-a");
    assert_eq!(received(a_other).trim(), "", "cam-a read cam-b's config");
}

#[test]
fn a_device_answers_only_its_own_snapshot_requests_and_cannot_ask_for_one() {
    let b = start_broker(&["central", "cam-a", "cam-b"]);
    let central = subscribe(&b, "central", "tac/v1/cameras/+/snapshot/#", 3);
    let a_own = subscribe(&b, "cam-a", "tac/v1/cameras/cam-a/snapshot/request", 3);
    let a_other = subscribe(&b, "cam-a", "tac/v1/cameras/cam-b/snapshot/#", 3);
    publish(&b, "central", "tac/v1/cameras/cam-a/snapshot/request", "ask-a");
    publish(&b, "central", "tac/v1/cameras/cam-b/snapshot/request", "ask-b");
    publish(&b, "cam-a", "tac/v1/cameras/cam-a/snapshot", "picture-of-a");
    publish(&b, "cam-a", "tac/v1/cameras/cam-b/snapshot", "forged-picture");
    publish(&b, "cam-a", "tac/v1/cameras/cam-b/snapshot/request", "forged-request");
    let central = received(central);
    assert!(central.contains("tac/v1/cameras/cam-a/snapshot picture-of-a"), "{central}");
    assert!(!central.contains("forged"), "the broker let a forged message through: {central}");
    assert_eq!(received(a_own).trim(), "tac/v1/cameras/cam-a/snapshot/request ask-a");
    assert_eq!(received(a_other).trim(), "", "cam-a read cam-b's snapshot topics");
}

#[test]
fn the_police_feed_reads_its_feed_and_cannot_publish() {
    let b = start_broker(&["central", "police-feed"]);
    let central = subscribe(&b, "central", "tac/v1/#", 3);
    let police = subscribe(&b, "police-feed", "tac/v1/#", 3);
    publish(&b, "central", "tac/v1/feeds/police/alerts", "alert-from-central");
    publish(&b, "central", "tac/v1/junctions/j1/plan", "plan-for-j1");
    publish(&b, "police-feed", "tac/v1/feeds/police/alerts", "forged-alert");
    publish(&b, "police-feed", "tac/v1/junctions/j1/plan", "forged-plan");
    publish(&b, "police-feed", "tac/v1/cameras/c1/counts", "forged-counts");
    let central = received(central);
    assert!(central.contains("alert-from-central") && !central.contains("forged"), "{central}");
    let police = received(police);
    assert_eq!(
        police.trim(),
        "tac/v1/feeds/police/alerts alert-from-central",
        "the feed reads its alerts and nothing else"
    );
}
