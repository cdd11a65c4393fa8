//! Tiles laid along the counting lines: "look harder where counting happens".
//!
//! A nano detector sees a whole 720p frame at 416 px (scale 0.33), where a scooter at
//! the line is 13×26 px and often gets no box, or a `car` box. Counting only needs the
//! vehicles near the lines, so the detector looks instead at `n` square tiles laid end
//! to end along the lines (overlapping by `overlap`), each centred across the lines at
//! its own position. For a full-width line on a 16:9 frame and n = 2 that is about
//! twice the pixels per vehicle for twice the inferences; the tiles span most of the
//! frame height, so tracks still start well before the line.
//!
//! Chosen from the lines alone (never per clip): the tile side is the lines' extent
//! along their dominant axis shared among `n` overlapping tiles, but at least
//! `min_side` (the model's input side: upsampling a short line's neighbourhood beyond
//! that only enlarges blur) and at most the frame.
//!
//! Invariant: every tile lies inside the frame; at most `n` tiles; none without lines.

use crate::geometry::{BBox, Point};

/// Tiles along `lines` (pairs of end points) in a `width`×`height` frame.
pub fn line_tiles(lines: &[(Point, Point)], n: u32, overlap: f32, min_side: f32, width: u32, height: u32) -> Vec<BBox> {
    if lines.is_empty() || n == 0 {
        return Vec::new();
    }
    let (fw, fh) = (width as f32, height as f32);
    let xs = lines.iter().flat_map(|(a, b)| [a.x, b.x]);
    let ys = lines.iter().flat_map(|(a, b)| [a.y, b.y]);
    let (x1, x2) = xs.fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (y1, y2) = ys.fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (x1, x2, y1, y2) = (x1.clamp(0.0, fw), x2.clamp(0.0, fw), y1.clamp(0.0, fh), y2.clamp(0.0, fh));
    // Tiles run along the dominant axis of the lines' extent.
    let horizontal = x2 - x1 >= y2 - y1;
    let (lo, hi, axis_len, cross_len) = if horizontal { (x1, x2, fw, fh) } else { (y1, y2, fh, fw) };
    let ov = overlap.clamp(0.0, 0.5);
    let nf = n as f32;
    let side = ((hi - lo) / (nf - (nf - 1.0) * ov)).max(min_side).min(axis_len.max(cross_len));
    let step = side * (1.0 - ov);
    let span = side + (nf - 1.0) * step;
    // Centre the run of tiles on the lines, then keep it inside the frame.
    let start = ((lo + hi) / 2.0 - span / 2.0).clamp(0.0, (axis_len - span).max(0.0));
    let mut tiles = Vec::with_capacity(n as usize);
    for i in 0..n {
        let a0 = (start + i as f32 * step).min((axis_len - side).max(0.0));
        let a1 = (a0 + side).min(axis_len);
        // Across the axis: centred on the part of the lines inside this tile's span.
        let (c_lo, c_hi) =
            cross_extent(lines, horizontal, a0, a1).unwrap_or(if horizontal { (y1, y2) } else { (x1, x2) });
        let extent = side.min(cross_len);
        let c0 = ((c_lo + c_hi) / 2.0 - extent / 2.0).clamp(0.0, (cross_len - extent).max(0.0));
        let tile = if horizontal { BBox::new(a0, c0, a1, c0 + extent) } else { BBox::new(c0, a0, c0 + extent, a1) };
        if !tiles.contains(&tile) {
            tiles.push(tile);
        }
    }
    tiles
}

