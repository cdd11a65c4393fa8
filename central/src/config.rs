//! `central.toml`: broker connection (or the embedded broker), store, HTTP and ingest
//! settings, where cameras are (`[map]`: position, road, what each counting line's
//! directions mean on the ground, the local time zone) and what the open-data export
//! publishes (`[export]`: licence, publisher, whether anonymous callers get counts per
//! class). Unknown keys are errors naming the key; `validate` lists every semantic
//! problem with its field path (`central validate --config …`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::StoreSpec;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CentralConfig {
    pub broker: BrokerSettings,
    pub store: StoreSettings,
    #[serde(default)]
    pub http: HttpSettings,
    #[serde(default)]
    pub ingest: IngestSettings,
    #[serde(default)]
    pub forecast: crate::forecast::ForecastSettings,
    /// Signal retiming; absent = central times no junctions.
    #[serde(default)]
    pub signals: Option<crate::signals::SignalSettings>,
    /// The traffic-police feed; absent = none.
    #[serde(default)]
    pub police: Option<crate::police::PoliceSettings>,
    /// Operator logins; absent = the operator API is open on its listen address.
    #[serde(default)]
    pub auth: Option<crate::auth::AuthSettings>,
    /// Where cameras and junctions are, for the dashboard's overview and the export.
    #[serde(default)]
    pub map: MapSettings,
    /// What the open-data export publishes, and under which licence.
    #[serde(default)]
    pub export: ExportSettings,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BrokerSettings {
    /// Run rumqttd inside central (single-box deployments, the demo).
    #[serde(default)]
    pub embedded: bool,
    /// Where the embedded broker listens (MQTT 3.1.1).
    #[serde(default = "default_embedded_listen")]
    pub listen: SocketAddr,
    /// The broker central connects to (ignored when embedded: central uses `listen`).
    #[serde(default = "default_host")]
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// Central's MQTT session; give each central instance its own.
    #[serde(default = "default_client_id")]
    pub client_id: String,
    #[serde(default)]
    pub username: Option<String>,
    /// Name of an environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// PEM CA file: connect over TLS (rustls).
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    #[serde(default = "default_keep_alive")]
    pub keep_alive_s: u64,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    pub kind: StoreKind,
    /// SQLite file (kind = "sqlite"); relative to the config file.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// libpq connection string (kind = "postgres").
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    #[serde(default = "default_http_listen")]
    pub listen: SocketAddr,
    /// Requests per minute one client address may make to the public feed (0: no limit).
    #[serde(default = "default_public_per_minute")]
    pub public_per_minute: u32,
    /// The dashboard's files (`app/` and `node_modules/`); default: central's `web/`
    /// source folder. Relative to the config file.
    #[serde(default)]
    pub dashboard_dir: Option<PathBuf>,
    /// How long an operator's snapshot request waits for the camera's agent before the
    /// dashboard says it did not answer.
    #[serde(default = "default_snapshot_timeout_s")]
    pub snapshot_timeout_s: u64,
    /// Central is served to browsers through a TLS proxy (the deployment the README
    /// describes): the session cookie gets `Secure` and every answer HSTS.
    #[serde(default)]
    pub behind_tls: bool,
}

fn default_snapshot_timeout_s() -> u64 {
    10
}

fn default_public_per_minute() -> u32 {
    60
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            listen: default_http_listen(),
            public_per_minute: default_public_per_minute(),
            dashboard_dir: None,
            snapshot_timeout_s: default_snapshot_timeout_s(),
            behind_tls: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IngestSettings {
    /// How far in the future (agent clock ahead of central's) an interval may end.
    #[serde(default = "default_skew")]
    pub max_future_skew_s: u64,
    /// A camera not heard from for this long is shown as `silent`.
    #[serde(default = "default_silent")]
    pub silent_after_s: u64,
    /// Most reports committed in one transaction.
    #[serde(default = "default_batch")]
    pub max_batch: usize,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings {
            max_future_skew_s: default_skew(),
            silent_after_s: default_silent(),
            max_batch: default_batch(),
        }
    }
}

fn default_embedded_listen() -> SocketAddr {
    "127.0.0.1:1883".parse().expect("literal")
}
fn default_host() -> String {
    "127.0.0.1".into()
}
fn default_port() -> u16 {
    1883
}
fn default_client_id() -> String {
    "central-1".into()
}
fn default_keep_alive() -> u64 {
    30
}
fn default_http_listen() -> SocketAddr {
    "127.0.0.1:8080".parse().expect("literal")
}
fn default_skew() -> u64 {
    120
}
fn default_silent() -> u64 {
    90
}
fn default_batch() -> usize {
    256
}

