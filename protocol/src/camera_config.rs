//! A camera's counting geometry pushed from central to its agent, versioned, and the
//! agent's answer (since 1.1).
//!
//! `tac/v1/cameras/{id}/config` (central → agent, QoS 1, retained, only central may
//! write it): a `ConfigPush`. The agent applies a push whose version is above the one it
//! runs and whose geometry passes the same checks as its file config, at the next
//! interval boundary, without restarting; it refuses anything else and keeps counting
//! with what it has. `tac/v1/cameras/{id}/config/ack` (agent → central, QoS 1): a
//! `ConfigAck` for every push it looked at.
//!
//! `Geometry::problems` is the one set of shape rules: the agent's config validation,
//! central's API and the dashboard editor (through the API) all use it, so a shape is
//! refused with the same field path everywhere.

use serde::{Deserialize, Serialize};

use crate::calibration::{Calibration, CalibrationError, Correspondence};

/// Lines, zones and the calibration of one camera: what an operator draws.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Geometry {
    #[serde(default)]
    pub lines: Vec<LineSpec>,
    #[serde(default)]
    pub zones: Vec<ZoneSpec>,
    #[serde(default)]
    pub calibration: Option<CalibrationSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineSpec {
    pub name: String,
    /// Start point A `[x, y]` in frame pixels.
    pub a: [f32; 2],
    /// End point B; `forward` = from the left of A→B to its right, as seen on screen.
    pub b: [f32; 2],
    /// A one-way carriageway's permitted direction; absent: two-way.
    #[serde(default)]
    pub one_way: Option<LineDirection>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LineDirection {
    Forward,
    Backward,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    pub name: String,
    /// Vertices `[[x, y], …]` in frame pixels, in order.
    pub polygon: Vec<[f32; 2]>,
    /// Seconds a vehicle may stand before it is a `stopped_vehicle` incident; absent:
    /// queues are normal.
    #[serde(default)]
    pub no_stopping_s: Option<f64>,
    /// Lanes the zone spans (its density is per lane).
    #[serde(default = "one_lane")]
    pub lanes: u32,
}

fn one_lane() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalibrationSpec {
    pub points: Vec<SurveyPoint>,
    /// A point mapping further than this (m) from its survey is refused as mistyped.
    #[serde(default = "default_max_error_m")]
    pub max_error_m: f64,
}

fn default_max_error_m() -> f64 {
    0.5
}

impl CalibrationSpec {
    /// The image → road-plane mapping these points define, or why they define none
    /// (too few, collinear, a point further than `max_error_m` from its survey).
    pub fn fit(&self) -> Result<Calibration, CalibrationError> {
        let points: Vec<Correspondence> =
            self.points.iter().map(|p| Correspondence { image: p.image, ground: p.ground }).collect();
        Calibration::fit(&points, self.max_error_m)
    }
}

/// One surveyed point: where it is in the image (px) and on the road plane (m).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyPoint {
    pub image: [f64; 2],
    pub ground: [f64; 2],
}

/// One problem with its field path (`lines[1].b`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Shortest counting line (px): a shorter one is a slip of the mouse, not a line.
pub const MIN_LINE_PX: f32 = 2.0;