/// Lowest and highest cross-axis coordinate of the lines within `[a0, a1]` along the axis.
fn cross_extent(lines: &[(Point, Point)], horizontal: bool, a0: f32, a1: f32) -> Option<(f32, f32)> {
    let mut out: Option<(f32, f32)> = None;
    for &(p, q) in lines {
        let (pa, pc, qa, qc) = if horizontal { (p.x, p.y, q.x, q.y) } else { (p.y, p.x, q.y, q.x) };
        let (s_lo, s_hi) = (pa.min(qa).max(a0), pa.max(qa).min(a1));
        if s_lo > s_hi {
            continue;
        }
        let at = |a: f32| if (qa - pa).abs() < 1e-6 { pc } else { pc + (qc - pc) * (a - pa) / (qa - pa) };
        for c in [at(s_lo), at(s_hi)] {
            out = Some(out.map_or((c, c), |(lo, hi)| (lo.min(c), hi.max(c))));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(x1: f32, y1: f32, x2: f32, y2: f32) -> (Point, Point) {
        (Point::new(x1, y1), Point::new(x2, y2))
    }

    #[test]
    fn a_full_width_line_gets_two_square_tiles_centred_on_it() {
        let t = line_tiles(&[line(0.0, 460.0, 1279.0, 460.0)], 2, 0.1, 416.0, 1280, 720);
        assert_eq!(t.len(), 2);
        for tile in &t {
            assert!((tile.width() - tile.height()).abs() < 1.0, "square: {tile:?}");
            assert!(tile.width() > 600.0 && tile.width() < 720.0, "{tile:?}");
            assert!(tile.y1 <= 460.0 && tile.y2 >= 460.0 && tile.y2 <= 720.0);
        }
        assert_eq!(t[0].x1, 0.0);
        assert!((t[1].x2 - 1280.0).abs() < 2.0);
        assert!(t[0].x2 > t[1].x1, "neighbours overlap");
    }

    #[test]
    fn a_short_line_is_seen_at_least_at_the_model_resolution() {
        let t = line_tiles(&[line(900.0, 500.0, 1000.0, 520.0)], 2, 0.1, 416.0, 1920, 1080);
        assert!(t.iter().all(|b| (b.width() - 416.0).abs() < 0.5 && b.y1 <= 500.0 && b.y2 >= 520.0));
    }

    #[test]
    fn tiles_follow_a_diagonal_line_and_stay_in_the_frame() {
        let t = line_tiles(&[line(0.0, 0.0, 1919.0, 1079.0)], 3, 0.1, 416.0, 1920, 1080);
        assert_eq!(t.len(), 3);
        assert!(t[0].centre().y < t[1].centre().y && t[1].centre().y < t[2].centre().y);
        assert!(t.iter().all(|b| b.x1 >= 0.0 && b.y1 >= 0.0 && b.x2 <= 1920.0 && b.y2 <= 1080.0));
    }

    #[test]
    fn a_vertical_line_gets_tiles_along_y() {
        let t = line_tiles(&[line(300.0, 0.0, 300.0, 1079.0)], 2, 0.1, 416.0, 1920, 1080);
        assert_eq!(t.len(), 2);
        assert!(t[0].y1 == 0.0 && t[1].y2 > 1070.0 && t.iter().all(|b| b.x1 <= 300.0 && b.x2 >= 300.0));
    }

    #[test]
    fn a_small_frame_is_covered_by_tiles_no_larger_than_itself() {
        let t = line_tiles(&[line(125.0, 200.0, 600.0, 200.0), line(30.0, 60.0, 215.0, 60.0)], 2, 0.1, 416.0, 640, 360);
        assert_eq!(t.len(), 2);
        assert!(t.iter().all(|b| b.height() <= 360.0 && b.x2 <= 640.0 && b.y1 >= 0.0));
        assert!(t.iter().all(|b| b.y1 <= 60.0 && b.y2 >= 200.0), "both lines inside every tile: {t:?}");
    }

    #[test]
    fn no_lines_no_tiles() {
        assert!(line_tiles(&[], 2, 0.1, 416.0, 640, 360).is_empty());
        assert!(line_tiles(&[line(0.0, 1.0, 5.0, 1.0)], 0, 0.1, 416.0, 640, 360).is_empty());
    }
}
