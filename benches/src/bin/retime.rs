//! Retiming at city scale: one round for N junctions (default 200, HCMC's smart
//! junctions) — Webster splits from demand, smoothing, corridor coordination (groups of
//! five), safety validation and ed25519 signing of every plan issued. Demand changes
//! every round, so every junction gets a new plan (the worst case).
//!
//! `retime [--junctions 200] [--rounds 21] [--json]`

use std::collections::BTreeMap;

use anyhow::Result;
use central::signals::{Corridor, RetimeSettings, Retimer};
use clap::Parser;
use ed25519_dalek::SigningKey;
use firmware_profiles::JunctionProfile;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 200)]
    junctions: usize,
    #[arg(long, default_value_t = 21)]
    rounds: usize,
    #[arg(long)]
    json: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let template = firmware_profiles::junction::BUILTIN[0].1;
    let ids: Vec<String> = (0..args.junctions).map(|i| format!("j{i:04}")).collect();
    let profiles = ids
        .iter()
        .map(|id| {
            JunctionProfile::from_toml(
                id,
                &template.replacen("id = \"hcmc_sample_4arm\"", &format!("id = \"{id}\""), 1),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let corridors =
        ids.chunks(5).map(|c| Corridor { junctions: c.to_vec(), travel_ms: vec![30_000; c.len() - 1] }).collect();
    let settings = RetimeSettings { material_ms: 0, ..RetimeSettings::default() };
    let mut retimer = Retimer::new(settings, profiles, corridors, "central", SigningKey::from_bytes(&[1; 32]));
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut times = Vec::new();
    let mut issued = 0;
    for round in 0..args.rounds {
        let demand: BTreeMap<String, Vec<f64>> = ids
            .iter()
            .map(|id| {
                let d = (0..6)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        200.0 + (seed % 1_200) as f64
                    })
                    .collect();
                (id.clone(), d)
            })
            .collect();
        let now = 1_800_000_000_000 + round as i64 * 300_000;
        let started = std::time::Instant::now();
        let plans = retimer.retime_all(&demand, now);
        times.push(started.elapsed().as_secs_f64() * 1e3);
        issued += plans.iter().filter(|p| p.is_ok()).count();
        if let Some(Err(e)) = plans.iter().find(|p| p.is_err()) {
            anyhow::bail!("round {round}: {e}");
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "junctions": args.junctions,
                "rounds": args.rounds,
                "median_ms": median,
                "max_ms": times[times.len() - 1],
                "plans_issued": issued
            })
        );
    } else {
        println!(
            "retiming {} junctions (Webster, smoothing, corridors of 5, validation, ed25519 signing): {:.1} ms per \
                round (median of {}; slowest {:.1} ms); {} plans issued",
            args.junctions,
            median,
            args.rounds,
            times[times.len() - 1],
            issued
        );
    }
    Ok(())
}
