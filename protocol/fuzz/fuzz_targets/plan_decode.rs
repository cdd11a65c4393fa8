//! `cargo +nightly fuzz run plan_decode` (from `protocol/`): the junction's plan decoder
//! and acceptance check on arbitrary bytes must never panic, and nothing but the one
//! plan central signed may pass.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::plan::types::CrossingRule;
use protocol::plan::{JunctionRules, PlanKeys, accept, decode};

fuzz_target!(|data: &[u8]| {
    let Ok(signed) = decode(data) else { return };
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
    let keys = PlanKeys(vec![("central".into(), key)]);
    let rules = JunctionRules {
        junction_id: "j1".into(),
        rules_id: "r1".into(),
        movements: vec!["N".into(), "E".into()],
        conflicts: vec![("N".into(), "E".into())],
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
            conflicting_movements: vec!["N".into()]
        }],
    };
    // Without central's private key nothing can verify: a pass would be a forgery.
    assert!(accept(&signed, &keys, &rules, None, 0).is_err());
    let _ = protocol::plan::validate(&signed.plan, &rules);
});
