//! What the CLI's commands do, as library functions (tests and benches call them too).
//!
//! `count_clip` counts a whole source and returns totals per line; `build_pipeline`
//! turns a config (or command-line overrides) into a ready pipeline.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use firmware_profiles::EdgeBoxProfile;
use protocol::{DirectionCounts, IntervalCounts};
use serde::Serialize;

use crate::config::{AgentConfig, resolve_model};
use crate::count::LineDef;
use crate::detect::OnnxDetector;
use crate::ingest::{Reader, ReconnectPolicy, SourceSpec};
use crate::pipeline::{Pipeline, PipelineSettings};
use crate::sink::{Clock, Sink, drive};
use crate::stages::PrepStage;

/// `NAME:x1,y1,x2,y2` → a line.
pub fn parse_line_arg(s: &str) -> Result<LineDef, String> {
    let (name, coords) = s.split_once(':').ok_or_else(|| format!("--line {s:?}: expected NAME:x1,y1,x2,y2"))?;
    let v: Vec<f32> = coords
        .split(',')
        .map(|c| c.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("--line {s:?}: coordinates must be numbers"))?;
    if name.is_empty() || v.len() != 4 || v.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return Err(format!("--line {s:?}: expected NAME:x1,y1,x2,y2 with non-negative numbers"));
    }
    if ((v[2] - v[0]).powi(2) + (v[3] - v[1]).powi(2)).sqrt() < 2.0 {
        return Err(format!("--line {s:?}: line is shorter than 2 px"));
    }
    Ok(LineDef::new(name, [v[0], v[1]], [v[2], v[3]]))
}

/// Detector + pipeline from a config, with `lines` replacing the config's lines when
/// given. Model and box profile come from the config.
pub fn build_pipeline(
    config: &AgentConfig,
    lines: Option<Vec<LineDef>>,
    base: Option<&std::path::Path>,
) -> anyhow::Result<Pipeline<OnnxDetector>> {
    let (manifest, model_path) = resolve_model(&config.camera.model, base).map_err(anyhow::Error::msg)?;
    let profile = EdgeBoxProfile::builtin(&config.camera.box_profile)?;
    crate::ingest::gst::prefer_decoders(&profile.decoders);
    let detector = OnnxDetector::load(&manifest, &model_path, &profile, config.detect.clone())?;
    let mut incidents = config.incident_rules();
    if let Some(given) = &lines {
        // Lines given on the command line replace the config's; a one-way rule follows
        // its line by name.
        incidents.one_way =
            given.iter().map(|l| config.lines.iter().find(|c| c.name == l.name).and_then(|c| c.one_way)).collect();
        incidents.line_names = given.iter().map(|l| l.name.clone()).collect();
    }
    let settings = PipelineSettings {
        incidents,
        scene: config.scene.clone(),
        repeat_max_diff: config.detect.repeat_max_diff,
        lines: lines.unwrap_or_else(|| config.line_defs()),
        zones: config.zone_defs(),
        views: config.views.clone(),
        rider: config.rider.clone(),
        tracker: config.tracker.clone(),
        count: config.count.clone(),
        interval: Duration::from_secs(config.camera.interval_s as u64),
        max_gap: Duration::from_secs(1),
    };
    Ok(Pipeline::new(detector, settings))
}

/// The result of counting a whole clip or stream. Serialises to the CLI contract.
#[derive(Debug, Clone, Serialize)]
pub struct CountReport {
    pub source: String,
    pub frames: u64,
    pub seconds: f64,
    pub lines: BTreeMap<String, DirectionCounts>,
    #[serde(skip)]
    pub intervals: Vec<IntervalCounts>,
    /// Incidents seen (one-way lines, no-stopping zones of the config), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<protocol::messages::Incident>,
    #[serde(skip)]
    pub model: String,
    /// Time per stage (not part of the JSON contract).
    #[serde(skip)]
    pub times: crate::pipeline::StageTimes,
    #[serde(skip)]
    pub detect_times: crate::detect::DetectTimes,
    /// Frames skipped as repeats of the one before (no inference).
    #[serde(skip)]
    pub repeats: u64,
    /// Inferences per frame looked at (the views).
    #[serde(skip)]
    pub views_per_frame: f64,
}

