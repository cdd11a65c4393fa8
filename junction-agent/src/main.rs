//! `junction-agent`: the signal-plan agent beside a junction's controller. It takes
//! central's signed plans over MQTT, checks and applies them, acknowledges each, reports
//! what runs, actuates from its cameras' live presence, and falls back to the local plan
//! when central is silent. Parsing and printing only; the work is in the library.
//!
//! Its own binary so a camera box carries no SNMP or TraCI code and a junction box no
//! video stack; it reaches the broker the way a camera agent does (`mqtt-link`: user name,
//! password from the environment, TLS with an optional client certificate).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use firmware_profiles::JunctionProfile;
use junction_agent::driver_choice::{self, NtcipTarget};
use junction_agent::presence::PresenceFeed;
use junction_agent::{Actuation, Controller, run};

#[derive(Parser)]
#[command(name = "junction-agent", version, about = "Runs central's signed timing plans on a junction's controller")]
struct Cli {
    /// Built-in junction profile id or a profile TOML file.
    #[arg(long)]
    profile: String,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 1883)]
    port: u16,
    /// MQTT client id (default `junction-<profile id>`).
    #[arg(long)]
    client_id: Option<String>,
    /// MQTT user name; with the production ACL it is the junction id.
    #[arg(long)]
    username: Option<String>,
    /// Environment variable holding the MQTT password.
    #[arg(long)]
    password_env: Option<String>,
    /// CA certificate (PEM) of the broker's TLS listener; plain TCP without it.
    #[arg(long)]
    tls_ca_file: Option<PathBuf>,
    /// Client certificate (PEM), for brokers that authenticate devices by certificate.
    #[arg(long, requires = "tls_client_key_file")]
    tls_client_cert_file: Option<PathBuf>,
    #[arg(long, requires = "tls_client_cert_file")]
    tls_client_key_file: Option<PathBuf>,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into journald or a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match junction(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn junction(cli: Cli) -> anyhow::Result<()> {
    let profile = if std::path::Path::new(&cli.profile).exists() {
        let text = std::fs::read_to_string(&cli.profile).with_context(|| format!("reading {}", cli.profile))?;
        JunctionProfile::from_toml(&cli.profile, &text)?
    } else {
        JunctionProfile::builtin(&cli.profile)?
    };
    let ntcip = cli
        .ntcip_target
        .clone()
        .map(|addr| match std::env::var(&cli.ntcip_community_env) {
            Ok(community) => Ok(NtcipTarget { addr, community }),
            Err(_) => Err(anyhow::anyhow!("--ntcip-community-env: {} is not set", cli.ntcip_community_env)),
        })
        .transpose()?;
    let pairs = cli
        .trust
        .iter()
        .map(|t| {
            t.split_once('=')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| anyhow::anyhow!("--trust {t:?}: expected KEY_ID=BASE64"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let keys = protocol::plan::PlanKeys::from_base64(&pairs).map_err(|e| anyhow::anyhow!("--trust: {e}"))?;
    let backup = cli.backup_time_s.unwrap_or(profile.limits.backup_time_s);
    anyhow::ensure!(backup.is_finite() && backup >= 1.0, "--backup-time-s must be at least 1");
    let driver = driver_choice::for_profile(&profile.controller_profile()?.driver, cli.dry_run, ntcip.as_ref())?;

    let tls = cli.tls_ca_file.clone().map(|ca_file| mqtt_link::TlsSettings {
        ca_file,
        client_cert_file: cli.tls_client_cert_file.clone(),
        client_key_file: cli.tls_client_key_file.clone(),
    });
    let client_id = cli.client_id.clone().unwrap_or_else(|| format!("junction-{}", profile.id));
    let mqtt = mqtt_link::Link {
        prefix: "mqtt",
        host: &cli.host,
        port: cli.port,
        client_id: &client_id,
        username: cli.username.as_deref(),
        password_env: cli.password_env.as_deref(),
        keep_alive: Duration::from_secs(5),
        tls: tls.as_ref(),
    }
    .options()?;
    let link = run::JunctionLink {
        mqtt,
        status_interval: Duration::from_secs(cli.status_interval_s.max(1)),
        utc_offset_s: profile.utc_offset_s,
    };

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let minute = run::local_minute(now, profile.utc_offset_s);
    let mut controller = Controller::new(profile.clone(), keys, (backup * 1000.0) as i64, now, minute);
    if let Some(s) = cli.max_wait_s {
        anyhow::ensure!(s.is_finite() && s >= 0.0, "--max-wait-s must be 0 (off) or positive");
        controller = controller.with_max_wait((s * 1000.0) as i64);
    }
    // Actuation when asked for and every approach has a camera zone; otherwise as timed.
    let mut presence = None;
    if !cli.no_actuation {
        anyhow::ensure!(
            cli.gap_out_s.is_finite()
                && cli.gap_out_s > 0.0
                && cli.presence_max_age_s.is_finite()
                && cli.presence_max_age_s > 0.0,
            "--gap-out-s and --presence-max-age-s must be positive"
        );
        match PresenceFeed::from_profile(&profile, Duration::from_secs_f64(cli.presence_max_age_s)) {
            Ok(feed) => {
                tracing::info!(
                    junction = %profile.id,
                    cameras = ?feed.topics(),
                    "local actuation from camera presence"
                );
                controller = controller
                    .with_actuation(Actuation { gap_out_ms: (cli.gap_out_s * 1000.0) as u32, ..Actuation::default() });
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
