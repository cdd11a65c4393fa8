//! Closed-loop signal benchmark in SUMO: the reference controllers (the network's fixed
//! time, SUMO actuated, max-pressure) and this product's loop (`central`: cameras
//! emulated from SUMO detectors over MQTT, central retiming, the junction code driving
//! SUMO through the `sumo` driver; see `closed_loop`), side by side on the same seeds.
//!
//! `make bench-signals` or `signals --scenario cologne8 --seeds 5 [--json]`, after
//! `scripts/setup-sumo.sh` (SUMO 1.28 from PyPI; RESCO scenarios from the sumo-rl wheel).
//! Every run: `--time-to-teleport -1`, the scenario's window, tripinfo with unfinished
//! vehicles; delay as in `metrics`; every simulated second of every run checked against
//! the junctions' safety rules (`safety`). `SIGNALS_KEEP_TRIPINFO=DIR` keeps each run's
//! tripinfo (DIR/{scenario}_{controller}_{seed}.xml) for a closer look.

mod closed_loop;
mod maxpressure;
mod metrics;
mod safety;
mod scenario;
mod sumo_junction;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde_json::json;

use std::sync::Arc;

use parking_lot::Mutex;

use junction_agent::Actuation;
use junction_agent::traci::Traci;

use crate::metrics::RunMetrics;
use crate::scenario::Scenario;

#[derive(Parser)]
struct Args {
    /// RESCO scenario: cologne8, ingolstadt7, grid4x4, arterial4x4, …
    #[arg(long)]
    scenario: String,
    #[arg(long, default_value_t = 5)]
    seeds: u32,
    /// The first seed (runs use seeds first_seed .. first_seed + seeds − 1).
    #[arg(long, default_value_t = 1)]
    first_seed: u32,
    #[arg(long)]
    json: bool,
    /// Folder of unpacked RESCO scenarios.
    #[arg(long, default_value = ".setup/resco")]
    resco: PathBuf,
    /// The `sumo` binary.
    #[arg(long, default_value = ".venv-sumo/bin/sumo")]
    sumo: PathBuf,
    /// The broker the `central` loop talks through (Debian's mosquitto).
    #[arg(long, default_value = "/usr/sbin/mosquitto")]
    mosquitto: PathBuf,
    /// Controllers to run (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "fixed_time,actuated,max_pressure,central")]
    controllers: Vec<String>,
    /// `central`: camera report interval = retiming period (s).
    #[arg(long, default_value_t = 60)]
    interval_s: u32,
    /// `central`: weight of the newest interval in central's flow estimate.
    #[arg(long, default_value_t = 0.3)]
    smoothing: f64,
    /// `central`: junctions run central's plan as fixed time (no local actuation).
    #[arg(long)]
    no_actuation: bool,
    /// `central`: actuation ends a flowing green at central's split instead of holding it
    /// up to the stage's maximum green while it flows.
    #[arg(long)]
    within_split: bool,
    /// `central`: gap-out time (ms).
    #[arg(long, default_value_t = 3000)]
    gap_out_ms: u32,
    /// `central`: the junctions' starvation bound (s); default the junction's maximum
    /// cycle, 0 turns the guard off.
    #[arg(long)]
    max_wait_s: Option<f64>,
    /// `central`: fraction of vehicles the emulated cameras never see (per vehicle and
    /// camera, seeded by the run's seed).
    #[arg(long, default_value_t = 0.0)]
    camera_miss: f64,
    /// `central`: presence dropouts as EVERY_S:LENGTH_S (e.g. 60:5: a camera starts a 5-s
    /// silence with probability 1/60 each second), seeded by the run's seed.
    #[arg(long, value_parser = parse_dropout)]
    presence_dropout: Option<(f64, f64)>,
}