/// Settings for a one-shot count.
pub struct CountJob {
    pub source: SourceSpec,
    pub lines: Vec<LineDef>,
    /// Everything else (model, box profile, thresholds, views); the camera section's
    /// source is ignored.
    pub config: AgentConfig,
    pub config_dir: Option<PathBuf>,
}

/// A config with defaults for everything, for commands that take lines on the CLI.
pub fn default_config(model: Option<&str>, box_profile: Option<&str>) -> AgentConfig {
    let mut text = String::from("[camera]\nid = \"cli\"\nsource = \"cli\"\n");
    if let Some(m) = model {
        text += &format!("model = {}\n", toml_string(m));
    }
    if let Some(b) = box_profile {
        text += &format!("box_profile = {}\n", toml_string(b));
    }
    AgentConfig::parse(&text).expect("built-in default config parses")
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Counts every frame of `job.source` (a live source is read until it ends).
/// `edge-agent count`'s sink: every interval and incident of a clip, the frame count and
/// the first and last frame times, and a progress callback per frame.
struct ClipTotals<P> {
    intervals: Vec<IntervalCounts>,
    incidents: Vec<protocol::messages::Incident>,
    frames: u64,
    first_pts: Option<u64>,
    last_pts: u64,
    progress: P,
}

impl<P: FnMut(u64)> Sink for ClipTotals<P> {
    fn frame(&mut self, meta: &crate::detect::FrameMeta) {
        self.frames += 1;
        self.first_pts.get_or_insert(meta.pts_ns);
        self.last_pts = meta.pts_ns;
        (self.progress)(self.frames);
    }

    fn interval(&mut self, interval: &IntervalCounts) {
        self.intervals.push(interval.clone());
    }

    fn incident(&mut self, incident: protocol::messages::Incident) {
        self.incidents.push(incident);
    }
}

pub fn count_clip(job: &CountJob, progress: impl FnMut(u64)) -> anyhow::Result<CountReport> {
    let mut pipeline = build_pipeline(&job.config, Some(job.lines.clone()), job.config_dir.as_deref())?;
    let opts = job.config.open_options();
    let policy = ReconnectPolicy { reconnect: false, ..Default::default() };
    let reader = Reader::open(job.source.clone(), opts, policy)?;
    let stage = PrepStage::spawn(reader, pipeline.preparer(), 2);
    let mut totals =
        ClipTotals { intervals: Vec::new(), incidents: Vec::new(), frames: 0, first_pts: None, last_pts: 0, progress };
    drive(&mut pipeline, &stage, Clock::Frames, &AtomicBool::new(false), &mut totals)?;
    let ClipTotals { intervals, incidents, frames, first_pts, last_pts, .. } = totals;
    if frames == 0 {
        anyhow::bail!("source {}: no video frames decoded", job.source.display_name());
    }
    let fps = pipeline.fps().max(1.0) as f64;
    let times = pipeline.times().clone();
    let detect_times = crate::detect::Detector::times(pipeline.detector());
    let repeats = pipeline.repeats();
    let views_per_frame = detect_times.inferences as f64 / (frames - repeats).max(1) as f64;
    let mut lines: BTreeMap<String, DirectionCounts> =
        job.lines.iter().map(|l| (l.name.clone(), DirectionCounts::default())).collect();
    for i in &intervals {
        for (name, c) in &i.lines {
            lines.entry(name.clone()).or_default().merge(c);
        }
    }
    let seconds = (last_pts - first_pts.unwrap_or(0)) as f64 / 1e9 + 1.0 / fps;
    Ok(CountReport {
        source: job.source.display_name(),
        frames,
        seconds: (seconds * 1000.0).round() / 1000.0,
        lines,
        intervals,
        incidents,
        model: job.config.camera.model.clone(),
        times,
        detect_times,
        repeats,
        views_per_frame,
    })
}
