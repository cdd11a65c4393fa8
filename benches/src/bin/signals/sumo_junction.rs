//! A SUMO traffic light as this product sees a junction: a firmware profile written from
//! the network (every link index a movement; one approach and one emulated camera per
//! incoming lane; the network's static program as the local plan) and what the `sumo`
//! driver and the camera emulation need (link → movement, who yields to whom, an
//! induction loop per incoming lane).
//!
//! Conflicts: two links are in conflict when SUMO's right-of-way table marks them foes
//! and the network's own program never releases them together. Foes it does release
//! together (a turn across oncoming traffic) are permissive: the driver shows the
//! yielding one as 'g' whenever its foe moves.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Context, Result, ensure};
use firmware_profiles::JunctionProfile;

use crate::scenario::{Light, Network};

/// Distance of each camera's counting/presence line upstream of the stop line.
const DETECTOR_UPSTREAM_M: f64 = 30.0;

pub struct SumoJunction {
    pub tls: String,
    pub profile: JunctionProfile,
    /// Per link: the movement index (profile order) that drives it.
    pub movement_of_link: Vec<Option<usize>>,
    pub yields_to: Vec<Vec<usize>>,
    /// Per link: what its red shows ('s': the network lets it turn on red after stopping).
    pub red: Vec<char>,
    /// Per approach (profile order): what its emulated camera watches.
    pub approaches: Vec<View>,
}

/// One approach lane as a camera sees it: its counting line, and the stretch of road
/// upstream it sees queues and arrivals on — the lane itself and, when it is shorter
/// than the camera's view, the lanes feeding it (SUMO vehicles do not enter a junction
/// they cannot leave, so the queue in front of a very short lane stands upstream).
#[derive(Debug, Clone)]
pub struct View {
    pub lane: String,
    pub camera: String,
    /// Induction loop on the lane itself: the counting line.
    pub count_loop: String,
    /// Loops `DETECTOR_UPSTREAM_M` upstream of the stop line (the count loop when the lane
    /// is long enough): arrivals, for gap-out. (loop id, lane, position.)
    pub presence_loops: Vec<(String, String, f64)>,
    /// Lanes whose standing vehicles are this approach's queue.
    pub queue_lanes: Vec<String>,
}

/// The right-of-way table of every junction: id → (internal lanes in link order,
/// per link its (response, foes) bit strings).
pub type Requests = BTreeMap<String, (Vec<String>, Vec<(String, String)>)>;

fn green(c: char) -> bool {
    c == 'G' || c == 'g'
}

/// Bit `j` of a SUMO request string (the last character is link 0).
fn bit(s: &str, j: usize) -> bool {
    s.len() > j && s.as_bytes()[s.len() - 1 - j] == b'1'
}

/// (junction, link position) of an internal lane.
fn locate<'a>(requests: &'a Requests, via: &str) -> Option<(&'a str, usize)> {
    requests.iter().find_map(|(j, (lanes, _))| lanes.iter().position(|l| l == via).map(|p| (j.as_str(), p)))
}

/// Where on a lane of `length` a loop lies `DETECTOR_UPSTREAM_M` upstream of the stop
/// line, the lane's end being `from_stop` metres before it; kept on the lane.
fn loop_position(length: f64, from_stop: f64) -> f64 {
    (length - (DETECTOR_UPSTREAM_M - from_stop)).max(0.5).min((length - 0.1).max(0.0))
}

/// What the camera on `lane` sees (see `View`).
fn view(id: &str, k: usize, lane: &str, net: &Network) -> View {
    let length = |l: &str| net.lane_length.get(l).copied().unwrap_or(DETECTOR_UPSTREAM_M + 1.0);
    let count_loop = format!("det_{id}_a{k}");
    let mut presence_loops = Vec::new();
    let mut queue_lanes = vec![lane.to_string()];
    // (lane, distance of its end from the stop line)
    let mut frontier = vec![(lane.to_string(), 0.0)];
    for _ in 0..3 {
        let mut next = Vec::new();
        for (l, from_stop) in frontier {
            let len = length(&l);
            if from_stop + len >= DETECTOR_UPSTREAM_M || !net.predecessors.contains_key(&l) {
                let pos = loop_position(len, from_stop);
                let det = if l == lane { count_loop.clone() } else { format!("det_{id}_a{k}_{}", presence_loops.len()) };
                presence_loops.push((det, l, pos));
            } else {
                for p in &net.predecessors[&l] {
                    if !queue_lanes.contains(p) {
                        queue_lanes.push(p.clone());
                        next.push((p.clone(), from_stop + len));
                    }
                }
            }
        }
        frontier = next;
        if frontier.is_empty() {
            break;
        }
    }
    for (l, from_stop) in frontier {
        presence_loops.push((format!("det_{id}_a{k}_{}", presence_loops.len()), l.clone(), loop_position(length(&l), from_stop)));
    }
    View { lane: lane.to_string(), camera: format!("{id}-a{k}"), count_loop, presence_loops, queue_lanes }
}

