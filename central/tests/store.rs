//! The store contract, run against both backends: SQLite (a temp file) and a real
//! PostgreSQL started by the test on a free port.

mod common;

use central::availability::gaps;
use central::store::{
    AckUpdate, AuditEntry, ConfigVersions, Inserted, NewConfig, StatusUpdate, Store, StoreSpec, StoredInterval,
};
use protocol::camera_config::{ConfigAck, ConfigOutcome, Problem};
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
    assert_eq!(store.first_interval_ms("cam-a").unwrap(), Some(1_000_000), "where the camera's record begins");
    assert_eq!(store.first_interval_ms("cam-b").unwrap(), None);

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
            box_profile: Some("generic_x86".into()),
            model_id: Some("yolox_nano_416".into()),
            calibration: Some(protocol::messages::CalibrationInfo { points: 6, rms_error_m: 0.05 }),
        })
        .unwrap();
    let cams = store.cameras().unwrap();
    assert_eq!(cams.len(), 1);
    let c = &cams[0];
    assert_eq!((c.state.as_str(), c.intervals, c.outbox_depth, c.dropped), ("degraded", 7, 3, 1));
    assert_eq!(c.last_seen_ms, 1_080_500);
    assert_eq!(c.last_interval_end_ms, Some(1_080_000));
    assert_eq!((c.box_profile.as_deref(), c.model_id.as_deref()), (Some("generic_x86"), Some("yolox_nano_416")));
    assert_eq!(c.calibration.map(|k| (k.points, k.rms_error_m)), Some((6, 0.05)));

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

/// Camera config versions: numbered per camera from 1, saved with their audit entry,
/// newest first, answered by acks.
fn config_contract(store: &mut dyn Store) {
    let audit = |action: &'static str| {
        move |version: u64| AuditEntry {
            id: 0,
            at_ms: 3_000_000,
            actor: "olga".into(),
            role: "operator".into(),
            action: action.into(),
            target: "cam-a".into(),
            outcome: "accepted".into(),
            detail: format!("{{\"version\":{version}}}"),
        }
    };
    let new = |camera: &str, geometry: &str, rollback_of: Option<u64>| NewConfig {
        camera_id: camera.into(),
        geometry: geometry.into(),
        author: "olga".into(),
        created_ms: 3_000_000,
        rollback_of,
    };
    assert_eq!(store.save_config(&new("cam-a", "{\"lines\":[1]}", None), &audit("config_save")).unwrap(), 1);
    assert_eq!(store.save_config(&new("cam-a", "{\"lines\":[2]}", None), &audit("config_save")).unwrap(), 2);
    assert_eq!(store.save_config(&new("cam-b", "{}", None), &audit("config_save")).unwrap(), 1, "per camera");
    assert_eq!(store.save_config(&new("cam-a", "{\"lines\":[1]}", Some(1)), &audit("config_rollback")).unwrap(), 3);
    let log = store.audit(2).unwrap();
    assert_eq!((log[0].action.as_str(), log[0].detail.as_str()), ("config_rollback", "{\"version\":3}"));
    assert_eq!(store.config_geometry("cam-a", 2).unwrap().as_deref(), Some("{\"lines\":[2]}"));
    assert_eq!(store.config_geometry("cam-a", 9).unwrap(), None);

    let ack = |version, outcome, problems: Vec<Problem>, running_version| {
        let ack = ConfigAck { camera_id: "cam-a".into(), version, outcome, problems, running_version };
        AckUpdate::from_ack(&ack, 4_000_000 + version as i64)
    };
    // Accepted on arrival, applied at the boundary; an `accepted` arriving late never
    // takes back `applied`.
    store.record_config_ack(&ack(2, ConfigOutcome::Accepted, vec![], 0)).unwrap();
    assert_eq!(store.config_history("cam-a", 10).unwrap()[1].state, "accepted");
    store.record_config_ack(&ack(2, ConfigOutcome::Applied, vec![], 2)).unwrap();
    store.record_config_ack(&ack(2, ConfigOutcome::Accepted, vec![], 0)).unwrap();
    let problem = Problem { path: "lines[0].a".into(), message: "outside the frame".into() };
    store.record_config_ack(&ack(3, ConfigOutcome::Rejected, vec![problem], 2)).unwrap();
    let history = store.config_history("cam-a", 10).unwrap();
    assert_eq!(history.iter().map(|v| v.version).collect::<Vec<_>>(), [3, 2, 1]);
    assert_eq!(
        (history[0].state.as_str(), history[0].rollback_of, history[0].acked_ms),
        ("rejected", Some(1), Some(4_000_003))
    );
    assert_eq!(history[0].problems[0]["path"], "lines[0].a");
    assert_eq!((history[1].state.as_str(), history[2].state.as_str()), ("applied", "pending"));
    assert_eq!((history[2].author.as_str(), history[2].created_ms, history[2].acked_ms), ("olga", 3_000_000, None));
    assert_eq!(store.config_history("cam-a", 1).unwrap().len(), 1);
    let versions = store.config_versions().unwrap();
    assert_eq!(versions["cam-a"], ConfigVersions { latest: 3, running: 2 });
    assert_eq!(versions["cam-b"], ConfigVersions { latest: 1, running: 0 });
    // An agent that has fallen back to its file config.
    store.record_config_ack(&ack(1, ConfigOutcome::Rejected, vec![], 0)).unwrap();
    assert_eq!(store.config_versions().unwrap()["cam-a"].running, 0);
}

