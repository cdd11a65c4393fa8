//! The MQTT topic tree, built and parsed in one place. Version 1 lives under `tac/v1`:
//!
//! ```text
//! tac/v1/cameras/{camera_id}/counts        interval count reports (QoS 1)
//! tac/v1/cameras/{camera_id}/counts/ack    central's "stored" for each report (QoS 1)
//! tac/v1/cameras/{camera_id}/status        retained status; the LWT publishes `offline`
//! tac/v1/cameras/{camera_id}/events        incidents: stopped vehicle, wrong way, camera moved
//! tac/v1/cameras/{camera_id}/config        central's versioned geometry push (retained, QoS 1)
//! tac/v1/cameras/{camera_id}/config/ack    the agent's applied / rejected answer
//! tac/v1/cameras/{camera_id}/snapshot/request  an operator asks for one picture
//! tac/v1/cameras/{camera_id}/snapshot      the agent's annotated JPEG (or refusal)
//! tac/v1/junctions/{junction_id}/plan      timing plans from central (QoS 1)
//! tac/v1/junctions/{junction_id}/plan/ack  controller's accept/reject of a plan
//! tac/v1/forecasts/{area_id}               congestion forecasts
//! tac/v1/feeds/police/{feed}               traffic-police data feed
//! ```
//!
//! Ids are 1–64 characters of ASCII letters, digits, `-` and `_`: never `/`, `+` or `#`,
//! so an id can neither escape its subtree nor act as a wildcard.

pub const ROOT: &str = "tac/v1";

/// Central's shared subscription to every camera's counts (instances split the load).
pub const SHARED_COUNTS_SUBSCRIPTION: &str = "$share/central/tac/v1/cameras/+/counts";
/// Central's shared subscription to every camera's status (retained heartbeats, LWT).
pub const SHARED_STATUS_SUBSCRIPTION: &str = "$share/central/tac/v1/cameras/+/status";
/// Central's shared subscription to every camera's incidents.
pub const SHARED_EVENTS_SUBSCRIPTION: &str = "$share/central/tac/v1/cameras/+/events";

/// Every camera's counts (a single central, or the embedded broker without shared subscriptions).
pub const ALL_CAMERA_COUNTS: &str = "tac/v1/cameras/+/counts";
/// Every camera's status.
pub const ALL_CAMERA_STATUS: &str = "tac/v1/cameras/+/status";
/// Every camera's incidents.
pub const ALL_CAMERA_EVENTS: &str = "tac/v1/cameras/+/events";
/// Every camera's answers to configuration pushes.
pub const ALL_CAMERA_CONFIG_ACKS: &str = "tac/v1/cameras/+/config/ack";
/// Every camera's snapshot answers.
pub const ALL_CAMERA_SNAPSHOTS: &str = "tac/v1/cameras/+/snapshot";
/// Every junction's plan acknowledgements.
pub const ALL_JUNCTION_PLAN_ACKS: &str = "tac/v1/junctions/+/plan/ack";
/// Every junction's status.
pub const ALL_JUNCTION_STATUS: &str = "tac/v1/junctions/+/status";
/// The traffic-police feed's alert stream (the broker ACL lets the `police-feed` user read it).
pub const POLICE_ALERTS: &str = "tac/v1/feeds/police/alerts";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    CameraCounts { camera: String },
    CameraCountsAck { camera: String },
    CameraStatus { camera: String },
    CameraEvents { camera: String },
    CameraPresence { camera: String },
    CameraConfig { camera: String },
    CameraConfigAck { camera: String },
    CameraSnapshotRequest { camera: String },
    CameraSnapshot { camera: String },
    JunctionPlan { junction: String },
    JunctionPlanAck { junction: String },
    JunctionStatus { junction: String },
    Forecast { area: String },
    PoliceFeed { feed: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("id {0:?} must be 1-64 ASCII letters, digits, '-' or '_'")]
    BadId(String),
    #[error("topic {0:?} is not in the tac/v1 tree")]
    Unknown(String),
}

pub fn check_id(id: &str) -> Result<(), TopicError> {
    if (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        Ok(())
    } else {
        Err(TopicError::BadId(id.to_string()))
    }
}

impl Topic {
    /// The topic string; fails if an id is not valid.
    pub fn to_topic(&self) -> Result<String, TopicError> {
        let (kind, id, tail) = match self {
            Topic::CameraCounts { camera } => ("cameras", camera, "/counts"),
            Topic::CameraCountsAck { camera } => ("cameras", camera, "/counts/ack"),
            Topic::CameraStatus { camera } => ("cameras", camera, "/status"),
            Topic::CameraEvents { camera } => ("cameras", camera, "/events"),
            Topic::CameraPresence { camera } => ("cameras", camera, "/presence"),
            Topic::CameraConfig { camera } => ("cameras", camera, "/config"),
            Topic::CameraConfigAck { camera } => ("cameras", camera, "/config/ack"),
            Topic::CameraSnapshotRequest { camera } => ("cameras", camera, "/snapshot/request"),
            Topic::CameraSnapshot { camera } => ("cameras", camera, "/snapshot"),
            Topic::JunctionPlan { junction } => ("junctions", junction, "/plan"),
            Topic::JunctionPlanAck { junction } => ("junctions", junction, "/plan/ack"),
            Topic::JunctionStatus { junction } => ("junctions", junction, "/status"),
            Topic::Forecast { area } => ("forecasts", area, ""),
            Topic::PoliceFeed { feed } => ("feeds/police", feed, ""),
        };
        check_id(id)?;
        Ok(format!("{ROOT}/{kind}/{id}{tail}"))
    }

