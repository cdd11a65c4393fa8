//! The controller under random plan arrivals, silences and bad plans, lamps checked
//! every 100 ms: conflicting movements never move together, greens never below the
//! minimum, yellows 3–6 s, all-red clearance always kept; it falls back to the local
//! plan after `backup` of silence and returns to central's plans when they come back.

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use firmware_profiles::JunctionProfile;
use proptest::prelude::*;
use protocol::plan::{JunctionRules, PlanKeys, PlanOutcome, TimingPlan, sign};

use super::controller::{Controller, Source};

const TICK: i64 = 100;

fn setup() -> (JunctionProfile, SigningKey, PlanKeys) {
    let profile = JunctionProfile::builtin("hcmc_sample_4arm").unwrap();
    let key = SigningKey::from_bytes(&[5; 32]);
    let public = base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes());
    (profile, key.clone(), PlanKeys::from_base64(&[("central".into(), public)]).unwrap())
}

fn central_plan(profile: &JunctionProfile, greens: &[u32], version: u64, now: i64) -> TimingPlan {
    let mut p = profile.local_plan(0);
    for (s, g) in p.stages.iter_mut().zip(greens) {
        s.green_ms = *g;
    }
    p.cycle_ms = p.stages.iter().map(|s| s.length_ms()).sum::<u64>() as u32;
    p.plan_id = "central".into();
    p.version = version;
    p.valid_from_ms = now;
    p.valid_until_ms = now + 900_000;
    p
}

