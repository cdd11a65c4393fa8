//! SQLite store: one file, WAL journal with `synchronous = FULL` so a committed batch
//! is on disk before central acknowledges it. The API reads through its own
//! connection; WAL lets it read while the writer writes.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::configs::{self, AckUpdate, ConfigVersion, ConfigVersions, NewConfig};
use super::{
    AuditEntry, CAMERA_AFTER_INTERVAL, CAMERA_STATUS, CameraRow, INSERT_AUDIT, INSERT_INTERVAL, Inserted, SCHEMA,
    SELECT_AUDIT, SELECT_CAMERAS, SELECT_COUNTS, SELECT_FIRST_INTERVAL, StatusUpdate, Store, StoreError,
    StoredInterval, counts_json, interval_from_row,
};

pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(&super::audit_schema("id INTEGER PRIMARY KEY AUTOINCREMENT"))?;
        conn.execute_batch(configs::SCHEMA)?;
        Ok(SqliteStore { conn })
    }
}

impl Store for SqliteStore {
    fn insert_batch(&mut self, batch: &[StoredInterval]) -> Result<Vec<Inserted>, StoreError> {
        let tx = self.conn.transaction()?;
        let mut out = Vec::with_capacity(batch.len());
        {
            let mut insert = tx.prepare_cached(INSERT_INTERVAL)?;
            let mut camera = tx.prepare_cached(CAMERA_AFTER_INTERVAL)?;
            for r in batch {
                let i = &r.interval;
                let n = insert.execute(params![
                    r.agent_id,
                    r.epoch as i64,
                    r.seq as i64,
                    r.camera_id,
                    i.start_ms,
                    i.end_ms,
                    i.coverage,
                    i.fps,
                    i.frames as i64,
                    r.model_id,
                    r.model_sha256,
                    r.received_ms,
                    counts_json(i)
                ])?;
                if n == 1 {
                    camera.execute(params![r.camera_id, r.agent_id, r.received_ms, i.fps, i.coverage, i.end_ms])?;
                }
                out.push(if n == 1 { Inserted::New } else { Inserted::Duplicate });
            }
        }
        tx.commit()?;
        Ok(out)
    }

    fn record_status(&mut self, s: &StatusUpdate) -> Result<(), StoreError> {
        self.conn.execute(
            CAMERA_STATUS,
            params![
                s.camera_id,
                s.agent_id,
                s.state,
                s.at_ms,
                s.fps,
                s.coverage,
                s.outbox_depth as i64,
                s.dropped as i64
            ],
        )?;
        self.conn.execute(
            super::CAMERA_DETAILS,
            params![s.camera_id, s.box_profile, s.model_id, super::calibration_json(s), s.at_ms],
        )?;
        Ok(())
    }

