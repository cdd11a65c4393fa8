//! Property tests of the plan safety validator and plan transitions, judged by an
//! independent second-by-second simulation of the lamps: no plan the validator accepts,
//! and no transition `plan_change` produces, ever shows conflicting movements green or
//! yellow together, vehicles across a crossing with pedestrians on it, a green below its
//! minimum, a yellow outside 3–6 s, or less than the all-red clearance.
//! Durations are whole seconds so the one-second simulation is exact.

use proptest::prelude::*;
use protocol::plan::transition::plan_change;
use protocol::plan::types::CrossingRule;
use protocol::plan::{JunctionRules, PedestrianTiming, Stage, TimingPlan, validate};

const MOVES: [&str; 8] = ["N_T", "N_L", "S_T", "S_L", "E_T", "E_L", "W_T", "W_L"];

fn rules() -> JunctionRules {
    let ns = |m: &str| m.starts_with('N') || m.starts_with('S');
    let mut conflicts = Vec::new();
    for (i, a) in MOVES.iter().enumerate() {
        for b in &MOVES[i + 1..] {
            let opposing_left = matches!((*a, *b), ("N_T", "S_L") | ("N_L", "S_T") | ("E_T", "W_L") | ("E_L", "W_T"));
            if ns(a) != ns(b) || opposing_left {
                conflicts.push((a.to_string(), b.to_string()));
            }
        }
    }
    let crossing = |id: &str, with: &[&str]| CrossingRule {
        id: id.into(),
        min_walk_ms: 5_000,
        min_clearance_ms: 8_000,
        conflicting_movements: with.iter().map(|s| s.to_string()).collect(),
    };
    JunctionRules {
        junction_id: "j1".into(),
        rules_id: "r1".into(),
        movements: MOVES.iter().map(|s| s.to_string()).collect(),
        conflicts,
        min_green_ms: 5_000,
        max_green_ms: 90_000,
        min_yellow_ms: 3_000,
        max_yellow_ms: 6_000,
        min_all_red_ms: 2_000,
        max_cycle_ms: 180_000,
        // A crosswalk conflicts with the movements that enter or leave its arm.
        crossings: vec![crossing("X_N", &["N_T", "N_L", "S_T", "E_L"]), crossing("X_E", &["E_T", "E_L", "W_T", "N_L"])],
    }
}

/// Independent lamp state at whole second `t` of the cycle: per movement 'G'/'Y'/'R',
/// per crossing 'W' (walk), 'C' (clearing) or 'D'.
fn state_at(plan: &TimingPlan, rules: &JunctionRules, t: u64) -> (Vec<char>, Vec<char>) {
    let mut start = 0;
    let n = plan.stages.len();
    for (i, s) in plan.stages.iter().enumerate() {
        let len = (s.green_ms + s.yellow_ms + s.all_red_ms) as u64 / 1000;
        if t < start + len {
            let u = (t - start) * 1000;
            let next = &plan.stages[(i + 1) % n];
            let movement = |m: &String| {
                if !s.movements.contains(m) {
                    'R'
                } else if u < s.green_ms as u64 || next.movements.contains(m) {
                    'G'
                } else if u < (s.green_ms + s.yellow_ms) as u64 {
                    'Y'
                } else {
                    'R'
                }
            };
            let crossing = |c: &CrossingRule| match s.pedestrian.as_ref().filter(|p| p.crossings.contains(&c.id)) {
                Some(p) if u < p.walk_ms as u64 => 'W',
                Some(p) if u < (p.walk_ms + p.clearance_ms) as u64 => 'C',
                _ => 'D',
            };
            return (rules.movements.iter().map(movement).collect(), rules.crossings.iter().map(crossing).collect());
        }
        start += len;
    }
    unreachable!("t within the cycle")
}