    pub fn parse(topic: &str) -> Result<Topic, TopicError> {
        let unknown = || TopicError::Unknown(topic.to_string());
        let rest = topic.strip_prefix(ROOT).and_then(|r| r.strip_prefix('/')).ok_or_else(unknown)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let id = |s: &str| check_id(s).map(|_| s.to_string());
        match parts.as_slice() {
            ["cameras", c, "counts"] => Ok(Topic::CameraCounts { camera: id(c)? }),
            ["cameras", c, "counts", "ack"] => Ok(Topic::CameraCountsAck { camera: id(c)? }),
            ["cameras", c, "status"] => Ok(Topic::CameraStatus { camera: id(c)? }),
            ["cameras", c, "events"] => Ok(Topic::CameraEvents { camera: id(c)? }),
            ["cameras", c, "presence"] => Ok(Topic::CameraPresence { camera: id(c)? }),
            ["cameras", c, "config"] => Ok(Topic::CameraConfig { camera: id(c)? }),
            ["cameras", c, "config", "ack"] => Ok(Topic::CameraConfigAck { camera: id(c)? }),
            ["cameras", c, "snapshot", "request"] => Ok(Topic::CameraSnapshotRequest { camera: id(c)? }),
            ["cameras", c, "snapshot"] => Ok(Topic::CameraSnapshot { camera: id(c)? }),
            ["junctions", j, "plan"] => Ok(Topic::JunctionPlan { junction: id(j)? }),
            ["junctions", j, "plan", "ack"] => Ok(Topic::JunctionPlanAck { junction: id(j)? }),
            ["junctions", j, "status"] => Ok(Topic::JunctionStatus { junction: id(j)? }),
            ["forecasts", a] => Ok(Topic::Forecast { area: id(a)? }),
            ["feeds", "police", f] => Ok(Topic::PoliceFeed { feed: id(f)? }),
            _ => Err(unknown()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_escapes() {
        let all = [
            Topic::CameraCounts { camera: "q1-cam_07".into() },
            Topic::CameraStatus { camera: "c".into() },
            Topic::CameraCountsAck { camera: "c".into() },
            Topic::CameraEvents { camera: "c".into() },
            Topic::CameraPresence { camera: "c".into() },
            Topic::CameraConfig { camera: "c".into() },
            Topic::CameraConfigAck { camera: "c".into() },
            Topic::CameraSnapshotRequest { camera: "c".into() },
            Topic::CameraSnapshot { camera: "c".into() },
            Topic::JunctionPlan { junction: "j-12".into() },
            Topic::JunctionPlanAck { junction: "j-12".into() },
            Topic::JunctionStatus { junction: "j-12".into() },
            Topic::Forecast { area: "d1".into() },
            Topic::PoliceFeed { feed: "incidents".into() },
        ];
        for t in all {
            let s = t.to_topic().unwrap();
            assert_eq!(Topic::parse(&s).unwrap(), t, "{s}");
        }
        assert_eq!(Topic::CameraCounts { camera: "a".into() }.to_topic().unwrap(), "tac/v1/cameras/a/counts");
        for bad in ["a/b", "+", "#", "", "a b"] {
            assert!(Topic::CameraCounts { camera: bad.into() }.to_topic().is_err(), "{bad:?}");
        }
        assert!(Topic::parse("tac/v2/cameras/a/counts").is_err());
        assert!(Topic::parse("tac/v1/cameras/+/counts").is_err());
        // The filters are the tree with one id level wildcarded.
        for (filter, concrete) in [
            (ALL_CAMERA_COUNTS, Topic::CameraCounts { camera: "x".into() }),
            (ALL_CAMERA_STATUS, Topic::CameraStatus { camera: "x".into() }),
            (ALL_CAMERA_EVENTS, Topic::CameraEvents { camera: "x".into() }),
            (ALL_JUNCTION_PLAN_ACKS, Topic::JunctionPlanAck { junction: "x".into() }),
            (ALL_CAMERA_CONFIG_ACKS, Topic::CameraConfigAck { camera: "x".into() }),
            (ALL_CAMERA_SNAPSHOTS, Topic::CameraSnapshot { camera: "x".into() }),
            (ALL_JUNCTION_STATUS, Topic::JunctionStatus { junction: "x".into() }),
        ] {
            assert_eq!(filter.replace('+', "x"), concrete.to_topic().unwrap());
        }
        assert_eq!(Topic::parse(POLICE_ALERTS).unwrap(), Topic::PoliceFeed { feed: "alerts".into() });
        for (shared, plain) in [
            (SHARED_COUNTS_SUBSCRIPTION, ALL_CAMERA_COUNTS),
            (SHARED_STATUS_SUBSCRIPTION, ALL_CAMERA_STATUS),
            (SHARED_EVENTS_SUBSCRIPTION, ALL_CAMERA_EVENTS),
        ] {
            assert_eq!(shared, format!("$share/central/{plain}"));
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_arbitrary_topics_never_panics(s in "\\PC{0,80}") {
            if let Ok(t) = Topic::parse(&s) {
                proptest::prop_assert_eq!(t.to_topic().unwrap(), s);
            }
        }
    }
}