impl CentralConfig {
    /// Parses TOML; errors name the offending key path.
    pub fn parse(text: &str) -> Result<CentralConfig, String> {
        let de = toml::Deserializer::parse(text).map_err(|e| e.to_string())?;
        serde_path_to_error::deserialize(de).map_err(|e| format!("{}: {}", e.path(), e.inner().message()))
    }

    /// Every problem in a config file, reading and semantic, as (field path, message):
    /// each unknown field and wrong type (not only the first), then the semantic checks
    /// over what could be read (a key already reported is not reported again for having
    /// fallen back to its default). `None`: the file itself could not be read.
    pub fn problems_in(text: &str) -> (Option<CentralConfig>, Vec<(String, String)>) {
        let (config, read) = config_read::parse_all::<CentralConfig>(text);
        let mut problems: Vec<(String, String)> = read.into_iter().map(|p| (p.path, p.message)).collect();
        if let Some(config) = &config {
            let reported: Vec<String> = problems.iter().map(|p| p.0.clone()).collect();
            problems.extend(
                config.validate().into_iter().filter(|(path, _)| !reported.iter().any(|r| path.starts_with(r))),
            );
        }
        (config, problems)
    }

    pub fn load(path: &Path) -> anyhow::Result<CentralConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        CentralConfig::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Every semantic problem as (field path, message); empty when the config is usable.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut bad = Vec::new();
        let b = &self.broker;
        if !b.embedded && b.host.is_empty() {
            bad.push(("broker.host".into(), "must not be empty".into()));
        }
        if protocol::topics::check_id(&b.client_id).is_err() {
            bad.push(("broker.client_id".into(), "must be 1-64 letters, digits, '-' or '_'".into()));
        }
        if b.embedded && (b.username.is_some() || b.tls_ca_file.is_some()) {
            bad.push((
                "broker.embedded".into(),
                "the embedded broker is plain and unauthenticated: bind it to loopback, no username/tls".into(),
            ));
        }
        if b.keep_alive_s < 5 {
            bad.push(("broker.keep_alive_s".into(), "must be at least 5".into()));
        }
        match (self.store.kind, &self.store.path, &self.store.url) {
            (StoreKind::Sqlite, None, _) => bad.push(("store.path".into(), "required for kind = \"sqlite\"".into())),
            (StoreKind::Postgres, _, None) => bad.push(("store.url".into(), "required for kind = \"postgres\"".into())),
            (StoreKind::Sqlite, _, Some(_)) => bad.push(("store.url".into(), "only for kind = \"postgres\"".into())),
            (StoreKind::Postgres, Some(_), _) => bad.push(("store.path".into(), "only for kind = \"sqlite\"".into())),
            _ => {}
        }
        if !(1..=10_000).contains(&self.ingest.max_batch) {
            bad.push(("ingest.max_batch".into(), "must be within 1..=10000".into()));
        }
        if self.ingest.silent_after_s == 0 {
            bad.push(("ingest.silent_after_s".into(), "must be positive".into()));
        }
        self.forecast.validate(&mut bad);
        if let Some(signals) = &self.signals {
            signals.validate(&mut bad);
        }
        if let Some(auth) = &self.auth {
            auth.validate(&mut bad);
        }
        self.map.validate(&mut bad);
        self.export.validate(&mut bad);
        if let Some(police) = &self.police {
            police.validate(&mut bad);
        }
        bad
    }

    /// The forecast state file; a relative path is taken from `base`.
    pub fn forecast_state_file(&self, base: Option<&Path>) -> PathBuf {
        let p = &self.forecast.state_file;
        match base {
            Some(b) if p.is_relative() => b.join(p),
            _ => p.clone(),
        }
    }

    /// The dashboard's folder; a relative path is taken from `base`.
    pub fn dashboard_dir(&self, base: Option<&Path>) -> PathBuf {
        match (&self.http.dashboard_dir, base) {
            (Some(p), Some(b)) if p.is_relative() => b.join(p),
            (Some(p), _) => p.clone(),
            (None, _) => default_dashboard_dir(),
        }
    }

    /// The store to open; a relative SQLite path is taken from `base` (the config's folder).
    pub fn store_spec(&self, base: Option<&Path>) -> StoreSpec {
        match self.store.kind {
            StoreKind::Sqlite => {
                let p = self.store.path.clone().unwrap_or_else(|| "central.db".into());
                StoreSpec::Sqlite(match base {
                    Some(b) if p.is_relative() => b.join(p),
                    _ => p,
                })
            }
            StoreKind::Postgres => StoreSpec::Postgres(self.store.url.clone().unwrap_or_default()),
        }
    }
}

