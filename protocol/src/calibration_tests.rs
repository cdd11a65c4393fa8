use super::*;

/// A camera looking down a road at an angle: ground (m) → image (px), the inverse of what
/// a calibration recovers.
fn project(g: [f64; 2]) -> [f64; 2] {
    let h = Matrix3::new(40.0, -6.0, 640.0, 0.5, 9.0, 300.0, 0.0005, 0.012, 1.0);
    let p = h * Vector3::new(g[0], g[1], 1.0);
    [p[0] / p[2], p[1] / p[2]]
}

fn survey(ground: &[[f64; 2]]) -> Vec<Correspondence> {
    ground.iter().map(|&g| Correspondence { image: project(g), ground: g }).collect()
}

/// Four lane-marking corners and two more, 3.5 m lanes, 30 m of road.
const GROUND: [[f64; 2]; 6] = [[0.0, 0.0], [7.0, 0.0], [7.0, 30.0], [0.0, 30.0], [3.5, 12.0], [0.0, 18.0]];

#[test]
fn the_mapping_is_recovered_from_surveyed_points() {
    for n in [4, 6] {
        let cal = Calibration::fit(&survey(&GROUND[..n]), 0.5).unwrap();
        assert!(cal.rms_error_m < 1e-6, "{n} points: {}", cal.rms_error_m);
        for g in [[1.0, 5.0], [6.0, 25.0], [3.0, 40.0]] {
            let back = cal.to_ground(project(g)).unwrap();
            assert!((back[0] - g[0]).abs() < 1e-6 && (back[1] - g[1]).abs() < 1e-6, "{g:?} → {back:?}");
        }
    }
}

#[test]
fn a_scripted_track_at_a_known_speed_is_measured_within_three_percent() {
    let cal = Calibration::fit(&survey(&GROUND), 0.5).unwrap();
    for (kmh, heading) in [(40.0_f64, 0.0_f64), (25.0, 0.3), (60.0, -0.1)] {
        let v = kmh / 3.6;
        // 2 s at 15 fps, with the detector's box centre jittering by up to ±1.5 px.
        let samples: Vec<(f64, [f64; 2])> = (0..30)
            .map(|i| {
                let t = i as f64 / 15.0;
                let g = [2.0 + v * t * heading.sin(), 3.0 + v * t * heading.cos()];
                let p = project(g);
                let jitter = 1.5 * ((i * 7919 % 13) as f64 / 6.0 - 1.0);
                (t, [p[0] + jitter, p[1] - jitter])
            })
            .collect();
        let measured = speed_kmh(&cal, &samples).unwrap();
        assert!((measured - kmh).abs() / kmh <= 0.03, "{kmh} km/h measured as {measured:.2}");
    }
}

#[test]
fn collinear_points_are_refused_with_the_reason() {
    let on_a_line = [[0.0, 0.0], [0.0, 10.0], [0.0, 20.0], [0.0, 30.0], [0.01, 40.0]];
    let e = Calibration::fit(&survey(&on_a_line), 0.5).unwrap_err();
    assert!(matches!(e, CalibrationError::Collinear { .. }), "{e}");
    assert!(e.to_string().contains("collinear"), "{e}");
    let e = Calibration::fit(&survey(&GROUND[..3]), 0.5).unwrap_err();
    assert_eq!(e, CalibrationError::TooFewPoints(3));
}

#[test]
fn a_mistyped_point_is_named() {
    let mut points = survey(&GROUND);
    points[4].ground = [3.5, 21.0]; // 12 m typed as 21 m
    match Calibration::fit(&points, 0.5).unwrap_err() {
        CalibrationError::PointOff { error_m, .. } => assert!(error_m > 0.5, "{error_m}"),
        e => panic!("{e}"),
    }
}

#[test]
fn no_speed_without_two_samples_in_time() {
    let cal = Calibration::fit(&survey(&GROUND), 0.5).unwrap();
    assert_eq!(speed_kmh(&cal, &[(0.0, project([1.0, 1.0]))]), None);
    assert_eq!(speed_kmh(&cal, &[(1.0, project([1.0, 1.0])), (1.0, project([1.0, 5.0]))]), None);
}

#[test]
fn a_zone_drawn_over_a_stretch_of_lane_measures_its_length_along_the_road() {
    let cal = Calibration::fit(&survey(&GROUND), 0.5).unwrap();
    // A lane 3.5 m wide from 5 m to 25 m down the road, as drawn on the image.
    let polygon: Vec<[f64; 2]> = [[0.0, 5.0], [3.5, 5.0], [3.5, 25.0], [0.0, 25.0]].map(project).to_vec();
    let length = cal.ground_length_m(&polygon).unwrap();
    assert!((length - 20.0).abs() < 1e-6, "{length}");
    // Across the road (two lanes wide, 4 m long): the longer side is the extent.
    let across: Vec<[f64; 2]> = [[0.0, 10.0], [7.0, 10.0], [7.0, 14.0], [0.0, 14.0]].map(project).to_vec();
    assert!((cal.ground_length_m(&across).unwrap() - 7.0).abs() < 1e-6);
}
