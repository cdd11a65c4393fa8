//! Whether a camera's counting geometry fits the frames its stream delivers.
//!
//! Lines and zones are pixel coordinates of the stream they were drawn on. A config drawn
//! on the main stream and deployed on a sub-stream (or on a camera whose resolution was
//! changed) puts them partly or wholly outside the picture: nothing crosses them, and the
//! counts are zero on a busy road. The size is known only once a frame is decoded, so the
//! check runs on the first frame (and again whenever the size changes): `count` refuses,
//! `run` reports the camera degraded and logs each point that is outside.

use crate::config::{AgentConfig, ConfigIssue};
use crate::count::LineDef;

/// Every point of the counting geometry, with the field it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameFit {
    points: Vec<(String, [f32; 2])>,
}

impl FrameFit {
    /// The config's lines (or `cli_lines` when given: `count --line`) and its zones.
    pub fn new(config: &AgentConfig, cli_lines: Option<&[LineDef]>) -> FrameFit {
        let mut points = Vec::new();
        match cli_lines {
            Some(lines) => {
                for l in lines {
                    let s = &l.segment;
                    points.push((format!("--line {}: A", l.name), [s.a.x, s.a.y]));
                    points.push((format!("--line {}: B", l.name), [s.b.x, s.b.y]));
                }
            }
            None => {
                for (i, l) in config.lines.iter().enumerate() {
                    points.push((format!("lines[{i}].a"), l.a));
                    points.push((format!("lines[{i}].b"), l.b));
                }
            }
        }
        for (i, z) in config.zones.iter().enumerate() {
            for (j, p) in z.polygon.iter().enumerate() {
                points.push((format!("zones[{i}].polygon[{j}]"), *p));
            }
        }
        FrameFit { points }
    }

    /// One issue per point outside a `width` × `height` frame (0..=width, 0..=height).
    pub fn check(&self, width: u32, height: u32) -> Vec<ConfigIssue> {
        self.points
            .iter()
            .filter_map(|(path, p)| protocol::camera_config::outside_frame(path.clone(), *p, width, height))
            .map(|p| ConfigIssue { path: p.path, message: p.message })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(lines: &str) -> AgentConfig {
        AgentConfig::parse(&format!(
            "[camera]\nid = \"c\"\nsource = \"x.mp4\"\n{lines}\n[[zones]]\nname = \"q\"\n\
             polygon = [[10, 10], [600, 10], [600, 340]]\n"
        ))
        .unwrap()
    }

    #[test]
    fn points_outside_the_frame_are_named_by_their_field() {
        let cfg = config("[[lines]]\nname = \"main\"\na = [0, 100]\nb = [2000, 100]\n");
        let fit = FrameFit::new(&cfg, None);
        let issues = fit.check(640, 352);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].path, "lines[0].b");
        assert!(issues[0].message.contains("(2000, 100) is outside the 640×352 frame"), "{}", issues[0]);
        assert!(fit.check(2048, 1080).is_empty());
        // A zone drawn on a larger picture.
        let issues = fit.check(320, 1080);
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["lines[0].b", "zones[0].polygon[1]", "zones[0].polygon[2]"]);
    }

    #[test]
    fn the_frame_edge_itself_is_inside() {
        let cfg = config("[[lines]]\nname = \"edge\"\na = [0, 0]\nb = [640, 352]\n");
        assert!(FrameFit::new(&cfg, None).check(640, 352).is_empty());
    }

    #[test]
    fn command_line_lines_replace_the_configs() {
        let cfg = config("[[lines]]\nname = \"main\"\na = [0, 100]\nb = [2000, 100]\n");
        let cli = [LineDef::new("cli", [10.0, 10.0], [700.0, 10.0])];
        let issues = FrameFit::new(&cfg, Some(&cli)).check(640, 352);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].path, "--line cli: B");
    }
}