/// `[map]`: where cameras and junctions are drawn on the dashboard, and what the
/// open-data export says about each camera.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MapSettings {
    #[serde(default, rename = "camera")]
    pub cameras: Vec<Place>,
    #[serde(default, rename = "junction")]
    pub junctions: Vec<Place>,
    /// The IANA time zone the cameras are in ("Asia/Ho_Chi_Minh"); times stay UTC in the
    /// API and the export, this says how to read them locally.
    #[serde(default = "default_timezone")]
    pub timezone: String,
}

impl Default for MapSettings {
    fn default() -> Self {
        MapSettings { cameras: Vec::new(), junctions: Vec::new(), timezone: default_timezone() }
    }
}

fn default_timezone() -> String {
    "Asia/Ho_Chi_Minh".into()
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Place {
    pub id: String,
    /// What operators call it ("Nguyễn Văn Linh × Nguyễn Hữu Thọ").
    #[serde(default)]
    pub name: String,
    /// WGS 84 degrees.
    pub lat: f64,
    pub lon: f64,
    /// Cameras only: the road the camera watches ("Điện Biên Phủ").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub road: Option<String>,
    /// Cameras only: per counting line (by its name in the camera's geometry), what its
    /// `forward` and `backward` directions mean on the ground.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub lines: std::collections::BTreeMap<String, LineLabels>,
}

impl Place {
    /// The configured label of `direction` (`forward` or `backward`) on `line`, if any.
    pub fn direction_label(&self, line: &str, direction: &str) -> Option<&str> {
        let labels = self.lines.get(line)?;
        match direction {
            "forward" => labels.forward_label.as_deref(),
            "backward" => labels.backward_label.as_deref(),
            _ => None,
        }
    }
}

/// `[map.camera.lines.<line>]`: the directions of one counting line in words a reader of
/// the export understands ("northbound", "towards Bến Thành"); `forward`/`backward` are
/// only the sides of the line as drawn on the camera's picture.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LineLabels {
    #[serde(default)]
    pub forward_label: Option<String>,
    #[serde(default)]
    pub backward_label: Option<String>,
}

/// Most characters in a road name, a direction label or the publisher.
const MAX_LABEL_CHARS: usize = 200;

/// A problem with a free-text value people read (a road, a label), if any.
fn text_problem(value: &str) -> Option<String> {
    if value.trim().is_empty() {
        Some("must not be empty (leave the key out instead)".into())
    } else if value.chars().count() > MAX_LABEL_CHARS {
        Some(format!("longer than {MAX_LABEL_CHARS} characters"))
    } else if value.chars().any(char::is_control) {
        Some(format!("{value:?} holds a control character (a line break or a tab)"))
    } else {
        None
    }
}

/// An IANA zone name's shape: `UTC`, or `Area/Location[/More]` with each part starting
/// with a letter ("Asia/Ho_Chi_Minh", "America/Argentina/Buenos_Aires", "Etc/GMT+7").
fn looks_like_timezone(name: &str) -> bool {
    if name == "UTC" {
        return true;
    }
    let parts: Vec<&str> = name.split('/').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            p.starts_with(|c: char| c.is_ascii_alphabetic())
                && p.chars().all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))
        })
}

