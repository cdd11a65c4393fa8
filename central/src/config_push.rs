//! Sends a camera's saved geometry version to its agent: a `ConfigPush` in central's
//! envelope on `tac/v1/cameras/{id}/config`, QoS 1, retained, so an agent that connects
//! later (or reconnects) gets its camera's newest version from the broker.
//!
//! Invariants: a version is published only after it is committed with its audit entry
//! (the HTTP API saves, then calls `publish`). Per camera, versions go out in increasing
//! order: a publish older than one already sent is dropped, so two saves racing to the
//! broker, or a republish racing a save, never leave an older version retained. Agents
//! order pushes by `version`, not by the envelope's `seq`.
//!
//! Every time the MQTT session (re)connects, the newest saved version of every camera is
//! published again (`republish_on_connect`): a broker restarted without its retained
//! store, or a save committed while central fell over before publishing, still reaches
//! the agents. An agent ignores a version it has already answered.
//!
//! Envelope identity, as central's other publishers do it: `agent_id` is central's client
//! id, `epoch` this publisher's start time (ms), `seq` counts its messages.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use protocol::camera_config::{ConfigPush, Geometry};
use protocol::messages::Envelope;
use protocol::topics::Topic;
use rumqttc::{AsyncClient, QoS};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("camera id: {0}")]
    Topic(String),
    #[error("the MQTT session is closed: {0}")]
    Closed(#[from] rumqttc::ClientError),
}

/// Central's publisher of camera configs; cheap to share (`Arc`).
pub struct ConfigPublisher {
    client: AsyncClient,
    central_id: String,
    epoch: u64,
    seq: AtomicU64,
    /// Per camera, the highest version handed to the session; held across the hand-off so
    /// the session queues each camera's versions in order.
    sent: tokio::sync::Mutex<HashMap<String, u64>>,
}

impl ConfigPublisher {
    pub fn new(client: AsyncClient, central_id: &str) -> ConfigPublisher {
        ConfigPublisher {
            client,
            central_id: central_id.into(),
            epoch: now_ms() as u64,
            seq: AtomicU64::new(0),
            sent: Default::default(),
        }
    }

    /// Queues `push` on central's MQTT session (retained, QoS 1). The session sends it
    /// once connected, and again after a reconnect until the broker acknowledges it.
    /// `Ok(false)`: a newer version of this camera has already gone out, so this one is
    /// not sent (the broker keeps the newer one).
    pub async fn publish(&self, push: &ConfigPush) -> Result<bool, PushError> {
        let topic = Topic::CameraConfig { camera: push.camera_id.clone() }
            .to_topic()
            .map_err(|e| PushError::Topic(e.to_string()))?;
        let mut sent = self.sent.lock().await;
        if let Some(&newer) = sent.get(&push.camera_id).filter(|&&v| v > push.version) {
            tracing::info!(camera = %push.camera_id, version = push.version, newer, "older camera config not sent");
            return Ok(false);
        }
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let payload =
            serde_json::to_vec(&Envelope::new(&self.central_id, self.epoch, seq, push)).expect("serialisable");
        self.client.publish(topic, QoS::AtLeastOnce, true, payload).await?;
        sent.insert(push.camera_id.clone(), push.version);
        tracing::info!(camera = %push.camera_id, version = push.version, "camera config published");
        Ok(true)
    }

    /// Publishes every camera's newest saved version each time the session connects
    /// (`connections` counts connections), until `stop`.
    pub async fn republish_on_connect(
        self: Arc<Self>,
        mut connections: watch::Receiver<u64>,
        store: Arc<Mutex<Box<dyn Store>>>,
        stop: CancellationToken,
    ) {
        loop {
            tokio::select! {
                changed = connections.changed() => if changed.is_err() { return },
                _ = stop.cancelled() => return,
            }
            let store = store.clone();
            let newest = match tokio::task::spawn_blocking(move || newest_configs(store.lock().as_mut())).await {
                Ok(Ok(newest)) => newest,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "camera configs not republished: the store did not answer");
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, "camera config republish panicked");
                    continue;
                }
            };
            let mut republished = 0;
            for push in &newest {
                match self.publish(push).await {
                    Ok(sent) => republished += usize::from(sent),
                    Err(e) => tracing::warn!(camera = %push.camera_id, error = %e, "camera config not republished"),
                }
            }
            tracing::info!(cameras = newest.len(), republished, "newest camera configs republished on connect");
        }
    }
}

/// Every camera's newest saved version, as a push.
fn newest_configs(store: &mut dyn Store) -> Result<Vec<ConfigPush>, StoreError> {
    let mut out = Vec::new();
    for (camera_id, versions) in store.config_versions()? {
        if versions.latest == 0 {
            continue;
        }
        let Some(json) = store.config_geometry(&camera_id, versions.latest)? else { continue };
        let geometry: Geometry = serde_json::from_str(&json)?;
        out.push(ConfigPush { camera_id, version: versions.latest, geometry });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_older_version_never_follows_a_newer_one_to_the_broker() {
        // Not connected: publishes queue in the client's channel, which is all this needs.
        let (client, _eventloop) = AsyncClient::new(rumqttc::MqttOptions::new("t", "127.0.0.1", 1), 16);
        let publisher = ConfigPublisher::new(client, "central-t");
        let push =
            |camera: &str, version| ConfigPush { camera_id: camera.into(), version, geometry: Geometry::default() };
        assert!(publisher.publish(&push("cam-a", 2)).await.unwrap());
        assert!(!publisher.publish(&push("cam-a", 1)).await.unwrap(), "a save that lost the race to the broker");
        assert!(publisher.publish(&push("cam-a", 2)).await.unwrap(), "the same version again: a republish");
        assert!(publisher.publish(&push("cam-b", 1)).await.unwrap(), "per camera");
        assert!(publisher.publish(&push("cam-a", 3)).await.unwrap());
    }
}
