//! The public congestion feed for the city's citizen app and the 1022 portal:
//! `GET /api/v1/public/congestion` (served by `http::feeds`), no credentials, read-only.
//!
//! What it carries is deliberately coarse: per approach (a camera's counting line) its
//! area, where it is (name, road, WGS 84 position from `[map]`), congestion level now,
//! trend, and the 15- and 30-minute forecast levels, with the time the forecast was made,
//! and where a level is null, the `reason` in words. A camera on the map with no forecast
//! yet is listed too, with its reason. No counts per class, no images, no track or plate,
//! nothing about a single vehicle.
//!
//! Cacheable: a strong ETag over the body and `Cache-Control: public, max-age=…`; a
//! request with a matching `If-None-Match` gets 304 with no body. Rate-limited per
//! client address (GCRA, `governor`): past the quota, 429 with `Retry-After`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use protocol::forecast::{CongestionLevel, ForecastReport};
use serde::Serialize;

/// Seconds a client (or a CDN in front of central) may reuse an answer.
pub const MAX_AGE_S: u32 = 30;

#[derive(Clone)]
pub struct PublicFeed {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl PublicFeed {
    /// `per_minute` requests per client address, in bursts of at most that many.
    pub fn new(per_minute: NonZeroU32) -> PublicFeed {
        PublicFeed { limiter: Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute))) }
    }

    /// `Err(seconds to wait, at least 1)` once `client` is past its quota.
    pub fn admit(&self, client: IpAddr) -> Result<(), u64> {
        self.limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Rising,
    Steady,
    Falling,
}

#[derive(Debug, Serialize)]
pub struct Segment {
    pub camera_id: String,
    pub line: String,
    pub area: String,
    /// Where it is, from `[map]` (null: the camera is not placed on the map).
    pub name: Option<String>,
    pub road: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub level: Option<CongestionLevel>,
    pub trend: Option<Trend>,
    pub level_15_min: Option<CongestionLevel>,
    pub level_30_min: Option<CongestionLevel>,
    /// Null before the camera's first forecast.
    pub forecast_made_at_ms: Option<i64>,
    /// Why `level` is null, in words (null when there is a level): an app shows it
    /// instead of guessing.
    pub reason: Option<&'static str>,
}

/// Why an approach has no level now.
pub const NO_FORECAST_YET: &str = "no interval from this camera since central started";
pub const NO_CAPACITY: &str = "no capacity or calibration configured for this approach, so no level";
pub const NOT_COUNTING: &str = "the camera did not count enough of the last interval (down, or coverage too low)";

/// Rising / falling when the 15-minute forecast is 10 % above / below demand now.
fn trend(r: &ForecastReport) -> Option<Trend> {
    let now = r.current_pcu_per_hour?;
    let ahead = r.horizons.iter().find(|h| h.minutes == 15)?.pcu_per_hour;
    Some(if ahead > now * 1.1 + 1.0 {
        Trend::Rising
    } else if ahead < now * 0.9 - 1.0 {
        Trend::Falling
    } else {
        Trend::Steady
    })
}

/// One approach's public record; `place` is its camera's `[map]` entry, if placed.
pub fn segment(r: &ForecastReport, place: Option<&crate::config::Place>) -> Segment {
    let level = |m: u32| r.horizons.iter().find(|h| h.minutes == m).and_then(|h| h.level);
    let reason = match (r.current_level, r.current_pcu_per_hour) {
        (Some(_), _) => None,
        (None, None) => Some(NOT_COUNTING),
        (None, Some(_)) => Some(NO_CAPACITY),
    };
    Segment {
        camera_id: r.camera_id.clone(),
        line: r.line.clone(),
        area: r.area.clone(),
        name: place.map(|p| p.name.clone()).filter(|n| !n.is_empty()),
        road: place.and_then(|p| p.road.clone()),
        lat: place.map(|p| p.lat),
        lon: place.map(|p| p.lon),
        level: r.current_level,
        trend: trend(r),
        level_15_min: level(15),
        level_30_min: level(30),
        forecast_made_at_ms: Some(r.made_at_ms),
        reason,
    }
}

/// A camera placed on the map with no forecast yet: listed, with why there is no level.
pub fn waiting(place: &crate::config::Place) -> Segment {
    Segment {
        camera_id: place.id.clone(),
        line: String::new(),
        area: String::new(),
        name: Some(place.name.clone()).filter(|n| !n.is_empty()),
        road: place.road.clone(),
        lat: Some(place.lat),
        lon: Some(place.lon),
        level: None,
        trend: None,
        level_15_min: None,
        level_30_min: None,
        forecast_made_at_ms: None,
        reason: Some(NO_FORECAST_YET),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::forecast::ForecastReport;

    fn report(current: Option<f64>, level: Option<CongestionLevel>) -> ForecastReport {
        ForecastReport {
            camera_id: "cam-1".into(),
            line: "main".into(),
            area: "d1".into(),
            made_at_ms: 1_000,
            current_pcu_per_hour: current,
            current_level: level,
            current_speed_kmh: None,
            capacity_pcu_per_hour: None,
            horizons: vec![],
            alert: false,
        }
    }

    #[test]
    fn a_missing_level_says_why_and_a_placed_camera_says_where() {
        let place = crate::config::Place {
            id: "cam-1".into(),
            name: "Bến Thành north".into(),
            lat: 10.77,
            lon: 106.70,
            road: Some("Lê Lợi".into()),
            lines: Default::default(),
        };
        let s = segment(&report(Some(900.0), Some(CongestionLevel::C)), Some(&place));
        assert_eq!((s.reason, s.road.as_deref(), s.lat), (None, Some("Lê Lợi"), Some(10.77)));
        assert_eq!(segment(&report(Some(900.0), None), None).reason, Some(NO_CAPACITY));
        assert_eq!(segment(&report(None, None), None).reason, Some(NOT_COUNTING));
        let w = waiting(&place);
        assert_eq!((w.level, w.reason, w.forecast_made_at_ms), (None, Some(NO_FORECAST_YET), None));
    }
}
