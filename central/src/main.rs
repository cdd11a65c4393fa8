//! `central`: `run` (ingest, store, API, dashboard, optional embedded broker), `validate`
//! (check a config), `summarize` (total `edge-agent run` output without a broker),
//! `keygen` (plan-signing key), `passwd` (hash an operator password).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "central", version, about = "Traffic analytics central: counts from every agent, stored and served")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ingest counts over MQTT, store them, serve the HTTP API.
    Run {
        #[arg(long)]
        config: PathBuf,
        /// Print each newly stored interval on stdout (one line each).
        #[arg(long)]
        print_intervals: bool,
    },
    /// Check a config file; lists every problem with its field path.
    Validate {
        #[arg(long)]
        config: PathBuf,
    },
    /// Total interval reports (JSON lines from `edge-agent run`) read on stdin.
    Summarize,
    /// Make a plan-signing key: writes the secret seed (base64, mode 0600) to --out and
    /// prints the public key for `junction-agent --trust KEY_ID=PUBLIC`.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Hash a password for `[auth] users`: reads it from stdin (first line), prints the
    /// argon2id PHC string to put in `password_argon2`.
    Passwd,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rumqttc=warn,rumqttd=warn,rumqttd::router::routing=off".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into journald or a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("central: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Passwd => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            let password = line.trim_end_matches(['\n', '\r']);
            if password.len() < 8 {
                anyhow::bail!("the password must have at least 8 characters");
            }
            println!("{}", central::auth::hash_password(password).map_err(|e| anyhow::anyhow!("hashing: {e}"))?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Keygen { out } => {
            use base64::Engine as _;
            use std::io::{Read, Write};
            use std::os::unix::fs::OpenOptionsExt;
            let mut seed = [0u8; 32];
            std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
            let key = ed25519_dalek::SigningKey::from_bytes(&seed);
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&out)
                .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
            writeln!(f, "{}", base64::engine::general_purpose::STANDARD.encode(seed))?;
            println!("{}", base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { config, print_intervals } => {
            let cfg = central::config::CentralConfig::load(&config)?;
            let mut problems = cfg.validate();
            if problems.is_empty()
                && let Some(signals) = &cfg.signals
            {
                problems.extend(central::signals::settings::check_files(signals, config.parent()));
            }
            if !problems.is_empty() {
                for (field, msg) in problems {
                    eprintln!("{}: {field}: {msg}", config.display());
                }
                return Ok(ExitCode::from(2));
            }
            let printer: Option<central::server::OnStored> =
                print_intervals.then(|| Box::new(print_interval) as central::server::OnStored);
            central::server::run(&cfg, config.parent(), printer)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { config } => {
            let text = std::fs::read_to_string(&config).map_err(|e| anyhow::anyhow!("{}: {e}", config.display()))?;
            let (cfg, mut problems) = central::config::CentralConfig::problems_in(&text);
            if problems.is_empty()
                && let Some(signals) = cfg.as_ref().and_then(|c| c.signals.as_ref())
            {
                problems.extend(central::signals::settings::check_files(signals, config.parent()));
            }
            for (field, msg) in &problems {
                eprintln!("{}: {field}: {msg}", config.display());
            }
            if problems.is_empty() {
                println!("{}: ok", config.display());
                Ok(ExitCode::SUCCESS)
            } else {
                Ok(ExitCode::from(2))
            }
        }
        Command::Summarize => {
            let totals = central::summarize(std::io::stdin().lock())?;
            for (camera, t) in totals {
                let coverage = if t.intervals > 0 { t.coverage_sum / t.intervals as f64 } else { 0.0 };
                println!("{camera}: {} intervals, mean coverage {:.2}", t.intervals, coverage);
                for (line, c) in t.lines {
                    println!("  {line}: forward {} backward {}", c.forward.total(), c.backward.total());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `12:00:00–12:00:10 vn-cam-1 seq 3 cov 1.00 | north_in: car 2 motorcycle 14 …`
fn print_interval(r: &central::store::StoredInterval) {
    use std::io::Write;
    let hms = |ms: i64| {
        let s = ms.div_euclid(1000).rem_euclid(86_400);
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    };
    let mut line = format!(
        "{}–{} UTC {} epoch {} seq {} coverage {:.2} fps {:.1}",
        hms(r.interval.start_ms),
        hms(r.interval.end_ms),
        r.camera_id,
        r.epoch,
        r.seq,
        r.interval.coverage,
        r.interval.fps
    );
    for (name, d) in &r.interval.lines {
        let mut both = d.forward;
        both.merge(&d.backward);
        line.push_str(&format!(
            " | {name}: car {} motorcycle {} bus {} truck {} bicycle {}",
            both.car, both.motorcycle, both.bus, both.truck, both.bicycle
        ));
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
