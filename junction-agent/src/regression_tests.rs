//! Regression tests for the causes found when the closed loop failed on networks it was
//! not tuned on (RESCO cologne3 and ingolstadt1, issue 14): a junction whose protected-
//! turn stage is a subset of a wider stage, under frequent retimings and blocked turns.

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use firmware_profiles::JunctionProfile;
use protocol::plan::{PlanKeys, sign};

use super::actuation::{Actuation, Presence};
use super::controller::{Controller, Source};

const TICK: i64 = 100;

/// A junction whose stage 1 is a protected turn already green (permissive) in stage 0:
/// stages {through, turn}, {turn}, {cross}.
fn protected_turn_profile() -> JunctionProfile {
    let toml = r#"
id = "j"
description = "protected turn inside a wider stage"
revision = 1
controller = "sumo"
utc_offset_s = 0
conflicts = [["t", "x"], ["l", "x"]]
[limits]
min_green_s = 5
max_green_s = 60
min_yellow_s = 3
max_yellow_s = 6
min_all_red_s = 0
max_cycle_s = 180
backup_time_s = 300
[[approach]]
id = "a0"
cameras = [{ camera = "c0", line = "stop", zone = "queue" }]
[[approach]]
id = "a1"
cameras = [{ camera = "c1", line = "stop", zone = "queue" }]
[[approach]]
id = "a2"
cameras = [{ camera = "c2", line = "stop", zone = "queue" }]
[[movement]]
id = "t"
approach = "a0"
turn = "through"
lanes = 1
saturation_pcu_per_lane = 1800
[[movement]]
id = "l"
approach = "a1"
turn = "left"
lanes = 1
saturation_pcu_per_lane = 1800
[[movement]]
id = "x"
approach = "a2"
turn = "through"
lanes = 1
saturation_pcu_per_lane = 1800
[[local_plan]]
id = "day"
from = "00:00"
to = "00:00"
stages = [
  { movements = ["t", "l"], green_s = 30, yellow_s = 3, all_red_s = 2 },
  { movements = ["l"], green_s = 6, yellow_s = 3, all_red_s = 2 },
  { movements = ["x"], green_s = 30, yellow_s = 3, all_red_s = 2 },
]
"#;
    JunctionProfile::from_toml("test", toml).unwrap()
}

/// Regression (ingolstadt1, 5× fixed time): central re-timed every minute and each new
/// plan was changed into at the running stage's minimum green, entering the stage that
/// best matched the next one — stage 0 again, a superset of the protected-turn stage —
/// so the cross street was served only when two plans came more than a cycle apart.
/// Now retimings of the same sequence take effect in the running stage.
#[test]
fn frequent_retimings_never_starve_a_stage() {
    let profile = protected_turn_profile();
    let key = SigningKey::from_bytes(&[5; 32]);
    let public = base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes());
    let keys = PlanKeys::from_base64(&[("central".into(), public)]).unwrap();
    let rules = profile.rules();
    let mut now = 1_800_000_000_000i64;
    // The guard off: the plan sequence alone must serve every stage.
    let mut c = Controller::new(profile.clone(), keys, 300_000, now, 8 * 60).with_max_wait(0);
    let x = rules.movements.iter().position(|m| m == "x").unwrap();
    let (mut last_x_green, mut longest_red) = (now, 0);
    for i in 0..(20 * 60 * 1000 / TICK) {
        now += TICK;
        if i % 200 == 0 {
            // A retiming every 20 s, greens wobbling by a few seconds.
            let mut plan = profile.local_plan(0);
            plan.stages[0].green_ms = 28_000 + (i as u32 / 200 % 3) * 2_000;
            plan.cycle_ms = plan.stages.iter().map(|s| s.length_ms()).sum::<u64>() as u32;
            plan.plan_id = "central".into();
            plan.version = 2 + i as u64;
            plan.valid_from_ms = now;
            plan.valid_until_ms = now + 900_000;
            c.offer(&sign(plan, "central", &key), now);
        }
        let lamps = c.tick(now, 8 * 60);
        if lamps[x] == 'G' {
            last_x_green = now;
        }
        longest_red = longest_red.max(now - last_x_green);
    }
    assert!(longest_red <= 90_000, "the cross street waited {longest_red} ms (cycle 81 s)");
    assert_eq!(c.running().source, Source::Central);
}

/// Regression (cologne3): a left turn waiting in a shared green for a gap in the
/// oncoming flow was "served", so its protected stage was skipped for good. A green
/// movement whose vehicles stand without moving calls the later stage that serves it.
#[test]
fn a_blocked_turn_calls_its_protected_stage() {
    use super::actuation::next_called;
    let profile = protected_turn_profile();
    let plan = profile.local_plan(0);
    let movements = profile.rules().movements;
    let a = Actuation::default();
    // t flows; l has 2 standing, nothing moved for 5 s; x empty.
    let blocked = Presence { queued: vec![0, 2, 0], gap_ms: vec![0, 5_000, 60_000] };
    assert_eq!(next_called(&plan, 0, &movements, &blocked, &a), Some(1));
    // The turn moves (its queue shrank a second ago): no reason to change.
    let moving = Presence { queued: vec![0, 2, 0], gap_ms: vec![0, 1_000, 60_000] };
    assert_eq!(next_called(&plan, 0, &movements, &moving, &a), None);
    // The cross street waits: it is called, the protected stage is not.
    let cross = Presence { queued: vec![0, 0, 1], gap_ms: vec![0, 60_000, 60_000] };
    assert_eq!(next_called(&plan, 0, &movements, &cross, &a), Some(2));
}
