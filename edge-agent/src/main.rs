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
    /// Run as a junction's signal-plan agent: take central's signed plans over MQTT,
    /// check and apply them, fall back to the local plan when central is silent.
    Junction {
        /// Built-in junction profile id or a profile TOML file.
        #[arg(long)]
        profile: String,
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        #[arg(long, default_value_t = 1883)]
        port: u16,
        /// Trusted plan-signing key KEY_ID=BASE64 (ed25519 public key; repeatable).
        #[arg(long = "trust", required = true)]
        trust: Vec<String>,
        /// Override the profile's backup time (seconds).
        #[arg(long)]
        backup_time_s: Option<f64>,
        /// Log lamp states as JSON lines instead of driving the controller.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, default_value_t = 5)]
        status_interval_s: u64,
        /// Run central's plans as timed, without local actuation from camera presence.
        #[arg(long)]
        no_actuation: bool,
        /// Gap-out: a green whose zones have seen no traffic move this long (no vehicle
        /// entering, no standing queue shrinking) ends (after its minimum).
        #[arg(long, default_value_t = 3.0)]
        gap_out_s: f64,
        /// Starvation guard: a movement that has waited this long is served next, whatever
        /// the plan and actuation say. Default: the junction's maximum cycle.
        #[arg(long)]
        max_wait_s: Option<f64>,
        /// Camera presence older than this is ignored (the plan runs as timed).
        #[arg(long, default_value_t = 3.0)]
        presence_max_age_s: f64,
        /// NTCIP 1202 controller (driver `ntcip1202`): HOST:PORT of its SNMP agent.
        #[arg(long)]
        ntcip_target: Option<String>,
        /// Environment variable holding the controller's SNMP write community.
        #[arg(long, default_value = "NTCIP_COMMUNITY")]
        ntcip_community_env: String,
    },
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
        Command::Junction {
            profile,
            host,
            port,
            trust,
            backup_time_s,
            dry_run,
            status_interval_s,
            no_actuation,
            gap_out_s,
            max_wait_s,
            presence_max_age_s,
            ntcip_target,
            ntcip_community_env,
        } => {
            let actuation = (!no_actuation).then_some((gap_out_s, presence_max_age_s));
            init_logging("info");
            let ntcip = ntcip_target
                .map(|addr| match std::env::var(&ntcip_community_env) {
                    Ok(community) => Ok(edge_agent::junction::driver::NtcipTarget { addr, community }),
                    Err(_) => Err(anyhow::anyhow!("--ntcip-community-env: {ntcip_community_env} is not set")),
                })
                .transpose();
            ntcip.and_then(|ntcip| {
                junction(
                    profile,
                    host,
                    port,
                    trust,
                    backup_time_s,
                    dry_run,
                    status_interval_s,
                    actuation,
                    max_wait_s,
                    ntcip,
                )
            })
        }
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

#[allow(clippy::too_many_arguments)]
fn junction(
    profile: String,
    host: String,
    port: u16,
    trust: Vec<String>,
    backup_time_s: Option<f64>,
    dry_run: bool,
    status_interval_s: u64,
    actuation: Option<(f64, f64)>,
    max_wait_s: Option<f64>,
    ntcip: Option<edge_agent::junction::driver::NtcipTarget>,
) -> anyhow::Result<()> {
    use edge_agent::junction::presence::PresenceFeed;
    use edge_agent::junction::{Actuation, Controller, driver, run};
    use firmware_profiles::JunctionProfile;
    let profile = if std::path::Path::new(&profile).exists() {
        let text = std::fs::read_to_string(&profile).with_context(|| format!("reading {profile}"))?;
        JunctionProfile::from_toml(&profile, &text)?
    } else {
        JunctionProfile::builtin(&profile)?
    };
    let pairs = trust
        .iter()
        .map(|t| {
            t.split_once('=')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| anyhow::anyhow!("--trust {t:?}: expected KEY_ID=BASE64"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let keys = protocol::plan::PlanKeys::from_base64(&pairs).map_err(|e| anyhow::anyhow!("--trust: {e}"))?;
    let backup = backup_time_s.unwrap_or(profile.limits.backup_time_s);
    anyhow::ensure!(backup.is_finite() && backup >= 1.0, "--backup-time-s must be at least 1");
    let driver = driver::for_profile(&profile.controller_profile()?.driver, dry_run, ntcip.as_ref())?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let minute = run::local_minute(now, profile.utc_offset_s);
    let link = run::JunctionLink {
        host,
        port,
        client_id: format!("junction-{}", profile.id),
        status_interval: std::time::Duration::from_secs(status_interval_s.max(1)),
        utc_offset_s: profile.utc_offset_s,
    };
    // Actuation when asked for and every approach has a camera zone; otherwise as timed.
    let mut presence = None;
    let mut controller = Controller::new(profile.clone(), keys, (backup * 1000.0) as i64, now, minute);
    if let Some(s) = max_wait_s {
        anyhow::ensure!(s.is_finite() && s >= 0.0, "--max-wait-s must be 0 (off) or positive");
        controller = controller.with_max_wait((s * 1000.0) as i64);
    }
    if let Some((gap_out_s, max_age_s)) = actuation {
        anyhow::ensure!(
            gap_out_s.is_finite() && gap_out_s > 0.0 && max_age_s.is_finite() && max_age_s > 0.0,
            "--gap-out-s and --presence-max-age-s must be positive"
        );
        match PresenceFeed::from_profile(&profile, std::time::Duration::from_secs_f64(max_age_s)) {
            Ok(feed) => {
                tracing::info!(
                    junction = %profile.id,
                    cameras = ?feed.topics(),
                    "local actuation from camera presence"
                );
                controller = controller
                    .with_actuation(Actuation { gap_out_ms: (gap_out_s * 1000.0) as u32, ..Actuation::default() });
                presence = Some(feed);
            }
            Err(why) => tracing::info!(junction = %profile.id, %why, "no local actuation: plans run as timed"),
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handler")?;
    }
    run::run(controller, driver, &link, presence, stop)
}
