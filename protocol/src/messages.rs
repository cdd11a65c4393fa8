//! Versioned MQTT messages. Every message is a JSON object carrying an envelope:
//! `schema_version` ("MAJOR.MINOR"), `agent_id`, `epoch` (new on every agent start) and
//! `seq` (strictly increasing within an epoch), so receivers de-duplicate on
//! (agent_id, epoch, seq) and notice gaps. A receiver accepts any minor version of its
//! major and rejects other majors with a reason, before looking at the body. A message
//! from a newer minor loses the fields this build does not know (see `compat`); one of
//! this minor or older is read strictly.
//!
//! Minor versions: 1.0 the first; 1.1 adds per-line speeds (`IntervalCounts::speeds`),
//! zone densities (`ZoneStats::density_veh_km_lane`) and the camera's calibration in
//! `Status`, all optional and sent only by calibrated cameras, and the camera config
//! push and its ack (`camera_config`).

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::counts::IntervalCounts;

pub const SCHEMA_MAJOR: u32 = 1;
pub const SCHEMA_MINOR: u32 = 1;
pub const SCHEMA_VERSION: &str = "1.1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Envelope<T> {
    pub schema_version: String,
    pub agent_id: String,
    pub epoch: u64,
    pub seq: u64,
    #[serde(flatten)]
    pub body: T,
}

impl<T> Envelope<T> {
    pub fn new(agent_id: &str, epoch: u64, seq: u64, body: T) -> Envelope<T> {
        Envelope { schema_version: SCHEMA_VERSION.into(), agent_id: agent_id.into(), epoch, seq, body }
    }
}

/// The model that produced the counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelRef {
    pub id: String,
    pub sha256: String,
}

/// `tac/v1/cameras/{camera_id}/counts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CountReport {
    pub camera_id: String,
    pub model: ModelRef,
    pub interval: IntervalCounts,
}

/// `tac/v1/cameras/{camera_id}/status` (retained).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Status {
    pub camera_id: String,
    pub state: AgentState,
    pub fps: f64,
    pub coverage: f64,
    pub outbox_depth: u64,
    pub dropped: u64,
    pub uptime_s: u64,
    pub model: Option<ModelRef>,
    /// The camera's calibration to metres; absent: not calibrated, no speeds (since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationInfo>,
    /// The edge box's profile id (firmware-profiles/boxes), for the fleet view (since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub box_profile: Option<String>,
}

/// A calibrated camera's fit, as the fleet view shows it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalibrationInfo {
    /// Surveyed points the fit used.
    pub points: u32,
    /// Root-mean-square distance (m) between the surveyed positions and where their image
    /// points map.
    pub rms_error_m: f64,
}

/// `tac/v1/cameras/{camera_id}/presence` (QoS 0, about once a second, never stored):
/// what each zone of the camera holds right now, for the junction's local actuation.
/// Live data: a receiver ignores a snapshot older than a few seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Presence {
    pub camera_id: String,
    /// Frame time of the snapshot, ms since the Unix epoch (UTC).
    pub at_ms: i64,
    pub zones: std::collections::BTreeMap<String, ZoneNow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneNow {
    /// Vehicles inside the zone now.
    pub inside: u32,
    /// Of which standing (a queue).
    pub stationary: u32,
    /// Frame time a vehicle last entered the zone (None: not since the agent started).
    /// The time since is the gap actuation reads: a queue still discharging keeps
    /// feeding arrivals into the zone, a cleared approach does not.
    pub last_entry_ms: Option<i64>,
}

/// `tac/v1/cameras/{camera_id}/events` (QoS 1, not retained): an incident the agent saw
/// (a stopped vehicle, a wrong-way driver, or its own view moved).
/// A live alert, not a count: no image, no plate, only the class and where. Each is sent
/// once; `incident_id` is unique per agent start, so a receiver drops repeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    pub camera_id: String,
    /// `{epoch}-{track}-{kind}-{line or zone}`.
    pub incident_id: String,
    pub kind: IncidentKind,
    /// Frame time it was decided, ms since the Unix epoch (UTC).
    pub at_ms: i64,
    /// The one-way line crossed against its direction (`wrong_way`).
    pub line: Option<String>,
    /// The no-stopping zone the vehicle stands in (`stopped_vehicle`).
    pub zone: Option<String>,
    pub class: Option<crate::VehicleClass>,
    /// How long it had stood when reported (`stopped_vehicle`).
    pub stopped_s: Option<f64>,
    /// What was seen, in words (`camera_moved`: how far the view shifted).
    #[serde(default)]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// A vehicle stood in a no-stopping zone for longer than the zone allows.
    StoppedVehicle,
    /// A vehicle crossed a one-way line against its direction.
    WrongWay,
    /// The camera's view shifted or changed since its lines were drawn.
    CameraMoved,
}

