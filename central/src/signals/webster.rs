//! Cycle and splits from demand, Webster style, inside the junction's limits.
//!
//! For each stage the critical flow ratio y = max over its movements of demand /
//! (lanes × saturation flow); Y = Σ y. Lost time L = Σ (yellow + all-red + start-up
//! loss). Webster's optimum cycle C₀ = (1.5 L + 5) / (1 − Y), clamped to the junction's
//! cycle range (near saturation, Y ≥ 0.9, the longest cycle). Effective green C − L is
//! shared in proportion to y; every green is then held within [its minimum — including
//! what the stage's pedestrians need — , the maximum] and the cycle is what the stages
//! add up to. Pure: the result is a plan skeleton still to be validated and signed.

use firmware_profiles::JunctionProfile;
use protocol::plan::{Stage, TimingPlan};

/// Start-up lost time per stage (HCM default 2 s).
const STARTUP_LOSS_MS: u64 = 2_000;
/// Below this the demand is too light for Webster's formula to mean much.
const MIN_CYCLE_MS: u64 = 40_000;

/// Demand per movement (PCU/h), in the profile's movement order.
pub fn splits(profile: &JunctionProfile, template: &TimingPlan, demand_pcu_h: &[f64]) -> Vec<u32> {
    let rules = profile.rules();
    let y: Vec<f64> = template
        .stages
        .iter()
        .map(|stage| {
            stage
                .movements
                .iter()
                .filter_map(|m| profile.movements.iter().position(|x| &x.id == m))
                .map(|i| {
                    let mv = &profile.movements[i];
                    demand_pcu_h.get(i).copied().unwrap_or(0.0).max(0.0)
                        / (mv.lanes as f64 * mv.saturation_pcu_per_lane)
                })
                .fold(0.0, f64::max)
        })
        .collect();
    let lost: u64 = template.stages.iter().map(|s| s.yellow_ms as u64 + s.all_red_ms as u64 + STARTUP_LOSS_MS).sum();
    let total_y: f64 = y.iter().sum();
    let max_cycle = rules.max_cycle_ms as u64;
    let cycle = if total_y >= 0.9 { max_cycle } else { ((1.5 * lost as f64 + 5_000.0) / (1.0 - total_y)) as u64 }
        .clamp(MIN_CYCLE_MS.min(max_cycle), max_cycle);
    let intergreens: u64 = template.stages.iter().map(|s| s.yellow_ms as u64 + s.all_red_ms as u64).sum();
    let green_total = cycle.saturating_sub(intergreens) as f64;
    let weights: Vec<f64> =
        if total_y > 0.0 { y.iter().map(|v| v / total_y).collect() } else { vec![1.0 / y.len() as f64; y.len()] };
    let greens: Vec<u32> = template
        .stages
        .iter()
        .zip(weights)
        .map(|(stage, w)| {
            let floor = min_green(stage, rules.min_green_ms);
            let ceiling = stage.max_green_ms.min(rules.max_green_ms).max(floor);
            ((green_total * w).round() as u32).clamp(floor, ceiling)
        })
        .collect();
    let floors: Vec<u32> = template.stages.iter().map(|s| min_green(s, rules.min_green_ms)).collect();
    fit_within(greens, &floors, max_cycle.saturating_sub(intergreens))
}

/// Takes green back from the stages with the most above their floor until the greens
/// fit `budget` (minimum greens raised by pedestrians can push a long cycle past the
/// junction's maximum). Never goes below a floor.
pub fn fit_within(mut greens: Vec<u32>, floors: &[u32], budget: u64) -> Vec<u32> {
    let mut excess = greens.iter().map(|g| *g as u64).sum::<u64>().saturating_sub(budget);
    while excess > 0 {
        let Some(k) = (0..greens.len()).filter(|&k| greens[k] > floors[k]).max_by_key(|&k| greens[k] - floors[k])
        else {
            break;
        };
        let take = ((greens[k] - floors[k]) as u64).min(excess).clamp(1, 1_000) as u32;
        greens[k] -= take;
        excess -= take as u64;
    }
    greens
}

/// The shortest green a stage may have: the junction's and the stage's minimum, and
/// enough for its pedestrians' walk and clearance.
pub fn min_green(stage: &Stage, junction_min_ms: u32) -> u32 {
    let ped = stage.pedestrian.as_ref().map_or(0, |p| p.walk_ms + p.clearance_ms);
    stage.min_green_ms.max(junction_min_ms).max(ped)
}

/// Rounds to the controller's resolution, downwards but never below `floor`.
pub fn to_resolution(ms: u32, resolution_ms: u32, floor: u32) -> u32 {
    let r = resolution_ms.max(1);
    let down = ms / r * r;
    if down >= floor { down } else { floor.div_ceil(r) * r }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(profile: &JunctionProfile, per_movement: &[(&str, f64)]) -> Vec<f64> {
        profile.movements.iter().map(|m| per_movement.iter().find(|(id, _)| *id == m.id).map_or(0.0, |d| d.1)).collect()
    }

    #[test]
    fn greens_follow_critical_flow_ratios_within_limits() {
        let p = JunctionProfile::builtin("hcmc_sample_4arm").unwrap();
        let template = p.local_plan(0); // N-S through, N-S left, E-W through (+ walk)
        let light = splits(
            &p,
            &template,
            &demand(
                &p,
                &[("N_T", 600.0), ("S_T", 500.0), ("N_L", 100.0), ("S_L", 80.0), ("E_T", 300.0), ("W_T", 250.0)],
            ),
        );
        let heavy = splits(
            &p,
            &template,
            &demand(
                &p,
                &[("N_T", 2_600.0), ("S_T", 2_400.0), ("N_L", 300.0), ("S_L", 250.0), ("E_T", 500.0), ("W_T", 450.0)],
            ),
        );
        let cycle =
            |g: &[u32]| g.iter().sum::<u32>() + template.stages.iter().map(|s| s.yellow_ms + s.all_red_ms).sum::<u32>();
        assert!(cycle(&heavy) > cycle(&light), "more demand, longer cycle: {light:?} {heavy:?}");
        assert!(heavy[0] > heavy[2], "the heavy N-S through stage gets the most green: {heavy:?}");
        // The E-W stage carries the north crossing: walk 7 s + clearance 12 s at least.
        assert!(light[2] >= 19_000 && heavy[2] >= 19_000, "{light:?} {heavy:?}");
        assert!(light.iter().chain(&heavy).all(|g| *g >= 7_000 && *g <= 90_000));
        assert!(cycle(&heavy) <= 160_000);
    }

    #[test]
    fn greens_fit_the_budget_without_going_below_a_floor() {
        assert_eq!(
            fit_within(vec![60_000, 20_000, 19_000], &[7_000, 7_000, 19_000], 95_000),
            vec![56_000, 20_000, 19_000]
        );
        assert_eq!(
            fit_within(vec![8_000, 8_000], &[7_000, 7_000], 10_000),
            vec![7_000, 7_000],
            "floors win over the budget"
        );
    }

    #[test]
    fn resolution_rounding_never_goes_below_the_floor() {
        assert_eq!(to_resolution(12_345, 1_000, 7_000), 12_000);
        assert_eq!(to_resolution(6_900, 1_000, 6_500), 7_000);
        assert_eq!(to_resolution(6_950, 100, 6_900), 6_900);
    }
}
