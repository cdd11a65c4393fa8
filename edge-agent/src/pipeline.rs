//! The per-frame hot loop: detect (over the configured views) → rider merge → track →
//! count → aggregate. Stages are plain structs called in order on one thread: each is
//! microseconds next to inference, so handing frames between threads would only add
//! latency. Decoding runs on GStreamer's own threads, behind the bounded appsink queue.
//!
//! Nothing here allocates per frame once buffers have grown to the scene's size, and
//! nothing logs per frame above `trace`.

use std::time::{Duration, Instant};

use protocol::IntervalCounts;

use crate::count::{Aggregator, CountEvent, CountSettings, Counter, LineDef, ZoneDef};
use crate::detect::{Detection, Detector, DetectorError, PreparedFrame, Preparer, ViewPlan};
use crate::frame::Frame;
use crate::ingest::health::unix_ms;
use crate::track::{Tracker, TrackerSettings};
use crate::twowheel::RiderMerge;

/// Everything a pipeline needs besides its detector.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    pub lines: Vec<LineDef>,
    pub zones: Vec<ZoneDef>,
    pub views: ViewPlan,
    pub rider: RiderMerge,
    pub tracker: TrackerSettings,
    pub count: CountSettings,
    pub interval: Duration,
    /// Longest pause between processed frames still counted as covered.
    pub max_gap: Duration,
    /// One-way lines and no-stopping zones.
    pub incidents: crate::count::IncidentRules,
    /// The camera-moved check.
    pub scene: crate::scene::SceneSettings,
    /// Skip frames repeating the last one looked at (grey levels; 0: look at every frame).
    pub repeat_max_diff: f32,
    /// Image → road plane: speeds on lines, densities in zones; `None`: neither.
    pub calibration: Option<protocol::calibration::Calibration>,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        PipelineSettings {
            lines: Vec::new(),
            zones: Vec::new(),
            views: ViewPlan::default(),
            rider: RiderMerge::default(),
            tracker: TrackerSettings::default(),
            count: CountSettings::default(),
            interval: Duration::from_secs(60),
            max_gap: Duration::from_secs(1),
            incidents: Default::default(),
            scene: crate::scene::SceneSettings { moved_alert: false, ..Default::default() },
            repeat_max_diff: crate::detect::DetectSettings::default().repeat_max_diff,
            calibration: None,
        }
    }
}

/// Time spent per stage, for benchmarks and status.
#[derive(Debug, Clone, Default)]
pub struct StageTimes {
    pub frames: u64,
    pub detect: Duration,
    pub track: Duration,
    pub count: Duration,
}

pub struct Pipeline<D: Detector> {
    detector: D,
    settings: PipelineSettings,
    preparer: Preparer,
    scratch: PreparedFrame,
    tracker: Tracker,
    counter: Counter,
    aggregator: Aggregator,
    dets: Vec<Detection>,
    events: Vec<CountEvent>,
    last_pts: Option<u64>,
    /// Pts of the last frame the tracker stepped to.
    tracked_pts: Option<u64>,
    /// Mean time between delivered frames (ns), the stream's real rate.
    period_ns: Option<f64>,
    repeats: u64,
    first_ms: Option<i64>,
    fps: f32,
    times: StageTimes,
    last_frame_ms: Option<i64>,
    incidents: crate::count::IncidentDetector,
    scene: crate::scene::SceneWatch,
    new_incidents: Vec<protocol::messages::Incident>,
    /// Every line crossing so far, when asked for (`record_crossings`: a whole clip's
    /// speeds); `None` on a live camera, where it would grow without bound.
    crossings: Option<Vec<CountEvent>>,
    /// Line events so far, `[forward, backward]` per line (for `view`).
    line_totals: Vec<[u64; 2]>,
    /// Geometry waiting for the next interval boundary, and that boundary (ms).
    next_geometry: Option<(reconfigure::Geometry, Option<i64>)>,
    /// The version of the geometry just put in place, until taken.
    applied_version: Option<u64>,
    /// Intervals closed by a geometry switch, for the next `poll`.
    closed: Vec<IntervalCounts>,
}