impl IncidentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::StoppedVehicle => "stopped_vehicle",
            IncidentKind::WrongWay => "wrong_way",
            IncidentKind::CameraMoved => "camera_moved",
        }
    }
}

/// `tac/v1/cameras/{camera_id}/counts/ack`: central has the report in its store (or
/// already had it). The agent drops a report from its outbox only on this ack, because a
/// broker's PUBACK alone does not survive a broker crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CountAck {
    pub camera_id: String,
    /// The acknowledged report's envelope.
    pub report_agent_id: String,
    pub report_epoch: u64,
    pub report_seq: u64,
    pub outcome: AckOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AckOutcome {
    Stored,
    /// Seen before; the first copy is what central keeps.
    Duplicate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AgentState {
    Online,
    /// Camera unreachable, agent alive.
    Degraded,
    /// Published by the broker as the agent's last will.
    Offline,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("payload of {0} bytes is over the {1}-byte limit")]
    TooLarge(usize, usize),
    #[error("malformed JSON: {0}")]
    Malformed(String),
    #[error("missing or unreadable schema_version")]
    NoVersion,
    #[error("unsupported schema major version {found} (this build speaks {SCHEMA_MAJOR}.x)")]
    UnsupportedVersion { found: String },
    #[error("invalid message: {0}")]
    Invalid(String),
    #[error("interval ends {0} ms in the future")]
    Future(i64),
}

impl DecodeError {
    /// A short stable label for metrics (`reason="…"`).
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::TooLarge(..) => "too_large",
            DecodeError::Malformed(_) => "malformed",
            DecodeError::NoVersion => "no_version",
            DecodeError::UnsupportedVersion { .. } => "unsupported_version",
            DecodeError::Invalid(_) => "invalid",
            DecodeError::Future(_) => "future",
        }
    }
}

/// Largest payload a receiver accepts.
pub const MAX_PAYLOAD: usize = 256 * 1024;

/// Decodes a message, checking size and major version before the body; a newer minor's
/// fields this build does not know are dropped first.
pub fn decode<T: DeserializeOwned + schemars::JsonSchema>(payload: &[u8]) -> Result<Envelope<T>, DecodeError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(DecodeError::TooLarge(payload.len(), MAX_PAYLOAD));
    }
    let value: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    let version = value.get("schema_version").and_then(|v| v.as_str()).ok_or(DecodeError::NoVersion)?;
    let mut parts = version.split('.').map(|n| n.parse::<u32>().ok());
    let (major, minor) = match (parts.next().flatten(), parts.next()) {
        (Some(major), minor) => (major, minor.flatten().unwrap_or(0)),
        (None, _) => return Err(DecodeError::NoVersion),
    };
    if major != SCHEMA_MAJOR {
        return Err(DecodeError::UnsupportedVersion { found: version.to_string() });
    }
    let mut value = value;
    if minor > SCHEMA_MINOR {
        let schema = schemars::schema_for!(Envelope<T>);
        crate::compat::drop_unknown_fields(&mut value, schema.as_value());
    }
    serde_json::from_value(value).map_err(|e| DecodeError::Invalid(e.to_string()))
}