impl Geometry {
    /// Every shape problem, each with its path, including a calibration whose points do
    /// not fit the road plane. Whether the shapes fit the stream's frame needs its size:
    /// `frame_problems`.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |path: String, message: String| out.push(Problem { path, message });
        let finite_px = |p: [f32; 2]| p.iter().all(|v| v.is_finite() && *v >= 0.0);
        for (i, l) in self.lines.iter().enumerate() {
            let p = format!("lines[{i}]");
            if l.name.is_empty() {
                bad(format!("{p}.name"), "must not be empty".into());
            }
            if self.lines[..i].iter().any(|o| o.name == l.name) {
                bad(format!("{p}.name"), format!("duplicate line name {:?}", l.name));
            }
            for (field, pt) in [("a", l.a), ("b", l.b)] {
                if !finite_px(pt) {
                    bad(format!("{p}.{field}"), "coordinates must be finite and non-negative".into());
                }
            }
            if (l.a[0] - l.b[0]).hypot(l.a[1] - l.b[1]) < MIN_LINE_PX {
                bad(format!("{p}.b"), format!("line is shorter than {MIN_LINE_PX} px"));
            }
        }
        for (i, z) in self.zones.iter().enumerate() {
            let p = format!("zones[{i}]");
            if z.name.is_empty() || self.zones[..i].iter().any(|o| o.name == z.name) {
                bad(format!("{p}.name"), format!("{:?} is empty or a duplicate", z.name));
            }
            if z.polygon.len() < 3 || polygon_area(&z.polygon) < 1.0 {
                bad(format!("{p}.polygon"), "needs at least 3 vertices enclosing an area".into());
            }
            if let Some(v) = z.polygon.iter().position(|pt| !finite_px(*pt)) {
                bad(format!("{p}.polygon[{v}]"), "coordinates must be finite and non-negative".into());
            }
            if let Some(s) = z.no_stopping_s
                && !(s.is_finite() && (1.0..=3600.0).contains(&s))
            {
                bad(format!("{p}.no_stopping_s"), format!("{s} is outside 1..=3600 seconds"));
            }
            if !(1..=20).contains(&z.lanes) {
                bad(format!("{p}.lanes"), format!("{} is outside 1..=20", z.lanes));
            }
        }
        if self.lines.is_empty() && self.zones.is_empty() {
            bad("lines".into(), "define at least one line or zone to count".into());
        }
        if let Some(c) = &self.calibration {
            let finite = |v: [f64; 2]| v.iter().all(|x| x.is_finite());
            if !(c.max_error_m.is_finite() && c.max_error_m > 0.0 && c.max_error_m <= 50.0) {
                bad("calibration.max_error_m".into(), format!("{} is outside (0, 50]", c.max_error_m));
            }
            if let Some(i) = c.points.iter().position(|p| !finite(p.image) || !finite(p.ground)) {
                bad(format!("calibration.points[{i}]"), "coordinates must be finite numbers".into());
            } else if c.max_error_m.is_finite()
                && c.max_error_m > 0.0
                && let Err(e) = c.fit()
            {
                let path = match e {
                    CalibrationError::PointOff { index, .. } => format!("calibration.points[{index}]"),
                    _ => "calibration.points".into(),
                };
                bad(path, e.to_string());
            }
        }
        out
    }

    /// One problem per point outside a `width` × `height` frame (the edges are inside):
    /// shapes drawn on another stream's picture (a main stream's coordinates on a
    /// sub-stream) that nothing would ever cross. Calibration points may lie anywhere.
    pub fn frame_problems(&self, width: u32, height: u32) -> Vec<Problem> {
        let lines = self
            .lines
            .iter()
            .enumerate()
            .flat_map(|(i, l)| [(format!("lines[{i}].a"), l.a), (format!("lines[{i}].b"), l.b)]);
        let zones = self.zones.iter().enumerate().flat_map(|(i, z)| {
            z.polygon.iter().enumerate().map(move |(j, p)| (format!("zones[{i}].polygon[{j}]"), *p))
        });
        lines.chain(zones).filter_map(|(path, p)| outside_frame(path, p, width, height)).collect()
    }
}

/// The problem of point `p` (field `path`) when it lies outside a `width` × `height` frame
/// (the edges are inside); the one wording for the API, pushed configs and file configs.
pub fn outside_frame(path: String, p: [f32; 2], width: u32, height: u32) -> Option<Problem> {
    let [x, y] = p;
    let inside = (0.0..=width as f32).contains(&x) && (0.0..=height as f32).contains(&y);
    (!inside).then(|| Problem {
        path,
        message: format!("({x}, {y}) is outside the {width}×{height} frame the stream delivers"),
    })
}

/// Shoelace area of a polygon (px²).
fn polygon_area(points: &[[f32; 2]]) -> f32 {
    let n = points.len();
    let twice: f32 =
        (0..n).map(|i| points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1]).sum();
    twice.abs() / 2.0
}

/// `tac/v1/cameras/{camera_id}/config` (retained).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigPush {
    pub camera_id: String,
    /// Increases with every save at central; 0 is the agent's own file config.
    pub version: u64,
    pub geometry: Geometry,
}