impl<D: Detector> Pipeline<D> {
    pub fn new(detector: D, settings: PipelineSettings) -> Pipeline<D> {
        let aggregator = aggregator_for(&settings);
        let scene = crate::scene::SceneWatch::new(settings.scene.clone());
        let preparer = preparer_for(&settings, &detector, &scene);
        let incidents = crate::count::IncidentDetector::new(settings.incidents.clone());
        let line_totals = vec![[0; 2]; settings.lines.len()];
        Pipeline {
            detector,
            preparer,
            scratch: PreparedFrame::default(),
            tracker: Tracker::new(settings.tracker.clone(), 25.0),
            counter: Counter::new(settings.lines.clone(), settings.zones.clone(), settings.count.clone())
                .with_calibration(settings.calibration.clone()),
            aggregator,
            settings,
            dets: Vec::with_capacity(256),
            events: Vec::with_capacity(64),
            last_pts: None,
            tracked_pts: None,
            period_ns: None,
            repeats: 0,
            first_ms: None,
            fps: 25.0,
            times: StageTimes::default(),
            last_frame_ms: None,
            incidents,
            scene,
            new_incidents: Vec::new(),
            crossings: None,
            line_totals,
            next_geometry: None,
            applied_version: None,
            closed: Vec::new(),
        }
    }

    /// Keeps every line crossing from now on (for a clip: `crossings`).
    pub fn record_crossings(&mut self) {
        self.crossings.get_or_insert_with(Vec::new);
    }

    /// The line crossings recorded since `record_crossings`.
    pub fn crossings(&self) -> &[CountEvent] {
        self.crossings.as_deref().unwrap_or(&[])
    }

    pub fn detector(&self) -> &D {
        &self.detector
    }

    pub fn times(&self) -> &StageTimes {
        &self.times
    }

    /// Frames per second of the stream as delivered (from timestamps, not the
    /// container's claim).
    pub fn fps(&self) -> f32 {
        self.fps
    }

    /// Frames skipped so far because they repeated the one before.
    pub fn repeats(&self) -> u64 {
        self.repeats
    }

    /// A preparer for this pipeline's detector and views, to run on another thread
    /// (see `stages`); its output goes to `process_prepared`.
    pub fn preparer(&self) -> Preparer {
        self.preparer.clone()
    }

