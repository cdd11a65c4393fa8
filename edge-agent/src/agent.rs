//! The long-running agent (`edge-agent run`): one camera, forever. The stream is
//! reconnected whenever it drops; interval reports keep coming on the wall clock, with
//! coverage telling how much of each interval was really seen.
//!
//! The frame loop is `sink::drive`; this file wires it for a camera: the `AgentSink`
//! stores each interval and incident durably and publishes them over MQTT when the config
//! has `[mqtt]` (see `report`), and hands each interval to a callback (the CLI prints a
//! JSON line).
//!
//! With `[mqtt]` the sink also takes central's geometry pushes (`remote_config`): each is
//! judged on arrival, answered at once when refused, put in place by the frame loop at
//! the next interval boundary, and answered when it is.
//!
//! With `run --annotate-dir` every frame is also drawn on and written to the box's disk
//! in segments within a byte budget (`annotate::recorder`); nothing of it leaves the box.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime};

use protocol::IntervalCounts;
use protocol::messages::{Incident, ZoneNow};

use crate::annotate::{RecordSettings, SegmentRecorder};
use crate::app::build_pipeline;
use crate::config::AgentConfig;
use crate::ingest::health::unix_ms;
use crate::ingest::{HealthSnapshot, Reader, ReconnectPolicy, StreamHealth};
use crate::report::Reporter;
use crate::sink::{Clock, Sink, drive};
use crate::stages::PrepStage;

/// `record`: also write the annotated video to the box's disk (`run --annotate-dir`).
pub fn run(
    config: &AgentConfig,
    config_dir: Option<&Path>,
    record: Option<RecordSettings>,
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
    let recorder = record.map(|r| SegmentRecorder::open(r, &config.camera.id)).transpose()?;
    // Annotation draws on every frame's picture: only then does the stage make one.
    let preparer = if recorder.is_some() { pipeline.preparer().with_pictures() } else { pipeline.preparer() };
    let stage = PrepStage::spawn(reader, preparer, 1);
    if live {
        pipeline.start(unix_ms(SystemTime::now()));
    }
    tracing::info!(camera = %config.camera.id, source = %source_name, model = %config.camera.model, "agent started");
    let pushes = reporter.as_ref().and_then(|r| r.take_config_pushes());
    let snapshots = reporter.as_ref().and_then(|r| r.take_snapshot_requests());
    let mut sink = AgentSink {
        snapshots: snapshots.map(|rx| crate::snapshot_link::SnapshotDesk::new(rx, config)),
        remote: pushes.map(|rx| (rx, crate::remote_config::RemoteConfig::new(config, config_dir.map(Into::into)))),
        camera: config.camera.id.clone(),
        epoch,
        reporter,
        health,
        on_interval,
        last_status: Instant::now(),
        fit: crate::fit::FrameFit::new(config, None),
        frame_size: None,
        fits: true,
        recorder,
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
    /// The lines and zones, checked against the frame size on the first frame and
    /// whenever it changes; while they do not fit, the camera reports `degraded`.
    fit: crate::fit::FrameFit,
    frame_size: Option<(u32, u32)>,
    fits: bool,
    /// Central's config pushes and the judge of them (with `[mqtt]`).
    remote: Option<(std::sync::mpsc::Receiver<Vec<u8>>, crate::remote_config::RemoteConfig)>,
    /// Operators' snapshot requests (with `[mqtt]`).
    snapshots: Option<crate::snapshot_link::SnapshotDesk>,
    /// `run --annotate-dir`.
    recorder: Option<SegmentRecorder>,
}

impl<F: FnMut(&IntervalCounts, &HealthSnapshot, Option<StoredAs>)> Sink for AgentSink<F> {
    fn frame(&mut self, meta: &crate::detect::FrameMeta) {
        let size = (meta.width, meta.height);
        if self.frame_size == Some(size) {
            return;
        }
        self.frame_size = Some(size);
        let issues = self.fit.check(meta.width, meta.height);
        self.fits = issues.is_empty();
        for issue in &issues {
            // Not ERROR: nothing is lost, but nothing crossing there is counted.
            tracing::warn!(
                camera = %self.camera,
                width = meta.width,
                height = meta.height,
                %issue,
                "counting geometry outside the frame; the camera reports degraded until it is fixed"
            );
        }
    }

    fn interval(&mut self, interval: &IntervalCounts) {
        let stored = self.reporter.as_ref().and_then(|r| store(r, interval, self.epoch));
        let h = self.health.snapshot();
        if let Some(r) = &self.reporter {
            r.update_status(interval.fps, interval.coverage, h.up && self.fits);
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

    fn reconfigure(&mut self) -> Option<crate::pipeline::reconfigure::Geometry> {
        use crate::remote_config::Verdict;
        let (rx, remote) = self.remote.as_mut()?;
        let mut next = None;
        // All that arrived: the newest valid one wins; every refusal is answered now.
        while let Ok(payload) = rx.try_recv() {
            match remote.judge(&payload, self.frame_size) {
                Verdict::Apply(geometry) => next = Some(*geometry),
                Verdict::Refuse(ack) => {
                    if let Some(r) = &self.reporter {
                        r.publish_config_ack(ack);
                    }
                }
                Verdict::Ignore => {}
            }
        }
        // The newest valid one is answered now (`accepted`), and again when in place
        // (`applied`); versions it overtook in this batch are answered by those.
        if let (Some(g), Some(r)) = (&next, &self.reporter) {
            r.publish_config_ack(remote.accepted(g.version));
        }
        next
    }

    fn wants_picture(&mut self) -> bool {
        let (Some(desk), Some(reporter)) = (self.snapshots.as_mut(), self.reporter.as_ref()) else { return false };
        desk.wants_picture(|answer| reporter.publish_snapshot(answer))
    }

    fn picture(
        &mut self,
        meta: &crate::detect::FrameMeta,
        picture: &mut image::RgbImage,
        scene: &crate::pipeline::SceneView<'_>,
    ) -> anyhow::Result<()> {
        if let (Some(desk), Some(reporter)) = (self.snapshots.as_mut(), self.reporter.as_ref()) {
            desk.take(meta, picture, scene, |answer| reporter.publish_snapshot(answer));
        }
        // After the snapshot desk, which needs the plain picture; drawing twice on an
        // annotated snapshot's picture draws the same overlay in the same place.
        if let Some(recorder) = self.recorder.as_mut() {
            crate::annotate::render(picture, scene);
            recorder.push(picture, meta.pts_ns, meta.captured_at);
        }
        Ok(())
    }

    fn applied(&mut self, version: u64) {
        let Some((_, remote)) = self.remote.as_mut() else { return };
        // Versions overtaken before the boundary get no ack of their own: this one's
        // `running_version` answers them, and a burst of acks could crowd out this one.
        let (ack, running, overtaken) = remote.applied(version);
        if let Some(config) = running {
            self.fit = crate::fit::FrameFit::new(&config, None);
            self.frame_size = None; // the next frame checks the new geometry
            if let Some(r) = &self.reporter {
                r.set_calibration(&config);
            }
        }
        tracing::info!(camera = %self.camera, version, "config from central in place");
        if !overtaken.is_empty() {
            tracing::info!(camera = %self.camera, version, overtaken = overtaken.len(), "accepted versions overtaken");
        }
        if let Some(r) = &self.reporter {
            r.publish_config_ack(ack);
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
        if let Some(recorder) = self.recorder.as_mut() {
            recorder.finish();
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
