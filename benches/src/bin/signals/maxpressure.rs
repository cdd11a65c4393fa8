//! The max-pressure reference controller (Varaiya 2013), as RESCO runs it: every 5 s
//! after at least 5 s of green, each light switches to the green phase of its program
//! with the largest pressure — Σ over the links it serves of (queue on the incoming lane
//! − queue on the outgoing lane) — through a 3 s yellow for the links that stop.

use std::collections::HashMap;

use anyhow::Result;

use crate::safety::Monitors;
use crate::scenario::Light;
use junction_agent::traci::Traci;

const DECISION_S: f64 = 5.0;
const YELLOW_S: f64 = 3.0;

struct State {
    green: usize,
    since: f64,
    /// Yellow running until this time, then this green phase.
    changing: Option<(f64, usize)>,
}

fn serves(c: char) -> bool {
    c == 'G' || c == 'g'
}

/// Runs the simulation to `end` under max-pressure control of every light.
pub fn run(traci: &mut Traci, lights: &[Light], begin: f64, end: f64, monitors: &mut Monitors) -> Result<()> {
    let greens: Vec<Vec<usize>> = lights
        .iter()
        .map(|l| {
            (0..l.phases.len())
                .filter(|&i| l.phases[i].0.contains(['G', 'g']) && !l.phases[i].0.contains(['y', 'Y']))
                .collect()
        })
        .collect();
    let mut states: Vec<State> =
        greens.iter().map(|g| State { green: g.first().copied().unwrap_or(0), since: begin, changing: None }).collect();
    for (l, s) in lights.iter().zip(&states) {
        traci.set_tl_state(&l.id, &l.phases[s.green].0)?;
    }
    let mut t = begin;
    while t < end {
        t += 1.0;
        traci.step(t)?;
        monitors.observe(t, traci)?;
        let mut queues: HashMap<String, i32> = HashMap::new();
        for (i, light) in lights.iter().enumerate() {
            let s = &mut states[i];
            if let Some((until, next)) = s.changing {
                if t >= until {
                    traci.set_tl_state(&light.id, &light.phases[next].0)?;
                    *s = State { green: next, since: t, changing: None };
                }
                continue;
            }
            if t - s.since < DECISION_S || ((t - s.since) as i64) % DECISION_S as i64 != 0 || greens[i].len() < 2 {
                continue;
            }
            let mut best = (i64::MIN, s.green);
            for &p in &greens[i] {
                let mut pressure = 0i64;
                for (k, c) in light.phases[p].0.chars().enumerate() {
                    let Some(link) = light.links.get(k).filter(|_| serves(c)) else { continue };
                    for (inc, out) in &link.lanes {
                        for lane in [inc, out] {
                            if !lane.is_empty() && !queues.contains_key(lane) {
                                let q = traci.lane_halting(lane).unwrap_or(0);
                                queues.insert(lane.clone(), q);
                            }
                        }
                        pressure += *queues.get(inc).unwrap_or(&0) as i64 - *queues.get(out).unwrap_or(&0) as i64;
                    }
                }
                // Ties keep the running phase.
                if pressure > best.0 || (pressure == best.0 && p == s.green) {
                    best = (pressure, p);
                }
            }
            if best.1 != s.green {
                let (from, to) = (&light.phases[s.green].0, &light.phases[best.1].0);
                let yellow: String = from
                    .chars()
                    .zip(to.chars())
                    .map(|(a, b)| {
                        if serves(a) && !serves(b) {
                            'y'
                        } else if serves(a) {
                            a
                        } else {
                            'r'
                        }
                    })
                    .collect();
                traci.set_tl_state(&light.id, &yellow)?;
                s.changing = Some((t + YELLOW_S, best.1));
            }
        }
    }
    Ok(())
}
