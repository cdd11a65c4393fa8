//! Several cameras on one box: N streams of the same clip, each with its own decoder
//! (GStreamer), preparer thread, tracker and counter, sharing **one** ONNX Runtime
//! session (one intra-op thread) behind a lock — the layout an agent serving N cameras
//! would use. For each N, in a fresh child process so its peak RSS is its own:
//! aggregate fps, fps per stream, latency from a prepared frame being ready to its counts
//! being updated (the wait for the shared session included; p50 / p99), and peak RSS. Frames are not batched across
//! streams: the
//! shared session runs one frame at a time.
//!
//! `streams --clip C --line NAME:x1,y1,x2,y2 [--streams 1,2,4]`

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use edge_agent::app::parse_line_arg;
use edge_agent::detect::{DetectSettings, Detection, Detector, DetectorError, OnnxDetector, PreparedFrame};
use edge_agent::ingest::gst::OpenOptions;
use edge_agent::ingest::{Reader, ReconnectPolicy, SourceSpec};
use edge_agent::pipeline::{Pipeline, PipelineSettings};
use edge_agent::stages::{PrepStage, Staged};
use firmware_profiles::EdgeBoxProfile;

#[derive(Parser)]
#[command(about = "N camera streams sharing one ONNX Runtime session: aggregate fps, latency, peak RSS")]
struct Args {
    #[arg(long)]
    clip: PathBuf,
    #[arg(long = "line")]
    lines: Vec<String>,
    /// Stream counts to measure, comma-separated.
    #[arg(long, default_value = "1,2,4")]
    streams: String,
    #[arg(long, default_value = "yolox_nano_416")]
    model: String,
    /// Feed each stream at the clip's own frame rate, as a live camera would (default:
    /// as fast as decoding allows, which measures the most a box can take).
    #[arg(long)]
    realtime: bool,
    /// Internal: run one measurement with this many streams and print JSON.
    #[arg(long, hide = true)]
    child: Option<usize>,
}

/// One ORT session shared by every stream's pipeline.
struct Shared {
    inner: Arc<Mutex<OnnxDetector>>,
    spec: Option<models::InputSpec>,
    id: String,
}

impl Detector for Shared {
    fn input_spec(&self) -> Option<&models::InputSpec> {
        self.spec.as_ref()
    }
    fn detect_prepared(&mut self, input: &PreparedFrame, out: &mut Vec<Detection>) -> Result<(), DetectorError> {
        self.inner.lock().detect_prepared(input, out)
    }
    fn model_id(&self) -> &str {
        &self.id
    }
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn child(args: &Args, n: usize) -> anyhow::Result<serde_json::Value> {
    let (manifest, model_path) = edge_agent::config::resolve_model(&args.model, None).map_err(anyhow::Error::msg)?;
    let profile = EdgeBoxProfile::builtin("generic_x86")?;
    let detector =
        OnnxDetector::load(&manifest, &model_path, &profile, DetectSettings::default()).context("loading detector")?;
    let spec = detector.input_spec().cloned();
    let id = detector.model_id().to_string();
    let shared = Arc::new(Mutex::new(detector));
    let lines =
        args.lines.iter().map(|l| parse_line_arg(l)).collect::<Result<Vec<_>, _>>().map_err(anyhow::Error::msg)?;
    let start = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let det = Shared { inner: shared.clone(), spec: spec.clone(), id: id.clone() };
            let settings =
                PipelineSettings { lines: lines.clone(), interval: Duration::from_secs(10), ..Default::default() };
            let clip = args.clip.clone();
            let realtime = args.realtime;
            std::thread::spawn(move || -> anyhow::Result<(u64, Vec<f64>)> {
                let mut pipeline = Pipeline::new(det, settings);
                let reader = Reader::open(
                    SourceSpec::File(clip),
                    OpenOptions::default(),
                    ReconnectPolicy { reconnect: false, ..Default::default() },
                )?;
                let stage = PrepStage::spawn(reader, pipeline.preparer(), 2);
                let (mut frames, mut latency) = (0u64, Vec::new());
                let (t0, mut first_pts) = (Instant::now(), None);
                loop {
                    match stage.next() {
                        Staged::Frame(input) => {
                            if realtime {
                                let first = *first_pts.get_or_insert(input.meta.pts_ns);
                                let due = t0 + Duration::from_nanos(input.meta.pts_ns.saturating_sub(first));
                                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                                    std::thread::sleep(wait);
                                }
                            }
                            // From a prepared frame being ready to its counts updated: the
                            // wait for the shared session plus detection, tracking, counting.
                            let ready = Instant::now();
                            pipeline.process_prepared(&input)?;
                            latency.push(ready.elapsed().as_secs_f64() * 1000.0);
                            frames += 1;
                            stage.recycle(input);
                        }
                        Staged::End => break,
                        Staged::Failed(e) => return Err(e.into()),
                        Staged::Idle | Staged::Down(_) => {}
                    }
                }
                Ok((frames, latency))
            })
        })
        .collect();
    let mut per_stream = Vec::new();
    let mut latency = Vec::new();
    for h in handles {
        let (frames, l) = h.join().map_err(|_| anyhow::anyhow!("stream thread panicked"))??;
        per_stream.push(frames);
        latency.extend(l);
    }
    let seconds = start.elapsed().as_secs_f64();
    latency.sort_by(f64::total_cmp);
    let total: u64 = per_stream.iter().sum();
    Ok(serde_json::json!({
        "streams": n, "frames": total, "seconds": (seconds * 100.0).round() / 100.0,
        "aggregate_fps": (total as f64 / seconds * 10.0).round() / 10.0,
        "fps_per_stream": (total as f64 / seconds / n as f64 * 10.0).round() / 10.0,
        "latency_p50_ms": (percentile(&latency, 0.5) * 10.0).round() / 10.0,
        "latency_p99_ms": (percentile(&latency, 0.99) * 10.0).round() / 10.0,
        "peak_rss_mb": (peak_rss_mb() * 10.0).round() / 10.0,
    }))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(n) = args.child {
        println!("{}", child(&args, n)?);
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let pace = if args.realtime {
        "each fed at the clip's frame rate, like a live camera"
    } else {
        "each fed as fast as it decodes"
    };
    println!(
        "clip {} — N streams sharing one ONNX Runtime session (1 intra-op thread, no batching), {pace}",
        args.clip.display()
    );
    println!("| streams | aggregate fps | fps per stream | frame ready → counted p50 / p99 (ms) | peak RSS (MB) |");
    println!("|---|---|---|---|---|");
    for n in args.streams.split(',').map(|s| s.trim().parse::<usize>()) {
        let n = n.context("--streams: comma-separated numbers")?;
        let mut cmd = std::process::Command::new(&exe);
        cmd.arg("--clip").arg(&args.clip).arg("--model").arg(&args.model).arg("--child").arg(n.to_string());
        if args.realtime {
            cmd.arg("--realtime");
        }
        for l in &args.lines {
            cmd.arg("--line").arg(l);
        }
        let out = cmd.stderr(std::process::Stdio::inherit()).output()?;
        anyhow::ensure!(out.status.success(), "{n} streams failed");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        println!(
            "| {n} | {} | {} | {} / {} | {} |",
            v["aggregate_fps"], v["fps_per_stream"], v["latency_p50_ms"], v["latency_p99_ms"], v["peak_rss_mb"]
        );
    }
    Ok(())
}
