//! Camera geometry versions pushed to agents (`camera_configs`) and the version each agent
//! says it runs (`camera_config_running`): the rows, and the SQL both backends run.
//!
//! Invariants:
//! - (camera_id, version) is the primary key; versions of a camera are 1, 2, 3… in the
//!   order they were saved, assigned inside the saving transaction (max + 1). A row's
//!   geometry, author and creation time never change; only the agent's answer (state,
//!   problems, acked_ms) is written afterwards.
//! - A rollback is a new version with an old version's geometry (`rollback_of` names it):
//!   agents refuse a version not newer than the one they run.
//! - Saving a version and its audit entry is one transaction: no version without its
//!   audit entry, no audit entry for a version that was not saved.
//! - Who writes what: the HTTP API's store connection inserts versions (its mutex makes
//!   them one at a time); the store writer thread records agents' acks. Neither writes
//!   the other's columns.
//!
//! `geometry` and `problems` are JSON text (`protocol::camera_config::Geometry`, and a
//! list of `Problem`).

use protocol::camera_config::{ConfigAck, ConfigOutcome};
use serde::Serialize;

/// A version to save: the next one of `camera_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConfig {
    pub camera_id: String,
    /// `Geometry` as JSON.
    pub geometry: String,
    pub author: String,
    pub created_ms: i64,
    /// The version whose geometry this repeats (a rollback).
    pub rollback_of: Option<u64>,
}

/// One saved version and what its agent answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigVersion {
    pub version: u64,
    /// `Geometry` as JSON (not serialised: the API shows it parsed, for the latest only).
    #[serde(skip)]
    pub geometry: String,
    pub author: String,
    pub created_ms: i64,
    /// `pending` (no answer yet), `accepted` (valid; in place at the next interval
    /// boundary), `applied` or `rejected`.
    pub state: String,
    /// Why the agent refused it, each with its field path (`[]` unless rejected).
    pub problems: serde_json::Value,
    pub acked_ms: Option<i64>,
    pub rollback_of: Option<u64>,
}

/// The newest saved and the running version of one camera (0: none saved / the agent's
/// file config or no answer yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ConfigVersions {
    pub latest: u64,
    pub running: u64,
}

