//! Which rectangles of a frame the detector looks at. A nano detector sees a 1080p
//! frame at 416 px, where a distant motorbike is a few pixels wide; looking again at
//! tiles or at a crop around the counting lines gives it 2–5× more pixels there, at one
//! inference per view.
//!
//! Default: `line_tiles` square tiles laid along the counting lines (see `band`), and the
//! whole frame only where those leave something counted uncovered (over a quarter of a
//! zone, or no lines at all). Measured: adding the whole frame to the tiles costs an
//! inference and lowers accuracy (boxes of one vehicle at two scales merge imperfectly). `full = true, line_tiles = 0`
//! is the whole-frame behaviour of old.
//!
//! Invariant: every view lies inside the frame and is at least 16 px on each side.

use serde::Deserialize;

use crate::geometry::{BBox, Point};

/// Per-camera view configuration (`[detect.views]` in the camera config).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ViewPlan {
    /// Look at the whole frame (or the whole region of interest). Absent: only when the
    /// line tiles are off, there are no lines, or a zone reaches outside the tiles.
    pub full: Option<bool>,
    /// Region of interest `[x1, y1, x2, y2]` in frame pixels; everything else is ignored.
    pub roi: Option<[f32; 4]>,
    /// Split the region into `[columns, rows]` overlapping tiles, each detected separately.
    pub tiles: Option<[u32; 2]>,
    /// Fraction of a tile's size that neighbouring tiles overlap.
    pub tile_overlap: f32,
    /// Extra crops `[x1, y1, x2, y2]`, e.g. a band around a counting line.
    pub crops: Vec<[f32; 4]>,
    /// Square tiles laid along the counting lines (0: none).
    pub line_tiles: u32,
    /// Counting lines and zone outlines, filled in by the pipeline (not configuration).
    #[serde(skip)]
    pub lines: Vec<(Point, Point)>,
    #[serde(skip)]
    pub zones: Vec<Vec<Point>>,
    /// Smallest line-tile side (the model's input side), filled in by the pipeline.
    #[serde(skip)]
    pub min_tile: f32,
}

impl Default for ViewPlan {
    fn default() -> Self {
        ViewPlan {
            full: None,
            roi: None,
            tiles: None,
            tile_overlap: 0.15,
            crops: Vec::new(),
            line_tiles: 2,
            lines: Vec::new(),
            zones: Vec::new(),
            min_tile: 416.0,
        }
    }
}

impl ViewPlan {
    /// The views for a frame of `width`×`height`.
    pub fn views(&self, width: u32, height: u32) -> Vec<BBox> {
        let (fw, fh) = (width as f32, height as f32);
        let frame = BBox::new(0.0, 0.0, fw, fh);
        let region = self.roi.map(|r| BBox::new(r[0], r[1], r[2], r[3]).clamp(fw, fh)).unwrap_or(frame);
        let band =
            super::band::line_tiles(&self.lines, self.line_tiles, self.tile_overlap, self.min_tile, width, height);
        let zone_outside = self.zones.iter().any(|z| uncovered_share(z, &band) > 0.25);
        let full = self.full.unwrap_or(band.is_empty() || zone_outside);
        let mut views = Vec::new();
        if full {
            views.push(region);
        }
        views
            .extend(band.iter().map(|t| {
                BBox::new(t.x1.max(region.x1), t.y1.max(region.y1), t.x2.min(region.x2), t.y2.min(region.y2))
            }));
        if let Some([cols, rows]) = self.tiles {
            let (cols, rows) = (cols.max(1) as f32, rows.max(1) as f32);
            let ov = self.tile_overlap.clamp(0.0, 0.5);
            // Tile size such that `cols` tiles overlapping by `ov` span the region.
            let tw = region.width() / (cols - (cols - 1.0) * ov);
            let th = region.height() / (rows - (rows - 1.0) * ov);
            for r in 0..rows as u32 {
                for c in 0..cols as u32 {
                    let x1 = region.x1 + c as f32 * tw * (1.0 - ov);
                    let y1 = region.y1 + r as f32 * th * (1.0 - ov);
                    views.push(BBox::new(x1, y1, (x1 + tw).min(region.x2), (y1 + th).min(region.y2)));
                }
            }
        }
        for c in &self.crops {
            views.push(BBox::new(c[0], c[1], c[2], c[3]).clamp(fw, fh));
        }
        views.retain(|v| v.width() >= 16.0 && v.height() >= 16.0);
        views
    }

