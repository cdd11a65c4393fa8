//! What central accepts from the wire. Pure: topic + payload + clock in, a typed message
//! or a rejection with a stable reason label (the `reason` of
//! `central_messages_rejected_total`) out. Nothing is stored before it passes here. The
//! checks themselves live in `protocol` (`decode`, `CountReport::check`, `Status::check`,
//! `Incident::check`); this file adds only what needs the topic: one camera per message.
//! A camera's config ack (`ConfigAck`) is checked the same way: decoded, one camera.
//!
//! An agent may speak only for its own camera: the topic's camera id, the body's
//! `camera_id` and the envelope's `agent_id` must all agree (the broker ACL enforces
//! the topic; this check catches a misconfigured or forged body).

use protocol::camera_config::ConfigAck;
use protocol::messages::{CountReport, DecodeError, Envelope, Status, decode};
use protocol::topics::Topic;

#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub reason: &'static str,
    pub detail: String,
}

impl From<DecodeError> for Rejection {
    fn from(e: DecodeError) -> Rejection {
        Rejection { reason: e.reason(), detail: e.to_string() }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Counts(Envelope<CountReport>),
    Status(Envelope<Status>),
    Incident(Envelope<protocol::messages::Incident>),
    ConfigAck(Envelope<ConfigAck>),
}

/// Decodes and checks one message; `now_ms` and `max_skew_ms` bound how far in the
/// future an interval may end (agents' clocks drift).
pub fn check(topic: &str, payload: &[u8], now_ms: i64, max_skew_ms: i64) -> Result<Message, Rejection> {
    let parsed = Topic::parse(topic).map_err(|e| Rejection { reason: "topic", detail: e.to_string() })?;
    match parsed {
        Topic::CameraCounts { camera } => {
            let msg = decode::<CountReport>(payload)?;
            same_camera(&camera, &msg.body.camera_id, &msg.agent_id)?;
            msg.body.check(now_ms, max_skew_ms)?;
            Ok(Message::Counts(msg))
        }
        Topic::CameraStatus { camera } => {
            let msg = decode::<Status>(payload)?;
            same_camera(&camera, &msg.body.camera_id, &msg.agent_id)?;
            msg.body.check()?;
            Ok(Message::Status(msg))
        }
        Topic::CameraEvents { camera } => {
            let msg = decode::<protocol::messages::Incident>(payload)?;
            same_camera(&camera, &msg.body.camera_id, &msg.agent_id)?;
            msg.body.check(now_ms, max_skew_ms)?;
            Ok(Message::Incident(msg))
        }
        Topic::CameraConfigAck { camera } => {
            let msg = decode::<ConfigAck>(payload)?;
            same_camera(&camera, &msg.body.camera_id, &msg.agent_id)?;
            Ok(Message::ConfigAck(msg))
        }
        other => Err(Rejection { reason: "topic", detail: format!("central does not ingest {other:?}") }),
    }
}

fn same_camera(topic_camera: &str, body_camera: &str, agent: &str) -> Result<(), Rejection> {
    if topic_camera == body_camera && topic_camera == agent {
        Ok(())
    } else {
        Err(Rejection {
            reason: "topic_mismatch",
            detail: format!("topic camera {topic_camera:?} but camera_id {body_camera:?}, agent_id {agent:?}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::IntervalCounts;
    use protocol::messages::ModelRef;

    fn payload(camera: &str, agent: &str, end_ms: i64) -> Vec<u8> {
        let interval = IntervalCounts {
            start_ms: end_ms - 10_000,
            end_ms,
            coverage: 1.0,
            fps: 10.0,
            frames: 100,
            ..Default::default()
        };
        let body = CountReport {
            camera_id: camera.into(),
            model: ModelRef { id: "m".into(), sha256: "0".repeat(64) },
            interval,
        };
        serde_json::to_vec(&Envelope::new(agent, 1, 0, body)).unwrap()
    }

    #[test]
    fn accepts_a_good_report_and_names_each_rejection() {
        let now = 1_000_000;
        let counts = |camera: &str| Topic::CameraCounts { camera: camera.into() }.to_topic().unwrap();
        let t = counts("c1");
        let t = t.as_str();
        assert!(matches!(check(t, &payload("c1", "c1", now), now, 5_000), Ok(Message::Counts(_))));
        let reason = |topic: &str, p: &[u8]| check(topic, p, now, 5_000).unwrap_err().reason;
        assert_eq!(reason(t, b"{oops"), "malformed");
        assert_eq!(reason(t, &payload("c1", "c1", now + 60_000)), "future");
        assert_eq!(reason(&counts("c2"), &payload("c1", "c1", now)), "topic_mismatch");
        assert_eq!(reason(t, &payload("c1", "other", now)), "topic_mismatch");
        let plan = Topic::JunctionPlan { junction: "j".into() }.to_topic().unwrap();
        assert_eq!(reason(&plan, &payload("c1", "c1", now)), "topic");
        let ours = format!("\"{}\"", protocol::messages::SCHEMA_VERSION);
        let v2 = String::from_utf8(payload("c1", "c1", now)).unwrap().replace(&ours, "\"2.0\"");
        assert_eq!(reason(t, v2.as_bytes()), "unsupported_version");
        let negative = String::from_utf8(payload("c1", "c1", now)).unwrap().replace("\"frames\":100", "\"frames\":-1");
        assert_eq!(reason(t, negative.as_bytes()), "invalid");
        assert_eq!(reason(t, &vec![b'x'; 300 * 1024]), "too_large");
    }

    #[test]
    fn a_config_ack_speaks_for_its_own_camera() {
        use protocol::camera_config::ConfigOutcome;
        let ack = |camera: &str, agent: &str| {
            let body = ConfigAck {
                camera_id: camera.into(),
                version: 3,
                outcome: ConfigOutcome::Applied,
                problems: vec![],
                running_version: 3,
            };
            serde_json::to_vec(&Envelope::new(agent, 1, 0, body)).unwrap()
        };
        let t = Topic::CameraConfigAck { camera: "c1".into() }.to_topic().unwrap();
        match check(&t, &ack("c1", "c1"), 0, 0) {
            Ok(Message::ConfigAck(env)) => assert_eq!((env.body.version, env.body.running_version), (3, 3)),
            other => panic!("{other:?}"),
        }
        assert_eq!(check(&t, &ack("c2", "c2"), 0, 0).unwrap_err().reason, "topic_mismatch");
        assert_eq!(check(&t, b"{\"camera_id\":\"c1\"}", 0, 0).unwrap_err().reason, "no_version");
    }
}
