//! Sends a camera's saved geometry version to its agent: a `ConfigPush` in central's
//! envelope on `tac/v1/cameras/{id}/config`, QoS 1, retained, so an agent that connects
//! later (or reconnects) gets its camera's newest version from the broker.
//!
//! Invariants: a version is published only after it is committed with its audit entry
//! (the HTTP API saves, then calls `publish`); the newest save of a camera is the last
//! one published, so it is what the broker retains. Agents order pushes by `version`,
//! not by the envelope's `seq`.
//!
//! Envelope identity, as central's other publishers do it: `agent_id` is central's client
//! id, `epoch` this publisher's start time (ms), `seq` counts its messages.

use std::sync::atomic::{AtomicU64, Ordering};

use protocol::camera_config::ConfigPush;
use protocol::messages::Envelope;
use protocol::topics::Topic;
use rumqttc::{AsyncClient, QoS};

use crate::clock::now_ms;

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
}

impl ConfigPublisher {
    pub fn new(client: AsyncClient, central_id: &str) -> ConfigPublisher {
        ConfigPublisher { client, central_id: central_id.into(), epoch: now_ms() as u64, seq: AtomicU64::new(0) }
    }

    /// Queues `push` on central's MQTT session (retained, QoS 1). The session sends it
    /// once connected, and again after a reconnect until the broker acknowledges it.
    pub async fn publish(&self, push: &ConfigPush) -> Result<(), PushError> {
        let topic = Topic::CameraConfig { camera: push.camera_id.clone() }
            .to_topic()
            .map_err(|e| PushError::Topic(e.to_string()))?;
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let payload =
            serde_json::to_vec(&Envelope::new(&self.central_id, self.epoch, seq, push)).expect("serialisable");
        self.client.publish(topic, QoS::AtLeastOnce, true, payload).await?;
        tracing::info!(camera = %push.camera_id, version = push.version, "camera config published");
        Ok(())
    }
}
