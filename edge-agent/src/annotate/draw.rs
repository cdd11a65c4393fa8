//! Raster primitives on an RGB picture: filled rectangles, thick lines, box and polygon
//! outlines, arrows. Hand-written (a few dozen lines) rather than a drawing crate: the
//! box needs nothing else, and no font or asset comes with them.
//!
//! Invariants: every primitive clips to the picture, so any coordinates (negative, far
//! outside, NaN) are safe and never panic; work is bounded by the visible part (a line is
//! clipped before it is walked). Coordinates are frame pixels, x right, y down.

use image::RgbImage;

pub type Colour = [u8; 3];

/// Fills the pixels with `x0 <= x < x1`, `y0 <= y < y1` that lie in the picture.
pub fn fill_rect(img: &mut RgbImage, x0: i64, y0: i64, x1: i64, y1: i64, c: Colour) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (x0, x1, y0, y1) = (x0.clamp(0, w), x1.clamp(0, w), y0.clamp(0, h), y1.clamp(0, h));
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let stride = w as usize * 3;
    let buf: &mut [u8] = img;
    for y in y0 as usize..y1 as usize {
        let row = &mut buf[y * stride + x0 as usize * 3..y * stride + x1 as usize * 3];
        for px in row.chunks_exact_mut(3) {
            px.copy_from_slice(&c);
        }
    }
}

/// The outline of the box `[x0, x1] × [y0, y1]` (rounded to pixels), `t` pixels thick
/// inwards from its edges, so the outermost pixels are exactly the box's.
pub fn rect(img: &mut RgbImage, x0: f32, y0: f32, x1: f32, y1: f32, t: u32, c: Colour) {
    let (x0, y0, x1, y1) = (px(x0.min(x1)), px(y0.min(y1)), px(x0.max(x1)), px(y0.max(y1)));
    let t = t.max(1) as i64;
    fill_rect(img, x0, y0, x1 + 1, y0 + t, c);
    fill_rect(img, x0, y1 + 1 - t, x1 + 1, y1 + 1, c);
    fill_rect(img, x0, y0, x0 + t, y1 + 1, c);
    fill_rect(img, x1 + 1 - t, y0, x1 + 1, y1 + 1, c);
}