pub fn build(index: usize, light: &Light, net: &Network, scenario: &str) -> Result<SumoJunction> {
    let requests = &net.requests;
    let n = light.links.len();
    let id = format!("j{index}");
    let greens: Vec<usize> = (0..light.phases.len()).filter(|&p| light.phases[p].0.contains(['G', 'g']) && !light.phases[p].0.contains(['y', 'Y'])).collect();
    ensure!(greens.len() >= 2, "{scenario}: light {} has {} green phases", light.id, greens.len());
    let together = |a: usize, b: usize| greens.iter().any(|&p| light.phases[p].0.chars().nth(a).is_some_and(green) && light.phases[p].0.chars().nth(b).is_some_and(green));
    let place: Vec<Option<(&str, usize)>> = light.links.iter().map(|l| l.via.as_deref().and_then(|v| locate(requests, v))).collect();
    let relation = |a: usize, b: usize| -> (bool, bool) {
        match (place[a], place[b]) {
            (Some((ja, pa)), Some((jb, pb))) if ja == jb && pa < requests[ja].1.len() => {
                let (resp, foes) = &requests[ja].1[pa];
                (bit(resp, pb), bit(foes, pb))
            }
            (Some(_), Some(_)) => (false, false),
            // Without internal lanes the table is unknown: never released together = conflict.
            _ => (false, true),
        }
    };
    let mut yields_to = vec![Vec::new(); n];
    let mut conflicts = Vec::new();
    for a in 0..n {
        for b in 0..n {
            let (yields, foe) = relation(a, b);
            if yields && a != b {
                yields_to[a].push(b);
            }
            if a < b && (foe || relation(b, a).1) && !together(a, b) {
                conflicts.push((a, b));
            }
        }
    }
    // One approach per incoming lane that a signalled link leaves from.
    let served: Vec<usize> = (0..n).filter(|&k| greens.iter().any(|&p| light.phases[p].0.chars().nth(k).is_some_and(green))).collect();
    let mut lanes: Vec<String> = Vec::new();
    for &k in &served {
        if !lanes.contains(&light.links[k].from_lane) {
            lanes.push(light.links[k].from_lane.clone());
        }
    }
    let mut toml = format!("id = \"{id}\"\ndescription = \"SUMO light {} of {scenario}\"\nrevision = 1\ncontroller = \"sumo\"\nutc_offset_s = 0\nconflicts = [", light.id);
    for (a, b) in &conflicts {
        write!(toml, "[\"m{a}\", \"m{b}\"], ")?;
    }
    let cycle: f64 = light.phases.iter().map(|p| p.1).sum();
    writeln!(toml, "]\n[limits]\nmin_green_s = 5\nmax_green_s = 60\nmin_yellow_s = 3\nmax_yellow_s = 6\nmin_all_red_s = 0\nmax_cycle_s = {}\nbackup_time_s = 300", (cycle.ceil() as u32).max(180))?;
    let mut approaches = Vec::new();
    for (k, lane) in lanes.iter().enumerate() {
        let v = view(&id, k, lane, net);
        writeln!(toml, "[[approach]]\nid = \"a{k}\"\ncameras = [{{ camera = \"{}\", line = \"stop\", zone = \"queue\" }}]", v.camera)?;
        approaches.push(v);
    }
    let mut movement_of_link = vec![None; n];
    for (m, &k) in served.iter().enumerate() {
        let link = &light.links[k];
        let a = lanes.iter().position(|l| *l == link.from_lane).expect("lane listed");
        let share = 1.0 / served.iter().filter(|&&o| light.links[o].from_lane == link.from_lane).count() as f64;
        let turn = match link.dir.as_str() {
            "l" | "L" | "t" => "left",
            "r" | "R" => "right",
            _ => "through",
        };
        writeln!(toml, "[[movement]]\nid = \"m{k}\"\napproach = \"a{a}\"\nturn = \"{turn}\"\nlanes = 1\nsaturation_pcu_per_lane = 1800\nturn_share = {share}")?;
        movement_of_link[k] = Some(m);
    }
    // The network's static program, as the local (fallback) plan, all day.
    writeln!(toml, "[[local_plan]]\nid = \"network\"\nfrom = \"00:00\"\nto = \"00:00\"\nstages = [")?;
    for (i, &p) in greens.iter().enumerate() {
        let next = greens.get(i + 1).copied().unwrap_or(greens[0] + light.phases.len());
        let between = (p + 1..next).map(|q| &light.phases[q % light.phases.len()]);
        let (mut yellow, mut all_red) = (0.0, 0.0);
        for (state, d) in between {
            if state.contains(['y', 'Y']) { yellow += d } else { all_red += d }
        }
        let movements: Vec<String> = served.iter().filter(|&&k| light.phases[p].0.chars().nth(k).is_some_and(green)).map(|k| format!("\"m{k}\"")).collect();
        writeln!(toml, "  {{ movements = [{}], green_s = {}, yellow_s = {}, all_red_s = {} }},", movements.join(", "), light.phases[p].1.round().clamp(5.0, 60.0), yellow.round().clamp(3.0, 6.0), all_red.round())?;
    }
    toml.push_str("]\n");
    let profile = JunctionProfile::from_toml(&format!("{scenario}/{}", light.id), &toml).with_context(|| format!("profile written for light {}:\n{toml}", light.id))?;
    let red = (0..n).map(|k| if light.phases.iter().any(|p| p.0.chars().nth(k) == Some('s')) { 's' } else { 'r' }).collect();
    Ok(SumoJunction { tls: light.id.clone(), profile, movement_of_link, yields_to, red, approaches })
}

/// SUMO's additional file with every camera's induction loops.
pub fn detectors(junctions: &[SumoJunction], lane_length: &BTreeMap<String, f64>) -> String {
    let mut out = String::from("<additional>\n");
    for v in junctions.iter().flat_map(|j| &j.approaches) {
        let mut loops = v.presence_loops.clone();
        if !loops.iter().any(|(d, _, _)| *d == v.count_loop) {
            let len = lane_length.get(&v.lane).copied().unwrap_or(1.0);
            loops.push((v.count_loop.clone(), v.lane.clone(), loop_position(len, 0.0)));
        }
        for (det, lane, pos) in loops {
            let _ = writeln!(out, "  <inductionLoop id=\"{det}\" lane=\"{lane}\" pos=\"{pos:.2}\" period=\"3600\" file=\"NUL\"/>");
        }
    }
    out.push_str("</additional>\n");
    out
}