impl CountReport {
    /// Semantic checks a receiver makes; `now_ms` rejects intervals from the future.
    pub fn check(&self, now_ms: i64, max_skew_ms: i64) -> Result<(), DecodeError> {
        let i = &self.interval;
        let bad = |m: &str| Err(DecodeError::Invalid(m.to_string()));
        if i.end_ms <= i.start_ms {
            return bad("interval end is not after its start");
        }
        if i.end_ms > now_ms + max_skew_ms {
            return Err(DecodeError::Future(i.end_ms - now_ms));
        }
        if !(0.0..=1.0).contains(&i.coverage) || !i.fps.is_finite() || i.fps < 0.0 {
            return bad("coverage must be within 0..=1 and fps non-negative");
        }
        let non_negative = |x: f64| x.is_finite() && x >= 0.0;
        for (name, z) in &i.zones {
            if ![z.occupancy_mean, z.dwell_mean_s, z.dwell_max_s].into_iter().all(non_negative) {
                return Err(DecodeError::Invalid(format!(
                    "zone {name:?}: occupancy and dwell must be finite and non-negative"
                )));
            }
            if z.density_veh_km_lane.is_some_and(|d| !non_negative(d)) {
                return Err(DecodeError::Invalid(format!(
                    "zone {name:?}: density_veh_km_lane must be finite and non-negative"
                )));
            }
        }
        for (line, s) in &i.speeds {
            let stats = std::iter::once(("all", &s.all)).chain(s.classes.iter().map(|(c, st)| (c.name(), st)));
            for (class, st) in stats {
                if !(non_negative(st.mean_kmh) && non_negative(st.p85_kmh)) {
                    return Err(DecodeError::Invalid(format!(
                        "speeds[{line:?}].{class}: speeds must be finite and non-negative"
                    )));
                }
            }
        }
        crate::topics::check_id(&self.camera_id).map_err(|e| DecodeError::Invalid(e.to_string()))?;
        self.model.check()
    }
}

impl Status {
    /// Semantic checks a receiver makes: a valid camera id, coverage within 0..=1, a
    /// finite non-negative frame rate.
    pub fn check(&self) -> Result<(), DecodeError> {
        crate::topics::check_id(&self.camera_id).map_err(|e| DecodeError::Invalid(e.to_string()))?;
        if !(0.0..=1.0).contains(&self.coverage) || !self.fps.is_finite() || self.fps < 0.0 {
            return Err(DecodeError::Invalid("status: coverage outside 0..=1 or bad fps".into()));
        }
        if let Some(c) = &self.calibration
            && !(c.rms_error_m.is_finite() && c.rms_error_m >= 0.0)
        {
            return Err(DecodeError::Invalid("status: calibration.rms_error_m must be finite and non-negative".into()));
        }
        Ok(())
    }
}

impl Incident {
    /// Semantic checks a receiver makes: where it happened fits its kind (a line for
    /// `wrong_way`, a zone and a standing time for `stopped_vehicle`, a short detail for
    /// `camera_moved`), an id of 1-200 bytes, and a time not after `now_ms + max_skew_ms`.
    pub fn check(&self, now_ms: i64, max_skew_ms: i64) -> Result<(), DecodeError> {
        crate::topics::check_id(&self.camera_id).map_err(|e| DecodeError::Invalid(e.to_string()))?;
        let place_ok = match self.kind {
            IncidentKind::WrongWay => self.line.is_some(),
            IncidentKind::StoppedVehicle => {
                self.zone.is_some() && self.stopped_s.is_some_and(|s| s.is_finite() && s >= 0.0)
            }
            IncidentKind::CameraMoved => self.detail.as_ref().is_none_or(|d| d.len() <= 500),
        };
        let id_ok = !self.incident_id.is_empty() && self.incident_id.len() <= 200;
        if !place_ok || !id_ok || self.at_ms > now_ms + max_skew_ms {
            return Err(DecodeError::Invalid(
                "incident: needs a line (wrong_way) or a zone and stopped_s (stopped_vehicle), an id, and a time \
                 not in the future"
                    .into(),
            ));
        }
        Ok(())
    }
}

