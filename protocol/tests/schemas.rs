//! The JSON Schemas in `docs/schemas/` are generated from the message types; this test
//! fails when they are stale. Regenerate with `UPDATE_SCHEMAS=1 cargo test -p protocol`.

use std::path::Path;

use protocol::camera_config::{ConfigAck, ConfigPush};
use protocol::forecast::ForecastReport;
use protocol::messages::{CountAck, CountReport, Envelope, Incident, Presence, Status};
use protocol::plan::{JunctionStatus, PlanAck, SignedPlan};
use protocol::snapshot::{Snapshot, SnapshotRequest};

fn check(name: &str, mut schema: serde_json::Value, failures: &mut Vec<String>) {
    schema["$id"] = format!("https://tac.invalid/schemas/{name}.json").into();
    let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas").join(format!("{name}.json"));
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &text).unwrap();
    } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        failures.push(path.display().to_string());
    }
}

#[test]
fn schemas_in_docs_match_the_types() {
    let mut failures = Vec::new();
    check("count_report", serde_json::to_value(schemars::schema_for!(Envelope<CountReport>)).unwrap(), &mut failures);
    check("status", serde_json::to_value(schemars::schema_for!(Envelope<Status>)).unwrap(), &mut failures);
    check("count_ack", serde_json::to_value(schemars::schema_for!(Envelope<CountAck>)).unwrap(), &mut failures);
    check("signed_plan", serde_json::to_value(schemars::schema_for!(SignedPlan)).unwrap(), &mut failures);
    check("plan_ack", serde_json::to_value(schemars::schema_for!(Envelope<PlanAck>)).unwrap(), &mut failures);
    check(
        "junction_status",
        serde_json::to_value(schemars::schema_for!(Envelope<JunctionStatus>)).unwrap(),
        &mut failures,
    );
    check("incident", serde_json::to_value(schemars::schema_for!(Envelope<Incident>)).unwrap(), &mut failures);
    check("presence", serde_json::to_value(schemars::schema_for!(Envelope<Presence>)).unwrap(), &mut failures);
    check("config_push", serde_json::to_value(schemars::schema_for!(Envelope<ConfigPush>)).unwrap(), &mut failures);
    check("config_ack", serde_json::to_value(schemars::schema_for!(Envelope<ConfigAck>)).unwrap(), &mut failures);
    let request = schemars::schema_for!(Envelope<SnapshotRequest>);
    check("snapshot_request", serde_json::to_value(request).unwrap(), &mut failures);
    check("snapshot", serde_json::to_value(schemars::schema_for!(Envelope<Snapshot>)).unwrap(), &mut failures);
    check("forecast", serde_json::to_value(schemars::schema_for!(Envelope<ForecastReport>)).unwrap(), &mut failures);
    assert!(
        failures.is_empty(),
        "stale schemas (regenerate with UPDATE_SCHEMAS=1 cargo test -p protocol): {failures:?}"
    );
}
