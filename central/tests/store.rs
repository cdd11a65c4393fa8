//! The store contract, run against both backends: SQLite (a temp file) and a real
//! PostgreSQL started by the test on a free port.

mod common;

use central::store::{AuditEntry, Inserted, StatusUpdate, Store, StoreSpec, StoredInterval, gaps};
use protocol::{DirectionCounts, IntervalCounts, VehicleClass};

fn report(camera: &str, epoch: u64, seq: u64, start_ms: i64) -> StoredInterval {
    let mut line = DirectionCounts::default();
    line.forward.add(VehicleClass::Motorcycle, seq as u32 + 1);
    let mut interval = IntervalCounts {
        start_ms,
        end_ms: start_ms + 10_000,
        coverage: 0.9,
        fps: 12.5,
        frames: 112,
        ..Default::default()
    };
    interval.lines.insert("stop_line".into(), line);
    StoredInterval {
        agent_id: camera.into(),
        epoch,
        seq,
        camera_id: camera.into(),
        model_id: "yolox_nano_416".into(),
        model_sha256: "ab".repeat(32),
        received_ms: start_ms + 10_500,
        interval,
    }
}

fn contract(store: &mut dyn Store) {
    store.ping().unwrap();
    let batch: Vec<_> = (0..5).map(|s| report("cam-a", 100, s, 1_000_000 + s as i64 * 10_000)).collect();
    assert_eq!(store.insert_batch(&batch).unwrap(), vec![Inserted::New; 5]);
    // A redelivered copy in a later batch, next to a new report (the gap at seq 5 is a
    // camera that was down for one interval).
    let again = vec![report("cam-a", 100, 2, 1_020_000), report("cam-a", 100, 6, 1_060_000)];
    assert_eq!(store.insert_batch(&again).unwrap(), vec![Inserted::Duplicate, Inserted::New]);
    // Same seq, new epoch (the agent restarted): a different report.
    assert_eq!(store.insert_batch(&[report("cam-a", 200, 0, 1_070_000)]).unwrap(), vec![Inserted::New]);

    let rows = store.counts("cam-a", 1_000_000, 1_080_000, 100).unwrap();
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[0], batch[0], "stored exactly as received");
    assert_eq!(rows[2].interval.lines["stop_line"].forward.motorcycle, 3);
    assert_eq!(gaps(&rows, 1_000_000, 1_090_000), vec![(1_050_000, 1_060_000), (1_080_000, 1_090_000)]);
    assert_eq!(store.counts("cam-a", 1_000_000, 1_080_000, 3).unwrap().len(), 3);
    assert!(store.counts("cam-b", 0, i64::MAX, 10).unwrap().is_empty());

    store
        .record_status(&StatusUpdate {
            camera_id: "cam-a".into(),
            agent_id: "cam-a".into(),
            state: "degraded".into(),
            fps: 11.0,
            coverage: 0.4,
            outbox_depth: 3,
            dropped: 1,
            at_ms: 1_000_000, // older than the last report: last_seen must not go back
        })
        .unwrap();
    let cams = store.cameras().unwrap();
    assert_eq!(cams.len(), 1);
    let c = &cams[0];
    assert_eq!((c.state.as_str(), c.intervals, c.outbox_depth, c.dropped), ("degraded", 7, 3, 1));
    assert_eq!(c.last_seen_ms, 1_080_500);
    assert_eq!(c.last_interval_end_ms, Some(1_080_000));

    // The audit log: append-only, newest first, ids increasing.
    for (i, action) in ["login", "override", "alert_ack"].iter().enumerate() {
        let entry = AuditEntry {
            id: 0,
            at_ms: 2_000_000 + i as i64,
            actor: "lan".into(),
            role: "operator".into(),
            action: action.to_string(),
            target: "j1".into(),
            outcome: "accepted".into(),
            detail: "{\"greens_ms\":[30000]}".into(),
        };
        store.append_audit(&entry).unwrap();
    }
    let log = store.audit(2).unwrap();
    assert_eq!(log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["alert_ack", "override"]);
    assert!(log[0].id > log[1].id);
    assert_eq!((log[1].at_ms, log[1].detail.as_str()), (2_000_001, "{\"greens_ms\":[30000]}"));
}

#[test]
fn sqlite_keeps_the_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let spec = StoreSpec::Sqlite(dir.path().join("central.db"));
    contract(spec.open().unwrap().as_mut());
    // Durable across reopen.
    assert_eq!(spec.open().unwrap().counts("cam-a", 0, i64::MAX, 100).unwrap().len(), 7);
}

#[test]
fn postgres_keeps_the_store_contract() {
    let pg = common::Postgres::start();
    let spec = StoreSpec::Postgres(pg.url.clone());
    contract(spec.open().unwrap().as_mut());
    assert_eq!(spec.open().unwrap().counts("cam-a", 0, i64::MAX, 100).unwrap().len(), 7);
}
