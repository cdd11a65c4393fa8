//! Camera configuration (TOML). Unknown fields are errors; every default lives in the
//! `Default` impls of the settings structs; `validate` reports every problem with the
//! path of the offending field (`lines[1].b`, `views.tiles`…), never panics.
//!
//! ```toml
//! [camera]
//! id = "q1-nguyen-hue-01"
//! source = "rtsp://user:pass@10.0.0.7:554/Streaming/Channels/102"
//! box_profile = "generic_x86"   # firmware-profiles/boxes
//! model = "yolox_nano_416"      # built-in id or a manifest path
//! interval_s = 60
//!
//! [[lines]]
//! name = "northbound"
//! a = [0, 540]
//! b = [1919, 540]
//! ```

use std::path::{Path, PathBuf};

use firmware_profiles::{CameraProfile, EdgeBoxProfile, StreamChoice, camera::CameraAddress};
use models::Manifest;
use serde::Deserialize;

use crate::count::{CountSettings, LineDef, ZoneDef};
use crate::detect::{DetectSettings, ViewPlan};
use crate::geometry::{Point, Polygon};
use crate::ingest::SourceSpec;
use crate::track::TrackerSettings;
use crate::twowheel::RiderMerge;
use protocol::calibration::{Calibration, CalibrationError};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub camera: CameraConfig,
    #[serde(default)]
    pub lines: Vec<LineConfig>,
    #[serde(default)]
    pub zones: Vec<ZoneConfig>,
    #[serde(default)]
    pub views: ViewPlan,
    #[serde(default)]
    pub detect: DetectSettings,
    #[serde(default)]
    pub tracker: TrackerSettings,
    #[serde(default)]
    pub count: CountSettings,
    #[serde(default)]
    pub rider: RiderMerge,
    /// The camera-moved check.
    #[serde(default)]
    pub scene: crate::scene::SceneSettings,
    /// Publish interval reports to a broker; without it `run` only prints them.
    #[serde(default)]
    pub mqtt: Option<MqttSettings>,
    #[serde(default)]
    pub outbox: OutboxSettings,
    /// Calibration to metres: speeds on lines, densities in zones.
    #[serde(default)]
    pub calibration: Option<CalibrationConfig>,
}

/// Where reports wait for the broker's acknowledgement.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxSettings {
    /// Outbox directory; relative paths are relative to the config file.
    pub dir: PathBuf,
    /// Disk budget in MB; beyond it the oldest reports are dropped (and counted).
    pub max_mb: u64,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        OutboxSettings { dir: PathBuf::from("outbox"), max_mb: 256 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// Stable camera id, used in topics and reports.
    pub id: String,
    /// `rtsp://…`, a file path, `usb:N`; or leave out and describe `[camera.device]`.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub device: Option<DeviceConfig>,
    /// Edge-box profile id (firmware-profiles/boxes).
    #[serde(default = "default_box")]
    pub box_profile: String,
    /// Built-in model id or path to a model manifest.
    #[serde(default = "default_model")]
    pub model: String,
    /// Length of a count interval in seconds.
    #[serde(default = "default_interval")]
    pub interval_s: u32,
    /// RTSP over TCP only (otherwise UDP first, TCP fallback).
    #[serde(default)]
    pub rtsp_tcp_only: bool,
    /// Answer an operator's snapshot request with one annotated picture; `false` (privacy)
    /// refuses every request. No other image ever leaves the box.
    #[serde(default = "default_true")]
    pub allow_snapshots: bool,
    /// RTSP jitter buffer in milliseconds.
    #[serde(default = "default_latency")]
    pub rtsp_latency_ms: u32,
}

fn default_box() -> String {
    firmware_profiles::edge_box::DEFAULT_BOX.into()
}
fn default_model() -> String {
    models::DEFAULT_MODEL.into()
}
fn default_interval() -> u32 {
    60
}
fn default_latency() -> u32 {
    200
}

/// A camera addressed through its make's profile instead of a raw URL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// Camera profile id (firmware-profiles/cameras).
    pub profile: String,
    pub host: String,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub user: String,
    /// Password in clear; prefer `password_env`.
    #[serde(default)]
    pub password: String,
    /// Name of an environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default = "default_channel")]
    pub channel: u32,
    #[serde(default)]
    pub stream: Option<StreamChoice>,
    /// Stream path for ONVIF cameras.
    #[serde(default)]
    pub path: Option<String>,
}