    fn cameras(&mut self) -> Result<Vec<CameraRow>, StoreError> {
        let mut q = self.conn.prepare_cached(SELECT_CAMERAS)?;
        let rows = q.query_map([], |r| {
            Ok(CameraRow {
                camera_id: r.get(0)?,
                agent_id: r.get(1)?,
                state: r.get(2)?,
                last_seen_ms: r.get(3)?,
                fps: r.get(4)?,
                coverage: r.get(5)?,
                outbox_depth: r.get::<_, i64>(6)? as u64,
                dropped: r.get::<_, i64>(7)? as u64,
                intervals: r.get::<_, i64>(8)? as u64,
                last_interval_end_ms: r.get(9)?,
                box_profile: r.get(10)?,
                model_id: r.get(11)?,
                calibration: super::calibration_from(r.get(12)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn first_interval_ms(&mut self, camera: &str) -> Result<Option<i64>, StoreError> {
        let mut q = self.conn.prepare_cached(SELECT_FIRST_INTERVAL)?;
        Ok(q.query_row(params![camera], |r| r.get::<_, Option<i64>>(0))?)
    }

    fn counts(
        &mut self,
        camera: &str,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<StoredInterval>, StoreError> {
        let mut q = self.conn.prepare_cached(SELECT_COUNTS)?;
        let mut rows = q.query(params![camera, from_ms, to_ms, limit as i64])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let counts: String = r.get(12)?;
            out.push(interval_from_row(
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
                r.get(11)?,
                &counts,
            )?);
        }
        Ok(out)
    }

    fn append_audit(&mut self, e: &AuditEntry) -> Result<(), StoreError> {
        self.conn.execute(INSERT_AUDIT, params![e.at_ms, e.actor, e.role, e.action, e.target, e.outcome, e.detail])?;
        Ok(())
    }

    fn audit(&mut self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let mut q = self.conn.prepare_cached(SELECT_AUDIT)?;
        let rows = q.query_map(params![limit as i64], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at_ms: r.get(1)?,
                actor: r.get(2)?,
                role: r.get(3)?,
                action: r.get(4)?,
                target: r.get(5)?,
                outcome: r.get(6)?,
                detail: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn ping(&mut self) -> Result<(), StoreError> {
        self.conn.query_row("SELECT 1", [], |_| Ok(())).optional()?;
        Ok(())
    }

    fn save_config(&mut self, c: &NewConfig, audit: &dyn Fn(u64) -> AuditEntry) -> Result<u64, StoreError> {
        // Immediate: the write lock is taken before the version is read, so two savers
        // cannot both read the same max.
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row(configs::NEXT_VERSION, params![c.camera_id], |r| r.get(0))?;
        tx.execute(
            configs::INSERT,
            params![c.camera_id, version, c.geometry, c.author, c.created_ms, c.rollback_of.map(|v| v as i64)],
        )?;
        let e = audit(version as u64);
        tx.execute(INSERT_AUDIT, params![e.at_ms, e.actor, e.role, e.action, e.target, e.outcome, e.detail])?;
        tx.commit()?;
        Ok(version as u64)
    }

    fn config_history(&mut self, camera: &str, limit: usize) -> Result<Vec<ConfigVersion>, StoreError> {
        let mut q = self.conn.prepare_cached(configs::SELECT_HISTORY)?;
        let mut rows = q.query(params![camera, limit as i64])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let problems: String = r.get(5)?;
            out.push(ConfigVersion {
                version: r.get::<_, i64>(0)? as u64,
                geometry: r.get(1)?,
                author: r.get(2)?,
                created_ms: r.get(3)?,
                state: r.get(4)?,
                problems: serde_json::from_str(&problems)?,
                acked_ms: r.get(6)?,
                rollback_of: r.get::<_, Option<i64>>(7)?.map(|v| v as u64),
            });
        }
        Ok(out)
    }

    fn config_geometry(&mut self, camera: &str, version: u64) -> Result<Option<String>, StoreError> {
        let mut q = self.conn.prepare_cached(configs::SELECT_GEOMETRY)?;
        Ok(q.query_row(params![camera, version as i64], |r| r.get(0)).optional()?)
    }

    fn config_versions(&mut self) -> Result<BTreeMap<String, ConfigVersions>, StoreError> {
        let mut q = self.conn.prepare_cached(configs::SELECT_VERSIONS)?;
        let rows = q.query_map([], |r| {
            let versions = ConfigVersions { latest: r.get::<_, i64>(1)? as u64, running: r.get::<_, i64>(2)? as u64 };
            Ok((r.get::<_, String>(0)?, versions))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn record_config_ack(&mut self, a: &AckUpdate) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        if let Some((state, problems)) = &a.state {
            tx.execute(configs::ACK_STATE, params![state, problems, a.acked_ms, a.camera_id, a.version as i64])?;
        }
        tx.execute(configs::ACK_RUNNING, params![a.camera_id, a.running_version as i64, a.acked_ms])?;
        tx.commit()?;
        Ok(())
    }
}