/// Checks a sequence of states (cyclic or not) second by second; `Err` names the breach.
fn check_states(rules: &JunctionRules, states: &[(Vec<char>, Vec<char>)], cyclic: bool) -> Result<(), String> {
    let idx = |m: &str| rules.movements.iter().position(|x| x == m).unwrap();
    let moving = |c: char| c == 'G' || c == 'Y';
    for (t, (mv, cr)) in states.iter().enumerate() {
        for (a, b) in &rules.conflicts {
            if moving(mv[idx(a)]) && moving(mv[idx(b)]) {
                return Err(format!("{a} and {b} moving together at {t} s"));
            }
        }
        for (ci, c) in rules.crossings.iter().enumerate() {
            if cr[ci] != 'D' && c.conflicting_movements.iter().any(|m| moving(mv[idx(m)])) {
                return Err(format!("vehicles across {} while pedestrians on it at {t} s", c.id));
            }
        }
    }
    let n = states.len();
    for (mi, m) in rules.movements.iter().enumerate() {
        let lamp: Vec<char> = states.iter().map(|s| s.0[mi]).collect();
        // Runs: for a cyclic sequence, start at a change so no run is split.
        let rot = if cyclic { (0..n).find(|&t| lamp[t] != lamp[(t + n - 1) % n]) } else { Some(0) };
        let Some(rot) = rot else { continue }; // one colour all cycle
        let seq: Vec<char> = (0..n).map(|k| lamp[(rot + k) % n]).collect();
        let mut runs: Vec<(char, usize, usize)> = Vec::new(); // (colour, start, len)
        for (k, &c) in seq.iter().enumerate() {
            match runs.last_mut() {
                Some(r) if r.0 == c => r.2 += 1,
                _ => runs.push((c, k, 1)),
            }
        }
        let last = runs.len() - 1;
        for (ri, &(c, _, len)) in runs.iter().enumerate() {
            // An open run at either end of a non-cyclic sequence is only part of a run.
            let whole = cyclic || (ri != 0 && ri != last);
            if c == 'G' && whole && (len as u32) * 1000 < rules.min_green_ms {
                return Err(format!("{m} green for {len} s"));
            }
            if c == 'Y' && whole && !(3..=6).contains(&len) {
                return Err(format!("{m} yellow for {len} s"));
            }
        }
        // Clearance: after m's yellow, no conflicting movement turns green within min_all_red.
        for &(c, start, len) in &runs {
            if c != 'Y' || (!cyclic && start + len >= n) {
                continue;
            }
            let end = start + len;
            for k in 0..(rules.min_all_red_ms as usize / 1000) {
                let t = (rot + end + k) % n;
                if !cyclic && rot + end + k >= n {
                    break;
                }
                for (a, b) in &rules.conflicts {
                    let other = if a == m {
                        b
                    } else if b == m {
                        a
                    } else {
                        continue;
                    };
                    if states[t].0[idx(other)] == 'G' {
                        return Err(format!("{other} green {k} s after {m}'s yellow"));
                    }
                }
            }
        }
    }
    Ok(())
}

fn cycle_states(plan: &TimingPlan, rules: &JunctionRules) -> Vec<(Vec<char>, Vec<char>)> {
    (0..plan.cycle_ms as u64 / 1000).map(|t| state_at(plan, rules, t)).collect()
}

fn secs(range: std::ops::RangeInclusive<u32>) -> impl Strategy<Value = u32> {
    range.prop_map(|s| s * 1000)
}

/// Stages near the rules' edges: mostly compatible movement groups (also random ones),
/// durations straddling every minimum and maximum.
fn any_stage() -> impl Strategy<Value = Stage> {
    const GROUPS: [u8; 6] = [0b0000_0101, 0b0000_1010, 0b0000_0011, 0b0101_0000, 0b1010_0000, 0b0011_0000];
    let movements = prop_oneof![3 => (0..GROUPS.len()).prop_map(|g| GROUPS[g]), 1 => 1u8..=255];
    (
        movements,
        secs(3..=40),
        secs(3..=8),
        secs(20..=95),
        secs(2..=7),
        secs(1..=4),
        proptest::option::of((0u8..4, secs(4..=6), secs(7..=9))),
    )
        .prop_map(|(mask, green_ms, min_green_ms, max_green_ms, yellow_ms, all_red_ms, ped)| Stage {
            movements: MOVES
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, m)| m.to_string())
                .collect(),
            green_ms,
            min_green_ms,
            max_green_ms,
            yellow_ms,
            all_red_ms,
            pedestrian: ped.map(|(which, walk_ms, clearance_ms)| PedestrianTiming {
                crossings: [("X_N", 1u8), ("X_E", 2)]
                    .iter()
                    .filter(|(_, b)| which & b != 0)
                    .map(|(c, _)| c.to_string())
                    .collect(),
                walk_ms,
                clearance_ms,
            }),
        })
}

