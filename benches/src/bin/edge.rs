//! Edge pipeline against its limit, side by side in one run on one clip:
//!
//! - decode fps: GStreamer decoding alone (every frame delivered, nothing else);
//! - limit fps: bare ONNX Runtime inference on the same frames (pre-processing done
//!   beforehand and not timed) — no pipeline can beat it on one inference thread;
//! - pipeline fps: the whole agent pipeline on the file (decode on GStreamer's threads,
//!   pre-process, infer, NMS, rider merge, track, count, aggregate);
//! - ratio = pipeline / limit, and peak RSS of this process.
//!
//! `--json` prints the contract object of the benchmark issue; otherwise a table.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use edge_agent::app::{CountJob, count_clip, default_config, parse_line_arg};
use edge_agent::detect::{DetectSettings, Detector, OnnxDetector, PreparedFrame, Preparer, ViewPlan};
use edge_agent::ingest::gst::OpenOptions;
use edge_agent::ingest::{IngestEvent, Reader, ReconnectPolicy, SourceSpec};
use firmware_profiles::EdgeBoxProfile;

#[derive(Parser)]
#[command(about = "Edge pipeline vs decode-only and bare-inference speed on one clip")]
struct Args {
    #[arg(long)]
    clip: PathBuf,
    /// Counting line NAME:x1,y1,x2,y2 (repeatable).
    #[arg(long = "line")]
    lines: Vec<String>,
    /// ONNX Runtime intra-op threads.
    #[arg(long, default_value_t = 1)]
    threads: u32,
    #[arg(long, default_value = "yolox_nano_416")]
    model: String,
    #[arg(long)]
    json: bool,
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse::<f64>().unwrap_or(0.0)))
        .unwrap_or(0.0)
        / 1024.0
}

fn reader(clip: &std::path::Path) -> anyhow::Result<Reader> {
    Ok(Reader::open(SourceSpec::File(clip.to_path_buf()), OpenOptions::default(), ReconnectPolicy { reconnect: false, ..Default::default() })?)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = default_config(Some(&args.model), None);
    let lines = args.lines.iter().map(|l| parse_line_arg(l)).collect::<Result<Vec<_>, _>>().map_err(anyhow::Error::msg)?;

    // 1. Decode only.
    let t = Instant::now();
    let mut r = reader(&args.clip)?;
    let mut frames = 0u64;
    while let IngestEvent::Frame(_) | IngestEvent::Idle = r.next()? {
        frames += 1;
    }
    let decode_s = t.elapsed().as_secs_f64();
    // Idle events are rare on files; count only frames for the rate.
    let decode_fps = r.health().snapshot().frames as f64 / decode_s;

    // 2. Bare inference on the same frames.
    let (manifest, model_path) = edge_agent::config::resolve_model(&args.model, None).map_err(anyhow::Error::msg)?;
    let mut profile = EdgeBoxProfile::builtin("generic_x86")?;
    profile.intra_op_threads = args.threads;
    let mut detector = OnnxDetector::load(&manifest, &model_path, &profile, DetectSettings::default()).context("loading detector")?;
    let mut r = reader(&args.clip)?;
    let mut preparer = Preparer::new(detector.input_spec(), ViewPlan::default());
    let mut prepared = PreparedFrame::default();
    let mut infer = Duration::ZERO;
    let mut inferred = 0u64;
    loop {
        match r.next()? {
            IngestEvent::Frame(frame) => {
                preparer.prepare(&frame, &mut prepared);
                let t = Instant::now();
                detector.run_tensor(&prepared.tensors[0])?;
                infer += t.elapsed();
                inferred += 1;
            }
            IngestEvent::End => break,
            _ => {}
        }
    }
    let limit_fps = inferred as f64 / infer.as_secs_f64();
    drop(detector);

    // 3. Full pipeline (default views: the whole frame).
    config.camera.box_profile = "generic_x86".into();
    let job = CountJob { source: SourceSpec::File(args.clip.clone()), lines, config, config_dir: None };
    let threads = args.threads;
    // The profile's thread count is used by build_pipeline; the generic box has 1.
    anyhow::ensure!(threads == 1 || std::env::var("BENCH_ALLOW_THREADS").is_ok(), "the pipeline run uses the generic_x86 profile (1 thread); pass --threads 1");
    let t = Instant::now();
    let report = count_clip(&job, |_| {})?;
    let pipeline_s = t.elapsed().as_secs_f64();
    let pipeline_fps = report.frames as f64 / pipeline_s;
    let ratio = pipeline_fps / limit_fps;
    let rss = peak_rss_mb();
    let clip = args.clip.display().to_string();
    if args.json {
        let out = serde_json::json!({
            "clip": clip, "frames": report.frames,
            "decode_fps": round(decode_fps), "limit_fps": round(limit_fps), "pipeline_fps": round(pipeline_fps),
            "ratio": (ratio * 1000.0).round() / 1000.0, "reference_fps": null, "peak_rss_mb": round(rss),
        });
        println!("{out}");
    } else {
        println!("clip {clip} ({} frames, model {}, {} inference thread)", report.frames, args.model, args.threads);
        println!("{:<34} {:>10}", "stage", "fps");
        println!("{:<34} {:>10.1}", "decode only (GStreamer)", decode_fps);
        println!("{:<34} {:>10.1}", "bare inference (ORT, limit)", limit_fps);
        println!("{:<34} {:>10.1}", "full pipeline", pipeline_fps);
        println!("{:<34} {:>10.3}", "ratio pipeline / limit", ratio);
        println!("{:<34} {:>10.1}", "peak RSS (MB, whole bench)", rss);
        let n = report.frames.max(1) as f64;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0 / n;
        let dt = &report.detect_times;
        println!("per frame in the pipeline (ms): pre-process {:.2}, inference {:.2}, NMS+merge {:.2}, track {:.3}, count {:.3}",
            ms(dt.preprocess), ms(dt.inference), ms(dt.postprocess), ms(report.times.track), ms(report.times.count));
        let on_thread = dt.postprocess + report.times.track + report.times.count;
        let all = on_thread + dt.preprocess;
        let pct = |d: Duration| 100.0 * d.as_secs_f64() / dt.inference.as_secs_f64();
        println!(
            "work besides inference: {:.1} % of inference time in all ({:.1} % on the inference thread; pre-processing runs on the ingest thread)",
            pct(all),
            pct(on_thread)
        );
        let _ = frames;
    }
    Ok(())
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