fn parse_dropout(s: &str) -> Result<(f64, f64), String> {
    let (every, length) = s.split_once(':').ok_or("expected EVERY_S:LENGTH_S, e.g. 60:5")?;
    let every: f64 = every.parse().map_err(|e| format!("EVERY_S {every:?}: {e}"))?;
    let length: f64 = length.parse().map_err(|e| format!("LENGTH_S {length:?}: {e}"))?;
    if every < 1.0 || length <= 0.0 {
        return Err("EVERY_S must be ≥ 1 and LENGTH_S > 0".into());
    }
    Ok((every, length))
}

const CONTROLLERS: [&str; 4] = ["fixed_time", "actuated", "max_pressure", "central"];

/// Mosquitto on a free local port for the run's lifetime.
struct Broker(std::process::Child, u16);

impl Broker {
    fn start(bin: &std::path::Path) -> Result<Broker> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(bin)
            .args(["-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {} (apt install mosquitto)", bin.display()))?;
        Ok(Broker(child, port))
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

type RunResult = (
    RunMetrics,
    std::collections::BTreeMap<&'static str, u64>,
    Option<closed_loop::LoopStats>,
    std::collections::BTreeMap<String, metrics::Loss>,
);

fn run_once(
    args: &Args,
    sc: &Scenario,
    net: &scenario::Network,
    junctions: &[sumo_junction::SumoJunction],
    controller: &str,
    seed: u32,
    broker: Option<&Broker>,
) -> Result<RunResult> {
    let dir = tempfile::tempdir()?;
    let tripinfo = dir.path().join("tripinfo.xml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut cmd = Command::new(&args.sumo);
    cmd.args(["-n", sc.net.to_str().unwrap(), "-r", sc.routes.to_str().unwrap()])
        .args(["--begin", &sc.begin.to_string(), "--end", &sc.end.to_string(), "--seed", &seed.to_string()])
        .args([
            "--time-to-teleport",
            "-1",
            "--tripinfo-output",
            tripinfo.to_str().unwrap(),
            "--tripinfo-output.write-unfinished",
        ])
        .args(["--no-step-log", "--no-warnings", "--remote-port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    // Per-edge time loss over the window, for every junction's own delay.
    let edge_data = dir.path().join("edges.xml");
    let mut additional = vec![dir.path().join("edges.add.xml")];
    std::fs::write(
        &additional[0],
        format!(
            "<additional><edgeData id=\"delay\" file=\"{}\" excludeEmpty=\"true\"/></additional>\n",
            edge_data.display()
        ),
    )?;
    if controller == "actuated" {
        additional.push(dir.path().join("actuated.add.xml"));
        std::fs::write(&additional[1], sc.actuated_programs()?)?;
    }
    if controller == "central" {
        additional.push(dir.path().join("cameras.add.xml"));
        std::fs::write(&additional[1], sumo_junction::detectors(junctions, &net.lane_length))?;
    }
    cmd.args(["--additional-files", &additional.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(",")]);
    let mut child =
        cmd.spawn().with_context(|| format!("starting {} (run scripts/setup-sumo.sh)", args.sumo.display()))?;
    let mut monitors = safety::Monitors::new(junctions);
    let result = (|| -> Result<Option<closed_loop::LoopStats>> {
        let mut traci = Traci::connect(port, Duration::from_secs(30))?;
        let (api, version) = traci.version()?;
        if !version.contains("1.28") {
            bail!("SUMO {version} (TraCI API {api}); the benchmark is defined on 1.28");
        }
        let mut stats = None;
        match controller {
            "max_pressure" => maxpressure::run(&mut traci, &net.lights, sc.begin, sc.end, &mut monitors)?,
            "central" => {
                let shared = Arc::new(Mutex::new(traci));
                let opts = closed_loop::LoopOptions {
                    interval_s: args.interval_s,
                    smoothing: args.smoothing,
                    actuation: (!args.no_actuation)
                        .then_some(Actuation { gap_out_ms: args.gap_out_ms, extend: !args.within_split }),
                    max_wait_ms: args.max_wait_s.map(|s| (s * 1000.0) as i64),
                    cameras: closed_loop::Imperfection {
                        miss: args.camera_miss,
                        dropout_every_s: args.presence_dropout.map_or(0.0, |d| d.0),
                        dropout_length_s: args.presence_dropout.map_or(0.0, |d| d.1),
                        seed: seed as u64,
                    },
                };
                stats = Some(closed_loop::run(
                    &shared,
                    junctions,
                    sc.begin,
                    sc.end,
                    broker.context("no broker")?.1,
                    &opts,
                    &mut monitors,
                )?);
                let traci = Arc::into_inner(shared).context("TraCI still shared")?.into_inner();
                traci.close()?;
                return Ok(stats);
            }
            _ => {
                let mut t = sc.begin;
                while t < sc.end {
                    t += 1.0;
                    traci.step(t)?;
                    monitors.observe(t, &mut traci)?;
                }
            }
        }
        traci.close()?;
        Ok(stats.take())
    })();
    let status = child.wait()?;
    let stats = result?;
    if !status.success() {
        bail!("sumo exited with {status}");
    }
    for (tls, b) in &monitors.examples {
        eprintln!("{} {controller} seed {seed}: light {tls} t={} s {}: {}", sc.name, b.t_ms / 1000, b.code, b.detail);
    }
    if let Ok(keep) = std::env::var("SIGNALS_KEEP_TRIPINFO") {
        std::fs::copy(&tripinfo, format!("{keep}/{}_{controller}_{seed}.xml", sc.name))?;
    }
    let per_light = metrics::per_light(&std::fs::read_to_string(&edge_data)?, &net.lights)?;
    Ok((
        metrics::from_tripinfo(&std::fs::read_to_string(&tripinfo)?, &sc.scheduled, sc.end)?,
        monitors.breaches(),
        stats,
        per_light,
    ))
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len().max(2) - 1) as f64;
    (m, var.sqrt())
}

fn main() -> Result<()> {
    let args = Args::parse();
    for c in &args.controllers {
        if !CONTROLLERS.contains(&c.as_str()) {
            bail!("--controllers: unknown controller {c:?} (known: {})", CONTROLLERS.join(", "));
        }
    }
    let sc = Scenario::load(&args.resco, &args.scenario)?;
    let net = sc.network()?;
    // Every light becomes a junction profile or is refused with its reason (it then keeps
    // the network's program under every controller).
    let mut junctions: Vec<sumo_junction::SumoJunction> = Vec::new();
    let mut refused = Vec::new();
    for (i, light) in net.lights.iter().enumerate() {
        match sumo_junction::build(i, light, &net, &sc.name) {
            Ok(j) => junctions.push(j),
            Err(e) => {
                eprintln!("{}: light {} refused: {e:#}", sc.name, light.id);
                refused.push(json!({"light": light.id, "reason": format!("{e:#}")}));
            }
        }
    }
    if junctions.is_empty() {
        bail!("{}: none of its {} lights could be imported", sc.name, net.lights.len());
    }
    let broker =
        if args.controllers.iter().any(|c| c == "central") { Some(Broker::start(&args.mosquitto)?) } else { None };
    let mut controllers = serde_json::Map::new();
    for controller in &args.controllers {
        let mut runs = Vec::new();
        let mut by_code: std::collections::BTreeMap<&'static str, u64> = Default::default();
        let mut loops = Vec::new();
        let mut lights: std::collections::BTreeMap<String, metrics::Loss> = Default::default();
        for seed in args.first_seed..args.first_seed + args.seeds {
            let started = std::time::Instant::now();
            let (m, breaches, stats, per_light) =
                run_once(&args, &sc, &net, &junctions, controller, seed, broker.as_ref())?;
            for (tls, loss) in per_light {
                lights.entry(tls).or_default().add(&loss);
            }
            if !args.json {
                eprintln!(
                    "  {} {controller} seed {seed}: delay {:.1} s, safety violations {breaches:?}, {:.0} s wall{}",
                    sc.name,
                    m.delay,
                    started.elapsed().as_secs_f64(),
                    stats
                        .map(|s| format!(
                            ", {} reports, {} plans ({} accepted, {} rejected)",
                            s.reports, s.plans, s.accepted, s.rejected
                        ))
                        .unwrap_or_default()
                );
            }
            runs.push(m);
            for (code, n) in breaches {
                *by_code.entry(code).or_default() += n;
            }
            loops.extend(stats);
        }
        let (delay, spread) = mean_sd(&runs.iter().map(|r| r.delay).collect::<Vec<_>>());
        let (wait, _) = mean_sd(&runs.iter().map(|r| r.wait).collect::<Vec<_>>());
        let (duration, _) = mean_sd(&runs.iter().map(|r| r.duration).collect::<Vec<_>>());
        let never: usize = runs.iter().map(|r| r.never_entered).sum();
        let violations: u64 = by_code.values().sum();
        let per_junction: serde_json::Map<String, serde_json::Value> =
            lights.iter().map(|(tls, l)| (tls.clone(), json!(l.per_vehicle()))).collect();
        let mut entry = json!({
            "delay": delay,
            "delay_spread": spread,
            "delays": runs.iter().map(|r| r.delay).collect::<Vec<_>>(),
            "wait": wait,
            "duration": duration,
            "violations": violations,
            "violations_by_code": by_code,
            "never_entered": never / runs.len(),
            "seeds": args.seeds,
            "junction_delay": per_junction
        });
        if let Some(first) = loops.first() {
            entry["messages"] = json!({
                "count_reports": first.reports,
                "plans": loops.iter().map(|s| s.plans).sum::<u64>() / loops.len() as u64,
                "rejected": loops.iter().map(|s| s.rejected).sum::<u64>(),
                "presence": first.presence_sent,
                "presence_missed": loops.iter().map(|s| s.presence_missed).sum::<u64>(),
                "presence_dropped": loops.iter().map(|s| s.presence_dropped).sum::<u64>() / loops.len() as u64
            });
        }
        controllers.insert(controller.clone(), entry);
        if !args.json {
            eprintln!(
                "{:<12} {:<12} delay {:>7.1} ± {:>5.1} s  wait {:>6.1} s  duration {:>6.1} s  violations \
                    {violations}  \
                    ({} scheduled, {} never entered per run)",
                sc.name,
                controller,
                delay,
                spread,
                wait,
                duration,
                sc.scheduled.len(),
                never / runs.len()
            );
        }
    }
    // The junction where this product's vehicles lose most, with every controller there.
    let worst = controllers
        .get("central")
        .and_then(|c| c["junction_delay"].as_object())
        .and_then(|d| d.iter().filter_map(|(k, v)| Some((k.clone(), v.as_f64()?))).max_by(|a, b| a.1.total_cmp(&b.1)))
        .map(|w| w.0);
    let worst_json = worst.as_ref().map(|tls| {
        let at: serde_json::Map<String, serde_json::Value> =
            controllers.iter().map(|(c, v)| (c.clone(), v["junction_delay"][tls].clone())).collect();
        if !args.json {
            eprintln!(
                "{:<12} worst junction for central: {tls} (delay per vehicle on its approaches, s): {}",
                sc.name,
                at.iter()
                    .map(|(c, v)| format!("{c} {:.1}", v.as_f64().unwrap_or(f64::NAN)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        json!({"light": tls, "delay": at})
    });
    let out = json!({
        "scenario": sc.name,
        "sumo": "1.28.0",
        "lights": net.lights.len(),
        "refused": refused,
        "controllers": controllers,
        "worst_junction": worst_json
    });
    if args.json {
        println!("{out}");
    }
    Ok(())
}