    /// Problems with this plan, as (field, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        let rect_ok =
            |r: &[f32; 4]| r.iter().all(|v| v.is_finite() && *v >= 0.0) && r[2] - r[0] >= 16.0 && r[3] - r[1] >= 16.0;
        if let Some(r) = &self.roi
            && !rect_ok(r)
        {
            p.push(("roi".into(), "must be [x1, y1, x2, y2] with x2-x1 and y2-y1 at least 16 px".into()));
        }
        if let Some([c, r]) = self.tiles
            && (c == 0 || r == 0 || c * r > 16)
        {
            p.push(("tiles".into(), format!("[{c}, {r}] must be at least 1x1 and at most 16 tiles")));
        }
        if !(0.0..=0.5).contains(&self.tile_overlap) {
            p.push(("tile_overlap".into(), format!("{} is outside 0..=0.5", self.tile_overlap)));
        }
        for (i, c) in self.crops.iter().enumerate() {
            if !rect_ok(c) {
                p.push((format!("crops[{i}]"), "must be [x1, y1, x2, y2] with x2-x1 and y2-y1 at least 16 px".into()));
            }
        }
        if self.line_tiles > 16 {
            p.push(("line_tiles".into(), format!("{} is more than 16 tiles", self.line_tiles)));
        }
        if self.full == Some(false) && self.tiles.is_none() && self.crops.is_empty() && self.line_tiles == 0 {
            p.push(("full".into(), "no views left: enable full, tiles, crops or line_tiles".into()));
        }
        p
    }
}

/// Share of a zone's area (sampled on a 16×16 grid over its bounding box) that no tile
/// covers.
fn uncovered_share(zone: &[Point], tiles: &[BBox]) -> f32 {
    let poly = crate::geometry::Polygon { points: zone.to_vec() };
    let (mut x1, mut y1, mut x2, mut y2) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in zone {
        (x1, y1, x2, y2) = (x1.min(p.x), y1.min(p.y), x2.max(p.x), y2.max(p.y));
    }
    let (mut inside, mut uncovered) = (0u32, 0u32);
    for i in 0..16 {
        for j in 0..16 {
            let p = Point::new(x1 + (x2 - x1) * (i as f32 + 0.5) / 16.0, y1 + (y2 - y1) * (j as f32 + 0.5) / 16.0);
            if poly.contains(p) {
                inside += 1;
                uncovered += !tiles.iter().any(|t| t.x1 <= p.x && p.x <= t.x2 && t.y1 <= p.y && p.y <= t.y2) as u32;
            }
        }
    }
    if inside == 0 { 0.0 } else { uncovered as f32 / inside as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_whole_frame_without_lines() {
        assert_eq!(ViewPlan::default().views(640, 360), vec![BBox::new(0.0, 0.0, 640.0, 360.0)]);
    }

    #[test]
    fn default_with_a_line_is_tiles_along_it_and_the_frame_only_for_a_zone_outside() {
        let mut plan =
            ViewPlan { lines: vec![(Point::new(0.0, 460.0), Point::new(1279.0, 460.0))], ..Default::default() };
        let v = plan.views(1280, 720);
        assert_eq!(v.len(), 2, "{v:?}");
        plan.zones = vec![vec![
            Point::new(0.0, 600.0),
            Point::new(1280.0, 600.0),
            Point::new(1280.0, 719.0),
            Point::new(0.0, 719.0),
        ]];
        assert_eq!(plan.views(1280, 720).len(), 2, "a zone the tiles cover needs no whole frame");
        plan.zones = vec![vec![Point::new(10.0, 5.0), Point::new(100.0, 5.0), Point::new(100.0, 50.0)]];
        assert_eq!(plan.views(1280, 720).len(), 3, "a zone above the tiles brings the frame back");
        plan.full = Some(false);
        assert_eq!(plan.views(1280, 720).len(), 2);
        let old = ViewPlan { full: Some(true), line_tiles: 0, ..plan };
        assert_eq!(old.views(1280, 720), vec![BBox::new(0.0, 0.0, 1280.0, 720.0)]);
    }

    #[test]
    fn tiles_cover_the_region_with_overlap() {
        let plan = ViewPlan {
            tiles: Some([2, 2]),
            tile_overlap: 0.2,
            roi: Some([0.0, 100.0, 1920.0, 1080.0]),
            ..Default::default()
        };
        let v = plan.views(1920, 1080);
        assert_eq!(v.len(), 5);
        let tiles = &v[1..];
        assert_eq!(tiles[0].x1, 0.0);
        assert!((tiles[3].x2 - 1920.0).abs() < 0.01 && (tiles[3].y2 - 1080.0).abs() < 0.01);
        assert!(tiles[0].x2 > tiles[1].x1, "neighbours overlap");
        assert!(tiles.iter().all(|t| t.y1 >= 100.0));
    }

    #[test]
    fn problems_name_fields() {
        let plan = ViewPlan {
            full: Some(false),
            tiles: Some([0, 2]),
            crops: vec![[0.0, 0.0, 5.0, 5.0]],
            ..Default::default()
        };
        let fields: Vec<String> = plan.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec!["tiles", "crops[0]"]);
    }
}
