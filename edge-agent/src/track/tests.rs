use super::*;
use protocol::ObjectClass;

fn det(x: f32, y: f32, score: f32, class: ObjectClass) -> Detection {
    let mut class_scores = [0.0; 6];
    class_scores[class.index()] = score;
    Detection { bbox: BBox::new(x, y, x + 40.0, y + 30.0), score, class, class_scores }
}

fn ids(t: &Tracker) -> Vec<u64> {
    let mut v: Vec<u64> = t.tracks().iter().filter(|t| t.state == TrackState::Confirmed).map(|t| t.id).collect();
    v.sort();
    v
}

#[test]
fn a_moving_vehicle_keeps_one_id_and_votes_for_its_class() {
    let mut tr = Tracker::new(TrackerSettings::default(), 25.0);
    for f in 0..20 {
        let class = if f % 4 == 0 { ObjectClass::Truck } else { ObjectClass::Car };
        tr.update(&[det(100.0, 300.0 - 6.0 * f as f32, 0.8, class)], f * 40);
    }
    assert_eq!(ids(&tr), vec![1]);
    let t = &tr.tracks()[0];
    assert!(t.votes[ObjectClass::Car.index()] > t.votes[ObjectClass::Truck.index()]);
    assert!((t.bbox.y2 - (300.0 - 6.0 * 19.0 + 30.0)).abs() < 0.01, "anchor follows the detection bottom");
}

#[test]
fn a_two_frame_dropout_keeps_the_id() {
    let mut tr = Tracker::new(TrackerSettings::default(), 25.0);
    for f in 0..30 {
        let dets = if (10..12).contains(&f) {
            vec![]
        } else {
            vec![det(100.0, 400.0 - 8.0 * f as f32, 0.8, ObjectClass::Car)]
        };
        tr.update(&dets, f * 40);
        if (10..12).contains(&f) {
            assert_eq!(tr.tracks()[0].state, TrackState::Lost);
        }
    }
    assert_eq!(ids(&tr), vec![1]);
    assert!(tr.ended().is_empty());
}

#[test]
fn low_score_boxes_keep_a_confirmed_track_alive() {
    let mut tr = Tracker::new(TrackerSettings::default(), 25.0);
    for f in 0..10 {
        tr.update(&[det(100.0 + 3.0 * f as f32, 100.0, 0.9, ObjectClass::Motorcycle)], f * 40);
    }
    for f in 10..20 {
        tr.update(&[det(100.0 + 3.0 * f as f32, 100.0, 0.2, ObjectClass::Motorcycle)], f * 40);
        assert!(tr.tracks()[0].observed, "frame {f}: partly hidden bike still matched");
    }
    assert_eq!(ids(&tr), vec![1]);
}

#[test]
fn low_score_boxes_never_start_tracks_and_flicker_never_confirms() {
    let mut tr = Tracker::new(TrackerSettings::default(), 25.0);
    for f in 0..10 {
        tr.update(&[det(10.0, 10.0, 0.3, ObjectClass::Car)], f * 40);
    }
    assert!(tr.tracks().is_empty());
    // A high-score box every other frame is a tentative track that dies each time.
    for f in 0..10 {
        let dets = if f % 2 == 0 { vec![det(300.0, 10.0, 0.9, ObjectClass::Car)] } else { vec![] };
        tr.update(&dets, f * 40);
        assert!(ids(&tr).is_empty());
    }
}

#[test]
fn tracks_end_after_the_lost_buffer() {
    let mut tr = Tracker::new(TrackerSettings { lost_buffer_s: 0.2, ..Default::default() }, 25.0);
    for f in 0..5 {
        tr.update(&[det(100.0, 100.0, 0.9, ObjectClass::Car)], f * 40);
    }
    let mut ended_at = None;
    for f in 5..15 {
        tr.update(&[], f * 40);
        if !tr.ended().is_empty() {
            ended_at = Some(f);
            break;
        }
    }
    assert_eq!(ended_at, Some(10), "5 frames of buffer at 25 fps, ended on the 6th miss");
}

/// A frame arriving three periods after the last (two dropped): the prediction must move
/// three periods' worth, or a fast vehicle no longer overlaps its predicted box.
#[test]
fn a_frame_after_dropped_ones_is_predicted_by_the_time_elapsed() {
    let mut tr = Tracker::new(TrackerSettings::default(), 25.0);
    for f in 0..10 {
        tr.update(&[det(100.0, 400.0 - 15.0 * f as f32, 0.8, ObjectClass::Car)], f * 40);
    }
    // Frames 10 and 11 dropped; frame 12 is 3 periods on and 45 px further.
    tr.update_steps(&[det(100.0, 400.0 - 15.0 * 12.0, 0.8, ObjectClass::Car)], 12 * 40, 3.0);
    assert_eq!(ids(&tr), vec![1]);
    assert!(tr.tracks()[0].observed);
}
