//! Forecasting end to end: central starts on a store holding eight days of one camera's
//! counts, retrains from them, and when the next interval arrives over MQTT (Mosquitto)
//! it publishes the approach's 15/30/60-minute forecast on `tac/v1/forecasts/{area}`,
//! serves it at `/api/v1/cameras/{id}/forecast`, and has persisted its model. The public
//! congestion feed then serves it without credentials: coarse (levels and trend, nothing
//! per vehicle or per class), cacheable (ETag → 304) and rate-limited (429).

mod common;

use std::time::{Duration, Instant};

use central::store::{SqliteStore, Store, StoredInterval};
use common::{Central, Mosquitto, Subscriber, http_get, http_request, metric, mqtt_publish};
use protocol::{ClassCounts, DirectionCounts, IntervalCounts, VehicleClass};

const STEP_MS: i64 = 300_000;

fn motorcycles(start_ms: i64) -> u32 {
    let hour = ((start_ms / 1000 + 7 * 3600) % 86_400) as f64 / 3600.0;
    (80.0 + 300.0 * (-(hour - 8.0).powi(2) / 4.0).exp() + 200.0 * (-(hour - 17.5).powi(2) / 3.0).exp()) as u32
}

fn counts(start_ms: i64) -> ClassCounts {
    let mut c = ClassCounts::default();
    c.add(VehicleClass::Motorcycle, motorcycles(start_ms));
    c.add(VehicleClass::Car, 15);
    c
}

fn stored(start_ms: i64) -> StoredInterval {
    let lines = [("main".to_string(), DirectionCounts { forward: counts(start_ms), backward: ClassCounts::default() })]
        .into_iter()
        .collect();
    StoredInterval {
        agent_id: "cam-f".into(),
        epoch: 1,
        seq: (start_ms / STEP_MS) as u64,
        camera_id: "cam-f".into(),
        model_id: "yolox_nano_416".into(),
        model_sha256: "cd".repeat(32),
        received_ms: start_ms + STEP_MS,
        interval: IntervalCounts {
            start_ms,
            end_ms: start_ms + STEP_MS,
            coverage: 1.0,
            fps: 10.0,
            frames: 3000,
            lines,
            zones: Default::default(),
            movements: vec![],
            speeds: Default::default(),
        },
    }
}