    /// Runs all stages on one frame, preparing it on this thread.
    pub fn process(&mut self, frame: &Frame) -> Result<(), DetectorError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        self.preparer.prepare(frame, &mut scratch);
        let result = self.process_prepared(&scratch);
        self.scratch = scratch;
        result
    }

    /// Runs detection onwards on a frame prepared by `preparer()`.
    pub fn process_prepared(&mut self, input: &PreparedFrame) -> Result<(), DetectorError> {
        let meta = &input.meta;
        // The rate comes from buffer timestamps (containers and caps lie: 30/1 for a
        // 20 fps stream, 0/1 for variable rate), averaged over intervals, not rates, so
        // alternating 33/67 ms steps give 20 fps, not 22.5.
        if let Some(prev) = self.last_pts
            && meta.pts_ns > prev
        {
            let dt = ((meta.pts_ns - prev) as f64).clamp(1e9 / 120.0, 1e9);
            let period = self.period_ns.map_or(dt, |p| 0.9 * p + 0.1 * dt);
            self.period_ns = Some(period);
            self.fps = (1e9 / period) as f32;
            self.tracker.set_fps(self.fps);
        }
        self.last_pts = Some(meta.pts_ns);
        let at_ms = unix_ms(meta.captured_at);
        // A new geometry due at this frame is in place before the frame is counted.
        let closed = self.switch_if_due(at_ms);
        self.closed.extend(closed);
        // Tracker steps in frame periods of real time: a frame after a dropped or skipped
        // one moves the prediction two periods ahead, not one.
        let steps = match (self.tracked_pts, self.period_ns) {
            (Some(prev), Some(period)) if meta.pts_ns > prev => {
                ((meta.pts_ns - prev) as f64 / period).clamp(0.25, 30.0) as f32
            }
            _ => 1.0,
        };
        self.tracked_pts = Some(meta.pts_ns);

        let t0 = Instant::now();
        if input.repeat {
            // Nothing new to see: the last frame's detections stand, at no inference cost.
            self.repeats += 1;
        } else {
            self.detector.detect_prepared(input, &mut self.dets)?;
            self.settings.rider.apply(&mut self.dets);
        }
        let t1 = Instant::now();
        self.tracker.update_steps(&self.dets, at_ms, steps);
        let t2 = Instant::now();
        self.counter.update(self.tracker.tracks(), self.tracker.ended(), at_ms, self.fps);
        self.events.extend(self.counter.drain_events());
        self.incidents.on_frame(self.counter.standing(), at_ms);
        if let Some(thumb) = &input.thumb
            && let Some(moved) = self.scene.observe(thumb)
        {
            tracing::warn!(detail = moved.detail.as_deref().unwrap_or(""), "camera view moved");
            self.new_incidents.push(moved);
        }
        self.first_ms.get_or_insert(at_ms);
        self.emit_events();
        self.aggregator.frame(at_ms, self.counter.occupancy());
        self.last_frame_ms = Some(at_ms);
        let t3 = Instant::now();
        self.times.frames += 1;
        self.times.detect += t1 - t0;
        self.times.track += t2 - t1;
        self.times.count += t3 - t2;
        tracing::trace!(
            frame = meta.index,
            detections = self.dets.len(),
            tracks = self.tracker.tracks().len(),
            "frame processed"
        );
        if tracing::enabled!(target: "edge_agent::boxes", tracing::Level::TRACE) {
            for d in &self.dets {
                tracing::trace!(
                    target: "edge_agent::boxes",
                    frame = meta.index,
                    class = ?d.class,
                    score = d.score,
                    bbox = ?[d.bbox.x1, d.bbox.y1, d.bbox.x2, d.bbox.y2],
                    "detection"
                );
            }
            for t in self.tracker.tracks().iter().filter(|t| t.observed) {
                tracing::trace!(
                    target: "edge_agent::boxes",
                    frame = meta.index,
                    track = t.id,
                    state = ?t.state,
                    bbox = ?[t.bbox.x1, t.bbox.y1, t.bbox.x2, t.bbox.y2],
                    "track"
                );
            }
        }
        Ok(())
    }

    fn emit_events(&mut self) {
        let first = self.first_ms.unwrap_or(0);
        for ev in self.events.drain(..) {
            tracing::debug!(
                track = ev.track,
                kind = ?ev.kind,
                class = %ev.class,
                stream_s = (ev.at_ms - first) as f64 / 1000.0,
                "count event"
            );
            self.incidents.on_event(&ev);
            self.aggregator.event(&ev);
            if let crate::count::EventKind::Line { line, direction } = ev.kind {
                self.line_totals[line][(direction == crate::count::Direction::Backward) as usize] += 1;
            }
            if let Some(log) = &mut self.crossings
                && matches!(ev.kind, crate::count::EventKind::Line { .. })
            {
                log.push(ev);
            }
        }
        for incident in self.incidents.drain() {
            tracing::info!(
                kind = incident.kind.as_str(),
                at_ms = incident.at_ms,
                line = ?incident.line,
                zone = ?incident.zone,
                class = ?incident.class,
                "incident"
            );
            self.new_incidents.push(incident);
        }
    }

    /// Incidents decided since the last call (`camera_id` empty, `incident_id` unique
    /// within this pipeline).
    pub fn take_incidents(&mut self) -> Vec<protocol::messages::Incident> {
        std::mem::take(&mut self.new_incidents)
    }

    /// Every zone's occupancy at the last processed frame (for live presence), with
    /// that frame's time; `None` before the first frame.
    pub fn presence(&self) -> Option<(i64, std::collections::BTreeMap<String, protocol::messages::ZoneNow>)> {
        let at_ms = self.last_frame_ms?;
        let zones = self
            .settings
            .zones
            .iter()
            .zip(self.counter.occupancy())
            .zip(self.counter.last_entry())
            .map(|((z, &(inside, stationary)), &last)| {
                (z.name.clone(), protocol::messages::ZoneNow { inside, stationary, last_entry_ms: last })
            })
            .collect();
        Some((at_ms, zones))
    }

    /// Starts the interval clock (live agents, before the first frame).
    pub fn start(&mut self, now_ms: i64) {
        self.aggregator.start(now_ms);
    }

    /// Intervals complete at `now_ms`.
    pub fn poll(&mut self, now_ms: i64) -> Vec<IntervalCounts> {
        let mut out = std::mem::take(&mut self.closed);
        out.extend(self.switch_if_due(now_ms));
        out.extend(self.aggregator.poll(now_ms));
        out
    }

    /// End of stream: ends all tracks, decides pending events, emits every interval.
    pub fn finish(&mut self, now_ms: i64) -> Vec<IntervalCounts> {
        let remaining = self.tracker.finish();
        self.counter.finish(&remaining, now_ms);
        self.events.extend(self.counter.drain_events());
        self.emit_events();
        let mut out = std::mem::take(&mut self.closed);
        out.extend(self.aggregator.flush(now_ms));
        out
    }
}