/// What an agent's ack changes: its version's state (`None`: leave it) and the camera's
/// running version.
#[derive(Debug, Clone, PartialEq)]
pub struct AckUpdate {
    pub camera_id: String,
    pub version: u64,
    /// `applied` or `rejected` with the problems as JSON; `None` leaves the version as it is.
    pub state: Option<(&'static str, String)>,
    pub running_version: u64,
    pub acked_ms: i64,
}

impl AckUpdate {
    /// An `Accepted` ack marks a pending version accepted (never an answered one: the
    /// store's update only moves `pending` to `accepted`). An `Applied` ack marks its
    /// version applied. A `Rejected` one marks it rejected,
    /// unless the agent already runs that version or a newer one: then the refusal says
    /// "not newer" (a retained push seen again after a restart, or a late one), which
    /// says nothing against the version itself.
    pub fn from_ack(ack: &ConfigAck, acked_ms: i64) -> AckUpdate {
        let state = match ack.outcome {
            ConfigOutcome::Accepted => Some(("accepted", "[]".to_string())),
            ConfigOutcome::Applied => Some(("applied", "[]".to_string())),
            ConfigOutcome::Rejected if ack.running_version >= ack.version => None,
            ConfigOutcome::Rejected => {
                Some(("rejected", serde_json::to_string(&ack.problems).unwrap_or_else(|_| "[]".into())))
            }
        };
        AckUpdate {
            camera_id: ack.camera_id.clone(),
            version: ack.version,
            state,
            running_version: ack.running_version,
            acked_ms,
        }
    }
}

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS camera_configs (
    camera_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    geometry TEXT NOT NULL,
    author TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    state TEXT NOT NULL,
    problems TEXT NOT NULL,
    acked_ms BIGINT,
    rollback_of BIGINT,
    PRIMARY KEY (camera_id, version)
);
CREATE TABLE IF NOT EXISTS camera_config_running (
    camera_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    acked_ms BIGINT NOT NULL
);
";

pub(crate) const NEXT_VERSION: &str = "SELECT COALESCE(MAX(version), 0) + 1 FROM camera_configs WHERE camera_id = $1";

pub(crate) const INSERT: &str = "INSERT INTO camera_configs (camera_id, version, geometry, author, created_ms, \
    state, problems, acked_ms, rollback_of) VALUES ($1, $2, $3, $4, $5, 'pending', '[]', NULL, $6)";

pub(crate) const SELECT_HISTORY: &str = "SELECT version, geometry, author, created_ms, state, problems, acked_ms, \
    rollback_of FROM camera_configs WHERE camera_id = $1 ORDER BY version DESC LIMIT $2";

pub(crate) const SELECT_GEOMETRY: &str = "SELECT geometry FROM camera_configs WHERE camera_id = $1 AND version = $2";

/// A late `accepted` never overwrites `applied` or `rejected`.
pub(crate) const ACK_STATE: &str = "UPDATE camera_configs SET state = $1, problems = $2, acked_ms = $3 \
    WHERE camera_id = $4 AND version = $5 AND (state = 'pending' OR $1 <> 'accepted')";

pub(crate) const ACK_RUNNING: &str = "INSERT INTO camera_config_running (camera_id, version, acked_ms) \
    VALUES ($1, $2, $3) ON CONFLICT (camera_id) DO UPDATE SET version = excluded.version, acked_ms = excluded.acked_ms";

/// Every camera with a saved version or an answer: (camera, latest, running).
pub(crate) const SELECT_VERSIONS: &str = "SELECT c.camera_id, COALESCE(MAX(v.version), 0), COALESCE(MAX(r.version), 0)
     FROM (SELECT camera_id FROM camera_configs UNION SELECT camera_id FROM camera_config_running) c
     LEFT JOIN camera_configs v ON v.camera_id = c.camera_id
     LEFT JOIN camera_config_running r ON r.camera_id = c.camera_id
     GROUP BY c.camera_id ORDER BY c.camera_id";

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::camera_config::Problem;

    fn ack(version: u64, outcome: ConfigOutcome, running_version: u64) -> ConfigAck {
        let problems = match outcome {
            ConfigOutcome::Accepted | ConfigOutcome::Applied => vec![],
            ConfigOutcome::Rejected => vec![Problem { path: "lines[0].b".into(), message: "short".into() }],
        };
        ConfigAck { camera_id: "c".into(), version, outcome, problems, running_version }
    }

    #[test]
    fn an_ack_sets_its_versions_state_unless_it_only_says_not_newer() {
        let accepted = AckUpdate::from_ack(&ack(2, ConfigOutcome::Accepted, 1), 6);
        assert_eq!((accepted.state, accepted.running_version), (Some(("accepted", "[]".into())), 1));
        let applied = AckUpdate::from_ack(&ack(2, ConfigOutcome::Applied, 2), 7);
        assert_eq!((applied.state, applied.running_version, applied.acked_ms), (Some(("applied", "[]".into())), 2, 7));
        let refused = AckUpdate::from_ack(&ack(3, ConfigOutcome::Rejected, 2), 8);
        let (state, problems) = refused.state.unwrap();
        assert_eq!(state, "rejected");
        assert!(problems.contains("lines[0].b"), "{problems}");
        assert_eq!(refused.running_version, 2);
        // Seen again after the agent applied it (or a newer one): the version stays as it was.
        assert_eq!(AckUpdate::from_ack(&ack(2, ConfigOutcome::Rejected, 2), 9).state, None);
        assert_eq!(AckUpdate::from_ack(&ack(2, ConfigOutcome::Rejected, 5), 9).state, None);
    }
}
