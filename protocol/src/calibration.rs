//! Camera calibration to metres and vehicle speed: a homography from image pixels to
//! positions on the road plane, fitted to four or more surveyed points (image point and
//! ground position in metres), and the speed of a track from its ground positions.
//!
//! Method: the normalised direct linear transform (Hartley & Zisserman, *Multiple View
//! Geometry*, alg. 4.2): both point sets are moved to their centroid and scaled to a mean
//! distance of √2, the 2n × 9 system's solution is the right singular vector of its
//! smallest singular value (the eigenvector of AᵀA with the smallest eigenvalue, 9 × 9
//! whatever n is; `nalgebra`), and the result is denormalised.
//!
//! A fit is refused when the points cannot define a plane mapping (fewer than four, no
//! four of them in general position, or a null space wider than one), or when a point
//! lands further than `max_error_m` from where it was surveyed (a mistyped point shows
//! up there; the worst one is named).
//!
//! Speed: the least-squares slope of ground position against time over the track's
//! samples, so one jittery box moves the estimate little, unlike a difference of two
//! positions.

use nalgebra::{DMatrix, Matrix3, Vector3};

/// One surveyed point: where it is in the image (px) and on the ground (m).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Correspondence {
    pub image: [f64; 2],
    pub ground: [f64; 2],
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    #[error("{0} points: a calibration needs at least 4 (image point and ground position each)")]
    TooFewPoints(usize),
    #[error("the {which} points are collinear (or nearly): no 4 of them span the road plane")]
    Collinear { which: &'static str },
    #[error("the points do not determine one mapping (repeated or degenerate points)")]
    Degenerate,
    #[error("point {index} lands {error_m:.2} m from its surveyed position (limit {limit_m:.2} m): check it")]
    PointOff { index: usize, error_m: f64, limit_m: f64 },
}

/// A fitted image → ground mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    h: Matrix3<f64>,
    /// Root-mean-square distance (m) between each surveyed ground position and where its
    /// image point maps: what the dashboard shows next to the calibration.
    pub rms_error_m: f64,
}

impl Calibration {
    /// Fits the mapping; refuses it when a point maps further than `max_error_m` off.
    pub fn fit(points: &[Correspondence], max_error_m: f64) -> Result<Calibration, CalibrationError> {
        if points.len() < 4 {
            return Err(CalibrationError::TooFewPoints(points.len()));
        }
        let image: Vec<[f64; 2]> = points.iter().map(|p| p.image).collect();
        let ground: Vec<[f64; 2]> = points.iter().map(|p| p.ground).collect();
        for (which, set) in [("image", &image), ("ground", &ground)] {
            if !has_four_in_general_position(set) {
                return Err(CalibrationError::Collinear { which });
            }
        }
        let (ti, image_n) = normalise(&image);
        let (tg, ground_n) = normalise(&ground);
        let mut a = DMatrix::<f64>::zeros(2 * points.len(), 9);
        for (k, (p, q)) in image_n.iter().zip(&ground_n).enumerate() {
            let (x, y, u, v) = (p[0], p[1], q[0], q[1]);
            let r = 2 * k;
            a.row_mut(r).copy_from_slice(&[-x, -y, -1.0, 0.0, 0.0, 0.0, u * x, u * y, u]);
            a.row_mut(r + 1).copy_from_slice(&[0.0, 0.0, 0.0, -x, -y, -1.0, v * x, v * y, v]);
        }
        // A second eigenvalue near zero means the points admit more than one mapping.
        let eigen = (a.transpose() * &a).symmetric_eigen();
        let mut order: Vec<usize> = (0..9).collect();
        order.sort_by(|&i, &j| eigen.eigenvalues[i].total_cmp(&eigen.eigenvalues[j]));
        let largest = eigen.eigenvalues[order[8]].abs().max(f64::MIN_POSITIVE);
        if eigen.eigenvalues[order[1]].abs() / largest < 1e-12 {
            return Err(CalibrationError::Degenerate);
        }
        let h = eigen.eigenvectors.column(order[0]);
        let hn = Matrix3::new(h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]);
        let Some(tg_inv) = tg.try_inverse() else { return Err(CalibrationError::Degenerate) };
        let mut cal = Calibration { h: tg_inv * hn * ti, rms_error_m: 0.0 };
        let mut errors = Vec::with_capacity(points.len());
        for p in points {
            let Some(g) = cal.to_ground(p.image) else { return Err(CalibrationError::Degenerate) };
            errors.push((g[0] - p.ground[0]).hypot(g[1] - p.ground[1]));
        }
        // Name the worst point: a least-squares fit spreads one typo over its neighbours,
        // so the first point over the limit need not be the one mistyped.
        let (index, &error_m) = errors.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).expect("4 or more");
        if error_m > max_error_m {
            return Err(CalibrationError::PointOff { index, error_m, limit_m: max_error_m });
        }
        cal.rms_error_m = (errors.iter().map(|e| e * e).sum::<f64>() / points.len() as f64).sqrt();
        Ok(cal)
    }

    /// The ground position (m) of an image point; `None` on the horizon line or beyond.
    pub fn to_ground(&self, image: [f64; 2]) -> Option<[f64; 2]> {
        let g = self.h * Vector3::new(image[0], image[1], 1.0);
        (g[2].abs() > 1e-12).then(|| [g[0] / g[2], g[1] / g[2]])
    }
}

