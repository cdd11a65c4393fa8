//! Publishing: interval reports go from the durable outbox to the broker over MQTT,
//! QoS 1, persistent session, and leave the outbox only on the broker's PUBACK.
//!
//! Delivery is stop-and-wait: one report in flight at a time. A report is a few KB and
//! cameras report once a minute, so even a day of backlog drains in about a minute,
//! and the PUBACK↔record mapping can never be confused by rumqttc's retransmissions
//! after a reconnect. After an agent crash the outbox resends from its ack cursor:
//! at-least-once; central de-duplicates on (agent_id, epoch, seq).
//!
//! The connection's last will publishes `offline` (retained) on the camera's status
//! topic; the agent publishes `online` (retained) on every connect.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use protocol::messages::{AgentState, Envelope, Status};
use protocol::topics::Topic;
use rumqttc::{Client, Connection, Event, LastWill, MqttOptions, Outgoing, Packet, QoS, RecvTimeoutError};
use serde::Deserialize;

use crate::outbox::Outbox;

/// `[mqtt]` in the agent config.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MqttSettings {
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// Client id; defaults to the camera id.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    /// Name of an environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default = "default_keep_alive")]
    pub keep_alive_s: u64,
}

fn default_port() -> u16 {
    1883
}
fn default_keep_alive() -> u64 {
    30
}

/// Counters shared with whoever reports status.
#[derive(Debug, Default)]
pub struct PublishStats {
    pub connected: AtomicBool,
    pub published: std::sync::atomic::AtomicU64,
}

pub struct Publisher {
    camera: String,
    agent: String,
    epoch: u64,
    client: Client,
    connection: Connection,
    outbox: Arc<Mutex<Outbox>>,
    counts_topic: String,
    status_topic: String,
    /// (outbox seq, packet id once sent) of the report in flight.
    inflight: Option<(u64, Option<u16>)>,
    connected: bool,
    backoff: Duration,
    stats: Arc<PublishStats>,
}

impl Publisher {
    pub fn new(
        settings: &MqttSettings,
        camera: &str,
        epoch: u64,
        outbox: Arc<Mutex<Outbox>>,
    ) -> anyhow::Result<Publisher> {
        let counts_topic = Topic::CameraCounts { camera: camera.into() }.to_topic()?;
        let status_topic = Topic::CameraStatus { camera: camera.into() }.to_topic()?;
        let client_id = settings.client_id.clone().unwrap_or_else(|| camera.to_string());
        let mut opts = MqttOptions::new(&client_id, &settings.host, settings.port);
        opts.set_keep_alive(Duration::from_secs(settings.keep_alive_s.max(5)));
        opts.set_clean_session(false);
        let offline = status_payload(camera, &client_id, epoch, AgentState::Offline)?;
        opts.set_last_will(LastWill::new(&status_topic, offline, QoS::AtLeastOnce, true));
        if let Some(user) = &settings.username {
            let password = match &settings.password_env {
                Some(var) => std::env::var(var).map_err(|_| anyhow::anyhow!("mqtt.password_env: {var} is not set"))?,
                None => String::new(),
            };
            opts.set_credentials(user, password);
        }
        let (client, connection) = Client::new(opts, 16);
        Ok(Publisher {
            camera: camera.into(),
            agent: client_id,
            epoch,
            client,
            connection,
            outbox,
            counts_topic,
            status_topic,
            inflight: None,
            connected: false,
            backoff: Duration::from_millis(250),
            stats: Arc::new(PublishStats::default()),
        })
    }

    pub fn stats(&self) -> Arc<PublishStats> {
        self.stats.clone()
    }

    /// Drives the connection until `stop`; returns when stopped.
    pub fn run(&mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            self.step(Duration::from_millis(100));
        }
        let _ = self.client.disconnect();
    }

    /// One turn: send the next report if none is in flight, then handle one event.
    pub fn step(&mut self, wait: Duration) {
        if self.connected && self.inflight.is_none() {
            self.send_next();
        }
        match self.connection.recv_timeout(wait) {
            Ok(Ok(event)) => self.on_event(event),
            Ok(Err(e)) => {
                if self.connected {
                    tracing::warn!(camera = %self.camera, error = %e, "MQTT connection lost; reports wait in the outbox");
                }
                self.connected = false;
                self.stats.connected.store(false, Ordering::Relaxed);
                // rumqttc reconnects on the next poll; do not spin while the broker is down.
                std::thread::sleep(self.backoff);
                self.backoff = (self.backoff * 2).min(Duration::from_secs(2));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(wait),
        }
    }

    fn send_next(&mut self) {
        let next = {
            let outbox = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
            outbox.pending_from(0, 1)
        };
        match next {
            Ok(records) => {
                if let Some((seq, payload)) = records.into_iter().next() {
                    match self.client.try_publish(&self.counts_topic, QoS::AtLeastOnce, false, payload) {
                        Ok(()) => self.inflight = Some((seq, None)),
                        Err(e) => tracing::warn!(error = %e, "MQTT request queue full; retrying"),
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "outbox unreadable; reports cannot be sent"),
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Incoming(Packet::ConnAck(_)) => {
                tracing::info!(camera = %self.camera, "MQTT connected");
                self.connected = true;
                self.backoff = Duration::from_millis(250);
                self.stats.connected.store(true, Ordering::Relaxed);
                if let Ok(online) = status_payload(&self.camera, &self.agent, self.epoch, AgentState::Online) {
                    let _ = self.client.try_publish(&self.status_topic, QoS::AtMostOnce, true, online);
                }
            }
            Event::Outgoing(Outgoing::Publish(pkid)) if pkid != 0 => {
                if let Some((_, slot @ None)) = &mut self.inflight {
                    *slot = Some(pkid);
                }
            }
            Event::Incoming(Packet::PubAck(ack)) => {
                if let Some((seq, Some(pkid))) = self.inflight
                    && pkid == ack.pkid
                {
                    let mut outbox = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
                    match outbox.ack_through(seq) {
                        Ok(()) => {
                            self.inflight = None;
                            self.stats.published.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => tracing::error!(error = %e, seq, "could not record an acknowledgement; the report will be sent again"),
                    }
                }
            }
            _ => {}
        }
    }
}

fn status_payload(camera: &str, agent: &str, epoch: u64, state: AgentState) -> anyhow::Result<Vec<u8>> {
    let status = Status { camera_id: camera.into(), state, fps: 0.0, coverage: 0.0, outbox_depth: 0, dropped: 0, uptime_s: 0, model: None };
    Ok(serde_json::to_vec(&Envelope::new(agent, epoch, 0, status))?)
}
