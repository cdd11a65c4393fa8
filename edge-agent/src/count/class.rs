//! The class of a track, decided from its whole life rather than one frame: the
//! score-weighted votes of every matched detection. Persons are special: a track that
//! is mostly `person` is a two-wheeler if it also collected enough motorbike/bicycle
//! votes (the bike was seen now and then) or if it moves like a vehicle; otherwise it is
//! a pedestrian and is not counted. Last, the camera's size model may overrule a `car`
//! that is no wider than a motorbike at its rows (`by_size`).

use protocol::{ObjectClass, VehicleClass};

use super::CountSettings;
use super::size::{SizeModel, SizeSamples};

/// `speed`: anchor speed over the track's life, in box heights per second.
pub fn decide(votes: &[f32; 6], speed: f32, s: &CountSettings) -> Option<VehicleClass> {
    let vote = |c: ObjectClass| votes[c.index()];
    let (best, best_vote) = VehicleClass::ALL
        .iter()
        .map(|v| {
            let c = match v {
                VehicleClass::Car => ObjectClass::Car,
                VehicleClass::Motorcycle => ObjectClass::Motorcycle,
                VehicleClass::Bus => ObjectClass::Bus,
                VehicleClass::Truck => ObjectClass::Truck,
                VehicleClass::Bicycle => ObjectClass::Bicycle,
            };
            (*v, vote(c))
        })
        .fold((VehicleClass::Car, f32::MIN), |acc, x| if x.1 > acc.1 { x } else { acc });
    let person = vote(ObjectClass::Person);
    if best_vote > 0.0 && best_vote >= person {
        return Some(best);
    }
    let (moto, bike) = (vote(ObjectClass::Motorcycle), vote(ObjectClass::Bicycle));
    if moto + bike >= s.two_wheeler_vote_share * person && moto + bike > 0.0 {
        return Some(if bike > moto { VehicleClass::Bicycle } else { VehicleClass::Motorcycle });
    }
    if speed >= s.rider_min_speed {
        return Some(VehicleClass::Motorcycle);
    }
    None
}

/// A `car` no wider than `car_min_width_ratio` two-wheelers at its rows (the camera's
/// size model, see `size`) is a motorbike the detector saw from behind or in a crowd.
pub fn by_size(
    class: Option<VehicleClass>,
    sizes: &SizeSamples,
    model: &SizeModel,
    s: &CountSettings,
) -> Option<VehicleClass> {
    if class != Some(VehicleClass::Car) || s.car_min_width_ratio <= 0.0 {
        return class;
    }
    match model.width_ratio(sizes) {
        Some(ratio) if ratio < s.car_min_width_ratio => {
            tracing::debug!(ratio, "a car box no wider than a motorbike here: a motorbike");
            Some(VehicleClass::Motorcycle)
        }
        _ => class,
    }
}

/// Clearly a two-wheeler (the size model learns from these): at least 80 % of its
/// vehicle votes are motorbike or bicycle.
pub fn clearly_two_wheeler(votes: &[f32; 6]) -> bool {
    let two = votes[ObjectClass::Motorcycle.index()] + votes[ObjectClass::Bicycle.index()];
    let vehicle =
        two + votes[ObjectClass::Car.index()] + votes[ObjectClass::Bus.index()] + votes[ObjectClass::Truck.index()];
    vehicle > 0.0 && two >= 0.8 * vehicle
}

#[cfg(test)]
mod tests {
    use super::*;

    fn votes(pairs: &[(ObjectClass, f32)]) -> [f32; 6] {
        let mut v = [0.0; 6];
        for (c, s) in pairs {
            v[c.index()] = *s;
        }
        v
    }

    #[test]
    fn majority_vehicle_class_wins() {
        let s = CountSettings::default();
        let v = votes(&[(ObjectClass::Car, 5.0), (ObjectClass::Truck, 2.0), (ObjectClass::Person, 1.0)]);
        assert_eq!(decide(&v, 0.0, &s), Some(VehicleClass::Car));
    }

    #[test]
    fn a_rider_seen_mostly_as_a_person_is_a_motorcycle() {
        let s = CountSettings::default();
        let v = votes(&[(ObjectClass::Person, 10.0), (ObjectClass::Motorcycle, 3.0)]);
        assert_eq!(decide(&v, 0.2, &s), Some(VehicleClass::Motorcycle));
        // Bike never detected, but it moves at 3 body heights per second.
        let lone = votes(&[(ObjectClass::Person, 10.0)]);
        assert_eq!(decide(&lone, 3.0, &s), Some(VehicleClass::Motorcycle));
    }

    #[test]
    fn a_walking_person_is_not_counted() {
        let s = CountSettings::default();
        assert_eq!(decide(&votes(&[(ObjectClass::Person, 10.0)]), 0.8, &s), None);
    }
}