#[test]
fn sqlite_keeps_the_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let spec = StoreSpec::Sqlite(dir.path().join("central.db"));
    contract(spec.open().unwrap().as_mut());
    config_contract(spec.open().unwrap().as_mut());
    // Durable across reopen.
    assert_eq!(spec.open().unwrap().counts("cam-a", 0, i64::MAX, 100).unwrap().len(), 7);
}

#[test]
fn postgres_keeps_the_store_contract() {
    let pg = common::Postgres::start();
    let spec = StoreSpec::Postgres(pg.url.clone());
    contract(spec.open().unwrap().as_mut());
    config_contract(spec.open().unwrap().as_mut());
    assert_eq!(spec.open().unwrap().counts("cam-a", 0, i64::MAX, 100).unwrap().len(), 7);

    // Two centrals saving one camera at the same moment: the one that loses the race gets
    // a conflict (the API's 409), and neither its version nor its audit entry is written.
    let mut rival = ::postgres::Client::connect(&pg.url, ::postgres::NoTls).unwrap();
    let mut tx = rival.transaction().unwrap();
    tx.execute(
        "INSERT INTO camera_configs (camera_id, version, geometry, author, created_ms, state, problems) \
         VALUES ('cam-r', 1, '{}', 'rival', 1, 'pending', '[]')",
        &[],
    )
    .unwrap();
    let audit_before = spec.open().unwrap().audit(100).unwrap().len();
    let mut store = spec.open().unwrap();
    let saving = std::thread::spawn(move || {
        let config = NewConfig {
            camera_id: "cam-r".into(),
            geometry: "{}".into(),
            author: "olga".into(),
            created_ms: 2,
            rollback_of: None,
        };
        let audit = |_| AuditEntry {
            id: 0,
            at_ms: 2,
            actor: "olga".into(),
            role: "operator".into(),
            action: "config_save".into(),
            target: "cam-r".into(),
            outcome: "accepted".into(),
            detail: "{}".into(),
        };
        store.save_config(&config, &audit)
    });
    // Ready when the save waits on the rival's uncommitted key, not after a guess.
    let mut watch = ::postgres::Client::connect(&pg.url, ::postgres::NoTls).unwrap();
    let waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
                   AND query LIKE 'INSERT INTO camera_configs%'";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while watch.query_one(waiting, &[]).unwrap().get::<_, i64>(0) == 0 {
        assert!(std::time::Instant::now() < deadline, "the save never reached its insert");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    tx.commit().unwrap();
    let lost = saving.join().unwrap().unwrap_err();
    assert!(matches!(lost, central::store::StoreError::Conflict(_)), "{lost:?}");
    assert!(lost.to_string().contains("reload and save again"), "{lost}");
    let mut store = spec.open().unwrap();
    assert_eq!(
        store.config_history("cam-r", 10).unwrap().iter().map(|v| v.author.as_str()).collect::<Vec<_>>(),
        ["rival"]
    );
    assert_eq!(store.audit(100).unwrap().len(), audit_before, "the lost save left no audit entry");
}
