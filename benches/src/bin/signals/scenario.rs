//! A RESCO scenario as unpacked by `scripts/setup-sumo.sh`: network, routes, time
//! window, the departures the routes schedule, and its traffic lights' programs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};

pub struct Scenario {
    pub name: String,
    pub net: PathBuf,
    pub routes: PathBuf,
    pub begin: f64,
    pub end: f64,
    /// (vehicle id, scheduled departure) for every vehicle departing inside the window.
    pub scheduled: Vec<(String, f64)>,
}

/// A traffic light as the network defines it.
pub struct Light {
    pub id: String,
    /// The static program's phases: (state, duration s).
    pub phases: Vec<(String, f64)>,
    /// Per link index.
    pub links: Vec<Link>,
}

#[derive(Debug, Clone, Default)]
pub struct Link {
    pub from_lane: String,
    /// Every (from, to) lane pair the link index controls (a network may drive several
    /// connections, from several lanes, with one signal index); the first is `from_lane`'s.
    pub lanes: Vec<(String, String)>,
    /// The first internal lane (absent in networks built without them).
    pub via: Option<String>,
    /// SUMO's direction: s, l, r, t, L, R.
    pub dir: String,
}

/// What the closed loop needs from the network besides its lights.
pub struct Network {
    pub lights: Vec<Light>,
    pub requests: crate::sumo_junction::Requests,
    pub lane_length: std::collections::BTreeMap<String, f64>,
    /// Lane → the (non-internal) lanes with an unsignalled connection into it.
    pub predecessors: std::collections::BTreeMap<String, Vec<String>>,
}

fn attr<'a>(node: &roxmltree::Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.attribute(name)
}

impl Network {
    /// A SUMO network file's lights, right-of-way tables, lane lengths and
    /// (unsignalled) lane predecessors.
    pub fn parse(text: &str) -> Result<Network> {
        let doc = roxmltree::Document::parse(text)?;
        let mut lights: Vec<Light> = doc
            .descendants()
            .filter(|n| n.has_tag_name("tlLogic"))
            .map(|tl| Light {
                id: attr(&tl, "id").unwrap_or_default().to_string(),
                phases: tl
                    .children()
                    .filter(|n| n.has_tag_name("phase"))
                    .map(|p| {
                        (
                            attr(&p, "state").unwrap_or_default().to_string(),
                            attr(&p, "duration").and_then(|d| d.parse().ok()).unwrap_or(0.0),
                        )
                    })
                    .collect(),
                links: Vec::new(),
            })
            .collect();
        for c in doc.descendants().filter(|n| n.has_tag_name("connection")) {
            let (Some(tl), Some(index)) = (attr(&c, "tl"), attr(&c, "linkIndex").and_then(|i| i.parse::<usize>().ok()))
            else {
                continue;
            };
            let Some(light) = lights.iter_mut().find(|l| l.id == tl) else { continue };
            let lane = |edge: &str, idx: &str| {
                format!("{}_{}", attr(&c, edge).unwrap_or_default(), attr(&c, idx).unwrap_or("0"))
            };
            if light.links.len() <= index {
                light.links.resize(index + 1, Link::default());
            }
            let pair = (lane("from", "fromLane"), lane("to", "toLane"));
            if light.links[index].from_lane.is_empty() {
                light.links[index] = Link {
                    from_lane: pair.0.clone(),
                    lanes: vec![pair],
                    via: attr(&c, "via").map(str::to_string),
                    dir: attr(&c, "dir").unwrap_or("s").to_string(),
                };
            } else if !light.links[index].lanes.contains(&pair) {
                light.links[index].lanes.push(pair);
            }
        }
        let mut requests = crate::sumo_junction::Requests::new();
        for j in doc.descendants().filter(|n| n.has_tag_name("junction")) {
            let (Some(id), Some(int_lanes)) = (attr(&j, "id"), attr(&j, "intLanes")) else { continue };
            if attr(&j, "type") == Some("internal") {
                continue;
            }
            let rows = j
                .children()
                .filter(|n| n.has_tag_name("request"))
                .map(|r| {
                    (
                        attr(&r, "response").unwrap_or_default().to_string(),
                        attr(&r, "foes").unwrap_or_default().to_string(),
                    )
                })
                .collect();
            requests.insert(id.to_string(), (int_lanes.split_whitespace().map(str::to_string).collect(), rows));
        }
        let lane_length = doc
            .descendants()
            .filter(|n| n.has_tag_name("lane"))
            .filter_map(|l| Some((attr(&l, "id")?.to_string(), attr(&l, "length")?.parse().ok()?)))
            .collect();
        let mut predecessors: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for c in doc.descendants().filter(|n| n.has_tag_name("connection")) {
            let (Some(from), Some(to)) = (attr(&c, "from"), attr(&c, "to")) else { continue };
            // Through a signal the lane upstream is another approach's (its queue waits for
            // that signal): no camera view extends across a stop line.
            if from.starts_with(':') || to.starts_with(':') || attr(&c, "tl").is_some() {
                continue;
            }
            let (a, b) = (
                format!("{from}_{}", attr(&c, "fromLane").unwrap_or("0")),
                format!("{to}_{}", attr(&c, "toLane").unwrap_or("0")),
            );
            let list = predecessors.entry(b).or_default();
            if !list.contains(&a) {
                list.push(a);
            }
        }
        Ok(Network { lights, requests, lane_length, predecessors })
    }
}

