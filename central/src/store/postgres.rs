//! PostgreSQL store (production): same schema and semantics as SQLite. A batch is one
//! transaction; PostgreSQL's default `synchronous_commit = on` makes the commit durable
//! before it returns.

use std::collections::BTreeMap;

use postgres::{Client, NoTls};

use super::configs::{self, AckUpdate, ConfigVersion, ConfigVersions, NewConfig};
use super::{
    AuditEntry, CAMERA_AFTER_INTERVAL, CAMERA_STATUS, CameraRow, INSERT_AUDIT, INSERT_INTERVAL, Inserted, SCHEMA,
    SELECT_AUDIT, SELECT_CAMERAS, SELECT_COUNTS, SELECT_FIRST_INTERVAL, StatusUpdate, Store, StoreError,
    StoredInterval, counts_json, interval_from_row,
};

pub struct PostgresStore {
    client: Client,
}

impl PostgresStore {
    pub fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let mut client = Client::connect(url, NoTls)?;
        client.batch_execute(SCHEMA)?;
        client.batch_execute(&super::audit_schema("id BIGSERIAL PRIMARY KEY"))?;
        client.batch_execute(configs::SCHEMA)?;
        Ok(PostgresStore { client })
    }
}

impl Store for PostgresStore {
    fn insert_batch(&mut self, batch: &[StoredInterval]) -> Result<Vec<Inserted>, StoreError> {
        let mut tx = self.client.transaction()?;
        let insert = tx.prepare(INSERT_INTERVAL)?;
        let camera = tx.prepare(CAMERA_AFTER_INTERVAL)?;
        let mut out = Vec::with_capacity(batch.len());
        for r in batch {
            let i = &r.interval;
            let n = tx.execute(
                &insert,
                &[
                    &r.agent_id,
                    &(r.epoch as i64),
                    &(r.seq as i64),
                    &r.camera_id,
                    &i.start_ms,
                    &i.end_ms,
                    &i.coverage,
                    &i.fps,
                    &(i.frames as i64),
                    &r.model_id,
                    &r.model_sha256,
                    &r.received_ms,
                    &counts_json(i),
                ],
            )?;
            if n == 1 {
                tx.execute(&camera, &[&r.camera_id, &r.agent_id, &r.received_ms, &i.fps, &i.coverage, &i.end_ms])?;
            }
            out.push(if n == 1 { Inserted::New } else { Inserted::Duplicate });
        }
        tx.commit()?;
        Ok(out)
    }

    fn record_status(&mut self, s: &StatusUpdate) -> Result<(), StoreError> {
        self.client.execute(
            CAMERA_STATUS,
            &[
                &s.camera_id,
                &s.agent_id,
                &s.state,
                &s.at_ms,
                &s.fps,
                &s.coverage,
                &(s.outbox_depth as i64),
                &(s.dropped as i64),
            ],
        )?;
        self.client.execute(
            super::CAMERA_DETAILS,
            &[&s.camera_id, &s.box_profile, &s.model_id, &super::calibration_json(s), &s.at_ms],
        )?;
        Ok(())
    }

    fn cameras(&mut self) -> Result<Vec<CameraRow>, StoreError> {
        let rows = self.client.query(SELECT_CAMERAS, &[])?;
        Ok(rows
            .iter()
            .map(|r| CameraRow {
                camera_id: r.get(0),
                agent_id: r.get(1),
                state: r.get(2),
                last_seen_ms: r.get(3),
                fps: r.get(4),
                coverage: r.get(5),
                outbox_depth: r.get::<_, i64>(6) as u64,
                dropped: r.get::<_, i64>(7) as u64,
                intervals: r.get::<_, i64>(8) as u64,
                last_interval_end_ms: r.get(9),
                box_profile: r.get(10),
                model_id: r.get(11),
                calibration: super::calibration_from(r.get(12)),
            })
            .collect())
    }

