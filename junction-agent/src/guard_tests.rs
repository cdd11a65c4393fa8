//! The starvation guard under random traffic: arrivals on every movement at random
//! rates (queues build on red and discharge on green), random retimings from central,
//! seconds where the cameras cannot be seen, actuation on or off. Whatever happens, no
//! movement waits — from the first tick it has demand (or is unseen) while not green —
//! longer than the bound plus one cycle (at most the junction's maximum cycle); and every
//! lamp sequence stays safe.

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use firmware_profiles::JunctionProfile;
use proptest::prelude::*;
use protocol::plan::{Monitor, PlanKeys, sign};

use super::actuation::{Actuation, Presence};
use super::controller::Controller;

const TICK: i64 = 100;

/// xorshift64: the test's own seeded randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_movement_waits_longer_than_the_bound(
        rates in proptest::collection::vec(0.0f64..0.6, 6),
        seed in any::<u64>(),
        actuated in any::<bool>(),
        max_wait_s in 40i64..150,
        retime_every_s in 20i64..200,
    ) {
        let profile = JunctionProfile::builtin("hcmc_sample_4arm").unwrap();
        let key = SigningKey::from_bytes(&[5; 32]);
        let public = base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes());
        let keys = PlanKeys::from_base64(&[("central".into(), public)]).unwrap();
        let rules = profile.rules();
        let n = rules.movements.len();
        let mut rng = Rng(seed | 1);
        let mut now = 1_800_000_000_000i64;
        let max_wait = max_wait_s * 1000;
        let mut c = Controller::new(profile.clone(), keys, 300_000, now, 8 * 60).with_max_wait(max_wait);
        if actuated {
            c = c.with_actuation(Actuation::default());
        }
        let local = profile.local_plan(0);
        // One cycle of any valid plan, at most the junction's maximum.
        let bound = max_wait + rules.max_cycle_ms as i64 + 2 * TICK;
        let mut monitor = Monitor::new(rules.clone());
        let (mut queued, mut last_arrival) = (vec![0u32; n], vec![i64::MIN / 2; n]);
        let mut lamps = vec!['R'; n];
        let mut waiting_since: Vec<Option<i64>> = vec![None; n];
        let mut version = 1;
        let mut unseen_until = now;
        for tick in 0..(30 * 60 * 1000 / TICK) {
            now += TICK;
            if tick % (retime_every_s * 1000 / TICK) == 0 && tick > 0 {
                // A retiming: random greens within the junction's rules.
                let mut plan = local.clone();
                for s in &mut plan.stages {
                    s.green_ms = (s.min_green_ms + (rng.next() % 30) as u32 * 1000).max(s.pedestrian.as_ref().map_or(
                        0,
                        |p| p.walk_ms + p.clearance_ms
                    ));
                }
                plan.cycle_ms = plan.stages.iter().map(|s| s.length_ms()).sum::<u64>() as u32;
                plan.plan_id = "central".into();
                version += 1;
                plan.version = version;
                plan.valid_from_ms = now;
                plan.valid_until_ms = now + 900_000;
                c.offer(&sign(plan, "central", &key), now);
            }
            if now % 1000 == 0 {
                for m in 0..n {
                    if rng.unit() < rates[m % rates.len()] {
                        last_arrival[m] = now;
                        if lamps[m] != 'G' {
                            queued[m] += 1;
                        }
                    }
                    if lamps[m] == 'G' && queued[m] > 0 {
                        queued[m] -= 1;
                    }
                }
                if now >= unseen_until && rng.unit() < 1.0 / 90.0 {
                    unseen_until = now + 5_000;
                }
            }
            let presence = Presence {
                queued: queued.clone(),
                gap_ms: last_arrival.iter().map(|t| (now - t).clamp(0, u32::MAX as i64) as u32).collect()
            };
            let seen = (now >= unseen_until).then_some(&presence);
            lamps = c.tick_with(now, 8 * 60, seen);
            prop_assert!(monitor.observe(now, &lamps).is_empty());
            let a = Actuation::default();
            for m in 0..n {
                let demand = seen.is_none_or(|p| p.waiting(m, &a));
                if lamps[m] == 'G' {
                    waiting_since[m] = None;
                } else if waiting_since[m].is_none() && demand {
                    waiting_since[m] = Some(now);
                }
                if let Some(t) = waiting_since[m] {
                    prop_assert!(
                        now - t <= bound,
                        "{} waited {} ms (bound {} ms), actuated {}",
                        rules.movements[m],
                        now - t,
                        bound,
                        actuated
                    );
                }
            }
        }
    }
}
