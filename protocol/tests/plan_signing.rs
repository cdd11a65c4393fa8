//! The junction's acceptance check: only central's signature, on an unexpired, newer,
//! safe plan for this junction, is accepted; every refusal names its reason.

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use protocol::plan::types::CrossingRule;
use protocol::plan::{JunctionRules, PlanKeys, Rejection, Stage, TimingPlan, accept, sign};

fn rules() -> JunctionRules {
    JunctionRules {
        junction_id: "j1".into(),
        rules_id: "r1".into(),
        movements: ["N", "S", "E", "W"].map(String::from).to_vec(),
        conflicts: [("N", "E"), ("N", "W"), ("S", "E"), ("S", "W")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .to_vec(),
        min_green_ms: 5_000,
        max_green_ms: 90_000,
        min_yellow_ms: 3_000,
        max_yellow_ms: 6_000,
        min_all_red_ms: 2_000,
        max_cycle_ms: 180_000,
        crossings: vec![CrossingRule {
            id: "X".into(),
            min_walk_ms: 5_000,
            min_clearance_ms: 8_000,
            conflicting_movements: vec!["N".into(), "S".into()],
        }],
    }
}

fn plan(version: u64) -> TimingPlan {
    let stage = |m: [&str; 2]| Stage {
        movements: m.map(String::from).to_vec(),
        green_ms: 25_000,
        min_green_ms: 5_000,
        max_green_ms: 60_000,
        yellow_ms: 3_000,
        all_red_ms: 2_000,
        pedestrian: None,
    };
    TimingPlan {
        junction_id: "j1".into(),
        plan_id: "am-peak".into(),
        version,
        valid_from_ms: 1_000,
        valid_until_ms: 10_000,
        cycle_ms: 60_000,
        offset_ms: 12_000,
        stages: vec![stage(["N", "S"]), stage(["E", "W"])],
        rules_id: "r1".into(),
    }
}

fn keys(central: &SigningKey) -> PlanKeys {
    let public = base64::engine::general_purpose::STANDARD.encode(central.verifying_key().to_bytes());
    PlanKeys::from_base64(&[("central-2026".into(), public)]).unwrap()
}

#[test]
fn only_central_newer_unexpired_safe_plans_are_accepted() {
    let central = SigningKey::from_bytes(&[7; 32]);
    let intruder = SigningKey::from_bytes(&[9; 32]);
    let (keys, rules) = (keys(&central), rules());

    let good = sign(plan(5), "central-2026", &central);
    assert_eq!(accept(&good, &keys, &rules, Some(4), 2_000), Ok(&good.plan));
    // Survives the wire: JSON out and back in still verifies.
    let wire: protocol::plan::SignedPlan = serde_json::from_str(&serde_json::to_string(&good).unwrap()).unwrap();
    assert!(accept(&wire, &keys, &rules, None, 2_000).is_ok());

    let reason = |r: Result<&TimingPlan, Rejection>| r.unwrap_err().code();
    assert_eq!(reason(accept(&sign(plan(5), "central-2026", &intruder), &keys, &rules, None, 2_000)), "bad_signature");
    assert_eq!(reason(accept(&sign(plan(5), "intruder", &intruder), &keys, &rules, None, 2_000)), "unknown_key");
    let mut tampered = good.clone();
    tampered.plan.stages[0].green_ms += 1_000;
    tampered.plan.cycle_ms += 1_000;
    assert_eq!(reason(accept(&tampered, &keys, &rules, None, 2_000)), "bad_signature");
    let mut unsigned = good.clone();
    unsigned.signature.clear();
    assert_eq!(reason(accept(&unsigned, &keys, &rules, None, 2_000)), "bad_signature");
    assert_eq!(reason(accept(&good, &keys, &rules, None, 10_000)), "expired");
    assert_eq!(reason(accept(&good, &keys, &rules, Some(5), 2_000)), "replayed");
    assert_eq!(reason(accept(&good, &keys, &rules, Some(6), 2_000)), "replayed");
    let mut other = plan(6);
    other.junction_id = "j2".into();
    assert_eq!(reason(accept(&sign(other, "central-2026", &central), &keys, &rules, None, 2_000)), "wrong_junction");
    // Correctly signed by central and still unsafe: refused all the same.
    let mut unsafe_plan = plan(7);
    unsafe_plan.stages[1].movements = vec!["E".into(), "N".into()];
    assert_eq!(
        reason(accept(&sign(unsafe_plan, "central-2026", &central), &keys, &rules, None, 2_000)),
        "unsafe:conflicting_movements"
    );
    let mut fields = serde_json::to_value(&good).unwrap();
    fields["plan"]["priority"] = serde_json::json!("override");
    assert!(
        serde_json::from_value::<protocol::plan::SignedPlan>(fields).is_err(),
        "unknown fields cannot ride along unsigned"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 20_000,
        failure_persistence: None,
        ..Default::default()
    })]

    /// The decoder never panics and never accepts a mutated message as central's.
    #[test]
    fn decoding_mutated_plans_never_panics_or_verifies(
        flips in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 1..8),
        cut in 0usize..4096
    ) {
        let central = SigningKey::from_bytes(&[7; 32]);
        let mut bytes = serde_json::to_vec(&sign(plan(5), "central-2026", &central)).unwrap();
        for (at, byte) in flips {
            let n = bytes.len();
            bytes[at % n] = byte;
        }
        bytes.truncate(bytes.len().min(cut.max(1) * 4));
        if let Ok(signed) = protocol::plan::decode(&bytes) {
            let original = plan(5);
            if signed.plan != original {
                proptest::prop_assert!(accept(&signed, &keys(&central), &rules(), None, 2_000).is_err());
            }
        }
    }
}