fn plan_of(stages: Vec<Stage>, offset_ms: u32, cycle_fix: bool) -> TimingPlan {
    let sum: u64 = stages.iter().map(|s| s.length_ms()).sum();
    TimingPlan {
        junction_id: "j1".into(),
        plan_id: "p".into(),
        version: 1,
        valid_from_ms: 0,
        valid_until_ms: 1,
        cycle_ms: if cycle_fix { sum as u32 } else { (sum as u32).wrapping_add(1000) },
        offset_ms,
        stages,
        rules_id: "r1".into(),
    }
}

/// Stages that are safe by construction: compatible movement groups, durations in bounds.
fn safe_stage() -> impl Strategy<Value = Stage> {
    let groups: [(&[&str], Option<&str>); 7] = [
        (&["N_T", "S_T"], None),
        (&["N_L", "S_L"], None),
        (&["N_T", "N_L"], None),
        (&["E_T", "W_T"], None),
        (&["E_L", "W_L"], None),
        (&["E_T", "W_T"], Some("X_N")),
        (&["N_T", "S_T"], Some("X_E")),
    ];
    (0..groups.len(), secs(5..=10), secs(0..=40), secs(3..=6), secs(2..=4), any::<bool>()).prop_map(
        move |(g, min_green_ms, extra, yellow_ms, all_red_ms, ped)| {
            let (moves, crossing) = groups[g];
            let green_ms = (min_green_ms + extra).max(13_000 * u32::from(ped && crossing.is_some()));
            Stage {
                movements: moves.iter().map(|s| s.to_string()).collect(),
                green_ms,
                min_green_ms,
                max_green_ms: 90_000,
                yellow_ms,
                all_red_ms,
                pedestrian: crossing.filter(|_| ped).map(|c| PedestrianTiming {
                    crossings: vec![c.into()],
                    walk_ms: 5_000,
                    clearance_ms: 8_000,
                }),
            }
        },
    )
}

