//! The public congestion feed for the city's citizen app and the 1022 portal:
//! `GET /api/v1/public/congestion` (served by `http::feeds`), no credentials, read-only.
//!
//! What it carries is deliberately coarse: per approach (a camera's counting line) its
//! area, congestion level now, trend, and the 15- and 30-minute forecast levels, with
//! the time the forecast was made. No counts per class, no images, no track or plate,
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
    pub level: Option<CongestionLevel>,
    pub trend: Option<Trend>,
    pub level_15_min: Option<CongestionLevel>,
    pub level_30_min: Option<CongestionLevel>,
    pub forecast_made_at_ms: i64,
}

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

pub fn segment(r: &ForecastReport) -> Segment {
    let level = |m: u32| r.horizons.iter().find(|h| h.minutes == m).and_then(|h| h.level);
    Segment {
        camera_id: r.camera_id.clone(),
        line: r.line.clone(),
        area: r.area.clone(),
        level: r.current_level,
        trend: trend(r),
        level_15_min: level(15),
        level_30_min: level(30),
        forecast_made_at_ms: r.made_at_ms,
    }
}
