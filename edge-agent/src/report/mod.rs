//! Reporting stage: each closed interval becomes a versioned `CountReport`, is stored in
//! the durable outbox (fsynced) and is published from there by the MQTT publisher on
//! its own thread. The report's `seq` is its outbox sequence number, so it increases
//! across restarts too; `epoch` is the agent's start time and changes on every start.
//! Incidents take the same road through their own outbox (`<dir>/events`), so neither a
//! broken link nor a restart loses one; live presence alone is fire-and-forget (QoS 0).

pub mod link;
pub mod outbox;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use parking_lot::Mutex;
use std::thread::JoinHandle;

use protocol::IntervalCounts;
use protocol::messages::{AgentState, CountReport, Envelope, ModelRef, Presence, Status, ZoneNow};
use protocol::topics::Topic;

use crate::config::{AgentConfig, resolve_model};
use link::{PublishStats, Publisher};
use outbox::Outbox;

/// Where live zone occupancy goes, and how often.
struct PresenceLink {
    client: rumqttc::Client,
    topic: String,
    every_ms: i64,
}

/// Where the answers to central's config pushes and snapshot requests go.
struct ConfigAckLink {
    client: rumqttc::Client,
    topic: String,
    snapshot_topic: String,
    seq: std::sync::atomic::AtomicU64,
}

/// What the agent's periodic status log says about delivery.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryStatus {
    /// Reports waiting in the outbox.
    pub depth: u64,
    /// Reports dropped because the outbox was over its budget.
    pub dropped: u64,
    /// Reports delivered since start.
    pub published: u64,
    pub connected: bool,
}

/// Incidents are small (a few hundred bytes) and rare: 16 MiB holds tens of thousands.
const EVENTS_MAX_BYTES: u64 = 16 * 1024 * 1024;

pub struct Reporter {
    camera: String,
    epoch: u64,
    model: ModelRef,
    outbox: Arc<Mutex<Outbox>>,
    stop: Arc<AtomicBool>,
    stats: Arc<PublishStats>,
    status: Arc<Mutex<Status>>,
    thread: Option<JoinHandle<()>>,
    /// Live presence; none when `presence_interval_ms` is 0 or the camera has no zones.
    presence: Option<PresenceLink>,
    presence_seq: std::sync::atomic::AtomicU64,
    /// Incidents waiting for the broker's acknowledgement.
    events: Arc<Mutex<Outbox>>,
    /// Central's config pushes, until the frame loop takes them.
    config_pushes: Mutex<Option<std::sync::mpsc::Receiver<Vec<u8>>>>,
    /// Snapshot requests, until the frame loop takes them.
    snapshot_requests: Mutex<Option<std::sync::mpsc::Receiver<Vec<u8>>>>,
    config_ack: ConfigAckLink,
}

