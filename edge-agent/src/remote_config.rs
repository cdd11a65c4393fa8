//! Central's geometry pushes, judged on the box. A push is applied only when it is for
//! this camera (topic and body agree: the link subscribes to this camera's topic only),
//! newer than every version already accepted, and valid by the same rules as a file
//! config (`AgentConfig::validate`, the calibration fit, the frame the stream delivers).
//! Anything else is refused with the reasons, each with its field path, and the camera
//! keeps counting with what it has. The retained push that every reconnect delivers
//! again is the version already answered: it is ignored, not refused again.
//!
//! Invariant: versions only go up; `accepted` is the highest version ever accepted
//! (waiting or running), `running` the one in place (0: the file config).

use std::path::PathBuf;

use protocol::camera_config::{ConfigAck, ConfigOutcome, ConfigPush, Problem};

use crate::config::AgentConfig;
use crate::pipeline::reconfigure::Geometry;

pub struct RemoteConfig {
    camera: String,
    /// The file config: everything but the geometry stays as it says.
    base: AgentConfig,
    base_dir: Option<PathBuf>,
    accepted: u64,
    running: u64,
    /// Accepted configs waiting to be put in place, by version.
    waiting: Vec<(u64, AgentConfig)>,
}

/// What to do with one push.
#[derive(Debug)]
pub enum Verdict {
    /// Put it in place; answer once it is (`applied_ack`).
    Apply(Box<Geometry>),
    /// Answer with this refusal; keep counting as before.
    Refuse(ConfigAck),
    /// Already answered (the retained push again after a reconnect).
    Ignore,
}

impl RemoteConfig {
    pub fn new(base: &AgentConfig, base_dir: Option<PathBuf>) -> RemoteConfig {
        RemoteConfig {
            camera: base.camera.id.clone(),
            base: base.clone(),
            base_dir,
            accepted: 0,
            running: 0,
            waiting: Vec::new(),
        }
    }

    /// The version in place (0: the file config).
    pub fn running(&self) -> u64 {
        self.running
    }

    /// Judges one payload; `frame` is the stream's frame size once known.
    pub fn judge(&mut self, payload: &[u8], frame: Option<(u32, u32)>) -> Verdict {
        let push = match protocol::messages::decode::<ConfigPush>(payload) {
            Ok(envelope) => envelope.body,
            Err(e) => return Verdict::Refuse(self.refusal(0, vec![problem("(message)", &e.to_string())])),
        };
        if push.camera_id != self.camera {
            let why = format!("the push is for camera {:?}, this is {:?}", push.camera_id, self.camera);
            return Verdict::Refuse(self.refusal(push.version, vec![problem("camera_id", &why)]));
        }
        if push.version == self.accepted && push.version > 0 {
            return Verdict::Ignore;
        }
        if push.version <= self.accepted {
            let why = format!("version {} is older than version {} already accepted", push.version, self.accepted);
            return Verdict::Refuse(self.refusal(push.version, vec![problem("version", &why)]));
        }
        let candidate = self.base.with_geometry(&push.geometry);
        let mut problems: Vec<Problem> = candidate
            .validate(self.base_dir.as_deref())
            .into_iter()
            .map(|i| Problem { path: i.path, message: i.message })
            .collect();
        if let Some((width, height)) = frame {
            problems.extend(push.geometry.frame_problems(width, height));
        }
        if !problems.is_empty() {
            return Verdict::Refuse(self.refusal(push.version, problems));
        }
        self.accepted = push.version;
        self.waiting.push((push.version, candidate.clone()));
        Verdict::Apply(Box::new(Geometry {
            version: push.version,
            lines: candidate.line_defs(),
            zones: candidate.zone_defs(),
            incidents: candidate.incident_rules(),
            calibration: candidate.calibration().ok().flatten(),
        }))
    }

    /// `version` is in place: the answer to send, the config now running, and the
    /// accepted versions it overtook before they were put in place (its ack's
    /// `running_version` answers them).
    pub fn applied(&mut self, version: u64) -> (ConfigAck, Option<AgentConfig>, Vec<u64>) {
        self.running = version;
        let waiting = std::mem::take(&mut self.waiting);
        let mut running = None;
        let mut overtaken = Vec::new();
        for (v, config) in waiting {
            if v == version {
                running = Some(config);
            } else if v < version {
                overtaken.push(v);
            } else {
                self.waiting.push((v, config));
            }
        }
        let ack = ConfigAck {
            camera_id: self.camera.clone(),
            version,
            outcome: ConfigOutcome::Applied,
            problems: Vec::new(),
            running_version: version,
        };
        (ack, running, overtaken)
    }

    /// The answer sent when `version` is judged valid, before it is in place.
    pub fn accepted(&self, version: u64) -> ConfigAck {
        ConfigAck {
            camera_id: self.camera.clone(),
            version,
            outcome: ConfigOutcome::Accepted,
            problems: Vec::new(),
            running_version: self.running,
        }
    }

    fn refusal(&self, version: u64, problems: Vec<Problem>) -> ConfigAck {
        tracing::warn!(
            camera = %self.camera,
            version,
            problems = %problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "),
            "config push refused; counting on with the running geometry"
        );
        ConfigAck {
            camera_id: self.camera.clone(),
            version,
            outcome: ConfigOutcome::Rejected,
            problems,
            running_version: self.running,
        }
    }
}

fn problem(path: &str, message: &str) -> Problem {
    Problem { path: path.into(), message: message.into() }
}

#[cfg(test)]
#[path = "remote_config_tests.rs"]
mod tests;
