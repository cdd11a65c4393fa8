//! Plane geometry in source-image pixels (x right, y down): boxes, points, directed
//! segments and polygons. Pure and allocation-free.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub const fn new(x: f32, y: f32) -> Point {
        Point { x, y }
    }

    pub fn dist(self, other: Point) -> f32 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt()
    }
}

/// Axis-aligned box, corners (x1, y1) top-left and (x2, y2) bottom-right.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct BBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BBox {
    pub const fn new(x1: f32, y1: f32, x2: f32, y2: f32) -> BBox {
        BBox { x1, y1, x2, y2 }
    }

    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }

    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }

    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    pub fn centre(&self) -> Point {
        Point::new((self.x1 + self.x2) * 0.5, (self.y1 + self.y2) * 0.5)
    }

    /// The counting anchor: bottom-centre, where the vehicle meets the road.
    pub fn anchor(&self) -> Point {
        Point::new((self.x1 + self.x2) * 0.5, self.y2)
    }

    pub fn intersection(&self, o: &BBox) -> f32 {
        let w = (self.x2.min(o.x2) - self.x1.max(o.x1)).max(0.0);
        let h = (self.y2.min(o.y2) - self.y1.max(o.y1)).max(0.0);
        w * h
    }

    pub fn iou(&self, o: &BBox) -> f32 {
        let inter = self.intersection(o);
        let union = self.area() + o.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    /// Fraction of `self` covered by `o`.
    pub fn covered_by(&self, o: &BBox) -> f32 {
        let a = self.area();
        if a <= 0.0 { 0.0 } else { self.intersection(o) / a }
    }

    pub fn union(&self, o: &BBox) -> BBox {
        BBox::new(self.x1.min(o.x1), self.y1.min(o.y1), self.x2.max(o.x2), self.y2.max(o.y2))
    }

    pub fn clamp(&self, width: f32, height: f32) -> BBox {
        BBox::new(
            self.x1.clamp(0.0, width),
            self.y1.clamp(0.0, height),
            self.x2.clamp(0.0, width),
            self.y2.clamp(0.0, height),
        )
    }

    /// (centre x, centre y, aspect w/h, height): the Kalman filter's measurement space.
    pub fn to_xyah(&self) -> [f32; 4] {
        let c = self.centre();
        let h = self.height().max(1e-3);
        [c.x, c.y, self.width() / h, h]
    }

    pub fn from_xyah(v: [f32; 4]) -> BBox {
        let h = v[3].max(1e-3);
        let w = v[2] * h;
        BBox::new(v[0] - w / 2.0, v[1] - h / 2.0, v[0] + w / 2.0, v[1] + h / 2.0)
    }
}

/// A directed segment A→B. Positive side = right-hand side of A→B on screen (y down).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub a: Point,
    pub b: Point,
}

impl Segment {
    pub fn length(&self) -> f32 {
        self.a.dist(self.b)
    }

    /// Signed perpendicular distance of `p` from the infinite line through A→B:
    /// positive on the right-hand side as seen on screen with y pointing down
    /// (for A left of B on a horizontal line: positive below the line).
    pub fn signed_distance(&self, p: Point) -> f32 {
        let (dx, dy) = (self.b.x - self.a.x, self.b.y - self.a.y);
        let len = (dx * dx + dy * dy).sqrt().max(1e-6);
        (dx * (p.y - self.a.y) - dy * (p.x - self.a.x)) / len
    }

    /// Position of `p`'s projection along A→B: 0 at A, 1 at B.
    pub fn projection(&self, p: Point) -> f32 {
        let (dx, dy) = (self.b.x - self.a.x, self.b.y - self.a.y);
        let len2 = (dx * dx + dy * dy).max(1e-6);
        ((p.x - self.a.x) * dx + (p.y - self.a.y) * dy) / len2
    }
}

/// Simple polygon (no self-intersections), vertices in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Polygon {
    pub points: Vec<Point>,
}

impl Polygon {
    /// Even-odd rule point-in-polygon.
    pub fn contains(&self, p: Point) -> bool {
        let pts = &self.points;
        let mut inside = false;
        let mut j = pts.len().wrapping_sub(1);
        for i in 0..pts.len() {
            let (a, b) = (pts[i], pts[j]);
            if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
                inside = !inside;
            }
            j = i;
        }
        inside
    }

    pub fn area(&self) -> f32 {
        let pts = &self.points;
        let n = pts.len();
        let twice: f32 = (0..n).map(|i| pts[i].x * pts[(i + 1) % n].y - pts[(i + 1) % n].x * pts[i].y).sum();
        twice.abs() / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_side_is_below_a_left_to_right_line() {
        let s = Segment { a: Point::new(0.0, 100.0), b: Point::new(200.0, 100.0) };
        assert!(s.signed_distance(Point::new(50.0, 120.0)) > 0.0, "below = right-hand side");
        assert!(s.signed_distance(Point::new(50.0, 80.0)) < 0.0);
        assert!((s.signed_distance(Point::new(50.0, 130.0)) - 30.0).abs() < 1e-4);
        assert!((s.projection(Point::new(50.0, 0.0)) - 0.25).abs() < 1e-6);
    }

    #[test]
    fn iou_and_xyah_round_trip() {
        let a = BBox::new(0.0, 0.0, 10.0, 10.0);
        let b = BBox::new(5.0, 0.0, 15.0, 10.0);
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(a.covered_by(&BBox::new(-1.0, -1.0, 20.0, 20.0)), 1.0);
        let r = BBox::from_xyah(b.to_xyah());
        assert!((r.x1 - b.x1).abs() < 1e-4 && (r.y2 - b.y2).abs() < 1e-4);
        assert_eq!(a.anchor(), Point::new(5.0, 10.0));
    }

    #[test]
    fn polygon_contains() {
        let p = Polygon {
            points: vec![Point::new(0.0, 0.0), Point::new(10.0, 0.0), Point::new(10.0, 10.0), Point::new(0.0, 10.0)],
        };
        assert!(p.contains(Point::new(5.0, 5.0)));
        assert!(!p.contains(Point::new(15.0, 5.0)));
        assert_eq!(p.area(), 100.0);
    }
}
