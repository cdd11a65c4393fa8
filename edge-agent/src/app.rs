//! What the CLI's commands do, as library functions (tests and benches call them too).
//!
//! `count_clip` counts a whole source and returns totals per line (`count_clip_annotated`
//! also writes the annotated video); `build_pipeline` turns a config (or command-line
//! overrides) into a ready pipeline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use firmware_profiles::EdgeBoxProfile;
use protocol::{DirectionCounts, IntervalCounts};
use serde::Serialize;

use crate::config::{AgentConfig, resolve_model};
use crate::count::LineDef;
use crate::detect::OnnxDetector;
use crate::fit::FrameFit;
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
        incidents.one_way = given
            .iter()
            .map(|l| config.lines.iter().find(|c| c.name == l.name).and_then(|c| c.one_way.map(Into::into)))
            .collect();
        incidents.line_names = given.iter().map(|l| l.name.clone()).collect();
    }
    let settings = PipelineSettings {
        incidents,
        scene: config.scene.clone(),
        repeat_max_diff: config.detect.repeat_max_diff,
        calibration: config.calibration().map_err(|e| anyhow::anyhow!("calibration.points: {e}"))?,
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
    /// Per line, the speeds of every crossing of the clip (calibrated cameras only).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub speeds: BTreeMap<String, protocol::LineSpeeds>,
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
    /// Lines replacing the config's (`count --line`); `None`: the config's own lines, with
    /// their one-way rules, exactly as `run` would deploy them.
    pub lines: Option<Vec<LineDef>>,
    /// Everything else (model, box profile, thresholds, views); the camera section's
    /// source is ignored (the caller resolves it into `source`).
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
struct ClipTotals<'a, P> {
    intervals: Vec<IntervalCounts>,
    incidents: Vec<protocol::messages::Incident>,
    frames: u64,
    first_pts: Option<u64>,
    last_pts: u64,
    progress: P,
    /// Checked on the first frame; a line or zone outside it stops the count.
    fit: Option<FrameFit>,
    misfit: Option<(u32, u32, Vec<crate::config::ConfigIssue>)>,
    stop: &'a AtomicBool,
    /// `count --annotate`: where the drawn frames go.
    video: Option<crate::annotate::VideoWriter>,
}

impl<P: FnMut(u64)> Sink for ClipTotals<'_, P> {
    fn frame(&mut self, meta: &crate::detect::FrameMeta) {
        if let Some(fit) = self.fit.take() {
            let issues = fit.check(meta.width, meta.height);
            if !issues.is_empty() {
                self.misfit = Some((meta.width, meta.height, issues));
                self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        self.frames += 1;
        self.first_pts.get_or_insert(meta.pts_ns);
        self.last_pts = meta.pts_ns;
        (self.progress)(self.frames);
    }

    fn picture(
        &mut self,
        meta: &crate::detect::FrameMeta,
        picture: &mut image::RgbImage,
        scene: &crate::pipeline::SceneView<'_>,
    ) -> anyhow::Result<()> {
        if let Some(video) = self.video.as_mut() {
            crate::annotate::render(picture, scene);
            video.push(picture, meta.pts_ns)?;
        }
        Ok(())
    }

    fn interval(&mut self, interval: &IntervalCounts) {
        self.intervals.push(interval.clone());
    }

    fn incident(&mut self, incident: protocol::messages::Incident) {
        self.incidents.push(incident);
    }
}

pub fn count_clip(job: &CountJob, progress: impl FnMut(u64)) -> anyhow::Result<CountReport> {
    count_clip_annotated(job, None, progress)
}

/// `count_clip`, also writing every frame, annotated, to the MP4 file `annotate` if given.
pub fn count_clip_annotated(
    job: &CountJob,
    annotate: Option<&Path>,
    progress: impl FnMut(u64),
) -> anyhow::Result<CountReport> {
    let video = annotate.map(crate::annotate::VideoWriter::create).transpose()?;
    let mut pipeline = build_pipeline(&job.config, job.lines.clone(), job.config_dir.as_deref())?;
    pipeline.record_crossings();
    let opts = job.config.open_options();
    let policy = ReconnectPolicy { reconnect: false, ended_early_fails: true, ..Default::default() };
    let reader = Reader::open(job.source.clone(), opts, policy)?;
    let preparer = if video.is_some() { pipeline.preparer().with_pictures() } else { pipeline.preparer() };
    let stage = PrepStage::spawn(reader, preparer, 2);
    let stop = AtomicBool::new(false);
    let mut totals = ClipTotals {
        intervals: Vec::new(),
        incidents: Vec::new(),
        frames: 0,
        first_pts: None,
        last_pts: 0,
        progress,
        fit: Some(FrameFit::new(&job.config, job.lines.as_deref())),
        misfit: None,
        stop: &stop,
        video,
    };
    drive(&mut pipeline, &stage, Clock::Frames, &stop, &mut totals)?;
    let ClipTotals { intervals, incidents, frames, first_pts, last_pts, misfit, video, .. } = totals;
    if let Some((width, height, issues)) = misfit {
        // Counting on would print zeros for a road the lines do not touch.
        let list: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
        anyhow::bail!(
            "source {}: the lines and zones do not fit its {width}×{height} frames (drawn on another stream \
             or resolution?): {}",
            job.source.display_name(),
            list.join("; ")
        );
    }
    if frames == 0 {
        anyhow::bail!("source {}: no video frames decoded", job.source.display_name());
    }
    if let Some(video) = video {
        let written = video.finish()?;
        // Every counted frame is drawn: a shortfall would be a bug in the stage or loop.
        anyhow::ensure!(written == frames, "annotated video has {written} of {frames} frames");
    }
    let fps = pipeline.fps().max(1.0) as f64;
    let times = pipeline.times().clone();
    let detect_times = crate::detect::Detector::times(pipeline.detector());
    let repeats = pipeline.repeats();
    let views_per_frame = detect_times.inferences as f64 / (frames - repeats).max(1) as f64;
    let names: Vec<String> = match &job.lines {
        Some(given) => given.iter().map(|l| l.name.clone()).collect(),
        None => job.config.lines.iter().map(|l| l.name.clone()).collect(),
    };
    let mut lines: BTreeMap<String, DirectionCounts> =
        names.iter().map(|name| (name.clone(), DirectionCounts::default())).collect();
    for i in &intervals {
        for (name, c) in &i.lines {
            lines.entry(name.clone()).or_default().merge(c);
        }
    }
    let mut measured: BTreeMap<usize, Vec<(protocol::VehicleClass, f64)>> = BTreeMap::new();
    for ev in pipeline.crossings() {
        if let (crate::count::EventKind::Line { line, .. }, Some(v)) = (&ev.kind, ev.speed_kmh) {
            measured.entry(*line).or_default().push((ev.class, v));
        }
    }
    let speeds = measured
        .iter()
        .filter_map(|(line, m)| Some((names.get(*line)?.clone(), crate::count::line_speeds(m)?)))
        .collect();
    let seconds = (last_pts - first_pts.unwrap_or(0)) as f64 / 1e9 + 1.0 / fps;
    Ok(CountReport {
        source: job.source.display_name(),
        frames,
        seconds: (seconds * 1000.0).round() / 1000.0,
        lines,
        speeds,
        intervals,
        incidents,
        model: job.config.camera.model.clone(),
        times,
        detect_times,
        repeats,
        views_per_frame,
    })
}