    fn first_interval_ms(&mut self, camera: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.client.query_one(SELECT_FIRST_INTERVAL, &[&camera])?.get(0))
    }

    fn counts(
        &mut self,
        camera: &str,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<StoredInterval>, StoreError> {
        let rows = self.client.query(SELECT_COUNTS, &[&camera, &from_ms, &to_ms, &(limit as i64)])?;
        rows.iter()
            .map(|r| {
                interval_from_row(
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                    r.get(7),
                    r.get(8),
                    r.get(9),
                    r.get(10),
                    r.get(11),
                    r.get::<_, &str>(12),
                )
            })
            .collect()
    }

    fn append_audit(&mut self, e: &AuditEntry) -> Result<(), StoreError> {
        self.client
            .execute(INSERT_AUDIT, &[&e.at_ms, &e.actor, &e.role, &e.action, &e.target, &e.outcome, &e.detail])?;
        Ok(())
    }

    fn audit(&mut self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = self.client.query(SELECT_AUDIT, &[&(limit as i64)])?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                id: r.get(0),
                at_ms: r.get(1),
                actor: r.get(2),
                role: r.get(3),
                action: r.get(4),
                target: r.get(5),
                outcome: r.get(6),
                detail: r.get(7),
            })
            .collect())
    }

    fn ping(&mut self) -> Result<(), StoreError> {
        self.client.simple_query("SELECT 1")?;
        Ok(())
    }

    fn save_config(&mut self, c: &NewConfig, audit: &dyn Fn(u64) -> AuditEntry) -> Result<u64, StoreError> {
        let mut tx = self.client.transaction()?;
        let version: i64 = tx.query_one(configs::NEXT_VERSION, &[&c.camera_id])?.get(0);
        let rollback_of = c.rollback_of.map(|v| v as i64);
        // Two centrals saving one camera at once both read the same next version; the
        // second insert breaks the primary key and its whole transaction (audit included)
        // is dropped: a conflict the operator resolves by reloading, not an outage.
        let inserted =
            tx.execute(configs::INSERT, &[&c.camera_id, &version, &c.geometry, &c.author, &c.created_ms, &rollback_of]);
        if let Err(e) = &inserted
            && e.code() == Some(&::postgres::error::SqlState::UNIQUE_VIOLATION)
        {
            return Err(StoreError::Conflict(format!(
                "camera {}: version {version} was saved by someone else at the same moment; reload and save again",
                c.camera_id
            )));
        }
        inserted?;
        let e = audit(version as u64);
        tx.execute(INSERT_AUDIT, &[&e.at_ms, &e.actor, &e.role, &e.action, &e.target, &e.outcome, &e.detail])?;
        tx.commit()?;
        Ok(version as u64)
    }

    fn config_history(&mut self, camera: &str, limit: usize) -> Result<Vec<ConfigVersion>, StoreError> {
        let rows = self.client.query(configs::SELECT_HISTORY, &[&camera, &(limit as i64)])?;
        rows.iter()
            .map(|r| {
                Ok(ConfigVersion {
                    version: r.get::<_, i64>(0) as u64,
                    geometry: r.get(1),
                    author: r.get(2),
                    created_ms: r.get(3),
                    state: r.get(4),
                    problems: serde_json::from_str(r.get::<_, &str>(5))?,
                    acked_ms: r.get(6),
                    rollback_of: r.get::<_, Option<i64>>(7).map(|v| v as u64),
                })
            })
            .collect()
    }

    fn config_geometry(&mut self, camera: &str, version: u64) -> Result<Option<String>, StoreError> {
        let row = self.client.query_opt(configs::SELECT_GEOMETRY, &[&camera, &(version as i64)])?;
        Ok(row.map(|r| r.get(0)))
    }

    fn config_versions(&mut self) -> Result<BTreeMap<String, ConfigVersions>, StoreError> {
        let rows = self.client.query(configs::SELECT_VERSIONS, &[])?;
        Ok(rows
            .iter()
            .map(|r| {
                let versions = ConfigVersions { latest: r.get::<_, i64>(1) as u64, running: r.get::<_, i64>(2) as u64 };
                (r.get(0), versions)
            })
            .collect())
    }

    fn record_config_ack(&mut self, a: &AckUpdate) -> Result<(), StoreError> {
        let mut tx = self.client.transaction()?;
        if let Some((state, problems)) = &a.state {
            tx.execute(configs::ACK_STATE, &[state, problems, &a.acked_ms, &a.camera_id, &(a.version as i64)])?;
        }
        tx.execute(configs::ACK_RUNNING, &[&a.camera_id, &(a.running_version as i64), &a.acked_ms])?;
        tx.commit()?;
        Ok(())
    }
}
