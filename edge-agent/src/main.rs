//! `edge-agent`: the command line. Parsing and printing only; the work is in the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::{Parser, Subcommand};
use edge_agent::app::{CountJob, CountReport, count_clip_annotated, default_config, parse_line_arg};
use edge_agent::config::AgentConfig;
use edge_agent::ingest::SourceSpec;

#[derive(Parser)]
#[command(name = "edge-agent", version, about = "Counts vehicles from camera video beside the camera")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where frames come from and what is counted (`count`, `snapshot`).
#[derive(clap::Args)]
struct JobArgs {
    /// Video file, file:// URI, rtsp:// URL or usb:N (default: the config's source).
    #[arg(long)]
    source: Option<String>,
    /// Counting line NAME:x1,y1,x2,y2 (repeatable; default: the config's lines). Forward = from the
    /// left of A→B to its right on screen.
    #[arg(long = "line")]
    lines: Vec<String>,
    /// Built-in model id (yolox_nano_416, nanodet_m_416, picodet_s_416) or a manifest path.
    #[arg(long)]
    model: Option<String>,
    /// Edge-box profile id.
    #[arg(long = "box")]
    box_profile: Option<String>,
    /// Camera config supplying detection, tracking, counting and view settings.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Count a whole clip or stream and print totals per line, direction and class. With
    /// `--config` alone it counts exactly what `run --config` would deploy (the config's
    /// source, lines, one-way rules and zones); `--source` and `--line` replace them.
    Count {
        #[command(flatten)]
        job: JobArgs,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Also write every frame to this MP4 file (H.264), with what the pipeline sees drawn
        /// on it: detections and tracks (colour = class, `#id class`), lines with their forward
        /// arrow, zones, and running counts per line in the top-left corner.
        #[arg(long, value_name = "OUT.mp4")]
        annotate: Option<PathBuf>,
    },
    /// Run the pipeline over the first frames of a source and write the last one, annotated
    /// as `count --annotate` draws it, to a JPEG: where the lines and zones fall, what is seen.
    Snapshot {
        #[command(flatten)]
        job: JobArgs,
        /// Frames to run first, so the tracker has settled (track ids, classes).
        #[arg(long, default_value_t = 25)]
        frames: u64,
        /// The JPEG file to write.
        #[arg(value_name = "OUT.jpg")]
        out: PathBuf,
    },
    /// Run the agent on the camera of a config file until interrupted; prints each
    /// interval report as a JSON line.
    Run {
        #[arg(long)]
        config: PathBuf,
        /// Also write every frame, drawn on as `count --annotate` draws it, to MP4 files in
        /// this directory on the box (`<camera>-<UTC start>.mp4`; nothing is sent anywhere).
        /// Costs a picture conversion and an H.264 encode per frame: for commissioning and
        /// fault-finding, not for every day.
        #[arg(long, value_name = "DIR")]
        annotate_dir: Option<PathBuf>,
        /// Seconds of video per file.
        #[arg(long, default_value_t = 60, requires = "annotate_dir",
              value_parser = clap::value_parser!(u64).range(5..=3600))]
        annotate_segment_s: u64,
        /// Finished files kept, in MiB; the oldest are deleted first (the newest always stays).
        #[arg(long, default_value_t = 1024, requires = "annotate_dir",
              value_parser = clap::value_parser!(u64).range(1..))]
        annotate_keep_mib: u64,
    },
    /// Check a config file and report every problem with its field path.
    Validate {
        #[arg(long)]
        config: PathBuf,
    },
    /// Print an annotated example config.
    GenerateConfig,
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into journald or a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Count { job, json, annotate } => {
            init_logging("warn,ort=error");
            count(job, json, annotate)
        }
        Command::Snapshot { job, frames, out } => {
            init_logging("warn,ort=error");
            snapshot(job, frames, out)
        }
        Command::Run { config, annotate_dir, annotate_segment_s, annotate_keep_mib } => {
            init_logging("info,ort=error");
            let record = annotate_dir.map(|dir| edge_agent::annotate::RecordSettings {
                dir,
                segment_s: annotate_segment_s,
                keep_bytes: annotate_keep_mib << 20,
            });
            run(config, record)
        }
        Command::Validate { config } => validate(config),
        Command::GenerateConfig => {
            print!("{}", include_str!("../example-config.toml"));
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edge-agent: error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// The job the arguments describe, with the config validated (what they replace aside).
fn job(args: JobArgs, command: &str) -> anyhow::Result<CountJob> {
    let JobArgs { source, lines, model, box_profile, config } = args;
    let lines = lines.iter().map(|l| parse_line_arg(l)).collect::<Result<Vec<_>, _>>().map_err(anyhow::Error::msg)?;
    if config.is_none() && (source.is_none() || lines.is_empty()) {
        anyhow::bail!("{command}: give --source and at least one --line NAME:x1,y1,x2,y2, or --config FILE");
    }
    let lines = (!lines.is_empty()).then_some(lines);
    let (mut cfg, config_dir) = match &config {
        Some(path) => (AgentConfig::read(path)?, path.parent().map(PathBuf::from)),
        None => (default_config(None, None), None),
    };
    if let Some(m) = model {
        cfg.camera.model = m;
    }
    if let Some(b) = box_profile {
        cfg.camera.box_profile = b;
    }
    // What the command line replaces need not be valid in the config; the rest must be.
    let replaced = |path: &str| {
        (lines.is_some() && path.starts_with("lines"))
            || (source.is_some() && (path == "camera.source" || path == "camera.device"))
    };
    let issues: Vec<_> = cfg.validate(config_dir.as_deref()).into_iter().filter(|i| !replaced(&i.path)).collect();
    if !issues.is_empty() {
        let origin = config.as_ref().map(|p| format!("config {}: ", p.display())).unwrap_or_default();
        anyhow::bail!("{origin}{}", issues.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; "));
    }
    let source = match &source {
        Some(s) => SourceSpec::parse(s)?,
        None => cfg.source(config_dir.as_deref()).map_err(|e| anyhow::anyhow!("camera.source: {e}"))?,
    };
    Ok(CountJob { source, lines, config: cfg, config_dir })
}

fn count(args: JobArgs, json: bool, annotate: Option<PathBuf>) -> anyhow::Result<()> {
    let job = job(args, "count")?;
    let bar = (!json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos} frames  {per_sec}  {elapsed}")
                .expect("valid template"),
        );
        bar
    });
    let report = count_clip_annotated(&job, annotate.as_deref(), |n| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_table(&report);
    }
    if let Some(path) = annotate {
        eprintln!("annotated video: {} ({} frames)", path.display(), report.frames);
    }
    Ok(())
}

