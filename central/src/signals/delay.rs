//! Predicted delay of a timing plan for a demand: the HCM 2000 signalised-approach delay
//! (uniform d1 plus incremental d2, pretimed k = 0.5, no upstream filtering I = 1, a
//! 15-minute analysis period), averaged over the movements weighted by their flow.
//!
//! A movement's effective green is the sum of the greens of the stages serving it; its
//! capacity lanes × saturation flow × g / C. Webster's splits minimise nearly the same
//! quantity, so this mostly agrees with them; it exists to judge the plans central is
//! about to issue after smoothing and coordination have moved them off Webster's
//! optimum, against the junction's own local plan (`Retimer` never issues a plan it
//! predicts to be worse). Pure.

use firmware_profiles::JunctionProfile;
use protocol::plan::Stage;

/// Analysis period of the incremental term (h).
const PERIOD_H: f64 = 0.25;

/// Mean predicted delay per vehicle (s) of `stages` for `demand_pcu_h` (profile movement
/// order). A movement with demand that no stage serves makes the plan infinitely bad;
/// no demand at all gives 0.
pub fn predicted_delay_s(profile: &JunctionProfile, stages: &[Stage], demand_pcu_h: &[f64]) -> f64 {
    let cycle_s = stages.iter().map(|s| s.length_ms() as f64).sum::<f64>() / 1000.0;
    if cycle_s <= 0.0 {
        return f64::INFINITY;
    }
    let (mut total, mut flow) = (0.0, 0.0);
    for (i, m) in profile.movements.iter().enumerate() {
        let v = demand_pcu_h.get(i).copied().unwrap_or(0.0).max(0.0);
        if v <= 0.0 {
            continue;
        }
        let green_s =
            stages.iter().filter(|s| s.movements.contains(&m.id)).map(|s| s.green_ms as f64 / 1000.0).sum::<f64>();
        if green_s <= 0.0 {
            return f64::INFINITY;
        }
        let ratio = (green_s / cycle_s).min(1.0);
        let capacity = m.lanes as f64 * m.saturation_pcu_per_lane * ratio;
        let x = v / capacity;
        let uniform = 0.5 * cycle_s * (1.0 - ratio).powi(2) / (1.0 - x.min(1.0) * ratio).max(1e-9);
        let incremental = 900.0 * PERIOD_H * ((x - 1.0) + ((x - 1.0).powi(2) + 4.0 * x / (capacity * PERIOD_H)).sqrt());
        total += v * (uniform + incremental);
        flow += v;
    }
    if flow > 0.0 { total / flow } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn greens(profile: &JunctionProfile, g: &[u32]) -> Vec<Stage> {
        let mut plan = profile.local_plan(0);
        for (s, g) in plan.stages.iter_mut().zip(g) {
            s.green_ms = *g;
        }
        plan.stages
    }

    #[test]
    fn delay_grows_with_demand_and_punishes_starved_movements() {
        let p = JunctionProfile::builtin("hcmc_sample_4arm").unwrap();
        let demand: Vec<f64> = p.movements.iter().map(|m| if m.id.ends_with("_T") { 500.0 } else { 100.0 }).collect();
        let balanced = greens(&p, &[30_000, 10_000, 25_000]);
        let d = predicted_delay_s(&p, &balanced, &demand);
        assert!(d > 5.0 && d < 60.0, "{d}");
        let heavier: Vec<f64> = demand.iter().map(|v| v * 1.5).collect();
        assert!(predicted_delay_s(&p, &balanced, &heavier) > d);
        // The same cycle with the east-west green cut to its minimum: worse.
        let starved = greens(&p, &[45_000, 10_000, 10_000]);
        assert!(predicted_delay_s(&p, &starved, &demand) > d);
        assert_eq!(predicted_delay_s(&p, &balanced, &vec![0.0; demand.len()]), 0.0);
    }
}