impl MapSettings {
    pub fn validate(&self, bad: &mut Vec<(String, String)>) {
        if self.timezone.trim().is_empty() {
            bad.push(("map.timezone".into(), "must not be empty (an IANA name, e.g. \"Asia/Ho_Chi_Minh\")".into()));
        } else if !looks_like_timezone(&self.timezone) {
            bad.push((
                "map.timezone".into(),
                format!(
                    "{:?} is not an IANA time zone name (Area/Location, e.g. \"Asia/Ho_Chi_Minh\", or \"UTC\")",
                    self.timezone
                ),
            ));
        }
        for (kind, places) in [("camera", &self.cameras), ("junction", &self.junctions)] {
            let mut seen = std::collections::HashSet::new();
            for (i, p) in places.iter().enumerate() {
                if protocol::topics::check_id(&p.id).is_err() {
                    bad.push((
                        format!("map.{kind}[{i}].id"),
                        format!("{:?} must be 1-64 letters, digits, '-' or '_'", p.id),
                    ));
                }
                if !seen.insert(p.id.as_str()) {
                    bad.push((format!("map.{kind}[{i}].id"), format!("{:?} is placed twice", p.id)));
                }
                if !(-90.0..=90.0).contains(&p.lat) {
                    bad.push((format!("map.{kind}[{i}].lat"), format!("{} is not a latitude (-90..=90)", p.lat)));
                }
                if !(-180.0..=180.0).contains(&p.lon) {
                    bad.push((format!("map.{kind}[{i}].lon"), format!("{} is not a longitude (-180..=180)", p.lon)));
                }
                if kind == "junction" {
                    if p.road.is_some() {
                        bad.push((format!("map.{kind}[{i}].road"), "only for cameras".into()));
                    }
                    if !p.lines.is_empty() {
                        bad.push((format!("map.{kind}[{i}].lines"), "only for cameras".into()));
                    }
                    continue;
                }
                if let Some(problem) = p.road.as_deref().and_then(text_problem) {
                    bad.push((format!("map.{kind}[{i}].road"), problem));
                }
                for (line, labels) in &p.lines {
                    let path = format!("map.{kind}[{i}].lines.{line}");
                    if line.trim().is_empty() || line.chars().any(char::is_control) {
                        bad.push((path.clone(), format!("{line:?} is not a counting line's name")));
                    }
                    let (forward, backward) = (labels.forward_label.as_deref(), labels.backward_label.as_deref());
                    if forward.is_none() && backward.is_none() {
                        bad.push((path.clone(), "set forward_label, backward_label or both".into()));
                    }
                    for (key, value) in [("forward_label", forward), ("backward_label", backward)] {
                        if let Some(problem) = value.and_then(text_problem) {
                            bad.push((format!("{path}.{key}"), problem));
                        }
                    }
                    if forward.is_some() && forward == backward {
                        bad.push((format!("{path}.backward_label"), "is the same as forward_label".into()));
                    }
                }
            }
        }
    }
}

/// `[export]`: what `GET /api/v1/export/counts` and its data package publish.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExportSettings {
    /// The data's licence, an Open Definition / SPDX identifier ("CC-BY-4.0", "ODbL-1.0").
    #[serde(default = "default_licence")]
    pub licence: String,
    /// Who publishes the data (the agency's name), named in the data package; "" = unnamed.
    #[serde(default)]
    pub publisher: String,
    /// Whether a caller without a session gets counts per vehicle class (true) or only
    /// all-vehicle totals per line and direction (false, the default: what the public
    /// congestion feed shows, nothing finer).
    #[serde(default)]
    pub public_classes: bool,
}

impl Default for ExportSettings {
    fn default() -> Self {
        ExportSettings { licence: default_licence(), publisher: String::new(), public_classes: false }
    }
}

fn default_licence() -> String {
    "CC-BY-4.0".into()
}

impl ExportSettings {
    pub fn validate(&self, bad: &mut Vec<(String, String)>) {
        let l = &self.licence;
        if l.is_empty() {
            bad.push(("export.licence".into(), "must not be empty (e.g. \"CC-BY-4.0\")".into()));
        } else if l.len() > 64 || !l.chars().all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c)) {
            bad.push((
                "export.licence".into(),
                format!("{l:?} is not a licence identifier (letters, digits, '.', '-', '+', e.g. \"CC-BY-4.0\")"),
            ));
        }
        if !self.publisher.is_empty()
            && let Some(problem) = text_problem(&self.publisher)
        {
            bad.push(("export.publisher".into(), problem));
        }
    }
}