impl Calibration {
    /// The length (m) on the road of an image polygon (a zone): its ground extent along
    /// the principal axis of its mapped vertices, which for a stretch of lane is its length
    /// along the road. `None` when a vertex does not map to the ground.
    pub fn ground_length_m(&self, polygon: &[[f64; 2]]) -> Option<f64> {
        let ground: Vec<[f64; 2]> = polygon.iter().map(|p| self.to_ground(*p)).collect::<Option<_>>()?;
        if ground.len() < 2 {
            return None;
        }
        let n = ground.len() as f64;
        let (cx, cy) = (ground.iter().map(|g| g[0]).sum::<f64>() / n, ground.iter().map(|g| g[1]).sum::<f64>() / n);
        let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
        for g in &ground {
            sxx += (g[0] - cx).powi(2);
            syy += (g[1] - cy).powi(2);
            sxy += (g[0] - cx) * (g[1] - cy);
        }
        // Direction of the larger eigenvalue of the 2×2 covariance.
        let angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
        let (dx, dy) = (angle.cos(), angle.sin());
        let along = ground.iter().map(|g| (g[0] - cx) * dx + (g[1] - cy) * dy);
        let (lo, hi) = along.fold((f64::MAX, f64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
        Some(hi - lo)
    }
}

/// Speed (km/h) of a track from `(time s, image point)` samples: the least-squares
/// velocity of its ground positions. `None` with fewer than two samples, no time span,
/// or a point that does not map to the ground.
pub fn speed_kmh(calibration: &Calibration, samples: &[(f64, [f64; 2])]) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let ground: Vec<(f64, [f64; 2])> =
        samples.iter().map(|(t, p)| calibration.to_ground(*p).map(|g| (*t, g))).collect::<Option<_>>()?;
    let n = ground.len() as f64;
    let t_mean = ground.iter().map(|(t, _)| t).sum::<f64>() / n;
    let var_t: f64 = ground.iter().map(|(t, _)| (t - t_mean).powi(2)).sum();
    if var_t <= 0.0 {
        return None;
    }
    let slope = |axis: usize| {
        let mean = ground.iter().map(|(_, g)| g[axis]).sum::<f64>() / n;
        ground.iter().map(|(t, g)| (t - t_mean) * (g[axis] - mean)).sum::<f64>() / var_t
    };
    Some(slope(0).hypot(slope(1)) * 3.6)
}

/// Moves points to their centroid, scaled to a mean distance of √2 from it.
fn normalise(points: &[[f64; 2]]) -> (Matrix3<f64>, Vec<[f64; 2]>) {
    let n = points.len() as f64;
    let (cx, cy) = (points.iter().map(|p| p[0]).sum::<f64>() / n, points.iter().map(|p| p[1]).sum::<f64>() / n);
    let mean_dist = points.iter().map(|p| (p[0] - cx).hypot(p[1] - cy)).sum::<f64>() / n;
    let s = if mean_dist > 0.0 { std::f64::consts::SQRT_2 / mean_dist } else { 1.0 };
    let t = Matrix3::new(s, 0.0, -s * cx, 0.0, s, -s * cy, 0.0, 0.0, 1.0);
    (t, points.iter().map(|p| [s * (p[0] - cx), s * (p[1] - cy)]).collect())
}

/// Whether some 4 of the points have no 3 on one line (to 0.1 % of the spread).
fn has_four_in_general_position(points: &[[f64; 2]]) -> bool {
    let spread = points
        .iter()
        .flat_map(|p| points.iter().map(move |q| (p[0] - q[0]).hypot(p[1] - q[1])))
        .fold(0.0_f64, f64::max);
    let tiny = 1e-3 * spread * spread;
    let area = |a: [f64; 2], b: [f64; 2], c: [f64; 2]| {
        ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])).abs() / 2.0
    };
    let n = points.len();
    for i in 0..n {
        for j in i + 1..n {
            for k in j + 1..n {
                for l in k + 1..n {
                    let q = [points[i], points[j], points[k], points[l]];
                    let ok = [(0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)]
                        .iter()
                        .all(|&(a, b, c)| area(q[a], q[b], q[c]) > tiny);
                    if ok {
                        return true;
                    }
                }
            }
        }
    }
    false
}

#[cfg(test)]
#[path = "calibration_tests.rs"]
mod tests;