/// `tac/v1/cameras/{camera_id}/config/ack`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigAck {
    pub camera_id: String,
    /// The version this answers.
    pub version: u64,
    pub outcome: ConfigOutcome,
    /// Why it was refused, each with its field path; empty when applied.
    #[serde(default)]
    pub problems: Vec<Problem>,
    /// The version the agent counts with after this (0: its file config).
    pub running_version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfigOutcome {
    /// Valid; it goes in at the next interval boundary (sent on arrival, so whoever saved
    /// it hears within a second, not an interval later). `applied` follows then.
    Accepted,
    /// In place: the interval starting now counts with it.
    Applied,
    /// Invalid, for another camera, or not newer than the running version.
    Rejected,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, a: [f32; 2], b: [f32; 2]) -> LineSpec {
        LineSpec { name: name.into(), a, b, one_way: None }
    }

    #[test]
    fn points_outside_the_frame_are_named_by_their_field_and_the_edge_is_inside() {
        let g = Geometry {
            lines: vec![line("main", [0.0, 100.0], [2000.0, 100.0]), line("edge", [0.0, 0.0], [640.0, 352.0])],
            zones: vec![ZoneSpec {
                name: "q".into(),
                polygon: vec![[10.0, 10.0], [600.0, 10.0], [600.0, 340.0]],
                no_stopping_s: None,
                lanes: 1,
            }],
            calibration: None,
        };
        let outside = g.frame_problems(640, 352);
        assert_eq!(outside.len(), 1, "{outside:?}");
        assert_eq!(outside[0].path, "lines[0].b");
        assert!(outside[0].message.contains("(2000, 100) is outside the 640×352 frame"), "{}", outside[0].message);
        let paths: Vec<String> = g.frame_problems(320, 1080).into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["lines[0].b", "lines[1].b", "zones[0].polygon[1]", "zones[0].polygon[2]"]);
        assert!(g.frame_problems(2048, 1080).is_empty());
    }

    #[test]
    fn shapes_are_checked_with_their_paths() {
        let ok = Geometry { lines: vec![line("main", [0.0, 10.0], [100.0, 10.0])], ..Default::default() };
        assert_eq!(ok.problems(), vec![]);
        let bad = Geometry {
            lines: vec![line("main", [10.0, 10.0], [11.0, 10.0]), line("main", [-1.0, 0.0], [50.0, 0.0])],
            zones: vec![ZoneSpec {
                name: "z".into(),
                polygon: vec![[0.0, 0.0], [5.0, 5.0]],
                no_stopping_s: None,
                lanes: 0,
            }],
            calibration: Some(CalibrationSpec { points: vec![], max_error_m: 0.0 }),
        };
        let paths: Vec<String> = bad.problems().into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "lines[0].b",
                "lines[1].name",
                "lines[1].a",
                "zones[0].polygon",
                "zones[0].lanes",
                "calibration.max_error_m"
            ]
        );
        assert_eq!(Geometry::default().problems()[0].path, "lines");
    }

    #[test]
    fn a_calibration_that_fits_no_road_plane_is_refused_with_the_reason() {
        let survey = |pts: &[([f64; 2], [f64; 2])]| CalibrationSpec {
            points: pts.iter().map(|&(image, ground)| SurveyPoint { image, ground }).collect(),
            max_error_m: 0.5,
        };
        let with =
            |c| Geometry { lines: vec![line("main", [0.0, 10.0], [100.0, 10.0])], zones: vec![], calibration: Some(c) };
        // A top-down view, 10 px to the metre: fits.
        let square = [
            ([0.0, 0.0], [0.0, 0.0]),
            ([100.0, 0.0], [10.0, 0.0]),
            ([100.0, 100.0], [10.0, 10.0]),
            ([0.0, 100.0], [0.0, 10.0]),
        ];
        assert_eq!(with(survey(&square)).problems(), vec![]);
        let line_up: Vec<_> = (0..5).map(|i| ([50.0 * i as f64, 20.0], [5.0 * i as f64, 2.0])).collect();
        let p = with(survey(&line_up)).problems();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].path, "calibration.points");
        assert!(p[0].message.contains("collinear"), "{}", p[0].message);
        let three = with(survey(&square[..3])).problems();
        assert!(three[0].message.contains("at least 4"), "{three:?}");
        // A fifth point typed 3 m off its survey is named.
        let mut typo = square.to_vec();
        typo.push(([50.0, 50.0], [8.0, 5.0]));
        let p = with(survey(&typo)).problems();
        assert_eq!(p.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(), ["calibration.points[4]"], "{p:?}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_geometry_json_never_panics(s in "\\PC{0,200}") {
            if let Ok(g) = serde_json::from_str::<Geometry>(&s) {
                let _ = g.problems();
            }
        }
    }
}