/// Where the dashboard's files are: `[http] dashboard_dir`, else this crate's `web/`.
pub fn default_dashboard_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/web"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_defaults_and_names_bad_fields() {
        let c =
            CentralConfig::parse("[broker]\nembedded = true\n[store]\nkind = \"sqlite\"\npath = \"x.db\"\n").unwrap();
        assert!(c.validate().is_empty());
        assert_eq!(c.http.listen.port(), 8080);
        let err = CentralConfig::parse("[broker]\nembeded = true\n[store]\nkind = \"sqlite\"\n").unwrap_err();
        assert!(err.contains("embeded"), "{err}");
        let err = CentralConfig::parse("[broker]\n[store]\nkind = \"mysql\"\n").unwrap_err();
        assert!(err.starts_with("store.kind"), "{err}");
        let c = CentralConfig::parse("[broker]\nclient_id = \"a/b\"\n[store]\nkind = \"postgres\"\n").unwrap();
        let fields: Vec<String> = c.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["broker.client_id", "store.url"]);
        let c = CentralConfig::parse(
            "[broker]\n[store]\nkind = \"sqlite\"\npath = \"x.db\"\n[forecast]\n\
            step_s = 420\n[forecast.pcu]\ncar = 1\nmotorcycle = -0.3\nbicycle = 0.2\nbus = 2\ntruck = 2\n\
                [[forecast.approach]]\ncamera = \"c1\"\nline = \"main\"\ncapacity_pcu_per_hour = 0\n\
                    neighbours = [\"c2/main\"]\n",
        )
        .unwrap();
        let fields: Vec<String> = c.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "forecast.step_s",
                "forecast.pcu.motorcycle",
                "forecast.approach[0].capacity_pcu_per_hour",
                "forecast.approach[0].neighbours"
            ]
        );
        let err = CentralConfig::parse("[broker]\n[store]\nkind = \"sqlite\"\n[forecast]\nalert_level = \"G\"\n")
            .unwrap_err();
        assert!(err.starts_with("forecast.alert_level"), "{err}");
        let c = CentralConfig::parse(
            "[broker]\n[store]\nkind = \"sqlite\"\npath = \"x.db\"\n[signals]\n\
            junctions = []\nsigning_key_file = \"k\"\nkey_id = \"a b\"\nheartbeat_s = 900\n[[signals.corridor]]\n\
                junctions = [\"j1\", \"j2\"]\ntravel_s = []\n",
        )
        .unwrap();
        let fields: Vec<String> = c.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["signals.junctions", "signals.key_id", "signals.heartbeat_s", "signals.corridor[0]"]);
    }

    #[test]
    fn map_labels_timezone_and_export_are_read_and_checked_with_their_paths() {
        let base = "[broker]\n[store]\nkind = \"sqlite\"\npath = \"x.db\"\n";
        let c = CentralConfig::parse(base).unwrap();
        assert_eq!(c.map.timezone, "Asia/Ho_Chi_Minh");
        assert_eq!(
            c.export,
            ExportSettings { licence: "CC-BY-4.0".into(), publisher: "".into(), public_classes: false }
        );
        let good = format!(
            "{base}[map]\ntimezone = \"UTC\"\n[[map.camera]]\nid = \"cam-1\"\nname = \"n\"\nlat = 10.77\n\
                lon = 106.70\nroad = \"Điện Biên Phủ\"\n[map.camera.lines.stopline]\nforward_label = \"northbound\"\n\
                backward_label = \"towards Bến Thành\"\n[export]\nlicence = \"ODbL-1.0\"\npublisher = \"HCMC DOT\"\n\
                public_classes = true\n"
        );
        let c = CentralConfig::parse(&good).unwrap();
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        let cam = &c.map.cameras[0];
        assert_eq!(cam.road.as_deref(), Some("Điện Biên Phủ"));
        assert_eq!(cam.direction_label("stopline", "backward"), Some("towards Bến Thành"));
        assert_eq!(cam.direction_label("other", "forward"), None);
        assert!(c.export.public_classes);
        let err = CentralConfig::parse(&format!("{base}[export]\nlicense = \"x\"\n")).unwrap_err();
        assert!(err.starts_with("export"), "{err}");
        let err = CentralConfig::parse(&format!(
            "{base}[[map.camera]]\nid = \"a\"\nlat = 1\nlon = 1\n\
            [map.camera.lines.main]\nforward = \"n\"\n"
        ))
        .unwrap_err();
        assert!(err.contains("forward"), "{err}");
        let bad = format!(
            "{base}[map]\ntimezone = \"Saigon\"\n[[map.camera]]\nid = \"a\"\nlat = 1.0\nlon = 1.0\nroad = \" \"\n\
                [map.camera.lines.main]\n[map.camera.lines.side]\nforward_label = \"up\"\nbackward_label = \"up\"\n\
                [[map.junction]]\nid = \"j\"\nlat = 1.0\nlon = 1.0\nroad = \"r\"\n\
                [export]\nlicence = \"CC BY\"\npublisher = \"a\\nb\"\n"
        );
        let c = CentralConfig::parse(&bad).unwrap();
        let fields: Vec<String> = c.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "map.timezone",
                "map.camera[0].road",
                "map.camera[0].lines.main",
                "map.camera[0].lines.side.backward_label",
                "map.junction[0].road",
                "export.licence",
                "export.publisher"
            ]
        );
        let c = CentralConfig::parse(&format!("{base}[map]\ntimezone = \"\"\n")).unwrap();
        assert_eq!(c.validate()[0].0, "map.timezone");
    }
}
