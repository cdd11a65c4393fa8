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

/// One approach as a camera sees it: the incoming lanes of its links (one lane, or the
/// lanes a single signal index drives together), a counting line on each, and the
/// stretch of road upstream it sees queues and arrivals on — the lanes themselves and,
/// when one is shorter than the camera's view, the lanes feeding it (SUMO vehicles do
/// not enter a junction they cannot leave, so the queue in front of a very short lane
/// stands upstream).
#[derive(Debug, Clone)]
pub struct View {
    pub camera: String,
    /// Induction loops on the lanes themselves: the counting line. (loop id, lane.)
    pub count_loops: Vec<(String, String)>,
    /// Loops `DETECTOR_UPSTREAM_M` upstream of the stop line (a count loop when its lane
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

/// What the camera of approach `k`, watching `lanes`, sees (see `View`).
fn view(id: &str, k: usize, lanes: &[String], net: &Network) -> View {
    let length = |l: &str| net.lane_length.get(l).copied().unwrap_or(DETECTOR_UPSTREAM_M + 1.0);
    let count_loops: Vec<(String, String)> =
        lanes.iter().enumerate().map(|(i, l)| (format!("det_{id}_a{k}_c{i}"), l.clone())).collect();
    let mut presence_loops = Vec::new();
    let mut queue_lanes = lanes.to_vec();
    // (lane, distance of its end from the stop line)
    let mut frontier: Vec<(String, f64)> = lanes.iter().map(|l| (l.clone(), 0.0)).collect();
    for _ in 0..3 {
        let mut next = Vec::new();
        for (l, from_stop) in frontier {
            let len = length(&l);
            if from_stop + len >= DETECTOR_UPSTREAM_M || !net.predecessors.contains_key(&l) {
                let pos = loop_position(len, from_stop);
                let det = match count_loops.iter().find(|(_, cl)| *cl == l) {
                    Some((d, _)) => d.clone(),
                    None => format!("det_{id}_a{k}_{}", presence_loops.len()),
                };
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
        presence_loops.push((
            format!("det_{id}_a{k}_{}", presence_loops.len()),
            l.clone(),
            loop_position(length(&l), from_stop),
        ));
    }
    View { camera: format!("{id}-a{k}"), count_loops, presence_loops, queue_lanes }
}

/// The approaches of `served` links: incoming lanes, grouped where one link index drives
/// connections from several lanes (one movement must belong to one approach).
fn lane_groups(light: &Light, served: &[usize]) -> Vec<Vec<String>> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    for &k in served {
        let mine: Vec<String> = light.links[k].lanes.iter().map(|(from, _)| from.clone()).collect();
        let (touching, mut rest): (Vec<Vec<String>>, Vec<Vec<String>>) =
            groups.into_iter().partition(|g| g.iter().any(|l| mine.contains(l)));
        let mut merged: Vec<String> = touching.into_iter().flatten().collect();
        for l in mine {
            if !merged.contains(&l) {
                merged.push(l);
            }
        }
        rest.push(merged);
        groups = rest;
    }
    // Stable order: by each group's first appearance among the served links.
    let first = |g: &Vec<String>| {
        served.iter().position(|&k| light.links[k].lanes.iter().any(|(f, _)| g.contains(f))).unwrap_or(usize::MAX)
    };
    groups.sort_by_key(first);
    groups
}

/// The junction profile of `light`, or why it cannot be one (the light then keeps the
/// network's own program, as a junction outside the system keeps its own controller).
pub fn build(index: usize, light: &Light, net: &Network, scenario: &str) -> Result<SumoJunction> {
    let requests = &net.requests;
    let n = light.phases.first().map_or(0, |p| p.0.chars().count()).max(light.links.len());
    let id = format!("j{index}");
    ensure!(
        !light.phases.is_empty() && light.phases.iter().all(|p| p.0.chars().count() == n),
        "its program's phases do not all have one state per link ({n} links)"
    );
    // A link index with no connection in the network (a removed lane, a crossing the
    // network does not model) drives nothing: it is no movement.
    let connected = |k: usize| light.links.get(k).is_some_and(|l| !l.from_lane.is_empty());
    // Green phases: some connected link green, none yellow. A phase green only for links
    // without a connection is, for vehicles, all-red: part of the change around it.
    let greens: Vec<usize> = (0..light.phases.len())
        .filter(|&p| {
            light.phases[p].0.chars().enumerate().any(|(k, c)| green(c) && connected(k))
                && !light.phases[p].0.contains(['y', 'Y'])
        })
        .collect();
    ensure!(
        greens.len() >= 2,
        "its program has {} green phase(s) for its connected links: nothing to time",
        greens.len()
    );
    let together = |a: usize, b: usize| {
        greens.iter().any(|&p| {
            light.phases[p].0.chars().nth(a).is_some_and(green) && light.phases[p].0.chars().nth(b).is_some_and(green)
        })
    };
    let place: Vec<Option<(&str, usize)>> =
        light.links.iter().map(|l| l.via.as_deref().and_then(|v| locate(requests, v))).collect();
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
    // One approach per incoming lane that a signalled link leaves from.
    let served: Vec<usize> = (0..n)
        .filter(|&k| connected(k) && greens.iter().any(|&p| light.phases[p].0.chars().nth(k).is_some_and(green)))
        .collect();
    ensure!(!served.is_empty(), "no link with a connection is ever green: no controlled approach");
    let mut yields_to = vec![Vec::new(); n];
    let mut conflicts = Vec::new();
    for &a in &served {
        for &b in &served {
            let (yields, foe) = relation(a, b);
            if yields && a != b {
                yields_to[a].push(b);
            }
            if a < b && (foe || relation(b, a).1) && !together(a, b) {
                conflicts.push((a, b));
            }
        }
    }
    let groups = lane_groups(light, &served);
    let group_of = |k: usize| {
        groups.iter().position(|g| g.contains(&light.links[k].from_lane)).expect("every served link is in a group")
    };
    let mut toml = format!(
        "id = \"{id}\"\ndescription = \"SUMO light {} of {scenario}\"\nrevision = 1\ncontroller = \"sumo\"\n\
            utc_offset_s = 0\nconflicts = [",
        light.id
    );
    for (a, b) in &conflicts {
        write!(toml, "[\"m{a}\", \"m{b}\"], ")?;
    }
    let cycle: f64 = light.phases.iter().map(|p| p.1).sum();
    writeln!(
        toml,
        "]\n[limits]\nmin_green_s = 5\nmax_green_s = 60\nmin_yellow_s = 3\nmax_yellow_s = 6\nmin_all_red_s = 0\n\
            max_cycle_s = {}\nbackup_time_s = 300",
        (cycle.ceil() as u32).max(180)
    )?;
    let mut approaches = Vec::new();
    for (k, lanes) in groups.iter().enumerate() {
        let v = view(&id, k, lanes, net);
        writeln!(
            toml,
            "[[approach]]\nid = \"a{k}\"\ncameras = [{{ camera = \"{}\", line = \"stop\", zone = \"queue\" }}]",
            v.camera
        )?;
        approaches.push(v);
    }
    let mut movement_of_link = vec![None; n];
    for (m, &k) in served.iter().enumerate() {
        let link = &light.links[k];
        let a = group_of(k);
        let share = 1.0 / served.iter().filter(|&&o| group_of(o) == a).count() as f64;
        let turn = match link.dir.as_str() {
            "l" | "L" | "t" => "left",
            "r" | "R" => "right",
            _ => "through",
        };
        writeln!(
            toml,
            "[[movement]]\nid = \"m{k}\"\napproach = \"a{a}\"\nturn = \"{turn}\"\nlanes = 1\n\
                saturation_pcu_per_lane = 1800\nturn_share = {share}"
        )?;
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
        let movements: Vec<String> = served
            .iter()
            .filter(|&&k| light.phases[p].0.chars().nth(k).is_some_and(green))
            .map(|k| format!("\"m{k}\""))
            .collect();
        writeln!(
            toml,
            "  {{ movements = [{}], green_s = {}, yellow_s = {}, all_red_s = {} }},",
            movements.join(", "),
            light.phases[p].1.round().clamp(5.0, 60.0),
            yellow.round().clamp(3.0, 6.0),
            all_red.round()
        )?;
    }
    toml.push_str("]\n");
    let profile = JunctionProfile::from_toml(&format!("{scenario}/{}", light.id), &toml)
        .context("the profile written from it is invalid")?;
    let red =
        (0..n).map(|k| if light.phases.iter().any(|p| p.0.chars().nth(k) == Some('s')) { 's' } else { 'r' }).collect();
    Ok(SumoJunction { tls: light.id.clone(), profile, movement_of_link, yields_to, red, approaches })
}

/// SUMO's additional file with every camera's induction loops.
pub fn detectors(junctions: &[SumoJunction], lane_length: &BTreeMap<String, f64>) -> String {
    let mut out = String::from("<additional>\n");
    for v in junctions.iter().flat_map(|j| &j.approaches) {
        let mut loops = v.presence_loops.clone();
        for (det, lane) in &v.count_loops {
            if !loops.iter().any(|(d, _, _)| d == det) {
                let len = lane_length.get(lane).copied().unwrap_or(1.0);
                loops.push((det.clone(), lane.clone(), loop_position(len, 0.0)));
            }
        }
        for (det, lane, pos) in loops {
            let _ = writeln!(
                out,
                "  <inductionLoop id=\"{det}\" lane=\"{lane}\" pos=\"{pos:.2}\" period=\"3600\" file=\"NUL\"/>"
            );
        }
    }
    out.push_str("</additional>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Light T: index 0 drives two lanes of edge a, index 1 edge b, index 2 no
    /// connection. Edge a is fed through light U; edge b (10 m) by edge w, unsignalled.
    fn net(t_program: &[&str]) -> Network {
        let phases: String = t_program.iter().map(|s| format!("<phase duration=\"20\" state=\"{s}\"/>")).collect();
        let xml = format!(
            r#"<net>
            <edge id="a"><lane id="a_0" length="100"/><lane id="a_1" length="100"/></edge>
            <edge id="b"><lane id="b_0" length="10"/></edge>
            <edge id="w"><lane id="w_0" length="80"/></edge>
            <edge id="u"><lane id="u_0" length="80"/></edge>
            <tlLogic id="T" type="static" programID="0" offset="0">{phases}</tlLogic>
            <tlLogic id="U" type="static" programID="0" offset="0">
              <phase duration="30" state="G"/><phase duration="3" state="y"/><phase duration="30" state="r"/></tlLogic>
            <junction id="T" type="traffic_light" intLanes=":T_0_0 :T_0_1 :T_1_0">
              <request index="0" response="000" foes="100"/><request index="1" response="000" foes="100"/>
              <request index="2" response="011" foes="011"/>
            </junction>
            <connection from="a" to="x" fromLane="0" toLane="0" via=":T_0_0" tl="T" linkIndex="0" dir="s"/>
            <connection from="a" to="x" fromLane="1" toLane="1" via=":T_0_1" tl="T" linkIndex="0" dir="s"/>
            <connection from="b" to="y" fromLane="0" toLane="0" via=":T_1_0" tl="T" linkIndex="1" dir="s"/>
            <connection from="u" to="a" fromLane="0" toLane="0" tl="U" linkIndex="0" dir="s"/>
            <connection from="w" to="b" fromLane="0" toLane="0" dir="s"/>
            </net>"#
        );
        Network::parse(&xml).unwrap()
    }

    /// Regression (ingolstadt21 crashed on an empty detector lane): a signal index with
    /// no connection is no movement; one index driving two lanes is one approach
    /// watching both; a camera's view extends upstream only through unsignalled
    /// connections (a queue behind another signal waits for that signal, and counting it
    /// here once gridlocked two lights 12 m apart).
    #[test]
    fn every_light_imports_or_is_refused_with_a_reason() {
        let n = net(&["GrG", "yry", "rGr", "ryr"]);
        let t = n.lights.iter().find(|l| l.id == "T").unwrap();
        let j = build(0, t, &n, "test").unwrap();
        assert_eq!(j.movement_of_link, vec![Some(0), Some(1), None]);
        assert_eq!(j.approaches.len(), 2);
        assert_eq!(j.approaches[0].count_loops.iter().map(|c| c.1.as_str()).collect::<Vec<_>>(), ["a_0", "a_1"]);
        assert_eq!(j.approaches[0].queue_lanes, ["a_0", "a_1"], "u is behind light U");
        assert_eq!(j.approaches[1].queue_lanes, ["b_0", "w_0"], "b is short: the queue stands back on w");
        assert!(detectors(&[j], &n.lane_length).lines().all(|l| !l.contains("lane=\"\"")));
        // Green only for the index without a connection: nothing to control.
        let bare = net(&["rrG", "rry", "rrr"]);
        let Err(err) = build(0, bare.lights.iter().find(|l| l.id == "T").unwrap(), &bare, "test") else {
            panic!("imported a light with nothing to control")
        };
        assert!(format!("{err:#}").contains("green phase"), "{err:#}");
    }
}
