//! The traffic-police data feed: read-only, one token per consumer.
//!
//! Events: `congestion_alert` (an approach's 15- or 30-minute forecast reaches the alert
//! level; once per episode), `camera_offline` / `camera_online` (an agent's status, its
//! last will included, changes between offline and up), `stopped_vehicle` and
//! `wrong_way` (incidents reported by agents: camera, line or zone, class, standing time,
//! incident id; each once).
//!
//! Delivery: an SSE stream, `GET /api/v1/feeds/police/stream` with
//! `Authorization: Bearer <token>` (401 otherwise), and MQTT `tac/v1/feeds/police/alerts`,
//! which the broker ACL lets the `police-feed` user read and never write. Central keeps
//! only each token's SHA-256 (`[police] consumers`), never the token.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PoliceSettings {
    pub consumers: Vec<Consumer>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Consumer {
    pub id: String,
    /// Hex SHA-256 of the consumer's bearer token (`printf %s TOKEN | sha256sum`).
    pub token_sha256: String,
}

impl PoliceSettings {
    pub fn validate(&self, bad: &mut Vec<(String, String)>) {
        for (i, c) in self.consumers.iter().enumerate() {
            if protocol::topics::check_id(&c.id).is_err() {
                bad.push((
                    format!("police.consumers[{i}].id"),
                    format!("{:?} must be 1-64 letters, digits, '-' or '_'", c.id),
                ));
            }
            if c.token_sha256.len() != 64 || !c.token_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                bad.push((
                    format!("police.consumers[{i}].token_sha256"),
                    "must be 64 hex digits (the SHA-256 of the token)".into(),
                ));
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PoliceEvent {
    pub kind: &'static str,
    pub camera_id: String,
    pub at_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<protocol::forecast::CongestionLevel>,
    /// Incidents: the agent's incident id, the zone, the vehicle class, standing time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<protocol::VehicleClass>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

pub struct PoliceFeed {
    tx: broadcast::Sender<PoliceEvent>,
    /// (consumer id, token digest).
    consumers: Vec<(String, [u8; 32])>,
    /// Last known state per camera ("offline" or up) and alert per approach.
    cameras: Mutex<HashMap<String, bool>>,
    alerts: Mutex<HashMap<(String, String), bool>>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl PoliceFeed {
    pub fn new(settings: &PoliceSettings) -> Arc<PoliceFeed> {
        let consumers = settings
            .consumers
            .iter()
            .filter_map(|c| {
                let bytes: Option<Vec<u8>> =
                    (0..32).map(|i| u8::from_str_radix(c.token_sha256.get(2 * i..2 * i + 2)?, 16).ok()).collect();
                Some((c.id.clone(), bytes?.try_into().ok()?))
            })
            .collect();
        Arc::new(PoliceFeed {
            tx: broadcast::channel(1024).0,
            consumers,
            cameras: Mutex::default(),
            alerts: Mutex::default(),
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<PoliceEvent> {
        self.tx.subscribe()
    }

    /// The consumer a bearer token belongs to.
    pub fn consumer(&self, token: &str) -> Option<&str> {
        let d = digest(token);
        self.consumers.iter().find(|(_, h)| *h == d).map(|(id, _)| id.as_str())
    }

    /// An incident an agent reported (each `incident_id` once; the hub de-duplicates).
    pub fn incident(&self, i: &protocol::messages::Incident) {
        let _ = self.tx.send(PoliceEvent {
            kind: i.kind.as_str(),
            camera_id: i.camera_id.clone(),
            at_ms: i.at_ms,
            line: i.line.clone(),
            area: None,
            level: None,
            incident_id: Some(i.incident_id.clone()),
            zone: i.zone.clone(),
            class: i.class,
            stopped_s: i.stopped_s,
            detail: i.detail.clone(),
        });
    }

    /// An agent's status arrived: `up` false for offline.
    pub fn camera_state(&self, camera: &str, up: bool, at_ms: i64) {
        let previous = self.cameras.lock().insert(camera.to_string(), up);
        let kind = match (previous, up) {
            (Some(true) | None, false) => "camera_offline",
            (Some(false), true) => "camera_online",
            _ => return,
        };
        let _ = self.tx.send(PoliceEvent {
            kind,
            camera_id: camera.into(),
            at_ms,
            line: None,
            area: None,
            level: None,
            incident_id: None,
            zone: None,
            class: None,
            stopped_s: None,
            detail: None,
        });
    }

    /// A forecast was made: an alert is announced when it starts, not every interval.
    pub fn forecast(&self, r: &protocol::forecast::ForecastReport) {
        let key = (r.camera_id.clone(), r.line.clone());
        let was = self.alerts.lock().insert(key, r.alert).unwrap_or(false);
        if r.alert && !was {
            let level = r.horizons.iter().filter(|h| h.minutes <= 30).filter_map(|h| h.level).max();
            let _ = self.tx.send(PoliceEvent {
                kind: "congestion_alert",
                camera_id: r.camera_id.clone(),
                at_ms: r.made_at_ms,
                line: Some(r.line.clone()),
                area: Some(r.area.clone()),
                level,
                incident_id: None,
                zone: None,
                class: None,
                stopped_s: None,
                detail: None,
            });
        }
    }
}

impl PoliceFeed {
    /// Puts the feed on MQTT (`tac/v1/feeds/police/alerts`, which the ACL lets the police
    /// consumers read) until `stop` is cancelled. Subscribes now, so no event published
    /// after this call is missed however late the returned future first runs.
    pub fn relay_to_mqtt(
        &self,
        client: rumqttc::AsyncClient,
        stop: tokio_util::sync::CancellationToken,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut events = self.subscribe();
        async move {
            loop {
                let next = tokio::select! {
                    next = events.recv() => next,
                    _ = stop.cancelled() => return,
                };
                match next {
                    Ok(ev) => {
                        let body = serde_json::to_vec(&ev).unwrap_or_default();
                        let topic = protocol::topics::POLICE_ALERTS;
                        if let Err(e) = client.publish(topic, rumqttc::QoS::AtLeastOnce, false, body).await {
                            tracing::warn!(error = %e, "police feed event not queued for MQTT");
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "police feed MQTT publisher fell behind")
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        }
    }
}
