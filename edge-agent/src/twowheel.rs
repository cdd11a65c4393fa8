//! Two-wheelers. A COCO detector often sees the rider (`person`) and the motorbike as
//! two boxes, or only the rider. Rule, applied to every frame's detections:
//!
//! 1. A `person` whose box is at least `min_cover` covered by a `motorcycle`/`bicycle`
//!    box, or who sits on it (horizontally centred over it, feet inside its vertical
//!    extent), is that two-wheeler's rider: the two boxes become one two-wheeler box
//!    (their union), and the person is never counted as a pedestrian. Several persons
//!    may ride one bike (passengers); each person rides at most one bike.
//! 2. A `person` left alone stays a person here. The counting stage decides what a lone
//!    person track is: one that moves like a vehicle (faster than
//!    `count.rider_min_speed` box-heights per second) is counted as a motorcycle whose
//!    bike the detector missed; a slower one is a pedestrian and is not counted.

use protocol::ObjectClass;
use serde::Deserialize;

use crate::detect::Detection;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RiderMerge {
    /// Fraction of the person box that must overlap the two-wheeler box.
    pub min_cover: f32,
    /// Largest horizontal offset between the centres, as a fraction of the wider box.
    pub max_centre_offset: f32,
}

impl Default for RiderMerge {
    fn default() -> Self {
        RiderMerge { min_cover: 0.2, max_centre_offset: 0.5 }
    }
}

impl RiderMerge {
    fn rides(&self, person: &Detection, bike: &Detection) -> bool {
        let (p, b) = (&person.bbox, &bike.bbox);
        let offset = (p.centre().x - b.centre().x).abs();
        if offset > self.max_centre_offset * p.width().max(b.width()) {
            return false;
        }
        let feet_on_bike = p.y2 >= b.y1 && p.y2 <= b.y2 + 0.25 * b.height() && p.y1 < b.y1 + 0.5 * b.height();
        p.covered_by(b) >= self.min_cover || feet_on_bike
    }

    /// Folds riders into their two-wheelers, in place.
    pub fn apply(&self, dets: &mut Vec<Detection>) {
        let n = dets.len();
        for i in 0..n {
            if dets[i].class != ObjectClass::Person {
                continue;
            }
            let best = (0..n)
                .filter(|&j| dets[j].class.is_two_wheeler() && self.rides(&dets[i], &dets[j]))
                .max_by(|&a, &b| dets[i].bbox.iou(&dets[a].bbox).total_cmp(&dets[i].bbox.iou(&dets[b].bbox)));
            if let Some(j) = best {
                let person = dets[i];
                let bike = &mut dets[j];
                bike.bbox = bike.bbox.union(&person.bbox);
                bike.score = bike.score.max(person.score);
                // The rider's confidence supports "two-wheeler", not "pedestrian".
                let k = bike.class.index();
                bike.class_scores[k] = bike.class_scores[k].max(person.score);
                // Marked, not removed, so indices stay valid during the loop.
                dets[i].score = f32::NEG_INFINITY;
            }
        }
        dets.retain(|d| d.score != f32::NEG_INFINITY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::BBox;

    use crate::detect::test_detection as det;

    #[test]
    fn rider_on_a_motorbike_becomes_one_two_wheeler() {
        let mut d = vec![
            det(ObjectClass::Person, 0.8, [100.0, 50.0, 130.0, 120.0]),
            det(ObjectClass::Motorcycle, 0.4, [95.0, 90.0, 135.0, 150.0]),
        ];
        RiderMerge::default().apply(&mut d);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].class, ObjectClass::Motorcycle);
        assert_eq!(d[0].bbox, BBox::new(95.0, 50.0, 135.0, 150.0));
        assert_eq!(d[0].score, 0.8);
    }

    #[test]
    fn driver_and_passenger_both_ride_one_bike() {
        let mut d = vec![
            det(ObjectClass::Person, 0.7, [100.0, 50.0, 125.0, 120.0]),
            det(ObjectClass::Person, 0.6, [110.0, 55.0, 135.0, 118.0]),
            det(ObjectClass::Motorcycle, 0.5, [95.0, 90.0, 140.0, 150.0]),
        ];
        RiderMerge::default().apply(&mut d);
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn pedestrian_beside_a_parked_bike_is_not_a_rider() {
        let mut d = vec![
            det(ObjectClass::Person, 0.8, [200.0, 40.0, 230.0, 150.0]),
            det(ObjectClass::Motorcycle, 0.6, [95.0, 90.0, 140.0, 150.0]),
            det(ObjectClass::Person, 0.8, [400.0, 40.0, 430.0, 150.0]),
        ];
        RiderMerge::default().apply(&mut d);
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn a_person_next_to_a_car_is_not_merged() {
        let mut d = vec![
            det(ObjectClass::Person, 0.8, [100.0, 50.0, 130.0, 120.0]),
            det(ObjectClass::Car, 0.6, [95.0, 90.0, 200.0, 150.0]),
        ];
        RiderMerge::default().apply(&mut d);
        assert_eq!(d.len(), 2);
    }
}
