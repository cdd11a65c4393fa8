//! The controller under random plan arrivals, silences and bad plans, lamps checked
//! every 100 ms: conflicting movements never move together, greens never below the
//! minimum, yellows 3–6 s, all-red clearance always kept; it falls back to the local
//! plan after `backup` of silence and returns to central's plans when they come back.

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use firmware_profiles::JunctionProfile;
use proptest::prelude::*;
use protocol::plan::{JunctionRules, PlanKeys, PlanOutcome, TimingPlan, sign};

use protocol::plan::Monitor;

use super::actuation::{Actuation, Presence};
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
                let all_red_end = (end + (rules.min_all_red_ms as i64 / TICK) as usize).min(history.len());
                for (t, lamps) in history.iter().enumerate().take(all_red_end).skip(end) {
                    for (a, b) in &rules.conflicts {
                        let other = if a == m {
                            b
                        } else if b == m {
                            a
                        } else {
                            continue;
                        };
                        if lamps[idx(other)] == 'G' {
                            return Err(format!("{other} green {} ms after {m}'s yellow", (t - end) as i64 * TICK));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Random queues and gaps per movement, changing once a simulated second.
struct Traffic(u64, Presence);

impl Traffic {
    fn next(&mut self, n: usize, now: i64) -> &Presence {
        if now % 1000 == 0 || self.1.queued.len() != n {
            let mut draw = || {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0
            };
            self.1 = Presence {
                queued: (0..n).map(|_| (draw() % 4).saturating_sub(2) as u32).collect(),
                gap_ms: (0..n).map(|_| (draw() % 6_000) as u32).collect(),
            };
        }
        &self.1
    }
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
    prop_oneof![
        4 => greens.clone().prop_map(Event::Plan),
        1 => greens.prop_map(Event::Forged),
        1 => Just(Event::Unsafe),
        3 => (1u32..200).prop_map(Event::Silence)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn lamps_stay_safe_through_any_sequence_of_plans_and_silences(
        events in proptest::collection::vec(event(), 1..12),
        actuated in any::<bool>(),
        traffic in any::<u64>()
    ) {
        let (profile, key, keys) = setup();
        let rules = profile.rules();
        let intruder = SigningKey::from_bytes(&[6; 32]);
        let backup = 60_000;
        let mut now = 1_800_000_000_000i64;
        let mut c = Controller::new(profile.clone(), keys, backup, now, 8 * 60);
        if actuated {
            c = c.with_actuation(Actuation::default());
        }
        let mut traffic = Traffic(traffic | 1, Presence::default());
        let mut monitor = Monitor::new(rules.clone());
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
                let presence = traffic.next(rules.movements.len(), now);
                let lamps = c.tick_with(now, 8 * 60, Some(presence));
                let breaches = monitor.observe(now, &lamps);
                prop_assert!(breaches.is_empty(), "{:?}", breaches);
                history.push(lamps);
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

/// Presence with `flowing` movements crossing their line now and `queued` ones standing.
fn seen(rules: &JunctionRules, flowing: &[&str], queued: &[&str]) -> Presence {
    let has = |list: &[&str], m: &String| list.contains(&m.as_str());
    Presence {
        queued: rules.movements.iter().map(|m| has(queued, m) as u32 * 3).collect(),
        gap_ms: rules.movements.iter().map(|m| if has(flowing, m) { 0 } else { 60_000 }).collect(),
    }
}

#[test]
fn actuation_gaps_out_skips_uncalled_stages_and_rests_in_green() {
    let (profile, key, keys) = setup();
    let rules = profile.rules();
    let mut now = 1_800_000_000_000i64;
    let mut c = Controller::new(profile.clone(), keys, 300_000, now, 8 * 60)
        .with_actuation(Actuation { gap_out_ms: 3_000, extend: false });
    // Without the walk (a crossing with a push button would call it): stages are called by vehicles only.
    let mut plan = central_plan(&profile, &[40_000, 12_000, 25_000], 2, now);
    plan.stages[2].pedestrian = None;
    assert_eq!(c.offer(&sign(plan, "central", &key), now).outcome, PlanOutcome::Accepted);
    let mut monitor = Monitor::new(rules.clone());
    let mut run = |c: &mut Controller, secs: i64, p: &Presence, now: &mut i64| {
        for _ in 0..secs * 10 {
            *now += TICK;
            let lamps = c.tick_with(*now, 8 * 60, Some(p));
            assert!(monitor.observe(*now, &lamps).is_empty());
        }
    };
    // Central's plan takes over; with only north waiting it comes round to north-south.
    for _ in 0..120 {
        run(&mut c, 1, &seen(&rules, &[], &["N_T"]), &mut now);
        if (c.running().plan_id.as_str(), c.running().stage) == ("central", 0) {
            break;
        }
    }
    assert_eq!((c.running().plan_id.as_str(), c.running().stage), ("central", 0));
    // North-south keeps flowing, nobody else waits: the green rests past its 40 s split.
    run(&mut c, 60, &seen(&rules, &["N_T", "S_T"], &[]), &mut now);
    assert_eq!(c.running().stage, 0);
    // East waits, north-south still flows: it ends at its split (40 s), not before.
    // The left-turn stage is called by no one and is skipped: east-west comes next.
    let t0 = now;
    while c.running().stage == 0 && now - t0 < 60_000 {
        run(&mut c, 1, &seen(&rules, &["N_T"], &["E_T"]), &mut now);
    }
    assert_eq!(c.running().stage, 2, "left-turn stage skipped");
    assert!(
        now - t0 <= 5_000 + 1_000,
        "a resting green past its split ends at once (+ yellow/all-red): {} ms",
        now - t0
    );
    // East-west gaps out at its minimum (7 s) when its queue is gone and north waits.
    let t1 = now;
    while c.running().stage == 2 {
        run(&mut c, 1, &seen(&rules, &[], &["N_T"]), &mut now);
    }
    assert!(now - t1 <= 7_000 + 5_000 + 1_000, "gapped out at its minimum: {} ms", now - t1);
    // A new plan arriving while a green rests past its split: full yellow and all-red.
    run(&mut c, 90, &seen(&rules, &["N_T"], &[]), &mut now);
    let mut plan = central_plan(&profile, &[30_000, 12_000, 25_000], 3, now);
    plan.stages[2].pedestrian = None;
    c.offer(&sign(plan, "central", &key), now);
    run(&mut c, 60, &seen(&rules, &["N_T"], &[]), &mut now);
    assert_eq!((c.running().greens_ms[0], c.running().version), (30_000, 3));
}

#[test]
fn extended_actuation_holds_a_flowing_green_to_its_maximum_not_beyond() {
    let (profile, key, keys) = setup();
    let rules = profile.rules();
    let mut now = 1_800_000_000_000i64;
    let mut c = Controller::new(profile.clone(), keys, 300_000, now, 8 * 60).with_actuation(Actuation::default());
    let mut plan = central_plan(&profile, &[20_000, 12_000, 25_000], 2, now);
    plan.stages[2].pedestrian = None;
    c.offer(&sign(plan, "central", &key), now);
    let mut monitor = Monitor::new(rules.clone());
    let mut green_runs = Vec::new();
    let mut since = now;
    let mut last = 'R';
    // North-south flows without a break and east always waits: every north-south green
    // runs to the 90 s maximum, past central's 20 s split, then east-west gets its turn
    // (within the 300 s backup time: no heartbeat is sent here).
    for _ in 0..2_800 {
        now += TICK;
        let lamps = c.tick_with(now, 8 * 60, Some(&seen(&rules, &["N_T", "S_T"], &["E_T"])));
        assert!(monitor.observe(now, &lamps).is_empty());
        let n = lamps[rules.movements.iter().position(|m| m == "N_T").unwrap()];
        if n != last {
            if last == 'G' {
                green_runs.push(now - since);
            }
            since = now;
            last = n;
        }
    }
    let central: Vec<i64> = green_runs.into_iter().skip(1).collect();
    assert!(!central.is_empty() && central.iter().all(|&g| g == 90_000), "{central:?}");
}

#[test]
fn a_timed_central_plan_moves_its_cycle_onto_the_offset_smoothly() {
    let (profile, key, keys) = setup();
    let rules = profile.rules();
    let mut now = 1_800_000_000_000i64;
    let mut c = Controller::new(profile.clone(), keys, 300_000, now, 8 * 60);
    let mut plan = central_plan(&profile, &[30_000, 12_000, 25_000], 2, now);
    plan.offset_ms = 47_000;
    let cycle = plan.cycle_ms as i64;
    c.offer(&sign(plan.clone(), "central", &key), now);
    let mut monitor = Monitor::new(rules.clone());
    let n_t = rules.movements.iter().position(|m| m == "N_T").unwrap();
    let (mut starts, mut ends, mut last) = (Vec::new(), Vec::new(), 'R');
    for i in 0..12 * cycle / TICK {
        now += TICK;
        if i % 1000 == 999 {
            // Central's heartbeat: the same plan re-issued.
            plan.version += 1;
            plan.valid_from_ms = now;
            plan.valid_until_ms = now + 900_000;
            c.offer(&sign(plan.clone(), "central", &key), now);
        }
        let lamps = c.tick(now, 8 * 60);
        assert!(monitor.observe(now, &lamps).is_empty());
        if lamps[n_t] == 'G' && last != 'G' {
            starts.push(now);
        }
        if lamps[n_t] != 'G' && last == 'G' {
            ends.push(now);
        }
        last = lamps[n_t];
    }
    let error = |t: i64| (t - 47_000).rem_euclid(cycle);
    let errors: Vec<i64> = starts.iter().map(|&t| error(t)).collect();
    assert!(errors.iter().rev().take(3).all(|&e| e < TICK), "north-south green starts, ms past the offset: {errors:?}");
    assert!(errors[0] >= 10_000, "off the offset at first: {errors:?}");
    // Smoothly: every north-south green within a fifth of its split (30 s), however far
    // the cycle had to move.
    for (s, e) in starts.iter().zip(&ends) {
        assert!((e - s - 30_000).abs() <= 6_000 + TICK, "green of {} ms", e - s);
    }
}
