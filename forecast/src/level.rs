//! Congestion level of an approach, level-of-service style: the ratio of (forecast)
//! demand to configured capacity, both in passenger-car units per hour, mapped to A–F.
//! Thresholds follow the common v/c banding (HCM signalised-approach practice).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CongestionLevel {
    A,
    B,
    C,
    D,
    E,
    F,
}

/// Upper v/c bounds of levels A–E; above the last is F.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelThresholds(pub [f64; 5]);

impl Default for LevelThresholds {
    fn default() -> Self {
        LevelThresholds([0.6, 0.7, 0.8, 0.9, 1.0])
    }
}

/// Level of service of a road section from its measured speed as a share of its free-flow
/// speed (HCM urban-street bands: above 80 % A, 67 % B, 50 % C, 40 % D, 30 % E, else F).
/// Speed tells a jam from a quiet road where counts cannot: both have few crossings.
pub fn speed_level(speed_kmh: f64, free_flow_kmh: f64) -> CongestionLevel {
    const BANDS: [(f64, CongestionLevel); 5] = [
        (0.80, CongestionLevel::A),
        (0.67, CongestionLevel::B),
        (0.50, CongestionLevel::C),
        (0.40, CongestionLevel::D),
        (0.30, CongestionLevel::E),
    ];
    let ratio = speed_kmh / free_flow_kmh;
    BANDS.iter().find(|(bound, _)| ratio > *bound).map_or(CongestionLevel::F, |(_, level)| *level)
}

/// Level of service of an uninterrupted section (mid-block, away from a stop line) from
/// its density in vehicles per km per lane: HCM's multilane-highway bands of 11, 18, 26,
/// 35 and 45 pc/mi/ln, in metric (÷ 1.609). Density is what HCM grades such sections by;
/// at a stop line it rises and falls with every red and says little.
pub fn density_level(veh_per_km_lane: f64) -> CongestionLevel {
    const BANDS: [(f64, CongestionLevel); 5] = [
        (6.8, CongestionLevel::A),
        (11.2, CongestionLevel::B),
        (16.2, CongestionLevel::C),
        (21.8, CongestionLevel::D),
        (28.0, CongestionLevel::E),
    ];
    BANDS.iter().find(|(bound, _)| veh_per_km_lane <= *bound).map_or(CongestionLevel::F, |(_, level)| *level)
}

impl LevelThresholds {
    pub fn is_valid(&self) -> bool {
        self.0[0] > 0.0 && self.0.windows(2).all(|w| w[0] < w[1])
    }

    pub fn level(&self, demand: f64, capacity: f64) -> CongestionLevel {
        let ratio = demand / capacity;
        const LEVELS: [CongestionLevel; 5] =
            [CongestionLevel::A, CongestionLevel::B, CongestionLevel::C, CongestionLevel::D, CongestionLevel::E];
        LEVELS.iter().zip(self.0).find(|(_, bound)| ratio <= *bound).map_or(CongestionLevel::F, |(level, _)| *level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_bands_follow_the_share_of_free_flow() {
        assert_eq!(speed_level(45.0, 50.0), CongestionLevel::A);
        assert_eq!(speed_level(35.0, 50.0), CongestionLevel::B);
        assert_eq!(speed_level(25.1, 50.0), CongestionLevel::C);
        assert_eq!(speed_level(20.5, 50.0), CongestionLevel::D);
        assert_eq!(speed_level(15.5, 50.0), CongestionLevel::E);
        assert_eq!(speed_level(8.0, 50.0), CongestionLevel::F, "a jam");
    }

    #[test]
    fn density_bands_are_hcms_in_metric() {
        assert_eq!(density_level(0.0), CongestionLevel::A);
        assert_eq!(density_level(6.8), CongestionLevel::A);
        assert_eq!(density_level(11.0), CongestionLevel::B);
        assert_eq!(density_level(20.0), CongestionLevel::D);
        assert_eq!(density_level(28.0), CongestionLevel::E);
        assert_eq!(density_level(60.0), CongestionLevel::F, "standing queue");
    }

    #[test]
    fn bands() {
        let t = LevelThresholds::default();
        assert_eq!(t.level(0.0, 1000.0), CongestionLevel::A);
        assert_eq!(t.level(600.0, 1000.0), CongestionLevel::A);
        assert_eq!(t.level(650.0, 1000.0), CongestionLevel::B);
        assert_eq!(t.level(950.0, 1000.0), CongestionLevel::E);
        assert_eq!(t.level(1001.0, 1000.0), CongestionLevel::F);
        assert!(!LevelThresholds([0.6, 0.5, 0.8, 0.9, 1.0]).is_valid());
    }
}