impl Scenario {
    pub fn load(root: &Path, name: &str) -> Result<Scenario> {
        let dir = root.join(name);
        let cfg_path = dir.join(format!("{name}.sumocfg"));
        let cfg_text = std::fs::read_to_string(&cfg_path)
            .with_context(|| format!("{} (run scripts/setup-sumo.sh)", cfg_path.display()))?;
        let cfg = roxmltree::Document::parse(&cfg_text).with_context(|| cfg_path.display().to_string())?;
        let value = |tag: &str| {
            cfg.descendants().find(|n| n.has_tag_name(tag)).and_then(|n| attr(&n, "value")).map(str::to_string)
        };
        let net = dir.join(value("net-file").context("sumocfg: no net-file")?);
        let routes = dir.join(value("route-files").context("sumocfg: no route-files")?);
        let begin: f64 = value("begin").unwrap_or_else(|| "0".into()).parse()?;
        let end: f64 = value("end").context("sumocfg: no end")?.parse()?;
        ensure!(end > begin, "{}: empty time window", cfg_path.display());
        let route_text = std::fs::read_to_string(&routes).with_context(|| routes.display().to_string())?;
        let doc = roxmltree::Document::parse(&route_text).with_context(|| routes.display().to_string())?;
        let mut scheduled = Vec::new();
        for n in doc.root_element().children().filter(|n| n.has_tag_name("vehicle") || n.has_tag_name("trip")) {
            let (Some(id), Some(depart)) = (attr(&n, "id"), attr(&n, "depart").and_then(|d| d.parse::<f64>().ok()))
            else {
                continue;
            };
            if depart >= begin && depart < end {
                scheduled.push((id.to_string(), depart));
            }
        }
        ensure!(
            doc.root_element().children().all(|n| !n.has_tag_name("flow")),
            "{}: <flow> routes are not supported",
            routes.display()
        );
        Ok(Scenario { name: name.into(), net, routes, begin, end, scheduled })
    }

    pub fn network(&self) -> Result<Network> {
        let text = std::fs::read_to_string(&self.net).with_context(|| self.net.display().to_string())?;
        Network::parse(&text).with_context(|| self.net.display().to_string())
    }

    /// An additional file turning every static program into SUMO's actuated control
    /// (green phases min 5 s / max 60 s), the "SUMO actuated" baseline.
    pub fn actuated_programs(&self) -> Result<String> {
        let text = std::fs::read_to_string(&self.net)?;
        let doc = roxmltree::Document::parse(&text)?;
        let mut out = String::from("<additional>\n");
        for tl in doc.descendants().filter(|n| n.has_tag_name("tlLogic")) {
            let id = attr(&tl, "id").context("tlLogic without id")?;
            out.push_str(&format!("  <tlLogic id=\"{id}\" type=\"actuated\" programID=\"actuated\" offset=\"0\">\n"));
            for ph in tl.children().filter(|n| n.has_tag_name("phase")) {
                let state = attr(&ph, "state").context("phase without state")?;
                let duration = attr(&ph, "duration").context("phase without duration")?;
                let green = state.contains(['G', 'g']) && !state.contains(['y', 'Y']);
                if green {
                    out.push_str(&format!(
                        "    <phase duration=\"{duration}\" state=\"{state}\" minDur=\"5\" maxDur=\"60\"/>\n"
                    ));
                } else {
                    out.push_str(&format!("    <phase duration=\"{duration}\" state=\"{state}\"/>\n"));
                }
            }
            out.push_str("  </tlLogic>\n");
        }
        out.push_str("</additional>\n");
        Ok(out)
    }
}