#[test]
fn central_forecasts_an_approach_from_stored_history_and_live_counts() {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let live_start = now / STEP_MS * STEP_MS - STEP_MS; // the last complete 5 minutes
    {
        let mut store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        let history: Vec<StoredInterval> = (1..=8 * 288).rev().map(|k| stored(live_start - k * STEP_MS)).collect();
        store.insert_batch(&history).unwrap();
    }
    let broker = Mosquitto::start(dir.path(), "");
    let approach = "public_per_minute = 5\n[forecast]\n[[forecast.approach]]\ncamera = \"cam-f\"\nline = \"main\"\n\
        capacity_pcu_per_hour = 2000\narea = \"district-7\"\n";
    let central = Central::start(dir.path(), broker.port, "kind = \"sqlite\"\npath = \"c.db\"", approach);
    central.wait_healthy(Duration::from_secs(20));
    let state = dir.path().join("forecast-state.json");
    let t = Instant::now();
    while !state.exists() {
        assert!(t.elapsed() < Duration::from_secs(30), "central did not retrain and save its forecast state");
        std::thread::sleep(Duration::from_millis(100));
    }
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert!(saved["model"].is_object(), "eight days of history fit a model");

    let sub = Subscriber::start(broker.port, &["-q", "1", "-t", "tac/v1/forecasts/district-7", "-C", "1", "-W", "30"]);
    let live = stored(live_start);
    let report = serde_json::json!({
        "schema_version": "1.0", "agent_id": "cam-f", "epoch": 2, "seq": 1, "camera_id": "cam-f",
        "model": {"id": "yolox_nano_416", "sha256": "cd".repeat(32)},
        "interval": live.interval,
    });
    mqtt_publish(broker.port, 1, "tac/v1/cameras/cam-f/counts", &report.to_string());
    let out = sub.output();
    let published: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|_| panic!("no forecast published: {out:?}"));
    assert_eq!(published["camera_id"], "cam-f");
    assert_eq!(published["made_at_ms"], live_start + STEP_MS);
    let horizons = published["horizons"].as_array().unwrap();
    assert_eq!(horizons.iter().map(|h| h["minutes"].as_u64().unwrap()).collect::<Vec<_>>(), [15, 30, 60]);
    for h in horizons {
        assert_eq!(h["method"], "model", "{h}");
        let minutes = h["minutes"].as_i64().unwrap();
        // The series repeats daily, so the truth is known: PCU/h of the target step.
        let target = live_start + STEP_MS * (1 + minutes / 5);
        let truth = (0.3 * motorcycles(target) as f64 + 15.0) * 12.0;
        let got = h["pcu_per_hour"].as_f64().unwrap();
        assert!((got - truth).abs() / truth < 0.1, "{minutes} min: forecast {got} vs {truth}");
        assert!(h["low"].as_f64().unwrap() <= got && got <= h["high"].as_f64().unwrap(), "{h}");
        assert!(h["level"].is_string(), "a capacity is configured: {h}");
    }

    let (code, body) = http_get(central.http_port, "/api/v1/cameras/cam-f/forecast");
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["approaches"][0]["horizons"], published["horizons"]);
    assert_eq!(http_get(central.http_port, "/api/v1/cameras/nobody/forecast").0, 404);
    let (_, metrics) = http_get(central.http_port, "/metrics");
    assert!(metric(&metrics, "central_forecasts_total") >= 1.0, "{metrics}");

    // The public feed: no credentials, one coarse record per approach.
    let path = "/api/v1/public/congestion";
    let (code, head, body) = http_request(central.http_port, path, "");
    assert_eq!(code, 200, "{head}\n{body}");
    let feed: serde_json::Value = serde_json::from_str(&body).unwrap();
    let segment = &feed["segments"][0];
    assert_eq!(
        (segment["camera_id"].as_str(), segment["area"].as_str()),
        (Some("cam-f"), Some("district-7")),
        "{feed}"
    );
    assert!(
        segment["level_15_min"].is_string() && segment["level_30_min"].is_string() && segment["trend"].is_string(),
        "{segment}"
    );
    assert!(segment["level"].is_string() && segment["reason"].is_null(), "a level, so no reason: {segment}");
    let allowed = [
        "camera_id",
        "line",
        "area",
        "name",
        "road",
        "lat",
        "lon",
        "level",
        "trend",
        "level_15_min",
        "level_30_min",
        "forecast_made_at_ms",
        "reason",
    ];
    assert!(
        segment.as_object().unwrap().keys().all(|k| allowed.contains(&k.as_str())),
        "only aggregate fields: {segment}"
    );
    for per_vehicle in ["motorcycle", "car", "track", "pcu", "counts", "image"] {
        assert!(!body.contains(per_vehicle), "{per_vehicle} in the public feed: {body}");
    }
    let header = |head: &str, name: &str| {
        head.lines().find_map(|l| {
            l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string())
        })
    };
    let etag = header(&head, "etag").expect("ETag");
    assert!(header(&head, "cache-control").is_some_and(|c| c.contains("public") && c.contains("max-age=")), "{head}");
    // A conditional request for the same content: 304 and no body.
    let (code, _, body) = http_request(central.http_port, path, &format!("If-None-Match: {etag}\r\n"));
    assert_eq!((code, body.as_str()), (304, ""));
    // 5 requests a minute per client: two used, three more pass, the next is refused.
    for _ in 0..3 {
        assert_eq!(http_request(central.http_port, path, "").0, 200);
    }
    let (code, head, _) = http_request(central.http_port, path, "");
    assert_eq!(code, 429, "{head}");
    assert!(
        header(&head, "retry-after").and_then(|v| v.parse::<u64>().ok()).is_some_and(|s| (1..=60).contains(&s)),
        "{head}"
    );
    // The rest of the API is not limited by it.
    assert_eq!(http_get(central.http_port, "/api/v1/cameras/cam-f/forecast").0, 200);

    // Open data: the stored counts as CSV rows (interval × line × direction × class). The
    // span after the live interval is the interval being counted now: no gap row.
    let (from, to) = (live_start - 2 * STEP_MS, live_start + 2 * STEP_MS);
    let (code, head, csv) =
        http_request(central.http_port, &format!("/api/v1/export/counts?camera=cam-f&from={from}&to={to}"), "");
    assert_eq!(code, 200, "{head}\n{csv}");
    assert!(header(&head, "content-type").is_some_and(|c| c.starts_with("text/csv")), "{head}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "kind,camera_id,camera_name,lat,lon,road,start,end,interval_s,coverage,line,direction,direction_label,\
         class,count,unit"
    );
    // No [auth] here, so no request has a session, and `[export] public_classes` is off:
    // this anonymous export has one all-vehicle row per interval × line × direction
    // (class = all), nothing per class, like the public feed. cam-f is not in `[map]`, so
    // its name, position, road and direction labels are empty.
    assert_eq!(lines.len(), 1 + 3 * 2, "{csv}");
    let forward_totals: Vec<u32> = lines
        .iter()
        .filter(|l| l.contains(",main,forward,,all,") && l.ends_with(",vehicles"))
        .map(|l| l.rsplit(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(forward_totals, [0, 1, 2].map(|k| motorcycles(live_start + (k - 2) * STEP_MS) + 15));
    assert!(!csv.contains("\ngap,"), "the open interval is not an outage: {csv}");
    let (code, _, json) = http_request(
        central.http_port,
        &format!("/api/v1/export/counts?camera=cam-f&from={from}&to={to}&format=json"),
        "",
    );
    assert_eq!(code, 200);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&json).unwrap().as_array().unwrap().len(), 3 * 2);
    assert_eq!(http_request(central.http_port, "/api/v1/export/counts?camera=cam-f&format=xml", "").0, 400);

    // The OpenAPI document lists every route, and every documented GET is routed: an
    // answer with a body and no server error (an unrouted path gets axum's empty 404).
    let (code, _, doc) = http_request(central.http_port, "/api/openapi.json", "");
    assert_eq!(code, 200);
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(
        paths.values().map(|p| p.as_object().unwrap().len()).sum::<usize>(),
        central::http::routes::table().len()
    );
    for (path, ops) in paths {
        // The dashboard's live stream never ends (the browser test reads it).
        if ops.get("get").is_none() || path == "/api/v1/live" {
            continue;
        }
        let url = path.replace("{id}", "cam-f").replace("{path}", "app.js")
            + if path == "/api/v1/export/counts" { "?camera=cam-f" } else { "" };
        let (code, _, body) = http_request(central.http_port, &url, "");
        assert!(code < 500 && !body.is_empty(), "GET {url}: {code} {body:?}");
        assert!(
            ops["get"]["responses"].get(code.to_string()).is_some(),
            "GET {url} answered {code}, which the document does not list"
        );
    }
}