/// A line from `a` to `b`, `t` pixels thick (a square brush walked along it).
pub fn line(img: &mut RgbImage, a: [f32; 2], b: [f32; 2], t: u32, c: Colour) {
    let t = t.max(1) as i64;
    let margin = t as f32;
    let (w, h) = (img.width() as f32, img.height() as f32);
    let Some((a, b)) = clip(a, b, [-margin, -margin, w + margin, h + margin]) else {
        return;
    };
    // Bresenham over the clipped segment: at most (w + h + 4t) steps.
    let (mut x, mut y, x1, y1) = (px(a[0]), px(a[1]), px(b[0]), px(b[1]));
    let (dx, dy) = ((x1 - x).abs(), -(y1 - y).abs());
    let (sx, sy) = (if x < x1 { 1 } else { -1 }, if y < y1 { 1 } else { -1 });
    let mut err = dx + dy;
    let half = (t - 1) / 2;
    loop {
        fill_rect(img, x - half, y - half, x - half + t, y - half + t, c);
        if x == x1 && y == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

/// A closed outline through `points`.
pub fn polygon(img: &mut RgbImage, points: &[[f32; 2]], t: u32, c: Colour) {
    for (i, &p) in points.iter().enumerate() {
        line(img, p, points[(i + 1) % points.len()], t, c);
    }
}

/// A line from `from` to `to` with a head of two strokes at `to`, `head` pixels long.
pub fn arrow(img: &mut RgbImage, from: [f32; 2], to: [f32; 2], head: f32, t: u32, c: Colour) {
    line(img, from, to, t, c);
    let (dx, dy) = (from[0] - to[0], from[1] - to[1]);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1e-3 {
        return;
    }
    let (ux, uy) = (dx / len * head, dy / len * head);
    // The two barbs: the shaft turned back by ±30°.
    let (cos, sin) = (0.866f32, 0.5f32);
    for s in [sin, -sin] {
        let barb = [to[0] + ux * cos - uy * s, to[1] + ux * s + uy * cos];
        line(img, to, barb, t, c);
    }
}

/// Nearest pixel; NaN goes to 0 and huge values saturate (`as` does both).
fn px(v: f32) -> i64 {
    v.round() as i64
}

/// Liang–Barsky: the part of `a`→`b` inside `[x0, y0, x1, y1]`, or `None`. In f64: far-off
/// ends (a line's A a million pixels away) would otherwise move the clipped ends by pixels.
fn clip(a: [f32; 2], b: [f32; 2], r: [f32; 4]) -> Option<([f32; 2], [f32; 2])> {
    if !(a.iter().chain(&b).all(|v| v.is_finite())) {
        return None;
    }
    let (a, b, r) = (a.map(f64::from), b.map(f64::from), r.map(f64::from));
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let (mut t0, mut t1) = (0f64, 1f64);
    for (p, q) in [(-dx, a[0] - r[0]), (dx, r[2] - a[0]), (-dy, a[1] - r[1]), (dy, r[3] - a[1])] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    let at = |t: f64| [(a[0] + t * dx) as f32, (a[1] + t * dy) as f32];
    (t0 <= t1).then(|| (at(t0), at(t1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RED: Colour = [255, 0, 0];

    fn coloured(img: &RgbImage) -> Vec<(u32, u32)> {
        img.enumerate_pixels().filter(|(_, _, p)| p.0 == RED).map(|(x, y, _)| (x, y)).collect()
    }

    #[test]
    fn a_horizontal_line_covers_exactly_its_pixels() {
        let mut img = RgbImage::new(10, 5);
        line(&mut img, [2.0, 1.0], [6.0, 1.0], 1, RED);
        assert_eq!(coloured(&img), (2..=6).map(|x| (x, 1)).collect::<Vec<_>>());
    }

    #[test]
    fn a_diagonal_line_is_connected_and_ends_at_its_ends() {
        let mut img = RgbImage::new(20, 20);
        line(&mut img, [1.0, 2.0], [15.0, 9.0], 1, RED);
        let pts = coloured(&img);
        assert!(pts.contains(&(1, 2)) && pts.contains(&(15, 9)), "{pts:?}");
        // One pixel per column for a shallow line: 15 columns, no gaps.
        assert_eq!(pts.len(), 15, "{pts:?}");
        for x in 1..=15 {
            assert!(pts.iter().any(|p| p.0 == x), "gap at column {x}");
        }
    }

    #[test]
    fn a_thick_line_is_as_thick_as_asked() {
        let mut img = RgbImage::new(20, 20);
        line(&mut img, [5.0, 10.0], [15.0, 10.0], 3, RED);
        let rows: std::collections::BTreeSet<u32> = coloured(&img).iter().map(|p| p.1).collect();
        assert_eq!(rows.into_iter().collect::<Vec<_>>(), vec![9, 10, 11]);
    }

    #[test]
    fn lines_are_clipped_at_the_edges_without_panicking() {
        let mut img = RgbImage::new(16, 9);
        line(&mut img, [-100.0, 4.0], [100.0, 4.0], 3, RED);
        assert_eq!(coloured(&img).len(), 16 * 3, "crosses the whole width, 3 rows");
        let mut img = RgbImage::new(16, 9);
        for (a, b) in [
            ([-1e9, -1e9], [1e9, 1e9]),
            ([f32::NAN, 0.0], [3.0, 3.0]),
            ([-50.0, -50.0], [-10.0, -20.0]),
            ([f32::INFINITY, 1.0], [0.0, 1.0]),
        ] {
            line(&mut img, a, b, 5, RED);
        }
        // Only the diagonal through the picture was visible.
        assert!(img.get_pixel(4, 4).0 == RED && img.get_pixel(15, 0).0 != RED);
    }

    #[test]
    fn a_box_outline_lies_on_its_edges_and_leaves_the_inside() {
        let mut img = RgbImage::new(30, 30);
        rect(&mut img, 5.0, 6.0, 20.0, 25.0, 2, RED);
        for x in 5..=20 {
            assert_eq!(img.get_pixel(x, 6).0, RED);
            assert_eq!(img.get_pixel(x, 25).0, RED);
        }
        for y in 6..=25 {
            assert_eq!(img.get_pixel(5, y).0, RED);
            assert_eq!(img.get_pixel(20, y).0, RED);
        }
        assert_ne!(img.get_pixel(12, 15).0, RED);
        assert_ne!(img.get_pixel(4, 15).0, RED);
        // Partly outside: the visible part only.
        rect(&mut img, -10.0, -10.0, 40.0, 12.0, 1, RED);
        assert_eq!(img.get_pixel(0, 12).0, RED);
    }

    #[test]
    fn an_arrow_has_a_head_at_its_tip() {
        let mut img = RgbImage::new(40, 40);
        arrow(&mut img, [20.0, 5.0], [20.0, 30.0], 8.0, 1, RED);
        // Pointing down: barbs go up and sideways from the tip.
        assert_eq!(img.get_pixel(16, 23).0, RED);
        assert_eq!(img.get_pixel(24, 23).0, RED);
        assert_ne!(img.get_pixel(16, 33).0, RED);
    }
}
