//! `edge-agent`: the command line. Parsing and printing only; the work is in the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::{Parser, Subcommand};
use edge_agent::app::{CountJob, CountReport, count_clip, default_config, parse_line_arg};
use edge_agent::config::AgentConfig;
use edge_agent::ingest::SourceSpec;

#[derive(Parser)]
#[command(name = "edge-agent", version, about = "Counts vehicles from camera video beside the camera")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Count a whole clip or stream and print totals per line, direction and class.
    Count {
        /// Video file, file:// URI, rtsp:// URL or usb:N.
        #[arg(long)]
        source: String,
        /// Counting line NAME:x1,y1,x2,y2 (repeatable). Forward = from the left of A→B to its right on screen.
        #[arg(long = "line", required = true)]
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
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run the agent on the camera of a config file until interrupted; prints each
    /// interval report as a JSON line.
    Run {
        #[arg(long)]
        config: PathBuf,
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
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Count { source, lines, model, box_profile, config, json } => {
            init_logging("warn,ort=error");
            count(source, lines, model, box_profile, config, json)
        }
        Command::Run { config } => {
            init_logging("info,ort=error");
            run(config)
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

fn count(
    source: String,
    lines: Vec<String>,
    model: Option<String>,
    box_profile: Option<String>,
    config: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<()> {
    let source = SourceSpec::parse(&source)?;
    let lines = lines.iter().map(|l| parse_line_arg(l)).collect::<Result<Vec<_>, _>>().map_err(anyhow::Error::msg)?;
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
    // Lines come from the command line; everything else in the config must be valid.
    let issues: Vec<_> = cfg.validate(config_dir.as_deref()).into_iter().filter(|i| i.path != "lines").collect();
    if !issues.is_empty() {
        let origin = config.as_ref().map(|p| format!("config {}: ", p.display())).unwrap_or_default();
        anyhow::bail!("{origin}{}", issues.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; "));
    }
    let job = CountJob { source, lines, config: cfg, config_dir };
    let bar = (!json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos} frames  {per_sec}  {elapsed}")
                .expect("valid template"),
        );
        bar
    });
    let report = count_clip(&job, |n| {
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
}

fn run(config: PathBuf) -> anyhow::Result<()> {
    let cfg = AgentConfig::load(&config)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handler")?;
    }
    edge_agent::agent::run(&cfg, config.parent(), stop, |interval, health, stored| {
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
            println!(
                "{}: OK (camera {}, {} lines, {} zones)",
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
