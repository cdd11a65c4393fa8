//! Starvation guard: no movement waits longer than a bound, whatever the plan,
//! actuation or plan changes do (SCATS's and max-pressure variants' maximum wait).
//!
//! Per movement it keeps when its wait began: the first tick it was not green while
//! demand was seen (a vehicle standing or arriving) or while the junction cannot see
//! (presence missing or stale: then every red movement is taken to have demand). A
//! call is locked until the movement is served (NTCIP 1202 "locking" detector memory):
//! a vehicle once seen and then lost from view — a camera miss, a dropout — still
//! counts. Green ends the wait.
//!
//! When a movement has waited `max_wait_ms`, the stage serving it (the one serving the
//! longest wait) is due: the controller ends the running green at its split (no
//! extension past it; earlier if it gaps out after its minimum) and changes into that
//! stage through the full yellow and all-red. With several movements starving in
//! different stages each is served in turn, so a wait never exceeds `max_wait_ms` plus
//! one cycle of the plan, itself within the junction's maximum (`guard_tests` checks it).
//! Not cutting flowing greens to their minimum matters under saturation: a guard that
//! did so shed capacity every cycle and gridlocked two lights 12 m apart on RESCO
//! ingolstadt21 (seeds 4 and 5: 193.9 and 102.9 s against 50.7 and 47.6 without it).
//!
//! Pure: time, lamps and demand are passed in.

use protocol::plan::TimingPlan;

#[derive(Debug, Clone)]
pub struct Guard {
    pub max_wait_ms: i64,
    /// Per movement (profile order): since when it has waited, if it does.
    waiting_since: Vec<Option<i64>>,
}

impl Guard {
    pub fn new(movements: usize, max_wait_ms: i64) -> Guard {
        Guard { max_wait_ms, waiting_since: vec![None; movements] }
    }

    /// After this tick's lamps: green ends a wait; a movement not green with demand
    /// (`demand(m)`, `None` = cannot see) starts waiting, and a wait once started stays.
    pub fn observe(&mut self, now_ms: i64, lamps: &[char], demand: impl Fn(usize) -> Option<bool>) {
        for (m, since) in self.waiting_since.iter_mut().enumerate() {
            if lamps.get(m) == Some(&'G') {
                *since = None;
            } else if since.is_none() && demand(m).unwrap_or(true) {
                *since = Some(now_ms);
            }
        }
    }

    /// How long movement `m` has waited (0 if it does not).
    pub fn wait_ms(&self, m: usize, now_ms: i64) -> i64 {
        self.waiting_since.get(m).copied().flatten().map_or(0, |t| now_ms - t)
    }

    /// The stage of `plan` that must be served next, if a movement has waited the bound:
    /// the stage serving the longest-waiting such movement (then the one serving most of
    /// them; ties to the lowest index). `movements`: the profile's order.
    pub fn starving_stage(&self, plan: &TimingPlan, movements: &[String], now_ms: i64) -> Option<usize> {
        let starving: Vec<(usize, i64)> = (0..movements.len())
            .map(|m| (m, self.wait_ms(m, now_ms)))
            .filter(|(_, w)| *w >= self.max_wait_ms && self.max_wait_ms > 0)
            .collect();
        let longest = starving.iter().map(|(_, w)| *w).max()?;
        let serves = |s: usize, m: usize| plan.stages[s].movements.iter().any(|x| *x == movements[m]);
        (0..plan.stages.len())
            .filter(|&s| starving.iter().any(|&(m, w)| w == longest && serves(s, m)))
            .max_by_key(|&s| (starving.iter().filter(|&&(m, _)| serves(s, m)).count(), usize::MAX - s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_locked_until_served_and_unseen_movements_wait_while_red() {
        let mut g = Guard::new(3, 10_000);
        // m0 green; m1 seen waiting once; m2 cannot be seen.
        g.observe(0, &['G', 'R', 'R'], |m| [Some(false), Some(true), None][m]);
        g.observe(4_000, &['G', 'R', 'R'], |m| [Some(false), Some(false), None][m]);
        assert_eq!((g.wait_ms(0, 4_000), g.wait_ms(1, 4_000), g.wait_ms(2, 4_000)), (0, 4_000, 4_000));
        g.observe(5_000, &['R', 'G', 'R'], |_| Some(false));
        assert_eq!((g.wait_ms(0, 5_000), g.wait_ms(1, 5_000)), (0, 0), "m0 has no demand; m1 served");
        assert_eq!(g.wait_ms(2, 5_000), 5_000, "m2 unseen and red all along");
    }
}
