//! Suppression and merging of candidate boxes.
//!
//! 1. `class_nms`: greedy non-maximum suppression within each class.
//! 2. `merge_views`: boxes of one class from different views (full frame, tiles,
//!    crops) that cover each other are merged (greedy non-maximum merging on
//!    intersection-over-smaller), so a vehicle cut by a tile edge becomes one box.
//! 3. `merge_vehicle_classes`: one vehicle seen as two classes (a van as both car and
//!    truck) becomes one box whose class scores keep both readings. Without this, both
//!    boxes are tracked and counted.
//!
//! Persons are left to the rider merge (`twowheel`), which needs them separate.

use protocol::ObjectClass;

use super::Detection;

/// Greedy per-class NMS; keeps the highest-scoring box of each overlapping group.
pub fn class_nms(dets: &mut Vec<Detection>, iou_threshold: f32) {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    // Kept boxes are compacted into dets[..kept] (no allocation per frame).
    let mut kept = 0;
    for i in 0..dets.len() {
        let d = dets[i];
        if !dets[..kept].iter().any(|k| k.class == d.class && k.bbox.iou(&d.bbox) > iou_threshold) {
            dets[kept] = d;
            kept += 1;
        }
    }
    dets.truncate(kept);
}

/// Merges same-class boxes from different views (`view[i]` is the view of `dets[i]`).
pub fn merge_views(dets: &mut Vec<Detection>, views: &mut Vec<usize>, ios_threshold: f32) {
    let mut order: Vec<usize> = (0..dets.len()).collect();
    order.sort_by(|&a, &b| dets[b].score.total_cmp(&dets[a].score));
    let mut kept: Vec<(Detection, usize)> = Vec::with_capacity(dets.len());
    for i in order {
        let (d, v) = (dets[i], views[i]);
        let target = kept.iter_mut().find(|(k, kv)| {
            *kv != v && k.class == d.class && {
                let inter = k.bbox.intersection(&d.bbox);
                let smaller = k.bbox.area().min(d.bbox.area());
                smaller > 0.0 && inter / smaller >= ios_threshold
            }
        });
        match target {
            Some((k, _)) => {
                k.bbox = k.bbox.union(&d.bbox);
                for c in 0..6 {
                    k.class_scores[c] = k.class_scores[c].max(d.class_scores[c]);
                }
            }
            None => kept.push((d, v)),
        }
    }
    dets.clear();
    views.clear();
    for (d, v) in kept {
        dets.push(d);
        views.push(v);
    }
}

/// Folds boxes of different vehicle classes on one vehicle into the best-scoring one.
pub fn merge_vehicle_classes(dets: &mut Vec<Detection>, iou_threshold: f32) {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept = 0;
    for i in 0..dets.len() {
        let d = dets[i];
        let same_vehicle = |k: &Detection| {
            k.class != ObjectClass::Person
                && d.class != ObjectClass::Person
                && k.class != d.class
                && k.bbox.iou(&d.bbox) > iou_threshold
        };
        match dets[..kept].iter().position(same_vehicle) {
            Some(j) => {
                for c in 0..6 {
                    dets[j].class_scores[c] = dets[j].class_scores[c].max(d.class_scores[c]);
                }
            }
            None => {
                dets[kept] = d;
                kept += 1;
            }
        }
    }
    dets.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::BBox;

    use crate::detect::test_detection as det;

    #[test]
    fn class_nms_keeps_best_per_class_only() {
        let mut d = vec![
            det(ObjectClass::Car, 0.6, [0.0, 0.0, 10.0, 10.0]),
            det(ObjectClass::Car, 0.9, [1.0, 0.0, 11.0, 10.0]),
            det(ObjectClass::Truck, 0.5, [1.0, 0.0, 11.0, 10.0]),
            det(ObjectClass::Car, 0.4, [50.0, 0.0, 60.0, 10.0]),
        ];
        class_nms(&mut d, 0.45);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].score, 0.9);
    }

    #[test]
    fn car_and_truck_on_one_van_become_one_box_with_both_scores() {
        let mut d = vec![
            det(ObjectClass::Truck, 0.5, [0.0, 0.0, 40.0, 30.0]),
            det(ObjectClass::Car, 0.7, [2.0, 1.0, 41.0, 30.0]),
            det(ObjectClass::Person, 0.8, [5.0, 0.0, 20.0, 30.0]),
        ];
        merge_vehicle_classes(&mut d, 0.55);
        assert_eq!(d.len(), 2, "{d:?}");
        let car = d.iter().find(|x| x.class == ObjectClass::Car).unwrap();
        assert_eq!(car.class_scores[ObjectClass::Truck.index()], 0.5);
    }

    #[test]
    fn a_box_cut_by_a_tile_edge_merges_with_the_full_view_box() {
        let mut d = vec![
            det(ObjectClass::Motorcycle, 0.7, [100.0, 100.0, 120.0, 140.0]),
            det(ObjectClass::Motorcycle, 0.5, [100.0, 100.0, 110.0, 140.0]),
            det(ObjectClass::Motorcycle, 0.5, [130.0, 100.0, 150.0, 140.0]),
        ];
        let mut views = vec![0, 1, 1];
        merge_views(&mut d, &mut views, 0.6);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].bbox, BBox::new(100.0, 100.0, 120.0, 140.0));
    }
}