impl ModelRef {
    /// A model id is an id (no control characters, bounded), its sha256 64 hex digits:
    /// stores must never meet a string they cannot hold.
    pub fn check(&self) -> Result<(), DecodeError> {
        crate::topics::check_id(&self.id).map_err(|e| DecodeError::Invalid(format!("model.id: {e}")))?;
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DecodeError::Invalid("model.sha256 must be 64 hex digits".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Envelope<CountReport> {
        let mut interval = IntervalCounts {
            start_ms: 60_000,
            end_ms: 120_000,
            coverage: 0.98,
            fps: 25.0,
            frames: 1470,
            ..Default::default()
        };
        let mut main = crate::counts::DirectionCounts::default();
        main.forward.add(crate::VehicleClass::Car, 2);
        interval.lines.insert("main".into(), main);
        Envelope::new(
            "edge-07",
            1_700_000_000_000,
            42,
            CountReport {
                camera_id: "cam-07".into(),
                model: ModelRef { id: "yolox_nano_416".into(), sha256: "ab".repeat(32) },
                interval,
            },
        )
    }

    #[test]
    fn round_trip_and_envelope_fields_are_top_level() {
        let msg = report();
        let bytes = serde_json::to_vec(&msg).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["schema_version"], SCHEMA_VERSION);
        assert_eq!(v["seq"], 42);
        assert_eq!(v["camera_id"], "cam-07");
        assert_eq!(decode::<CountReport>(&bytes).unwrap(), msg);
        assert!(msg.body.check(130_000, 5_000).is_ok());
    }

    #[test]
    fn a_newer_minor_loses_the_fields_this_build_does_not_know_and_ours_is_strict() {
        let mut v = serde_json::to_value(report()).unwrap();
        v["interval"]["lanes"] = serde_json::json!([1, 2]);
        v["interval"]["lines"]["main"]["forward"]["tram"] = 1.into();
        v["interval"]["zones"] = serde_json::json!({"q": {
            "entered": {"car": 0, "motorcycle": 0, "bus": 0, "truck": 0, "bicycle": 0},
            "occupancy_mean": 1.0, "occupancy_max": 2, "queue_max": 0, "dwell_mean_s": 0.0, "dwell_max_s": 0.0,
            "density_veh_km_lane": 20.0, "heading_deg": 90.0}});
        v["model"]["quantised"] = true.into();
        v["schema_version"] = format!("1.{}", SCHEMA_MINOR + 1).into();
        let msg = decode::<CountReport>(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert_eq!(msg.body.interval.lines["main"].forward.car, 2);
        assert_eq!(msg.body.interval.zones["q"].density_veh_km_lane, Some(20.0), "known fields are kept");
        assert_eq!(msg.body.model, report().body.model);
        v["schema_version"] = SCHEMA_VERSION.into();
        let err = decode::<CountReport>(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(matches!(err, DecodeError::Invalid(_)), "{err}");
        // A 1.0 sender never wrote the 1.1 fields: they are optional.
        let mut old = serde_json::to_value(report()).unwrap();
        old["schema_version"] = "1.0".into();
        assert_eq!(decode::<CountReport>(&serde_json::to_vec(&old).unwrap()).unwrap().body, report().body);
    }

    #[test]
    fn other_majors_and_bad_payloads_are_rejected_with_a_reason() {
        let mut v = serde_json::to_value(report()).unwrap();
        v["schema_version"] = "2.0".into();
        let err = decode::<CountReport>(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert_eq!(err.to_string(), "unsupported schema major version 2.0 (this build speaks 1.x)");
        v["schema_version"] = "1.7".into();
        assert!(decode::<CountReport>(&serde_json::to_vec(&v).unwrap()).is_ok(), "minor versions are compatible");
        assert!(matches!(decode::<CountReport>(b"{not json"), Err(DecodeError::Malformed(_))));
        assert!(matches!(decode::<CountReport>(b"{}"), Err(DecodeError::NoVersion)));
        assert!(matches!(decode::<CountReport>(&vec![b' '; MAX_PAYLOAD + 1]), Err(DecodeError::TooLarge(..))));
        let neg = serde_json::to_string(&report()).unwrap().replace("\"car\":2", "\"car\":-3");
        assert!(matches!(decode::<CountReport>(neg.as_bytes()), Err(DecodeError::Invalid(_))));
        let future = report();
        assert_eq!(future.body.check(60_000, 5_000).unwrap_err().reason(), "future");
        let mut bad_model = report();
        bad_model.body.model.id = "yolox\u{0}".into();
        assert_eq!(bad_model.body.check(130_000, 5_000).unwrap_err().reason(), "invalid");
        bad_model.body.model = ModelRef { id: "m".into(), sha256: "xyz".into() };
        assert!(bad_model.body.check(130_000, 5_000).unwrap_err().to_string().contains("model.sha256"));
    }
}
