//! Counting stage: tracks → count events (line crossings, zone entries and dwell,
//! origin→destination movements), then per-interval aggregation with coverage.
//!
//! Rules (documented in the README):
//! - The anchor of a vehicle is its box's bottom-centre (where the tyres meet the road).
//! - A line A→B is crossed `forward` when the anchor moves from the left-hand side of
//!   A→B to its right-hand side as seen on screen (y down); `backward` otherwise.
//! - A crossing needs the anchor to travel `min_travel` past the line (hysteresis
//!   against stop-and-go jitter) and to pass within the segment (± `end_tolerance`).
//!   Its time is when the anchor first passed the line. A track that is lost after
//!   passing the line but before the margin still counts.
//! - A track counts at most once per line: ID switches spawn tracks whose first anchor
//!   is already past the line, and those never count.
//! - The class is decided `decision_delay_s` after the crossing (or when the track
//!   ends) from score-weighted votes over the track's life (see `class`), overruled by
//!   the camera's own size model for motorbike-sized `car` tracks (see `size`).
//! - A crossing that twins one just counted (same line and direction, within
//!   `twin_window_s`, closer than `twin_distance` box widths) is a second box on the
//!   same vehicle and is not counted.
//! - On a calibrated camera a line crossing carries the vehicle's speed: the
//!   least-squares velocity of its anchor on the road plane over the second before and
//!   after the crossing (see `calibrate`).

pub mod class;
pub mod counter;
pub mod incidents;
pub mod interval;
pub mod size;

use serde::Deserialize;

use crate::geometry::{Point, Polygon, Segment};

pub use counter::{CountEvent, Counter, EventKind};
pub use incidents::{IncidentDetector, IncidentRules};
pub use interval::{Aggregator, line_speeds};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Forward,
    Backward,
}

impl From<protocol::camera_config::LineDirection> for Direction {
    fn from(d: protocol::camera_config::LineDirection) -> Direction {
        match d {
            protocol::camera_config::LineDirection::Forward => Direction::Forward,
            protocol::camera_config::LineDirection::Backward => Direction::Backward,
        }
    }
}

/// A named directed counting line.
#[derive(Debug, Clone, PartialEq)]
pub struct LineDef {
    pub name: String,
    pub segment: Segment,
}

impl LineDef {
    pub fn new(name: &str, a: [f32; 2], b: [f32; 2]) -> LineDef {
        LineDef { name: name.to_string(), segment: Segment { a: Point::new(a[0], a[1]), b: Point::new(b[0], b[1]) } }
    }
}

/// A named polygon zone (a lane's stop area, a junction box…).
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneDef {
    pub name: String,
    pub polygon: Polygon,
    /// Lanes the zone spans (its density is per lane).
    pub lanes: u32,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CountSettings {
    /// Distance past a line the anchor must travel, as a fraction of the box height…
    pub min_travel: f32,
    /// …but at least this many pixels.
    pub min_travel_px: f32,
    /// How far beyond a line's ends a crossing still counts, as a fraction of its length.
    pub end_tolerance: f32,
    /// Seconds between a crossing and the decision on its class.
    pub decision_delay_s: f32,
    /// A lone person track moving faster than this (box heights per second) is a
    /// motorbike rider whose bike was not detected.
    pub rider_min_speed: f32,
    /// Share of two-wheeler votes (relative to person votes) that makes a mostly-person
    /// track a two-wheeler.
    pub two_wheeler_vote_share: f32,
    /// A vehicle slower than this (box heights per second) is stationary (queued).
    pub queue_max_speed: f32,
    /// A crossing the same way within this many seconds of another…
    pub twin_window_s: f32,
    /// …and closer to it than this fraction of the wider box is the same vehicle.
    pub twin_distance: f32,
    /// A `car` track narrower than this many two-wheeler widths at its rows (the
    /// camera's own size model, see `size`) is a motorbike; 0 trusts the detector.
    pub car_min_width_ratio: f32,
    /// Clear two-wheeler tracks the size model needs before it is used.
    pub size_min_tracks: u32,
}

impl Default for CountSettings {
    fn default() -> Self {
        CountSettings {
            min_travel: 0.1,
            min_travel_px: 3.0,
            end_tolerance: 0.03,
            decision_delay_s: 1.0,
            rider_min_speed: 1.5,
            two_wheeler_vote_share: 0.2,
            queue_max_speed: 0.3,
            twin_window_s: 0.4,
            twin_distance: 0.3,
            car_min_width_ratio: 1.3,
            size_min_tracks: 5,
        }
    }
}