fn safe_plan() -> impl Strategy<Value = TimingPlan> {
    proptest::collection::vec(safe_stage(), 2..=4)
        .prop_map(|stages| plan_of(stages, 0, true))
        .prop_filter("cycle within the junction's maximum", |p| p.cycle_ms <= 180_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// 10^5 transitions between safe plans at any moment of the running plan.
    #[test]
    fn transitions_never_cut_a_minimum(
        a in safe_plan(),
        b in safe_plan(),
        at in 0u32..10_000,
        stage_pick in 0usize..4
    ) {
        let rules = rules();
        prop_assert_eq!(validate(&a, &rules), Ok(()));
        prop_assert_eq!(validate(&b, &rules), Ok(()));
        let stage = stage_pick % a.stages.len();
        let running = &a.stages[stage];
        let elapsed = (at % (running.green_ms / 1000 + 1)) * 1000;
        let change = plan_change(&a, stage, Some(elapsed), &b);
        // Lamp sequence: the previous stage of `a` (so the running stage's green is whole),
        // the running stage's green so far plus the hold, its change, then `b` from its entry stage.
        let prev = (stage + a.stages.len() - 1) % a.stages.len();
        let mut states = Vec::new();
        let t_prev = a.stages[..prev].iter().map(|s| s.length_ms()).sum::<u64>() / 1000;
        for t in t_prev..t_prev + a.stages[prev].length_ms() / 1000 { states.push(state_at(&a, &rules, t)); }
        let entry = &b.stages[change.entry_stage];
        let green_s = (elapsed + change.hold_green_ms) / 1000;
        let lamp = |c: char| -> Vec<char> {
            rules.movements.iter().map(|m| if running.movements.contains(m) { c } else { 'R' }).collect()
        };
        for _ in 0..green_s { states.push((lamp('G'), vec!['D'; 2])); }
        for _ in 0..change.yellow_ms / 1000 {
            states.push((
                rules
                    .movements
                    .iter()
                    .map(|m| {
                        if !running.movements.contains(m) {
                            'R'
                        } else if entry.movements.contains(m) {
                            'G'
                        } else {
                            'Y'
                        }
                    })
                    .collect(),
                vec!['D'; 2]
            ));
        }
        for _ in 0..change.all_red_ms / 1000 {
            states.push((
                rules
                    .movements
                    .iter()
                    .map(|m| if running.movements.contains(m) && entry.movements.contains(m) { 'G' } else { 'R' })
                    .collect(),
                vec!['D'; 2]
            ));
        }
        let b_start = b.stages[..change.entry_stage].iter().map(|s| s.length_ms()).sum::<u64>() / 1000;
        for k in 0..b.cycle_ms as u64 / 1000 { states.push(state_at(
            &b,
            &rules,
            (b_start + k) % (b.cycle_ms as u64 / 1000)
        )); }
        prop_assert!(green_s * 1000 >= running.min_green_ms, "running green {} s below its minimum", green_s);
        prop_assert!(change.all_red_ms >= rules.min_all_red_ms);
        prop_assert_eq!(check_states(&rules, &states, false), Ok(()));
    }
}

/// 10^5 arbitrary plans (most unsafe or malformed): whatever the validator accepts is
/// safe second by second, and the generator does reach accepted plans.
#[test]
fn no_unsafe_plan_is_accepted() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let rules = rules();
    let strategy = (proptest::collection::vec(any_stage(), 1..=5), secs(0..=200), proptest::bool::weighted(0.9));
    let mut runner = TestRunner::deterministic();
    let (mut accepted, cases) = (0, 100_000);
    for _ in 0..cases {
        let (stages, offset, cycle_fix) = strategy.new_tree(&mut runner).unwrap().current();
        let plan = plan_of(stages, offset, cycle_fix);
        if validate(&plan, &rules).is_ok() {
            accepted += 1;
            assert_eq!(
                check_states(&rules, &cycle_states(&plan, &rules), true),
                Ok(()),
                "accepted an unsafe plan: {plan:#?}"
            );
        }
    }
    println!("{accepted} of {cases} generated plans accepted, all safe");
    assert!(accepted >= 200, "only {accepted} accepted: the generator no longer tests the accepting path");
}

#[test]
fn safe_by_construction_plans_are_accepted_and_a_conflict_is_named() {
    let rules = rules();
    let stage = |moves: &[&str]| Stage {
        movements: moves.iter().map(|s| s.to_string()).collect(),
        green_ms: 20_000,
        min_green_ms: 5_000,
        max_green_ms: 60_000,
        yellow_ms: 3_000,
        all_red_ms: 2_000,
        pedestrian: None,
    };
    let ok = plan_of(vec![stage(&["N_T", "S_T"]), stage(&["E_T", "W_T"])], 0, true);
    assert_eq!(validate(&ok, &rules), Ok(()));
    let bad = plan_of(vec![stage(&["N_T", "E_T"]), stage(&["S_T"])], 0, true);
    let v = validate(&bad, &rules).unwrap_err();
    assert_eq!(v[0].code(), "conflicting_movements", "{v:?}");
    let mut short_yellow = ok.clone();
    short_yellow.stages[0].yellow_ms = 2_500;
    short_yellow.cycle_ms -= 500;
    // Said in words, stages counted from 1 as people count them, times in seconds.
    let said: Vec<String> = validate(&short_yellow, &rules).unwrap_err().iter().map(|v| v.to_string()).collect();
    assert!(
        said.iter().any(|m| m.starts_with("stage 1: a yellow of 2.5 s is outside what this junction allows (")),
        "{said:?}"
    );
    let mut ped = ok.clone();
    ped.stages[1].pedestrian =
        Some(PedestrianTiming { crossings: vec!["X_N".into()], walk_ms: 5_000, clearance_ms: 8_000 });
    assert_eq!(validate(&ped, &rules), Ok(()), "X_N walks with the east-west stage");
    ped.stages[0].pedestrian = ped.stages[1].pedestrian.clone();
    assert!(validate(&ped, &rules).unwrap_err().iter().any(|v| v.code() == "pedestrian_conflict"));
}
