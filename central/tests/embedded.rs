//! The single-box path `make demo` uses: central with its embedded broker (rumqttd). A
//! report published to it is stored, acknowledged to its agent, and served by the API;
//! each report is stored promptly without waiting for the next message (rumqttd 0.20
//! held a shared subscription's message back until another arrived, which stalled
//! stop-and-wait agents; this guards against it).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Killed, Subscriber, free_port, http_get, mqtt_publish, wait_for_port};

fn report(seq: u64) -> String {
    let end = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
        - 1000 * (10 - seq as i64);
    format!(
        concat!(
            r#"{{"schema_version":"1.0","agent_id":"cam-e","epoch":5,"seq":{seq},"camera_id":"cam-e","#,
            r#""model":{{"id":"yolox_nano_416","sha256":"{}"}},"interval":{{"start_ms":{},"end_ms":{end},"#,
            r#""coverage":1.0,"fps":10.0,"frames":10,"lines":{{}},"zones":{{}},"movements":[]}}}}"#,
        ),
        "cd".repeat(32),
        end - 1000,
        seq = seq,
        end = end,
    )
}

#[test]
fn the_embedded_broker_carries_reports_to_the_store_and_acks_back() {
    let dir = tempfile::tempdir().unwrap();
    let (mqtt, http) = (free_port(), free_port());
    let conf = dir.path().join("central.toml");
    std::fs::write(
        &conf,
        format!(
            "[broker]\nembedded = true\nlisten = \"127.0.0.1:{mqtt}\"\n[store]\nkind = \"sqlite\"\n\
            path = \"c.db\"\n[http]\nlisten = \"127.0.0.1:{http}\"\n"
        ),
    )
    .unwrap();
    let _central = Killed(
        Command::new(env!("CARGO_BIN_EXE_central")).args(["run", "--config", conf.to_str().unwrap()]).spawn().unwrap(),
    );
    wait_for_port(http, "central", Duration::from_secs(20));
    let t = Instant::now();
    while http_get(http, "/healthz").0 != 200 {
        assert!(t.elapsed() < Duration::from_secs(20), "central never connected to its embedded broker");
        std::thread::sleep(Duration::from_millis(100));
    }
    let acks = Subscriber::start(mqtt, &["-q", "1", "-t", "tac/v1/cameras/cam-e/counts/ack", "-C", "2", "-W", "20"]);
    // As an agent does: a QoS 0 status heartbeat, then its reports one at a time, each
    // only after the previous one's ack (stop-and-wait).
    let status = concat!(
        r#"{"schema_version":"1.0","agent_id":"cam-e","epoch":5,"seq":1,"camera_id":"cam-e","#,
        r#""state":"online","fps":10.0,"coverage":1.0,"outbox_depth":0,"dropped":0,"uptime_s":1,"model":null}"#
    );
    let publish = |topic: &str, qos: u8, payload: &str| mqtt_publish(mqtt, qos, topic, payload);
    publish("tac/v1/cameras/cam-e/status", 0, status);
    let stored = |n: usize| {
        let t = Instant::now();
        loop {
            let (_, body) = http_get(http, "/api/v1/cameras/cam-e/counts?from=0&to=99999999999999");
            let have = serde_json::from_str::<serde_json::Value>(&body)
                .map(|v| v["intervals"].as_array().map_or(0, |a| a.len()))
                .unwrap_or(0);
            if have >= n {
                return;
            }
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "report {n} not stored within 5 s (held back by the broker?)"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    for seq in [1, 2] {
        publish("tac/v1/cameras/cam-e/counts", 1, &report(seq));
        stored(seq as usize);
    }
    let out = acks.output();
    let seqs: Vec<u64> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["report_seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2], "both reports acknowledged as stored");
    let (code, body) = http_get(http, "/api/v1/cameras/cam-e/counts?from=0&to=99999999999999");
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["intervals"].as_array().unwrap().len(), 2, "{body}");
}