/// The interval aggregator for `settings`' lines and zones.
fn aggregator_for(settings: &PipelineSettings) -> Aggregator {
    let lateness = settings.count.decision_delay_s as f64 + 0.5;
    Aggregator::new(
        settings.interval.as_millis() as i64,
        settings.max_gap.as_millis() as i64,
        (lateness * 1000.0) as i64,
        settings.lines.iter().map(|l| l.name.clone()).collect(),
        settings.zones.iter().map(|z| z.name.clone()).collect(),
    )
    .with_zone_lane_km(zone_lane_km(settings))
}

/// The frame preparer: the model's input, views following `settings`' lines and zones.
fn preparer_for<D: Detector>(settings: &PipelineSettings, detector: &D, scene: &crate::scene::SceneWatch) -> Preparer {
    let mut views = settings.views.clone();
    // Line tiles follow the lines being counted; the frame comes back for zones outside them.
    views.lines = settings.lines.iter().map(|l| (l.segment.a, l.segment.b)).collect();
    views.zones = settings.zones.iter().map(|z| z.polygon.points.clone()).collect();
    if let Some(spec) = detector.input_spec() {
        views.min_tile = spec.width.max(spec.height) as f32;
    }
    let preparer = Preparer::new(detector.input_spec(), views).with_repeat_check(settings.repeat_max_diff);
    if settings.scene.moved_alert { preparer.with_thumbnails(scene.check_every_ms()) } else { preparer }
}

/// Each zone's length on the road times its lanes (km), on a calibrated camera.
fn zone_lane_km(settings: &PipelineSettings) -> Vec<Option<f64>> {
    settings
        .zones
        .iter()
        .map(|z| {
            let cal = settings.calibration.as_ref()?;
            let polygon: Vec<[f64; 2]> = z.polygon.points.iter().map(|p| [p.x as f64, p.y as f64]).collect();
            Some(cal.ground_length_m(&polygon)? * z.lanes.max(1) as f64 / 1000.0)
        })
        .collect()
}

#[path = "pipeline_reconfigure.rs"]
pub mod reconfigure;

#[path = "pipeline_view.rs"]
mod view;
pub use view::SceneView;

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
