//! What is drawn on a frame, from the pipeline's `SceneView`:
//! - zones: outline and name (with vehicles inside now);
//! - counting lines: the segment, its name, and an arrow from its middle pointing the
//!   `forward` way (from the left of A→B to its right on screen, as `count` defines it);
//! - detections: thin boxes in their class colour (what the detector sees this frame);
//! - tracks matched this frame: thick boxes in the colour of their class so far, labelled
//!   `#id class` (tentative tracks thin, unlabelled: not yet believed);
//! - a panel in the top-left corner: forward/backward totals per line, occupancy per zone.
//!
//! Sizes follow the frame height (1080p: 2-pixel boxes, 3× text) so a 360p clip and a
//! 4K camera read alike. Drawing order puts labels last, so boxes never hide them.
//! Text is drawn in upper case (the built-in font has no lower case).

use image::RgbImage;
use protocol::ObjectClass;

use super::draw::{self, Colour};
use super::font;
use crate::pipeline::SceneView;
use crate::track::{Track, TrackState};

pub const LINE_COLOUR: Colour = [255, 40, 40];
pub const ZONE_COLOUR: Colour = [255, 0, 255];
const PANEL_BG: Colour = [0, 0, 0];
const TEXT: Colour = [255, 255, 255];

/// The box colour of a class.
pub fn class_colour(class: ObjectClass) -> Colour {
    match class {
        ObjectClass::Person => [230, 230, 230],
        ObjectClass::Bicycle => [0, 220, 0],
        ObjectClass::Car => [0, 160, 255],
        ObjectClass::Motorcycle => [255, 220, 0],
        ObjectClass::Bus => [255, 140, 0],
        ObjectClass::Truck => [160, 80, 255],
    }
}

/// Line and box thickness and text scale for a frame `height` pixels tall.
pub fn sizes(height: u32) -> (u32, u32) {
    ((height / 540).max(1), (height / 360).max(1))
}

/// The class a track has voted for so far.
pub fn track_class(t: &Track) -> ObjectClass {
    let best = (0..t.votes.len()).max_by(|&a, &b| t.votes[a].total_cmp(&t.votes[b])).unwrap_or(0);
    ObjectClass::ALL[best]
}

/// Draws everything `scene` holds onto `img` (the frame the scene was computed from).
pub fn render(img: &mut RgbImage, scene: &SceneView<'_>) {
    let (t, s) = sizes(img.height());
    let mut labels: Vec<(f32, f32, Colour, String)> = Vec::new();
    for (zone, occ) in scene.zones.iter().zip(scene.occupancy) {
        let pts: Vec<[f32; 2]> = zone.polygon.points.iter().map(|p| [p.x, p.y]).collect();
        draw::polygon(img, &pts, t, ZONE_COLOUR);
        if let Some(top) = pts.iter().min_by(|a, b| a[1].total_cmp(&b[1]).then(a[0].total_cmp(&b[0]))) {
            labels.push((top[0], top[1], ZONE_COLOUR, format!("{} {}", zone.name, occ.0)));
        }
    }
    for line in scene.lines {
        let (a, b) = ([line.segment.a.x, line.segment.a.y], [line.segment.b.x, line.segment.b.y]);
        // Twice the box thickness: the line must survive 4:2:0 chroma and compression.
        draw::line(img, a, b, 2 * t + 1, LINE_COLOUR);
        // Forward points to the right-hand side of A→B with y down: the normal (−dy, dx).
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dy * dy).sqrt().max(1e-3);
        let reach = (img.height() as f32 / 12.0).min(len / 2.0).max(8.0);
        let mid = [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
        let tip = [mid[0] - dy / len * reach, mid[1] + dx / len * reach];
        draw::arrow(img, mid, tip, reach / 3.0, 2 * t + 1, LINE_COLOUR);
        labels.push((a[0], a[1], LINE_COLOUR, format!("{} A", line.name)));
        labels.push((b[0], b[1], LINE_COLOUR, "B".to_string()));
    }
    // Boxes are clamped to the picture: one reaching past the edge (a bus entering) keeps
    // its edge visible on the border instead of losing it.
    let (w, h) = (img.width() as f32 - 1.0, img.height() as f32 - 1.0);
    for d in scene.detections {
        let b = d.bbox.clamp(w, h);
        draw::rect(img, b.x1, b.y1, b.x2, b.y2, (t / 2).max(1), class_colour(d.class));
    }
    for track in scene.tracks.iter().filter(|tr| tr.observed) {
        let colour = class_colour(track_class(track));
        let b = &track.bbox.clamp(w, h);
        if track.state == TrackState::Confirmed {
            draw::rect(img, b.x1, b.y1, b.x2, b.y2, t * 2, colour);
            let (_, h) = font::text_size("#", s);
            let y = b.y1 - (h + 2 * s) as f32;
            labels.push((b.x1, y, colour, format!("#{} {}", track.id, track_class(track))));
        } else {
            draw::rect(img, b.x1, b.y1, b.x2, b.y2, t, colour);
        }
    }
    for (x, y, colour, text) in labels {
        font::label(img, x.round() as i64, y.round() as i64, s, PANEL_BG, colour, &text);
    }
    panel(img, scene, s);
}

/// The running totals in the top-left corner, one row per line and zone.
fn panel(img: &mut RgbImage, scene: &SceneView<'_>, s: u32) {
    let mut rows: Vec<String> = scene
        .lines
        .iter()
        .zip(scene.line_totals)
        .map(|(l, n)| format!("{}  fwd {}  bwd {}", l.name, n[0], n[1]))
        .collect();
    rows.extend(scene.zones.iter().zip(scene.occupancy).map(|(z, o)| format!("{}  in {}", z.name, o.0)));
    let (mut y, pad) = (s as i64 * 2, s as i64 * 2);
    for row in rows {
        let (_, h) = font::label(img, pad, y, s, TEXT, PANEL_BG, &row);
        y += h as i64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::{LineDef, ZoneDef};
    use crate::geometry::{Point, Polygon};

    #[test]
    fn the_forward_arrow_points_to_the_right_of_a_to_b() {
        // A→B left to right on screen: right-hand side (y down) is below the line.
        let lines = [LineDef::new("main", [20.0, 100.0], [280.0, 100.0])];
        let zones = [ZoneDef {
            name: "z".into(),
            polygon: Polygon {
                points: vec![Point::new(-5.0, 150.0), Point::new(400.0, 150.0), Point::new(0.0, 900.0)],
            },
            lanes: 1,
        }];
        let scene = SceneView {
            detections: &[],
            tracks: &[],
            lines: &lines,
            zones: &zones,
            line_totals: &[[3, 1]],
            occupancy: &[(2, 0)],
        };
        let mut img = RgbImage::new(300, 200);
        render(&mut img, &scene);
        let red_in = |y0: u32, y1: u32| (y0..y1).any(|y| img.get_pixel(150, y).0 == LINE_COLOUR);
        // The arrow's shaft leaves the middle (150, 100) downwards, not upwards.
        assert!(red_in(105, 112), "shaft below the line");
        assert!(!red_in(85, 97), "nothing above the line at its middle");
        // The zone's outline is drawn where it lies in the picture.
        assert_eq!(img.get_pixel(200, 150).0, ZONE_COLOUR);
    }
}