fn default_true() -> bool {
    true
}

fn default_channel() -> u32 {
    1
}

/// Lines, zones and calibration are the protocol's geometry types: what a file config
/// holds and what central pushes are one shape with one set of rules
/// (`protocol::camera_config::Geometry::problems`).
pub type LineConfig = protocol::camera_config::LineSpec;
pub type ZoneConfig = protocol::camera_config::ZoneSpec;
pub type CalibrationConfig = protocol::camera_config::CalibrationSpec;

/// One problem found in a config, with the path of the field.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigIssue {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config {file}: {source}")]
    Read { file: PathBuf, source: std::io::Error },
    #[error("config {file}: {}", issues.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid { file: PathBuf, issues: Vec<ConfigIssue> },
}

/// The config as far as it reads, and every unknown field and wrong type with its path.
fn read_all(text: &str) -> (Option<AgentConfig>, Vec<ConfigIssue>) {
    let (config, problems) = config_read::parse_all::<AgentConfig>(text);
    (config, problems.into_iter().map(|p| ConfigIssue { path: p.path, message: p.message }).collect())
}

impl AgentConfig {
    /// Reads and parses a config file without the semantic checks; every unknown field
    /// and wrong type is reported, not only the first.
    pub fn read(path: &Path) -> Result<AgentConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { file: path.into(), source })?;
        match read_all(&text) {
            (Some(config), issues) if issues.is_empty() => Ok(config),
            (_, issues) => Err(ConfigError::Invalid { file: path.into(), issues }),
        }
    }

    /// Reads, parses and validates a config file: every problem, reading and semantic.
    pub fn load(path: &Path) -> Result<AgentConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { file: path.into(), source })?;
        let (config, mut issues) = read_all(&text);
        let Some(config) = config else { return Err(ConfigError::Invalid { file: path.into(), issues }) };
        // The semantic checks run over what could be read; a key already reported is not
        // reported again for having fallen back to its default.
        let reported: Vec<String> = issues.iter().map(|i| i.path.clone()).collect();
        issues.extend(
            config.validate(path.parent()).into_iter().filter(|i| !reported.iter().any(|r| i.path.starts_with(r))),
        );
        // A file source must be there to be counted (a stream is checked when it connects).
        if let Ok(SourceSpec::File(file)) = config.source(path.parent())
            && !file.exists()
            && !reported.iter().any(|r| r == "camera" || r == "camera.source")
        {
            issues.push(ConfigIssue {
                path: "camera.source".into(),
                message: format!("{}: no such file", file.display()),
            });
        }
        if issues.is_empty() { Ok(config) } else { Err(ConfigError::Invalid { file: path.into(), issues }) }
    }

    pub fn parse(text: &str) -> Result<AgentConfig, ConfigIssue> {
        let de = toml::Deserializer::parse(text)
            .map_err(|e| ConfigIssue { path: "(syntax)".into(), message: e.to_string().trim().replace('\n', " ") })?;
        serde_path_to_error::deserialize(de).map_err(|e| ConfigIssue {
            path: if e.path().to_string() == "." { "(root)".into() } else { e.path().to_string() },
            message: e.inner().message().to_string(),
        })
    }

    /// Every semantic problem. `base` resolves relative manifest paths.
    /// The `[mqtt]` settings with file paths resolved against the config's folder.
    pub fn mqtt_resolved(&self, base: Option<&Path>) -> Option<MqttSettings> {
        let mut m = self.mqtt.clone()?;
        if let Some(tls) = &mut m.tls {
            tls.ca_file = resolve(base, &tls.ca_file);
            tls.client_cert_file = tls.client_cert_file.as_ref().map(|p| resolve(base, p));
            tls.client_key_file = tls.client_key_file.as_ref().map(|p| resolve(base, p));
        }
        Some(m)
    }

    pub fn validate(&self, base: Option<&Path>) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut bad = |path: String, message: String| issues.push(ConfigIssue { path, message });
        let c = &self.camera;
        // The id becomes a topic level: the protocol's own id rule (1-64 of letters, digits, '-', '_').
        if let Err(e) = protocol::topics::check_id(&c.id) {
            bad("camera.id".into(), e.to_string());
        }
        match (&c.source, &c.device) {
            (None, None) => bad("camera.source".into(), "set `source` or `[camera.device]`".into()),
            (Some(_), Some(_)) => {
                bad("camera.device".into(), "set either `source` or `[camera.device]`, not both".into())
            }
            (Some(s), None) => {
                if let Err(e) = SourceSpec::parse(s) {
                    bad("camera.source".into(), e.to_string());
                }
            }
            (None, Some(d)) => {
                if let Err(e) = device_url(d) {
                    bad("camera.device".into(), e);
                }
            }
        }
        if let Err(e) = EdgeBoxProfile::builtin(&c.box_profile) {
            bad("camera.box_profile".into(), e.to_string());
        }
        if let Err(e) = resolve_model(&c.model, base) {
            bad("camera.model".into(), e);
        }
        if !(1..=3600).contains(&c.interval_s) {
            bad("camera.interval_s".into(), format!("{} is outside 1..=3600", c.interval_s));
        }
        // Shapes and the calibration fit: the rules central's API applies too.
        for p in self.geometry().problems() {
            bad(p.path, p.message);
        }
        for (field, message) in self.scene.problems() {
            bad(format!("scene.{field}"), message);
        }
        for (field, message) in self.views.problems() {
            bad(format!("views.{field}"), message);
        }
        let unit = |v: f32| v > 0.0 && v < 1.0;
        let d = &self.detect;
        for (f, v) in [
            ("min_score", d.min_score),
            ("nms_iou", d.nms_iou),
            ("view_merge_ios", d.view_merge_ios),
            ("cross_class_iou", d.cross_class_iou),
        ] {
            if !unit(v) {
                bad(format!("detect.{f}"), format!("{v} is outside (0, 1)"));
            }
        }
        if !(0.0..=64.0).contains(&d.repeat_max_diff) {
            bad(
                "detect.repeat_max_diff".into(),
                format!("{} is outside 0..=64 (grey levels; 0 looks at every frame)", d.repeat_max_diff),
            );
        }
        let t = &self.tracker;
        if !(0.0..=2.0).contains(&t.tentative_buffer) {
            bad("tracker.tentative_buffer".into(), format!("{} is outside 0..=2", t.tentative_buffer));
        }
        for (f, v) in [
            ("high_score", t.high_score),
            ("new_track_score", t.new_track_score),
            ("match_iou", t.match_iou),
            ("low_match_iou", t.low_match_iou),
            ("tentative_match_iou", t.tentative_match_iou),
        ] {
            if !unit(v) {
                bad(format!("tracker.{f}"), format!("{v} is outside (0, 1)"));
            }
        }
        if t.high_score < d.min_score {
            bad("tracker.high_score".into(), "must not be below detect.min_score".into());
        }
        if !(1..=30).contains(&t.birth_hits) {
            bad("tracker.birth_hits".into(), format!("{} is outside 1..=30", t.birth_hits));
        }
        if !(0.0..=30.0).contains(&t.lost_buffer_s) {
            bad("tracker.lost_buffer_s".into(), format!("{} is outside 0..=30", t.lost_buffer_s));
        }
        if let Some(m) = &self.mqtt {
            if m.host.is_empty() {
                bad("mqtt.host".into(), "must not be empty".into());
            }
            if m.keep_alive_s < 5 {
                bad("mqtt.keep_alive_s".into(), format!("{} is below 5", m.keep_alive_s));
            }
            if m.presence_interval_ms != 0 && !(100..=60_000).contains(&m.presence_interval_ms) {
                bad(
                    "mqtt.presence_interval_ms".into(),
                    format!("{} is neither 0 (off) nor within 100..=60000", m.presence_interval_ms),
                );
            }
            if !(1..=3600).contains(&m.ack_timeout_s) {
                bad("mqtt.ack_timeout_s".into(), format!("{} is outside 1..=3600", m.ack_timeout_s));
            }
            if let Some(id) = &m.client_id
                && protocol::topics::check_id(id).is_err()
            {
                bad("mqtt.client_id".into(), format!("{id:?} must be 1-64 ASCII letters, digits, '-' or '_'"));
            }
            if let Some(tls) = &m.tls {
                let files = [
                    ("ca_file", Some(&tls.ca_file)),
                    ("client_cert_file", tls.client_cert_file.as_ref()),
                    ("client_key_file", tls.client_key_file.as_ref()),
                ];
                for (field, path) in files {
                    if let Some(p) = path
                        && !resolve(base, p).is_file()
                    {
                        bad(format!("mqtt.tls.{field}"), format!("{} is not a file", resolve(base, p).display()));
                    }
                }
                if tls.client_cert_file.is_some() != tls.client_key_file.is_some() {
                    bad("mqtt.tls".into(), "client_cert_file and client_key_file go together".into());
                }
            }
        }
        if !(1..=1_000_000).contains(&self.outbox.max_mb) {
            bad("outbox.max_mb".into(), format!("{} is outside 1..=1000000", self.outbox.max_mb));
        }
        let k = &self.count;
        for (f, v, max) in [
            ("min_travel", k.min_travel, 2.0),
            ("min_travel_px", k.min_travel_px, 500.0),
            ("end_tolerance", k.end_tolerance, 0.5),
            ("decision_delay_s", k.decision_delay_s, 10.0),
            ("rider_min_speed", k.rider_min_speed, 100.0),
            ("two_wheeler_vote_share", k.two_wheeler_vote_share, 10.0),
            ("queue_max_speed", k.queue_max_speed, 100.0),
            ("twin_window_s", k.twin_window_s, 5.0),
            ("twin_distance", k.twin_distance, 2.0),
            ("car_min_width_ratio", k.car_min_width_ratio, 5.0),
        ] {
            if !(0.0..=max).contains(&v) {
                bad(format!("count.{f}"), format!("{v} is outside 0..={max}"));
            }
        }
        if !(1..=1000).contains(&k.size_min_tracks) {
            bad("count.size_min_tracks".into(), format!("{} is outside 1..=1000", k.size_min_tracks));
        }
        issues
    }

    /// How to open this camera's stream.
    pub fn open_options(&self) -> crate::ingest::gst::OpenOptions {
        crate::ingest::gst::OpenOptions {
            rtsp_tcp_only: self.camera.rtsp_tcp_only,
            rtsp_latency_ms: self.camera.rtsp_latency_ms,
            ..Default::default()
        }
    }

    /// The lines, zones and calibration, as central pushes them.
    pub fn geometry(&self) -> protocol::camera_config::Geometry {
        protocol::camera_config::Geometry {
            lines: self.lines.clone(),
            zones: self.zones.clone(),
            calibration: self.calibration.clone(),
        }
    }

    /// This config with `geometry` in place of its lines, zones and calibration.
    pub fn with_geometry(&self, geometry: &protocol::camera_config::Geometry) -> AgentConfig {
        let mut config = self.clone();
        config.lines = geometry.lines.clone();
        config.zones = geometry.zones.clone();
        config.calibration = geometry.calibration.clone();
        config
    }

    /// The fitted calibration; `Ok(None)` without a `[calibration]` section.
    pub fn calibration(&self) -> Result<Option<Calibration>, CalibrationError> {
        self.calibration.as_ref().map(CalibrationConfig::fit).transpose()
    }

    pub fn line_defs(&self) -> Vec<LineDef> {
        self.lines.iter().map(|l| LineDef::new(&l.name, l.a, l.b)).collect()
    }

    /// One-way lines and no-stopping zones, in line / zone order.
    pub fn incident_rules(&self) -> crate::count::IncidentRules {
        crate::count::IncidentRules {
            one_way: self.lines.iter().map(|l| l.one_way.map(Into::into)).collect(),
            no_stopping_ms: self.zones.iter().map(|z| z.no_stopping_s.map(|s| (s * 1000.0) as i64)).collect(),
            line_names: self.lines.iter().map(|l| l.name.clone()).collect(),
            zone_names: self.zones.iter().map(|z| z.name.clone()).collect(),
        }
    }

    pub fn zone_defs(&self) -> Vec<ZoneDef> {
        self.zones
            .iter()
            .map(|z| ZoneDef {
                name: z.name.clone(),
                polygon: Polygon { points: z.polygon.iter().map(|v| Point::new(v[0], v[1])).collect() },
                lanes: z.lanes,
            })
            .collect()
    }

    /// The source to open (a device description is rendered to its RTSP URL). A
    /// relative file path is taken relative to `base`, the config file's folder.
    pub fn source(&self, base: Option<&Path>) -> Result<SourceSpec, String> {
        match (&self.camera.source, &self.camera.device) {
            (Some(s), _) => match SourceSpec::parse(s).map_err(|e| e.to_string())? {
                SourceSpec::File(p) if p.is_relative() && base.is_some() => {
                    Ok(SourceSpec::File(base.unwrap_or(Path::new(".")).join(p)))
                }
                other => Ok(other),
            },
            (None, Some(d)) => device_url(d).map(SourceSpec::Rtsp),
            (None, None) => Err("no source".into()),
        }
    }
}