/// Checks lamp history (one entry per tick); `Err` names the first breach.
fn check(rules: &JunctionRules, history: &[Vec<char>]) -> Result<(), String> {
    let idx = |m: &str| rules.movements.iter().position(|x| x == m).unwrap();
    let moving = |c: char| c == 'G' || c == 'Y';
    for (t, lamps) in history.iter().enumerate() {
        for (a, b) in &rules.conflicts {
            if moving(lamps[idx(a)]) && moving(lamps[idx(b)]) {
                return Err(format!("{a} and {b} both moving at tick {t}"));
            }
        }
    }
    for (mi, m) in rules.movements.iter().enumerate() {
        let lamp: Vec<char> = history.iter().map(|l| l[mi]).collect();
        let mut runs: Vec<(char, usize, usize)> = Vec::new();
        for (t, &c) in lamp.iter().enumerate() {
            match runs.last_mut() {
                Some(r) if r.0 == c => r.2 += 1,
                _ => runs.push((c, t, 1)),
            }
        }
        for (i, &(c, start, len)) in runs.iter().enumerate() {
            let whole = i > 0 && i + 1 < runs.len();
            let ms = len as i64 * TICK;
            if whole && c == 'G' && ms < rules.min_green_ms as i64 {
                return Err(format!("{m} green {ms} ms at tick {start}"));
            }
            if whole && c == 'Y' && !(3_000..=6_000).contains(&ms) {
                return Err(format!("{m} yellow {ms} ms at tick {start}"));
            }
            if c == 'Y' {
                let end = start + len;
                for t in end..(end + (rules.min_all_red_ms as i64 / TICK) as usize).min(history.len()) {
                    for (a, b) in &rules.conflicts {
                        let other = if a == m { b } else if b == m { a } else { continue };
                        if history[t][idx(other)] == 'G' {
                            return Err(format!("{other} green {} ms after {m}'s yellow", (t - end) as i64 * TICK));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Event {
    /// A valid plan with these stage greens (s).
    Plan(Vec<u32>),
    /// The same, signed with a key the junction does not trust.
    Forged(Vec<u32>),
    /// A plan whose first stage is shorter than its pedestrians need (unsafe).
    Unsafe,
    /// Nothing for this many seconds.
    Silence(u32),
}

fn event() -> impl Strategy<Value = Event> {
    let greens = proptest::collection::vec(7u32..=45, 3).prop_map(|g| {
        let mut g: Vec<u32> = g.into_iter().map(|s| s * 1000).collect();
        g[2] = g[2].max(19_000); // the east-west stage carries the north crossing
        g
    });
    prop_oneof![4 => greens.clone().prop_map(Event::Plan), 1 => greens.prop_map(Event::Forged), 1 => Just(Event::Unsafe), 3 => (1u32..200).prop_map(Event::Silence)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn lamps_stay_safe_through_any_sequence_of_plans_and_silences(events in proptest::collection::vec(event(), 1..12)) {
        let (profile, key, keys) = setup();
        let rules = profile.rules();
        let intruder = SigningKey::from_bytes(&[6; 32]);
        let backup = 60_000;
        let mut now = 1_800_000_000_000i64;
        let mut c = Controller::new(profile.clone(), keys, backup, now, 8 * 60);
        let mut history = Vec::new();
        let mut version = 1;
        let mut last_valid: Option<i64> = None;
        for e in events {
            let wait_s = match e {
                Event::Plan(g) => {
                    version += 1;
                    let ack = c.offer(&sign(central_plan(&profile, &g, version, now), "central", &key), now);
                    prop_assert_eq!(ack.outcome, PlanOutcome::Accepted);
                    last_valid = Some(now);
                    30
                }
                Event::Forged(g) => {
                    let ack = c.offer(&sign(central_plan(&profile, &g, version + 100, now), "central", &intruder), now);
                    prop_assert_eq!(ack.reason.as_deref(), Some("bad_signature"));
                    30
                }
                Event::Unsafe => {
                    let mut p = central_plan(&profile, &[20_000, 12_000, 25_000], version + 100, now);
                    p.stages[2].green_ms = 15_000;
                    p.cycle_ms -= 10_000;
                    let ack = c.offer(&sign(p, "central", &key), now);
                    prop_assert!(ack.reason.as_deref().is_some_and(|r| r.starts_with("unsafe:")), "{:?}", ack);
                    30
                }
                Event::Silence(s) => s,
            };
            for _ in 0..(wait_s as i64 * 1000 / TICK) {
                now += TICK;
                history.push(c.tick(now, 8 * 60));
            }
            // Fail-safe: long enough after the last valid plan, the local plan runs.
            if let Some(t) = last_valid && now - t > backup + 200_000 {
                prop_assert_eq!(c.running().source, Source::Local);
            }
        }
        prop_assert_eq!(check(&rules, &history), Ok(()));
    }
}

#[test]
fn falls_back_after_backup_time_and_resumes_central() {
    let (profile, key, keys) = setup();
    let mut now = 1_800_000_000_000i64;
    let mut c = Controller::new(profile.clone(), keys, 300_000, now, 8 * 60);
    assert_eq!(c.running().source, Source::Local, "no plan yet: local time-of-day plan");
    c.offer(&sign(central_plan(&profile, &[30_000, 10_000, 20_000], 2, now), "central", &key), now);
    let mut history = Vec::new();
    let mut step = |c: &mut Controller, secs: i64, now: &mut i64| {
        for _ in 0..secs * 10 {
            *now += TICK;
            history.push(c.tick(*now, 8 * 60));
        }
    };
    step(&mut c, 90, &mut now);
    assert_eq!((c.running().source, c.running().plan_id.as_str()), (Source::Central, "central"));
    // Central goes silent: within backup time + one stage change the local plan runs.
    step(&mut c, 300, &mut now);
    assert_eq!((c.running().source, c.running().plan_id.as_str()), (Source::Local, "local:day"));
    // A replayed old plan does not bring it back; a new one does.
    let replay = c.offer(&sign(central_plan(&profile, &[30_000, 10_000, 20_000], 2, now), "central", &key), now);
    assert_eq!(replay.reason.as_deref(), Some("replayed"));
    c.offer(&sign(central_plan(&profile, &[40_000, 10_000, 20_000], 3, now), "central", &key), now);
    step(&mut c, 90, &mut now);
    assert_eq!((c.running().source, c.running().greens_ms[0]), (Source::Central, 40_000));
    assert_eq!(check(&profile.rules(), &history), Ok(()));
}