fn snapshot(args: JobArgs, frames: u64, out: PathBuf) -> anyhow::Result<()> {
    let job = job(args, "snapshot")?;
    let info = edge_agent::annotate::snapshot(&job, frames, &out)?;
    eprintln!(
        "{}: frame {} of {}, {}x{}",
        out.display(),
        info.frames,
        job.source.display_name(),
        info.width,
        info.height
    );
    Ok(())
}

fn print_table(r: &CountReport) {
    println!("{}: {} frames, {:.1} s, model {}", r.source, r.frames, r.seconds, r.model);
    println!(
        "{:<14} {:<9} {:>6} {:>11} {:>6} {:>6} {:>8} {:>6}",
        "line", "direction", "car", "motorcycle", "bus", "truck", "bicycle", "total"
    );
    for (name, c) in &r.lines {
        for (dir, k) in [("forward", &c.forward), ("backward", &c.backward)] {
            println!(
                "{:<14} {:<9} {:>6} {:>11} {:>6} {:>6} {:>8} {:>6}",
                name,
                dir,
                k.car,
                k.motorcycle,
                k.bus,
                k.truck,
                k.bicycle,
                k.total()
            );
        }
    }
    if !r.speeds.is_empty() {
        println!("{:<14} {:<11} {:>9} {:>9} {:>9}", "speed (km/h)", "class", "vehicles", "mean", "p85");
        for (name, s) in &r.speeds {
            let classes = s.classes.iter().map(|(c, st)| (c.name(), st));
            for (class, st) in std::iter::once(("all", &s.all)).chain(classes) {
                println!("{:<14} {:<11} {:>9} {:>9.1} {:>9.1}", name, class, st.vehicles, st.mean_kmh, st.p85_kmh);
            }
        }
    }
}

fn run(config: PathBuf, record: Option<edge_agent::annotate::RecordSettings>) -> anyhow::Result<()> {
    let cfg = AgentConfig::load(&config)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handler")?;
    }
    edge_agent::agent::run(&cfg, config.parent(), record, stop, |interval, health, stored| {
        // `stored`: the (epoch, seq) the report went into the outbox under, once it is
        // fsynced; absent when the config has no [mqtt].
        let line =
            serde_json::json!({ "camera": cfg.camera.id, "interval": interval, "stream": health, "stored": stored });
        println!("{line}");
    })
}

fn validate(config: PathBuf) -> anyhow::Result<()> {
    match AgentConfig::load(&config) {
        Ok(cfg) => {
            let calibration = match cfg.calibration() {
                Ok(Some(c)) => format!(", calibrated: {:.2} m rms", c.rms_error_m),
                _ => ", not calibrated (no speeds)".into(),
            };
            println!(
                "{}: OK (camera {}, {} lines, {} zones{calibration})",
                config.display(),
                cfg.camera.id,
                cfg.lines.len(),
                cfg.zones.len()
            );
            Ok(())
        }
        Err(edge_agent::config::ConfigError::Invalid { file, issues }) => {
            for i in &issues {
                eprintln!("{}: {i}", file.display());
            }
            anyhow::bail!("{}: {} problem(s)", file.display(), issues.len())
        }
        Err(e) => Err(e.into()),
    }
}
