//! Forecasting benchmark: replays public traffic data through central's forecasting code
//! (`forecast` crate) and prints MAE / RMSE / MAPE per horizon for the two reference
//! baselines and the learned model, side by side from one run.
//!
//! `forecast --dataset pems-1det|los-loop [--json]`; `--dataset npz --npz PEMS08.npz
//! --start 2016-07-01` for the ASTGCN layout; `--cameras 1000` times one forecasting
//! round for that many cameras.

mod datasets;
mod evaluate;
mod timing;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Parser;
use forecast::features::FeatureSpec;
use forecast::{ModelSpec, ProfileStat};
use serde_json::json;

use crate::evaluate::{Learned, METHODS};

#[derive(Parser)]
struct Args {
    /// pems-1det, los-loop or npz.
    #[arg(long)]
    dataset: String,
    /// Folder with the forecast CSVs (default: $TRAFFIC_ASSETS/forecast).
    #[arg(long)]
    assets: Option<PathBuf>,
    /// ASTGCN-style .npz (with --dataset npz).
    #[arg(long)]
    npz: Option<PathBuf>,
    /// Local date of the .npz's first sample, YYYY-MM-DD.
    #[arg(long)]
    start: Option<String>,
    /// The .npz's `from,to,cost` adjacency CSV.
    #[arg(long)]
    adjacency: Option<PathBuf>,
    #[arg(long)]
    json: bool,
    /// Also time one forecasting round for this many cameras.
    #[arg(long)]
    cameras: Option<usize>,
}

/// The learned model as configured for each dataset; the same defaults central uses,
/// except the profile statistic, which follows what the series measures.
fn learned_for(dataset: &str) -> Learned {
    let spec = ModelSpec { features: FeatureSpec { lags: 12, neighbour_lags: 3 }, ..ModelSpec::default() };
    match dataset {
        // Speeds: incidents make a few days very different; the median ignores them.
        "los-loop" => Learned { spec, stat: ProfileStat::Median, smoothing: 0.0 },
        // Counts: mean over days, lightly smoothed across adjacent 5-minute slots.
        _ => Learned { spec, stat: ProfileStat::Mean, smoothing: 0.25 },
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let assets = match args.assets {
        Some(a) => a,
        None => PathBuf::from(std::env::var("TRAFFIC_ASSETS").unwrap_or_else(|_| "../shared/assets".into()))
            .join("forecast"),
    };
    let ds = match args.dataset.as_str() {
        "pems-1det" => datasets::pems_1det(&assets)?,
        "los-loop" => datasets::los_loop(&assets)?,
        "npz" => {
            let npz = args.npz.context("--dataset npz needs --npz PATH")?;
            let start = args
                .start
                .context("--dataset npz needs --start YYYY-MM-DD (PEMS04: 2018-01-01, PEMS08: 2016-07-01)")?;
            let ymd: Vec<i64> = start
                .split('-')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .with_context(|| format!("--start {start:?}"))?;
            if ymd.len() != 3 {
                bail!("--start {start:?} is not YYYY-MM-DD");
            }
            datasets::astgcn_npz(
                &npz,
                datasets::days_from_civil(ymd[0], ymd[1], ymd[2]) * 86_400,
                args.adjacency.as_deref(),
            )?
        }
        other => bail!("--dataset {other:?}: expected pems-1det, los-loop or npz"),
    };
    let learned = learned_for(&args.dataset);
    let started = std::time::Instant::now();
    let outcome = evaluate::evaluate(&ds, &learned)?;
    let elapsed = started.elapsed().as_secs_f64();
    let timing = args.cameras.map(|n| timing::round(&ds, &outcome.model, &learned, n)).transpose()?;
    let central = args.cameras.map(|n| timing::central_round(n, 7));
    if args.json {
        let mut out = json!({"dataset": ds.name, "methods": {}});
        for (method, per_h) in &outcome.methods {
            out["methods"][method] = per_h
                .iter()
                .map(|(m, v)| (m.to_string(), json!({"mae": v.mae, "rmse": v.rmse, "mape": v.mape})))
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
        if let Some(t) = &timing {
            out["round"] =
                json!({"cameras": t.cameras, "horizons": t.horizons, "median_ms": t.median_ms, "max_ms": t.max_ms});
        }
        if let Some(c) = &central {
            out["central"] =
                json!({"cameras": c.cameras, "history_days": c.days, "retrain_s": c.retrain_s, "round_ms": c.round_ms});
        }
        println!("{out}");
        return Ok(());
    }
    println!(
        "forecast benchmark: {} — {} series, train {} steps, test {} steps, {} training samples per horizon, fitted \
            and scored in {:.1} s",
        ds.name,
        ds.series.len(),
        ds.train.end - ds.train.start,
        ds.test.end - ds.test.start,
        outcome.training_samples,
        elapsed
    );
    print!("{:<20}", "method");
    for m in &ds.horizons_min {
        print!(" | {:>6} min MAE  RMSE  MAPE%", m);
    }
    println!();
    for method in METHODS {
        print!("{method:<20}");
        for m in &ds.horizons_min {
            let v = outcome.methods[method][m];
            print!(" | {:>14.3} {:>5.2} {:>5.1}", v.mae, v.rmse, v.mape);
        }
        println!();
    }
    println!(
        "{:<20} | {}",
        "ridge chosen",
        outcome.model.chosen_ridge().iter().map(|r| format!("{r:e}")).collect::<Vec<_>>().join(" ")
    );
    print!("{:<20}", "lag_regression gain");
    for m in &ds.horizons_min {
        let best = outcome.methods["last_value"][m].mae.min(outcome.methods["historical_average"][m].mae);
        print!(" | {:>13.1}% {:>11}", 100.0 * (1.0 - outcome.methods["lag_regression"][m].mae / best), "");
    }
    println!(
        "\n(gain: MAE below the better of last_value and historical_average; {} scored pairs per horizon at {} min; \
            {:.2}% of lag_regression forecasts fell back to the profile)",
        outcome.methods["last_value"][&ds.horizons_min[0]].n,
        ds.horizons_min[0],
        100.0 * outcome.profile_fallbacks
    );
    if let Some(t) = timing {
        println!(
            "one forecasting round: {} cameras × {} horizons in {:.1} ms (median of {} rounds; slowest {:.1} ms)",
            t.cameras, t.horizons, t.median_ms, t.rounds, t.max_ms
        );
    }
    if let Some(c) = central {
        println!(
            "central's engine, {} cameras with {} days of 5-minute history: retraining {:.1} s (model fitted: {}); one \
                round, every camera's next interval binned and forecast at 15/30/60 min: {:.1} ms",
            c.cameras, c.days, c.retrain_s, c.model, c.round_ms
        );
    }
    Ok(())
}