fn device_url(d: &DeviceConfig) -> Result<String, String> {
    let profile = CameraProfile::builtin(&d.profile).map_err(|e| e.to_string())?;
    let password = match &d.password_env {
        Some(var) => std::env::var(var).map_err(|_| format!("password_env: environment variable {var} is not set"))?,
        None => d.password.clone(),
    };
    let addr = CameraAddress {
        host: &d.host,
        port: d.port,
        user: &d.user,
        password: &password,
        channel: d.channel,
        path: d.path.as_deref(),
    };
    profile.url(&addr, d.stream).map_err(|e| e.to_string())
}

/// A model argument: a built-in id, or a manifest path. Returns the manifest and the
/// path its model file is expected at.
pub fn resolve_model(model: &str, base: Option<&Path>) -> Result<(Manifest, PathBuf), String> {
    if models::BUILTIN.iter().any(|(id, _)| *id == model) {
        let m = Manifest::builtin(model).map_err(|e| e.to_string())?;
        let path = crate::assets::model_path(&m);
        return Ok((m, path));
    }
    let mut path = PathBuf::from(model);
    if path.is_relative()
        && let Some(b) = base
        && !path.exists()
    {
        path = b.join(&path);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("model manifest {}: {e}", path.display()))?;
    let m = Manifest::from_toml(&path.display().to_string(), &text).map_err(|e| e.to_string())?;
    let beside = path.parent().unwrap_or(Path::new(".")).join(&m.file);
    let file = if beside.is_file() { beside } else { crate::assets::model_dir().join(&m.file) };
    Ok((m, file))
}

