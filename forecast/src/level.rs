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
