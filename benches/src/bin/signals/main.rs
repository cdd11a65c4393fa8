//! Closed-loop signal benchmark in SUMO (work in progress: this stop measures the
//! reference controllers — fixed time, SUMO actuated, max-pressure; this product's loop —
//! cameras emulated from SUMO detectors over MQTT, central retiming, the junction code
//! driving SUMO over TraCI — are the next steps and are reported as missing).
//!
//! `make bench-signals` or `signals --scenario cologne8 --seeds 5 [--json]`, after
//! `scripts/setup-sumo.sh` (SUMO 1.28 from PyPI; RESCO scenarios from the sumo-rl wheel).
//! Every run: `--time-to-teleport -1`, the scenario's window, tripinfo with unfinished
//! vehicles; delay as in `metrics`.

mod maxpressure;
mod metrics;
mod scenario;
mod traci;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde_json::json;

use crate::metrics::RunMetrics;
use crate::scenario::Scenario;

#[derive(Parser)]
struct Args {
    /// RESCO scenario: cologne8, ingolstadt7, grid4x4, arterial4x4, …
    #[arg(long)]
    scenario: String,
    #[arg(long, default_value_t = 5)]
    seeds: u32,
    #[arg(long)]
    json: bool,
    /// Folder of unpacked RESCO scenarios.
    #[arg(long, default_value = ".setup/resco")]
    resco: PathBuf,
    /// The `sumo` binary.
    #[arg(long, default_value = ".venv-sumo/bin/sumo")]
    sumo: PathBuf,
}

const CONTROLLERS: [&str; 3] = ["fixed_time", "actuated", "max_pressure"];

fn run_once(args: &Args, sc: &Scenario, controller: &str, seed: u32) -> Result<RunMetrics> {
    let dir = tempfile::tempdir()?;
    let tripinfo = dir.path().join("tripinfo.xml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut cmd = Command::new(&args.sumo);
    cmd.args(["-n", sc.net.to_str().unwrap(), "-r", sc.routes.to_str().unwrap()])
        .args(["--begin", &sc.begin.to_string(), "--end", &sc.end.to_string(), "--seed", &seed.to_string()])
        .args(["--time-to-teleport", "-1", "--tripinfo-output", tripinfo.to_str().unwrap(), "--tripinfo-output.write-unfinished"])
        .args(["--no-step-log", "--no-warnings", "--remote-port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if controller == "actuated" {
        let add = dir.path().join("actuated.add.xml");
        std::fs::write(&add, sc.actuated_programs()?)?;
        cmd.args(["--additional-files", add.to_str().unwrap()]);
    }
    let mut child = cmd.spawn().with_context(|| format!("starting {} (run scripts/setup-sumo.sh)", args.sumo.display()))?;
    let result = (|| -> Result<()> {
        let mut traci = traci::Traci::connect(port, Duration::from_secs(30))?;
        let (api, version) = traci.version()?;
        if !version.contains("1.28") {
            bail!("SUMO {version} (TraCI API {api}); the benchmark is defined on 1.28");
        }
        if controller == "max_pressure" {
            maxpressure::run(&mut traci, &sc.lights()?, sc.begin, sc.end)?;
        } else {
            traci.step(sc.end)?;
        }
        traci.close()?;
        Ok(())
    })();
    let status = child.wait()?;
    result?;
    if !status.success() {
        bail!("sumo exited with {status}");
    }
    metrics::from_tripinfo(&std::fs::read_to_string(&tripinfo)?, &sc.scheduled, sc.end)
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len().max(2) - 1) as f64;
    (m, var.sqrt())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let sc = Scenario::load(&args.resco, &args.scenario)?;
    let mut controllers = serde_json::Map::new();
    for controller in CONTROLLERS {
        let runs: Vec<RunMetrics> = (1..=args.seeds).map(|seed| run_once(&args, &sc, controller, seed)).collect::<Result<_>>()?;
        let (delay, spread) = mean_sd(&runs.iter().map(|r| r.delay).collect::<Vec<_>>());
        let (wait, _) = mean_sd(&runs.iter().map(|r| r.wait).collect::<Vec<_>>());
        let (duration, _) = mean_sd(&runs.iter().map(|r| r.duration).collect::<Vec<_>>());
        let never: usize = runs.iter().map(|r| r.never_entered).sum();
        controllers.insert(controller.into(), json!({"delay": delay, "delay_spread": spread, "wait": wait, "duration": duration, "violations": null, "never_entered": never / runs.len(), "seeds": args.seeds}));
        if !args.json {
            eprintln!("{:<12} {:<11} delay {:>7.1} ± {:>5.1} s  wait {:>6.1} s  duration {:>6.1} s  ({} scheduled, {} never entered per run)", sc.name, controller, delay, spread, wait, duration, sc.scheduled.len(), never / runs.len());
        }
    }
    let out = json!({"scenario": sc.name, "sumo": "1.28.0", "controllers": controllers, "missing": ["central"]});
    if args.json {
        println!("{out}");
    }
    Ok(())
}
