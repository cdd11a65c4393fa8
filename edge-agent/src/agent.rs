//! The long-running agent (`edge-agent run`): one camera, forever. The stream is
//! reconnected whenever it drops; interval reports keep coming on the wall clock, with
//! coverage telling how much of each interval was really seen.
//!
//! The frame loop is `sink::drive`; this file wires it for a camera: the `AgentSink`
//! stores each interval and incident durably and publishes them over MQTT when the config
//! has `[mqtt]` (see `report`), and hands each interval to a callback (the CLI prints a
//! JSON line).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime};

use protocol::IntervalCounts;
use protocol::messages::{Incident, ZoneNow};

use crate::app::build_pipeline;
use crate::config::AgentConfig;
use crate::ingest::health::unix_ms;
use crate::ingest::{HealthSnapshot, Reader, ReconnectPolicy, StreamHealth};
use crate::report::Reporter;
use crate::sink::{Clock, Sink, drive};
use crate::stages::PrepStage;

pub fn run(
    config: &AgentConfig,
    config_dir: Option<&Path>,
    stop: Arc<AtomicBool>,
    on_interval: impl FnMut(&IntervalCounts, &HealthSnapshot, Option<StoredAs>),
) -> anyhow::Result<()> {
    let mut pipeline = build_pipeline(config, None, config_dir)?;
    let spec = config.source(config_dir).map_err(anyhow::Error::msg)?;
    let opts = config.open_options();
    let live = spec.is_live();
    let reader = if live {
        Reader::new_live(spec, opts, ReconnectPolicy::default())
    } else {
        Reader::open(spec, opts, ReconnectPolicy { reconnect: false, ..Default::default() })?
    };
    let epoch = unix_ms(SystemTime::now()) as u64;
    let reporter = Reporter::start(config, config_dir, epoch)?;
    let health = reader.health();
    let source_name = reader.spec().display_name();
    let stage = PrepStage::spawn(reader, pipeline.preparer(), 1);
    if live {
        pipeline.start(unix_ms(SystemTime::now()));
    }
    tracing::info!(camera = %config.camera.id, source = %source_name, model = %config.camera.model, "agent started");
    let mut sink = AgentSink {
        camera: config.camera.id.clone(),
        epoch,
        reporter,
        health,
        on_interval,
        last_status: Instant::now(),
    };
    drive(&mut pipeline, &stage, if live { Clock::Wall } else { Clock::Frames }, &stop, &mut sink)?;
    tracing::info!(camera = %config.camera.id, "agent stopped");
    Ok(())
}

/// The agent's sink: the outboxes and MQTT (when `[mqtt]` is configured), the status
/// heartbeat's figures, a status log every 30 s, and the caller's callback.
struct AgentSink<F> {
    camera: String,
    epoch: u64,
    reporter: Option<Reporter>,
    health: Arc<StreamHealth>,
    on_interval: F,
    last_status: Instant,
}

impl<F: FnMut(&IntervalCounts, &HealthSnapshot, Option<StoredAs>)> Sink for AgentSink<F> {
    fn interval(&mut self, interval: &IntervalCounts) {
        let stored = self.reporter.as_ref().and_then(|r| store(r, interval, self.epoch));
        let h = self.health.snapshot();
        if let Some(r) = &self.reporter {
            r.update_status(interval.fps, interval.coverage, h.up);
        }
        (self.on_interval)(interval, &h, stored);
    }

    fn incident(&mut self, incident: Incident) {
        if let Some(r) = &self.reporter {
            r.publish_incident(incident);
        }
    }

    fn presence_every_ms(&self) -> Option<i64> {
        self.reporter.as_ref().and_then(|r| r.presence_interval_ms())
    }

    fn presence(&mut self, at_ms: i64, zones: std::collections::BTreeMap<String, ZoneNow>) {
        if let Some(r) = &self.reporter {
            r.publish_presence(at_ms, zones);
        }
    }

    fn tick(&mut self) {
        if self.last_status.elapsed() <= Duration::from_secs(30) {
            return;
        }
        let h = self.health.snapshot();
        let delivery = self.reporter.as_ref().map(|r| r.status()).unwrap_or_default();
        tracing::info!(
            camera = %self.camera,
            up = h.up,
            fps = h.fps,
            reconnects = h.reconnects,
            outbox_depth = delivery.depth,
            dropped = delivery.dropped,
            published = delivery.published,
            mqtt_connected = delivery.connected,
            "status"
        );
        self.last_status = Instant::now();
    }

    /// What is left in the outboxes is sent now if the link allows (up to 5 s), else on
    /// the next start.
    fn finish(&mut self) {
        if let Some(r) = &self.reporter {
            r.drain(Duration::from_secs(5));
        }
    }
}

/// The envelope identity an interval report was stored under (what central keys on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StoredAs {
    pub epoch: u64,
    pub seq: u64,
}

/// Stores an interval in the outbox. A failure here is the one place a count can be
/// lost, so it is logged at ERROR.
fn store(r: &Reporter, interval: &IntervalCounts, epoch: u64) -> Option<StoredAs> {
    match r.store(interval) {
        Ok(seq) => Some(StoredAs { epoch, seq }),
        Err(e) => {
            tracing::error!(error = %e, start_ms = interval.start_ms, "interval report could not be stored: lost");
            None
        }
    }
}