/// `[mqtt]` in the agent config.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MqttSettings {
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// Client id; defaults to the camera id.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    /// Name of an environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default = "default_keep_alive")]
    pub keep_alive_s: u64,
    /// Seconds between retained status heartbeats.
    #[serde(default = "default_status_interval")]
    pub status_interval_s: u64,
    /// What ends a report's stay in the outbox: central's stored-ack or the broker's PUBACK.
    #[serde(default)]
    pub ack: AckMode,
    /// Resend a report that central has not acknowledged after this many seconds.
    #[serde(default = "default_ack_timeout")]
    pub ack_timeout_s: u64,
    /// TLS (rustls) towards the broker; plain TCP when absent.
    #[serde(default)]
    pub tls: Option<TlsSettings>,
    /// Milliseconds between live zone-occupancy snapshots (`…/presence`, QoS 0, for a
    /// junction's local actuation); 0 = none. Only cameras with zones send them.
    #[serde(default = "default_presence_interval")]
    pub presence_interval_ms: u64,
}

fn default_presence_interval() -> u64 {
    1000
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AckMode {
    #[default]
    Central,
    Broker,
}

/// `[mqtt.tls]`, shared with the junction agent.
pub use mqtt_link::TlsSettings;

fn default_ack_timeout() -> u64 {
    30
}

fn default_status_interval() -> u64 {
    30
}

fn default_port() -> u16 {
    1883
}
fn default_keep_alive() -> u64 {
    30
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;

/// A path from the config, taken relative to the config file's folder.
pub(crate) fn resolve(base: Option<&Path>, p: &Path) -> std::path::PathBuf {
    match base {
        Some(b) if p.is_relative() => b.join(p),
        _ => p.to_path_buf(),
    }
}
