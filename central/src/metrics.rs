//! Prometheus metrics central exposes on `/metrics`: messages accepted and rejected by
//! reason, duplicates, publish-received→stored latency, store errors, per-camera state.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

pub struct Metrics {
    registry: Registry,
    pub accepted: Counter,
    pub rejected: Family<Labels, Counter>,
    pub duplicates: Counter,
    pub statuses: Counter,
    pub incidents: Counter,
    pub store_errors: Counter,
    pub ingest_latency: Histogram,
    pub mqtt_connected: Gauge,
    pub camera_up: Family<Labels, Gauge>,
    pub camera_last_seen: Family<Labels, Gauge<f64, AtomicU64>>,
    pub forecasts: Counter,
    pub forecast_alerts: Counter,
    pub forecast_updates_dropped: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("central");
        let accepted = Counter::default();
        let rejected = Family::<Labels, Counter>::default();
        let duplicates = Counter::default();
        let statuses = Counter::default();
        let incidents = Counter::default();
        let store_errors = Counter::default();
        // 0.5 ms .. ~16 s
        let ingest_latency = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        let mqtt_connected = Gauge::default();
        let camera_up = Family::<Labels, Gauge>::default();
        let camera_last_seen = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        let (forecasts, forecast_alerts, forecast_updates_dropped) =
            (Counter::default(), Counter::default(), Counter::default());
        registry.register("messages_accepted", "Count reports stored (first copies)", accepted.clone());
        registry.register("messages_rejected", "Messages refused, by reason", rejected.clone());
        registry.register(
            "duplicates",
            "Count reports already stored (acknowledged again, not stored twice)",
            duplicates.clone(),
        );
        registry.register("status_messages", "Status heartbeats and last wills recorded", statuses.clone());
        registry.register(
            "incidents",
            "Incidents reported by agents (stopped vehicle, wrong way), repeats included",
            incidents.clone(),
        );
        registry.register(
            "store_errors",
            "Store transactions that failed (messages are redelivered)",
            store_errors.clone(),
        );
        registry.register(
            "ingest_latency_seconds",
            "From receiving a count report to its durable commit",
            ingest_latency.clone(),
        );
        registry.register("mqtt_connected", "1 while central's MQTT session is up", mqtt_connected.clone());
        registry.register("camera_up", "1 when the camera's agent last reported online", camera_up.clone());
        registry.register(
            "camera_last_seen_seconds",
            "Unix time of the last message from the camera's agent",
            camera_last_seen.clone(),
        );
        registry.register("forecasts", "Approach forecasts computed and published", forecasts.clone());
        registry.register("forecast_alerts", "Forecasts at or past the alert level", forecast_alerts.clone());
        registry.register(
            "forecast_updates_dropped",
            "Stored intervals not passed to forecasting (its queue was full; the count itself is stored)",
            forecast_updates_dropped.clone(),
        );
        Metrics {
            registry,
            accepted,
            rejected,
            duplicates,
            statuses,
            incidents,
            store_errors,
            ingest_latency,
            mqtt_connected,
            camera_up,
            camera_last_seen,
            forecasts,
            forecast_alerts,
            forecast_updates_dropped,
        }
    }

    pub fn reject(&self, reason: &str) {
        self.rejected.get_or_create(&vec![("reason".into(), reason.into())]).inc();
    }

    pub fn camera_seen(&self, camera: &str, at_ms: i64, up: Option<bool>) {
        let labels = vec![("camera_id".to_string(), camera.to_string())];
        self.camera_last_seen.get_or_create(&labels).set(at_ms as f64 / 1000.0);
        if let Some(up) = up {
            self.camera_up.get_or_create(&labels).set(up as i64);
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
