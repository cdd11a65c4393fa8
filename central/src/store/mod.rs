//! Storage of accepted intervals and per-camera state behind one trait, with SQLite (the
//! embedded default: one file) and PostgreSQL (production) implementations.
//!
//! Invariants every implementation keeps:
//! - (agent_id, epoch, seq) is the primary key: storing a report twice keeps the first
//!   copy and says `Duplicate`, so at-least-once delivery becomes exactly-once storage.
//! - `insert_batch` is one transaction, durable (fsynced) when it returns `Ok`; central
//!   acknowledges a message to the broker and the agent only after that.
//! - A camera's `last_seen_ms` never goes backwards.
//! - Camera config versions: see `configs` (numbered per camera, saved with their audit
//!   entry in one transaction, never rewritten but for the agent's answer).

pub mod configs;
mod postgres;
mod sqlite;

use std::collections::BTreeMap;
use std::path::PathBuf;

use protocol::IntervalCounts;
use serde::Serialize;

pub use self::configs::{AckUpdate, ConfigVersion, ConfigVersions, NewConfig};
pub use self::postgres::PostgresStore;
pub use self::sqlite::SqliteStore;

/// One stored interval report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredInterval {
    pub agent_id: String,
    pub epoch: u64,
    pub seq: u64,
    pub camera_id: String,
    pub model_id: String,
    pub model_sha256: String,
    /// When central received it (ms since the Unix epoch).
    pub received_ms: i64,
    #[serde(flatten)]
    pub interval: IntervalCounts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New,
    Duplicate,
}

/// The latest status heartbeat (or last will) of a camera's agent.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub camera_id: String,
    pub agent_id: String,
    pub state: String,
    pub fps: f64,
    pub coverage: f64,
    pub outbox_depth: u64,
    pub dropped: u64,
    pub at_ms: i64,
    /// What the box runs, for the fleet view (each absent in a 1.0 status).
    pub box_profile: Option<String>,
    pub model_id: Option<String>,
    pub calibration: Option<protocol::messages::CalibrationInfo>,
}

/// What central knows about one camera.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraRow {
    pub camera_id: String,
    pub agent_id: String,
    /// Last state the agent reported: online, degraded or offline ("unknown" before any).
    pub state: String,
    pub last_seen_ms: i64,
    pub fps: f64,
    pub coverage: f64,
    pub outbox_depth: u64,
    pub dropped: u64,
    pub intervals: u64,
    pub last_interval_end_ms: Option<i64>,
    /// From its latest status (absent before one, or from a 1.0 agent).
    pub box_profile: Option<String>,
    pub model_id: Option<String>,
    pub calibration: Option<protocol::messages::CalibrationInfo>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] ::postgres::Error),
    #[error("stored counts unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
    /// Another writer changed the same thing at the same moment; nothing was written.
    #[error("{0}")]
    Conflict(String),
}

