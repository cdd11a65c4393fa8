//! Watches the lamps a junction actually shows, sample by sample, and names every
//! breach of its rules: two conflicting movements moving (green or yellow) together,
//! a green shorter than the minimum, a green that stops without yellow, a yellow
//! outside its limits, a movement released before a conflicting one has been red for
//! the all-red minimum. The simulation harness feeds it every simulated second; unit
//! tests of controllers feed it every tick.
//!
//! Invariant: a run that started before the first sample is not judged on its length
//! (the monitor did not see it start), everything after is.

use super::types::JunctionRules;

/// One lamp: 'G' (green, also permissive), 'Y' (yellow), 'R' (red or dark).
pub type Lamp = char;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub t_ms: i64,
    pub code: &'static str,
    pub detail: String,
}

pub struct Monitor {
    rules: JunctionRules,
    /// Per movement: lamp shown, since when, and whether the monitor saw it start.
    state: Vec<Option<(Lamp, i64, bool)>>,
    /// Per movement: when it last turned red after moving (for all-red clearance).
    red_since: Vec<Option<i64>>,
    conflicts: Vec<(usize, usize)>,
    /// Breaches seen so far.
    pub breaches: u64,
    /// The same, by code.
    pub by_code: std::collections::BTreeMap<&'static str, u64>,
}

impl Monitor {
    pub fn new(rules: JunctionRules) -> Monitor {
        let idx = |m: &str| rules.movements.iter().position(|x| x == m);
        let conflicts = rules.conflicts.iter().filter_map(|(a, b)| Some((idx(a)?, idx(b)?))).collect();
        let n = rules.movements.len();
        Monitor {
            rules,
            state: vec![None; n],
            red_since: vec![None; n],
            conflicts,
            breaches: 0,
            by_code: Default::default(),
        }
    }

    pub fn rules(&self) -> &JunctionRules {
        &self.rules
    }

    /// The lamps shown from `t_ms` on (one per movement, rules order); returns the
    /// breaches this sample reveals.
    pub fn observe(&mut self, t_ms: i64, lamps: &[Lamp]) -> Vec<Breach> {
        let mut out = Vec::new();
        let moving = |c: Lamp| c == 'G' || c == 'Y';
        for &(a, b) in &self.conflicts {
            if lamps.get(a).copied().is_some_and(moving) && lamps.get(b).copied().is_some_and(moving) {
                out.push(Breach {
                    t_ms,
                    code: "conflict",
                    detail: format!("{} and {} move together", self.rules.movements[a], self.rules.movements[b]),
                });
            }
        }
        for (i, &lamp) in lamps.iter().enumerate().take(self.state.len()) {
            let name = &self.rules.movements[i];
            match self.state[i] {
                None => self.state[i] = Some((lamp, t_ms, false)),
                Some((was, since, seen_start)) if was != lamp => {
                    let held = t_ms - since;
                    match (was, lamp) {
                        ('G', 'R') => out.push(Breach {
                            t_ms,
                            code: "no_yellow",
                            detail: format!("{name} went from green to red"),
                        }),
                        ('G', 'Y') if seen_start && held < self.rules.min_green_ms as i64 => {
                            out.push(Breach { t_ms, code: "short_green", detail: format!("{name} green {held} ms") })
                        }
                        ('Y', _) if seen_start && held < self.rules.min_yellow_ms as i64 => {
                            out.push(Breach { t_ms, code: "short_yellow", detail: format!("{name} yellow {held} ms") })
                        }
                        ('Y', _) if held > self.rules.max_yellow_ms as i64 => {
                            out.push(Breach { t_ms, code: "long_yellow", detail: format!("{name} yellow {held} ms") })
                        }
                        ('Y', 'G') => out.push(Breach {
                            t_ms,
                            code: "yellow_to_green",
                            detail: format!("{name} went from yellow back to green"),
                        }),
                        _ => {}
                    }
                    if lamp == 'R' {
                        self.red_since[i] = Some(t_ms);
                    }
                    if was == 'R' && moving(lamp) {
                        for &(a, b) in &self.conflicts {
                            let other = if a == i {
                                b
                            } else if b == i {
                                a
                            } else {
                                continue;
                            };
                            if let Some(red) = self.red_since[other].filter(|_| lamps.get(other) == Some(&'R'))
                                && t_ms - red < self.rules.min_all_red_ms as i64
                            {
                                out.push(Breach {
                                    t_ms,
                                    code: "short_all_red",
                                    detail: format!(
                                        "{name} released {} ms after {} stopped",
                                        t_ms - red,
                                        self.rules.movements[other]
                                    ),
                                });
                            }
                        }
                    }
                    self.state[i] = Some((lamp, t_ms, true));
                }
                Some(_) => {}
            }
        }
        self.breaches += out.len() as u64;
        for b in &out {
            *self.by_code.entry(b.code).or_default() += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> JunctionRules {
        JunctionRules {
            junction_id: "j".into(),
            rules_id: "j@1".into(),
            movements: vec!["a".into(), "b".into()],
            conflicts: vec![("a".into(), "b".into())],
            min_green_ms: 5_000,
            max_green_ms: 60_000,
            min_yellow_ms: 3_000,
            max_yellow_ms: 5_000,
            min_all_red_ms: 1_000,
            max_cycle_ms: 120_000,
            crossings: vec![],
        }
    }

    /// Feeds `(lamp a, lamp b)` once per second; returns the codes of every breach.
    fn run(seq: &[(char, char)]) -> Vec<&'static str> {
        let mut m = Monitor::new(rules());
        let codes: Vec<&'static str> = seq
            .iter()
            .enumerate()
            .flat_map(|(t, &(a, b))| m.observe(t as i64 * 1000, &[a, b]))
            .map(|b| b.code)
            .collect();
        assert_eq!(m.breaches, codes.len() as u64);
        codes
    }

    fn cycle(green_a: usize, yellow: usize, all_red: usize) -> Vec<(char, char)> {
        let mut s = vec![('G', 'R'); green_a];
        s.extend(vec![('Y', 'R'); yellow]);
        s.extend(vec![('R', 'R'); all_red]);
        s.extend(vec![('R', 'G'); 6]);
        s.extend(vec![('R', 'Y'); 3]);
        s.extend(vec![('R', 'R'); 1]);
        s.extend(vec![('G', 'R'); 6]);
        s
    }

    #[test]
    fn a_safe_sequence_passes_and_each_breach_is_named() {
        assert!(run(&cycle(6, 3, 1)).is_empty());
        // The first green started before the first sample: not judged on its length.
        assert!(run(&cycle(2, 3, 1)).is_empty());
        assert_eq!(run(&[('G', 'G')]), vec!["conflict"]);
        assert_eq!(run(&cycle(6, 2, 1)), vec!["short_yellow"]);
        assert_eq!(run(&cycle(6, 6, 1)), vec!["long_yellow"]);
        assert_eq!(run(&cycle(6, 3, 0)), vec!["short_all_red"]);
        let s = [('R', 'R'), ('G', 'R'), ('G', 'R'), ('Y', 'R'), ('Y', 'R'), ('Y', 'R'), ('R', 'R')];
        assert_eq!(run(&s), vec!["short_green"]);
        assert_eq!(run(&[('G', 'R'), ('R', 'R')]), vec!["no_yellow"]);
        assert_eq!(run(&[('Y', 'R'), ('G', 'R')]), vec!["yellow_to_green"]);
    }
}
