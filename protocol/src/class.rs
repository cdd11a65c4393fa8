//! Object classes. `ObjectClass` is what a detector can report; `VehicleClass` is what
//! gets counted. A `person` is never a counted vehicle: riders are folded into
//! two-wheelers before counting (see edge-agent `twowheel`).

use serde::{Deserialize, Serialize};

/// Every class the detection stage hands downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectClass {
    Person,
    Bicycle,
    Car,
    Motorcycle,
    Bus,
    Truck,
}

impl ObjectClass {
    pub const ALL: [ObjectClass; 6] = [
        ObjectClass::Person,
        ObjectClass::Bicycle,
        ObjectClass::Car,
        ObjectClass::Motorcycle,
        ObjectClass::Bus,
        ObjectClass::Truck,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            ObjectClass::Person => "person",
            ObjectClass::Bicycle => "bicycle",
            ObjectClass::Car => "car",
            ObjectClass::Motorcycle => "motorcycle",
            ObjectClass::Bus => "bus",
            ObjectClass::Truck => "truck",
        }
    }

    /// The counted class, or `None` for a pedestrian.
    pub fn vehicle(self) -> Option<VehicleClass> {
        match self {
            ObjectClass::Person => None,
            ObjectClass::Bicycle => Some(VehicleClass::Bicycle),
            ObjectClass::Car => Some(VehicleClass::Car),
            ObjectClass::Motorcycle => Some(VehicleClass::Motorcycle),
            ObjectClass::Bus => Some(VehicleClass::Bus),
            ObjectClass::Truck => Some(VehicleClass::Truck),
        }
    }

    pub fn is_two_wheeler(self) -> bool {
        matches!(self, ObjectClass::Bicycle | ObjectClass::Motorcycle)
    }
}

impl std::fmt::Display for ObjectClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ObjectClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ObjectClass::ALL.into_iter().find(|c| c.name() == s).ok_or_else(|| {
            format!("unknown class {s:?} (expected one of person, bicycle, car, motorcycle, bus, truck)")
        })
    }
}

/// Classes that are counted on lines, in zones and in movements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VehicleClass {
    Car,
    Motorcycle,
    Bus,
    Truck,
    Bicycle,
}

impl VehicleClass {
    pub const ALL: [VehicleClass; 5] =
        [VehicleClass::Car, VehicleClass::Motorcycle, VehicleClass::Bus, VehicleClass::Truck, VehicleClass::Bicycle];

    pub fn name(self) -> &'static str {
        match self {
            VehicleClass::Car => "car",
            VehicleClass::Motorcycle => "motorcycle",
            VehicleClass::Bus => "bus",
            VehicleClass::Truck => "truck",
            VehicleClass::Bicycle => "bicycle",
        }
    }
}

impl std::fmt::Display for VehicleClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_person_is_not_a_vehicle() {
        for c in ObjectClass::ALL {
            assert_eq!(c.name().parse::<ObjectClass>().unwrap(), c);
        }
        assert_eq!(ObjectClass::Person.vehicle(), None);
        assert_eq!(ObjectClass::Motorcycle.vehicle(), Some(VehicleClass::Motorcycle));
        assert!("tram".parse::<ObjectClass>().unwrap_err().contains("tram"));
    }
}
