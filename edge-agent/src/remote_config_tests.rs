use protocol::camera_config::{Geometry as Shapes, LineSpec};
use protocol::messages::Envelope;

use super::*;

const BASE: &str = r#"
[camera]
id = "cam-1"
source = "rtsp://10.0.0.7/stream"

[[lines]]
name = "old"
a = [0, 100]
b = [600, 100]
"#;

fn push(camera: &str, version: u64, a: [f32; 2], b: [f32; 2]) -> Vec<u8> {
    let geometry = Shapes { lines: vec![LineSpec { name: "new".into(), a, b, one_way: None }], ..Default::default() };
    let body = ConfigPush { camera_id: camera.into(), version, geometry };
    serde_json::to_vec(&Envelope::new("central", 1, version, body)).unwrap()
}

fn remote() -> RemoteConfig {
    RemoteConfig::new(&AgentConfig::parse(BASE).unwrap(), None)
}

fn refused_at(verdict: Verdict) -> Vec<String> {
    match verdict {
        Verdict::Refuse(ack) => {
            assert_eq!(ack.outcome, ConfigOutcome::Rejected);
            ack.problems.into_iter().map(|p| p.path).collect()
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_newer_valid_push_is_applied_and_its_retained_copy_ignored() {
    let mut r = remote();
    let Verdict::Apply(g) = r.judge(&push("cam-1", 3, [0.0, 200.0], [600.0, 200.0]), Some((640, 360))) else {
        panic!("valid push not applied")
    };
    assert_eq!((g.version, g.lines[0].name.as_str()), (3, "new"));
    assert!(matches!(r.judge(&push("cam-1", 3, [0.0, 200.0], [600.0, 200.0]), None), Verdict::Ignore));
    let (ack, running, overtaken) = r.applied(3);
    assert_eq!((ack.outcome, ack.running_version, r.running()), (ConfigOutcome::Applied, 3, 3));
    assert_eq!(running.unwrap().lines[0].name, "new");
    assert!(overtaken.is_empty());
}

#[test]
fn older_foreign_and_invalid_pushes_are_refused_and_counting_goes_on() {
    let mut r = remote();
    assert!(matches!(r.judge(&push("cam-1", 5, [0.0, 200.0], [600.0, 200.0]), None), Verdict::Apply(_)));
    r.applied(5);
    assert_eq!(refused_at(r.judge(&push("cam-1", 4, [0.0, 200.0], [600.0, 200.0]), None)), ["version"]);
    assert_eq!(refused_at(r.judge(&push("cam-2", 6, [0.0, 200.0], [600.0, 200.0]), None)), ["camera_id"]);
    // A 1 px line, and a line drawn for a bigger picture than the stream's.
    assert_eq!(refused_at(r.judge(&push("cam-1", 6, [10.0, 10.0], [11.0, 10.0]), None)), ["lines[0].b"]);
    let off = r.judge(&push("cam-1", 7, [0.0, 700.0], [1900.0, 700.0]), Some((640, 360)));
    assert!(refused_at(off).iter().all(|p| p.starts_with("lines[0].")));
    assert!(matches!(r.judge(b"{not json", None), Verdict::Refuse(_)));
    assert_eq!(r.running(), 5, "still counting with version 5");
    // A refused version does not block a later valid one.
    assert!(matches!(r.judge(&push("cam-1", 8, [0.0, 300.0], [600.0, 300.0]), None), Verdict::Apply(_)));
}

#[test]
fn a_burst_ends_on_the_last_valid_push_and_every_version_is_answered() {
    let mut r = remote();
    let mut last_applied = None;
    let mut refused = 0;
    for v in 1..=100u64 {
        // Every tenth push is a 1 px line.
        let b = if v % 10 == 0 { [1.0, 100.0] } else { [600.0, 100.0 + v as f32] };
        match r.judge(&push("cam-1", v, [0.0, 100.0], b), None) {
            Verdict::Apply(g) => last_applied = Some(g.version),
            Verdict::Refuse(_) => refused += 1,
            Verdict::Ignore => panic!("version {v} ignored"),
        }
    }
    assert_eq!((last_applied, refused), (Some(99), 10));
    let (ack, running, overtaken) = r.applied(99);
    assert_eq!(ack.running_version, 99);
    assert_eq!(running.unwrap().lines[0].b, [600.0, 199.0]);
    assert_eq!(overtaken, (1..99).filter(|v| v % 10 != 0).collect::<Vec<u64>>(), "the accepted versions it overtook");
}