pub trait Store: Send {
    /// Stores a batch in one durable transaction; one outcome per report, in order.
    fn insert_batch(&mut self, batch: &[StoredInterval]) -> Result<Vec<Inserted>, StoreError>;
    fn record_status(&mut self, status: &StatusUpdate) -> Result<(), StoreError>;
    fn cameras(&mut self) -> Result<Vec<CameraRow>, StoreError>;
    /// Intervals of one camera that overlap `[from_ms, to_ms)`, by start time, at most
    /// `limit` of them.
    fn counts(
        &mut self,
        camera: &str,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<StoredInterval>, StoreError>;
    /// The start of the camera's first stored interval: where its record begins (before
    /// it, nothing was missed). `None`: it has never reported an interval.
    fn first_interval_ms(&mut self, camera: &str) -> Result<Option<i64>, StoreError>;
    fn ping(&mut self) -> Result<(), StoreError>;
    /// Appends to the audit log, durably (an operator action is refused when this fails).
    fn append_audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// The newest `limit` audit entries, newest first.
    fn audit(&mut self, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
    /// Saves `config` as its camera's next version and `audit(version)` with it, in one
    /// durable transaction; returns the version.
    fn save_config(&mut self, config: &NewConfig, audit: &dyn Fn(u64) -> AuditEntry) -> Result<u64, StoreError>;
    /// A camera's newest `limit` versions, newest first.
    fn config_history(&mut self, camera: &str, limit: usize) -> Result<Vec<ConfigVersion>, StoreError>;
    /// One version's geometry (JSON), if saved.
    fn config_geometry(&mut self, camera: &str, version: u64) -> Result<Option<String>, StoreError>;
    /// Latest saved and running version of every camera that has either.
    fn config_versions(&mut self) -> Result<BTreeMap<String, ConfigVersions>, StoreError>;
    /// Records an agent's answer (see `AckUpdate::from_ack`).
    fn record_config_ack(&mut self, ack: &AckUpdate) -> Result<(), StoreError>;
}

/// One operator action: a login, an override, an acknowledgement. Append-only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Assigned by the store (0 before it is stored).
    pub id: i64,
    pub at_ms: i64,
    /// The user, `override-token` for the machine token, or `anonymous` without `[auth]`.
    pub actor: String,
    pub role: String,
    /// `login`, `login_failed`, `logout`, `override`, `override_cancel`, `alert_ack`,
    /// `config_save`, `config_rollback`.
    pub action: String,
    /// What it acted on: a junction, an alert id, a user name, a camera.
    pub target: String,
    /// `accepted`, or why it was refused.
    pub outcome: String,
    /// Request details as JSON text (e.g. the greens asked for).
    pub detail: String,
}

/// Where the store lives; `open` gives a new connection (the writer and the API each
/// hold their own).
#[derive(Debug, Clone, PartialEq)]
pub enum StoreSpec {
    Sqlite(PathBuf),
    /// A libpq-style connection string, e.g. `host=127.0.0.1 port=5432 user=tac dbname=tac`.
    Postgres(String),
}

impl StoreSpec {
    pub fn open(&self) -> Result<Box<dyn Store>, StoreError> {
        Ok(match self {
            StoreSpec::Sqlite(path) => Box::new(SqliteStore::open(path)?),
            StoreSpec::Postgres(url) => Box::new(PostgresStore::connect(url)?),
        })
    }
}

/// The schema shared by both backends (types spelled so both accept them).
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS intervals (
    agent_id TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    camera_id TEXT NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    coverage DOUBLE PRECISION NOT NULL,
    fps DOUBLE PRECISION NOT NULL,
    frames BIGINT NOT NULL,
    model_id TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    counts TEXT NOT NULL,
    PRIMARY KEY (agent_id, epoch, seq)
);
CREATE INDEX IF NOT EXISTS intervals_by_camera ON intervals (camera_id, start_ms);
CREATE TABLE IF NOT EXISTS cameras (
    camera_id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    state TEXT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    fps DOUBLE PRECISION NOT NULL,
    coverage DOUBLE PRECISION NOT NULL,
    outbox_depth BIGINT NOT NULL,
    dropped BIGINT NOT NULL,
    intervals BIGINT NOT NULL,
    last_interval_end_ms BIGINT
);
CREATE TABLE IF NOT EXISTS camera_details (
    camera_id TEXT PRIMARY KEY,
    box_profile TEXT,
    model_id TEXT,
    calibration TEXT,
    updated_ms BIGINT NOT NULL
);
";

// The statements both backends run, in SQL both accept: `$n` parameters (positional in
// SQLite too, as they appear in order) and CASE instead of max()/GREATEST().

pub(crate) const INSERT_AUDIT: &str =
    "INSERT INTO audit (at_ms, actor, role, action, target, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(crate) const SELECT_AUDIT: &str =
    "SELECT id, at_ms, actor, role, action, target, outcome, detail FROM audit ORDER BY id DESC LIMIT $1";
const AUDIT_COLUMNS: &str = "at_ms BIGINT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL";

/// The audit table: the id column is spelled per backend.
pub(crate) fn audit_schema(id_column: &str) -> String {
    format!("CREATE TABLE IF NOT EXISTS audit ({id_column}, {AUDIT_COLUMNS});")
}

pub(crate) const INSERT_INTERVAL: &str = "INSERT INTO intervals (agent_id, epoch, seq, camera_id, start_ms, end_ms, \
    coverage, fps, frames, model_id, model_sha256, received_ms, counts)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING";

/// After a newly stored interval: last seen never goes back, the interval count grows.
pub(crate) const CAMERA_AFTER_INTERVAL: &str = "INSERT INTO cameras (camera_id, agent_id, state, last_seen_ms, fps, \
    coverage, outbox_depth, dropped, intervals, last_interval_end_ms)
     VALUES ($1, $2, 'unknown', $3, $4, $5, 0, 0, 1, $6)
     ON CONFLICT (camera_id) DO UPDATE SET agent_id = excluded.agent_id,
        last_seen_ms = CASE WHEN excluded.last_seen_ms > cameras.last_seen_ms THEN excluded.last_seen_ms ELSE \
            cameras.last_seen_ms END,
        intervals = cameras.intervals + 1,
        last_interval_end_ms = CASE WHEN cameras.last_interval_end_ms IS NULL OR excluded.last_interval_end_ms > \
            cameras.last_interval_end_ms
            THEN excluded.last_interval_end_ms ELSE cameras.last_interval_end_ms END";

pub(crate) const CAMERA_STATUS: &str = "INSERT INTO cameras (camera_id, agent_id, state, last_seen_ms, fps, coverage, \
    outbox_depth, dropped, intervals, last_interval_end_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, NULL)
     ON CONFLICT (camera_id) DO UPDATE SET agent_id = excluded.agent_id, state = excluded.state,
        last_seen_ms = CASE WHEN excluded.last_seen_ms > cameras.last_seen_ms THEN excluded.last_seen_ms ELSE \
            cameras.last_seen_ms END,
        fps = excluded.fps, coverage = excluded.coverage, outbox_depth = excluded.outbox_depth, dropped = \
            excluded.dropped";

/// What the box runs, from its latest status (a table of its own: the cameras table of a
/// database made before it stays as it was).
pub(crate) const CAMERA_DETAILS: &str = "INSERT INTO camera_details (camera_id, box_profile, model_id, calibration, \
    updated_ms) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (camera_id) DO UPDATE SET box_profile = excluded.box_profile, model_id = excluded.model_id,
        calibration = excluded.calibration, updated_ms = excluded.updated_ms
     WHERE excluded.updated_ms >= camera_details.updated_ms";

pub(crate) const SELECT_CAMERAS: &str = "SELECT c.camera_id, c.agent_id, c.state, c.last_seen_ms, c.fps, c.coverage, \
    c.outbox_depth, c.dropped, c.intervals, c.last_interval_end_ms, d.box_profile, d.model_id, d.calibration
     FROM cameras c LEFT JOIN camera_details d ON d.camera_id = c.camera_id ORDER BY c.camera_id";

/// `calibration` as stored (JSON text), back; an unreadable one reads as absent.
pub(crate) fn calibration_from(json: Option<String>) -> Option<protocol::messages::CalibrationInfo> {
    json.and_then(|j| serde_json::from_str(&j).ok())
}

/// `calibration` as stored.
pub(crate) fn calibration_json(s: &StatusUpdate) -> Option<String> {
    s.calibration.map(|c| serde_json::to_string(&c).expect("serialisable"))
}

/// Served by the `(camera_id, start_ms)` index.
pub(crate) const SELECT_FIRST_INTERVAL: &str = "SELECT MIN(start_ms) FROM intervals WHERE camera_id = $1";

pub(crate) const SELECT_COUNTS: &str = "SELECT agent_id, epoch, seq, camera_id, start_ms, end_ms, coverage, fps, \
    frames, model_id, model_sha256, received_ms, counts
     FROM intervals WHERE camera_id = $1 AND end_ms > $2 AND start_ms < $3 ORDER BY start_ms, agent_id, epoch, seq \
         LIMIT $4";

/// The JSON kept in `intervals.counts`: lines, zones and movements, and the line speeds
/// of a calibrated camera (absent otherwise, and in rows stored before 1.1).
pub(crate) fn counts_json(i: &IntervalCounts) -> String {
    let mut json = serde_json::json!({ "lines": i.lines, "zones": i.zones, "movements": i.movements });
    if !i.speeds.is_empty() {
        json["speeds"] = serde_json::json!(i.speeds);
    }
    json.to_string()
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn interval_from_row(
    agent_id: String,
    epoch: i64,
    seq: i64,
    camera_id: String,
    start_ms: i64,
    end_ms: i64,
    coverage: f64,
    fps: f64,
    frames: i64,
    model_id: String,
    model_sha256: String,
    received_ms: i64,
    counts: &str,
) -> Result<StoredInterval, StoreError> {
    #[derive(serde::Deserialize)]
    struct Parts {
        lines: std::collections::BTreeMap<String, protocol::DirectionCounts>,
        zones: std::collections::BTreeMap<String, protocol::ZoneStats>,
        movements: Vec<protocol::MovementCount>,
        #[serde(default)]
        speeds: std::collections::BTreeMap<String, protocol::LineSpeeds>,
    }
    let p: Parts = serde_json::from_str(counts)?;
    Ok(StoredInterval {
        agent_id,
        epoch: epoch as u64,
        seq: seq as u64,
        camera_id,
        model_id,
        model_sha256,
        received_ms,
        interval: IntervalCounts {
            start_ms,
            end_ms,
            coverage,
            fps,
            frames: frames as u64,
            lines: p.lines,
            zones: p.zones,
            movements: p.movements,
            speeds: p.speeds,
        },
    })
}