impl Reporter {
    /// Opens the outbox and starts publishing; `None` when the config has no `[mqtt]`.
    pub fn start(config: &AgentConfig, base: Option<&Path>, epoch: u64) -> anyhow::Result<Option<Reporter>> {
        let Some(mqtt) = config.mqtt_resolved(base) else { return Ok(None) };
        let (manifest, _) = resolve_model(&config.camera.model, base).map_err(anyhow::Error::msg)?;
        let dir = crate::config::resolve(base, &config.outbox.dir);
        let (outbox, recovery) = Outbox::open(&dir, config.outbox.max_mb * 1024 * 1024)?;
        tracing::info!(
            dir = %dir.display(),
            pending = recovery.pending,
            truncated = recovery.truncated_bytes,
            lost = recovery.lost_records,
            "outbox opened"
        );
        if recovery.lost_records > 0 {
            tracing::error!(lost = recovery.lost_records, "outbox damage: reports lost");
        }
        let outbox = Arc::new(Mutex::new(outbox));
        let events_dir = dir.join("events");
        let (events, events_recovery) = Outbox::open(&events_dir, EVENTS_MAX_BYTES)?;
        if events_recovery.pending > 0 || events_recovery.lost_records > 0 {
            tracing::info!(pending = events_recovery.pending, lost = events_recovery.lost_records, "incidents waiting");
        }
        let events = Arc::new(Mutex::new(events));
        let camera = config.camera.id.clone();
        let model = ModelRef { id: manifest.id, sha256: manifest.sha256 };
        let status = Arc::new(Mutex::new(Status {
            camera_id: camera.clone(),
            state: AgentState::Online,
            fps: 0.0,
            coverage: 0.0,
            outbox_depth: 0,
            dropped: 0,
            uptime_s: 0,
            model: Some(model.clone()),
            calibration: calibration_info(config),
            box_profile: Some(config.camera.box_profile.clone()),
        }));
        let (config_tx, config_rx) = std::sync::mpsc::channel();
        let (snapshot_tx, snapshot_rx) = std::sync::mpsc::channel();
        let mut publisher = Publisher::new(&mqtt, &camera, epoch, outbox.clone(), status.clone())?
            .with_events(events.clone())
            .with_inbox(&Topic::CameraConfig { camera: camera.clone() }, config_tx)?
            .with_inbox(&Topic::CameraSnapshotRequest { camera: camera.clone() }, snapshot_tx)?;
        let config_ack = ConfigAckLink {
            client: publisher.client(),
            topic: Topic::CameraConfigAck { camera: camera.clone() }.to_topic()?,
            snapshot_topic: Topic::CameraSnapshot { camera: camera.clone() }.to_topic()?,
            seq: std::sync::atomic::AtomicU64::new(0),
        };
        let stats = publisher.stats();
        let presence = (mqtt.presence_interval_ms > 0 && !config.zones.is_empty())
            .then(|| {
                Ok::<_, anyhow::Error>(PresenceLink {
                    client: publisher.client(),
                    topic: Topic::CameraPresence { camera: camera.clone() }.to_topic()?,
                    every_ms: mqtt.presence_interval_ms as i64,
                })
            })
            .transpose()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new().name("mqtt-publish".into()).spawn(move || publisher.run(&stop))?
        };
        Ok(Some(Reporter {
            camera,
            epoch,
            model,
            outbox,
            stop,
            stats,
            status,
            thread: Some(thread),
            presence,
            presence_seq: std::sync::atomic::AtomicU64::new(0),
            events,
            config_pushes: Mutex::new(Some(config_rx)),
            snapshot_requests: Mutex::new(Some(snapshot_rx)),
            config_ack,
        }))
    }

    /// Stores one interval durably; returns its sequence number.
    pub fn store(&self, interval: &IntervalCounts) -> anyhow::Result<u64> {
        let mut outbox = self.outbox.lock();
        let seq = outbox.next_seq();
        let body =
            CountReport { camera_id: self.camera.clone(), model: self.model.clone(), interval: interval.clone() };
        // The envelope's agent id is the camera id: what the broker ACL and central check
        // the topic against. `[mqtt] client_id` only names the MQTT session.
        let payload = serde_json::to_vec(&Envelope::new(&self.camera, self.epoch, seq, body))?;
        let stored = outbox.append(&payload)?;
        debug_assert_eq!(stored, seq);
        Ok(seq)
    }

    /// Central's config pushes as they arrive (raw payloads); `None` after the first call.
    pub fn take_config_pushes(&self) -> Option<std::sync::mpsc::Receiver<Vec<u8>>> {
        self.config_pushes.lock().take()
    }

    /// Answers a config push (QoS 1; queued by the MQTT client while the link is down).
    pub fn publish_config_ack(&self, ack: protocol::camera_config::ConfigAck) {
        self.answer(&self.config_ack.topic, ack, "config ack (central will show the push as pending)");
    }

    /// Snapshot requests as they arrive (raw payloads); `None` after the first call.
    pub fn take_snapshot_requests(&self) -> Option<std::sync::mpsc::Receiver<Vec<u8>>> {
        self.snapshot_requests.lock().take()
    }

    /// Answers a snapshot request (QoS 1, not retained: a picture is for who asked, now).
    pub fn publish_snapshot(&self, snapshot: protocol::snapshot::Snapshot) {
        self.answer(&self.config_ack.snapshot_topic, snapshot, "snapshot");
    }

    /// One answer to central on `topic`, in the agent's envelope, QoS 1, not retained;
    /// `what` names it in the warning when it cannot be queued.
    fn answer(&self, topic: &str, body: impl serde::Serialize, what: &str) {
        let link = &self.config_ack;
        let seq = link.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let queued = serde_json::to_vec(&Envelope::new(&self.camera, self.epoch, seq, body))
            .map_err(anyhow::Error::from)
            .and_then(|payload| Ok(link.client.try_publish(topic, rumqttc::QoS::AtLeastOnce, false, payload)?));
        if let Err(e) = queued {
            tracing::warn!(error = %e, "{what} not queued");
        }
    }

    /// How often live presence should go out (ms), if at all.
    pub fn presence_interval_ms(&self) -> Option<i64> {
        self.presence.as_ref().map(|p| p.every_ms)
    }

    /// Sends one live zone-occupancy snapshot (QoS 0, dropped rather than queued when
    /// the link is busy or down: it is stale a few seconds later anyway).
    pub fn publish_presence(&self, at_ms: i64, zones: std::collections::BTreeMap<String, ZoneNow>) {
        let Some(PresenceLink { client, topic, .. }) = &self.presence else { return };
        let seq = self.presence_seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let body = Presence { camera_id: self.camera.clone(), at_ms, zones };
        if let Ok(payload) = serde_json::to_vec(&Envelope::new(&self.camera, self.epoch, seq, body)) {
            let _ = client.try_publish(topic.as_str(), rumqttc::QoS::AtMostOnce, false, payload);
        }
    }

    /// Stores one incident durably (fsynced) for the publisher to send; only a full disk
    /// or a broken outbox loses it, and that is logged at ERROR.
    pub fn publish_incident(&self, mut incident: protocol::messages::Incident) {
        incident.camera_id = self.camera.clone();
        incident.incident_id = format!("{}-{}", self.epoch, incident.incident_id);
        let mut events = self.events.lock();
        let seq = events.next_seq();
        let stored = serde_json::to_vec(&Envelope::new(&self.camera, self.epoch, seq, &incident))
            .map_err(anyhow::Error::from)
            .and_then(|payload| events.append(&payload).map_err(anyhow::Error::from));
        if let Err(e) = stored {
            tracing::error!(error = %e, incident = %incident.incident_id, "incident could not be stored: lost");
        }
    }

    /// The calibration the status reports, after a pushed config put a new one in place.
    pub fn set_calibration(&self, config: &AgentConfig) {
        self.status.lock().calibration = calibration_info(config);
    }

    /// Updates what the status heartbeat reports: the last interval's fps and coverage,
    /// and whether the camera stream is up (`degraded` when it is not).
    pub fn update_status(&self, fps: f64, coverage: f64, stream_up: bool) {
        let mut s = self.status.lock();
        s.fps = fps;
        s.coverage = coverage;
        s.state = if stream_up { AgentState::Online } else { AgentState::Degraded };
    }

    /// Waits up to `limit` for the publisher to empty the outbox (on shutdown); what is
    /// left is sent on the next start.
    pub fn drain(&self, limit: std::time::Duration) {
        let t = std::time::Instant::now();
        let events_left = || self.events.lock().depth();
        while t.elapsed() < limit && (self.status().depth > 0 || events_left() > 0) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Delivery figures for the status log.
    pub fn status(&self) -> DeliveryStatus {
        let outbox = self.outbox.lock();
        use std::sync::atomic::Ordering::Relaxed;
        DeliveryStatus {
            depth: outbox.depth(),
            dropped: outbox.dropped(),
            published: self.stats.published.load(Relaxed),
            connected: self.stats.connected.load(Relaxed),
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The fleet view's summary of a config's calibration (absent: not calibrated, or its fit
/// failed, which `validate` and the push check report).
fn calibration_info(config: &AgentConfig) -> Option<protocol::messages::CalibrationInfo> {
    config.calibration().ok().flatten().map(|c| protocol::messages::CalibrationInfo {
        points: config.calibration.as_ref().map_or(0, |c| c.points.len() as u32),
        rms_error_m: (c.rms_error_m * 1000.0).round() / 1000.0,
    })
}
