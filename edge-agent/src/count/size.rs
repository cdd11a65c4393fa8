//! Per-camera size model, learned online from the camera's own tracks: how wide a
//! two-wheeler's box is at each image row. On a flat road seen by a pinhole camera the
//! width of one kind of vehicle is linear in the row of its ground contact
//! (w = k·(y − y_horizon)), so a least-squares line w = a + b·y over the tracks that
//! were clearly two-wheelers (their votes say so) is the whole model.
//!
//! Use: COCO detectors call motorbikes seen from behind, or in a crowd, `car`. A car is
//! about 1.7 m wide and a motorbike with its rider about 0.7 m; on the shared clips real
//! cars measured 1.5–4.3 two-wheeler widths (the narrow ones cut by the frame edge). So
//! a `car` track whose box is less than `car_min_width_ratio` (1.3) times the
//! two-wheeler width at its rows is a motorbike, whatever the detector says. The model
//! speaks only after `min_tracks` clear two-wheelers, and never turns a wide box into a
//! motorbike.
//!
//! Invariant: `expected_width` is `None` until the model has enough evidence, and is
//! positive whenever it is `Some`.

/// Running sums for one track's boxes: rows and widths of its anchor samples.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SizeSamples {
    n: f64,
    sy: f64,
    sw: f64,
    syy: f64,
    syw: f64,
}

impl SizeSamples {
    pub fn add(&mut self, row: f32, width: f32) {
        let (y, w) = (row as f64, width as f64);
        self.n += 1.0;
        self.sy += y;
        self.sw += w;
        self.syy += y * y;
        self.syw += y * w;
    }

    pub fn count(&self) -> u32 {
        self.n as u32
    }

    /// Mean row and mean width.
    pub fn means(&self) -> Option<(f32, f32)> {
        (self.n > 0.0).then(|| ((self.sy / self.n) as f32, (self.sw / self.n) as f32))
    }

    fn merge(&mut self, o: &SizeSamples) {
        self.n += o.n;
        self.sy += o.sy;
        self.sw += o.sw;
        self.syy += o.syy;
        self.syw += o.syw;
    }
}

/// Two-wheeler width against image row for one camera.
#[derive(Debug, Clone, Default)]
pub struct SizeModel {
    two_wheelers: SizeSamples,
    tracks: u32,
    min_tracks: u32,
}

impl SizeModel {
    pub fn new(min_tracks: u32) -> SizeModel {
        SizeModel { min_tracks, ..Default::default() }
    }

    /// A finished track that was clearly a two-wheeler teaches the model its sizes.
    pub fn learn_two_wheeler(&mut self, samples: &SizeSamples) {
        if samples.count() >= 3 {
            self.two_wheelers.merge(samples);
            self.tracks += 1;
        }
    }

    /// Expected two-wheeler box width at `row`.
    pub fn expected_width(&self, row: f32) -> Option<f32> {
        let s = &self.two_wheelers;
        if self.tracks < self.min_tracks.max(1) || s.n < 3.0 {
            return None;
        }
        let (my, mw) = (s.sy / s.n, s.sw / s.n);
        let var_y = s.syy / s.n - my * my;
        let cov = s.syw / s.n - my * mw;
        // Too little spread in rows for a slope: a constant width is the honest model.
        let slope = if var_y > 400.0 { cov / var_y } else { 0.0 };
        let w = mw + slope * (row as f64 - my);
        // Beyond the rows seen the line may cross zero; never extrapolate below a third
        // of the mean width.
        Some(w.max(mw / 3.0) as f32)
    }

    /// Width of a track's boxes relative to a two-wheeler at its rows.
    pub fn width_ratio(&self, samples: &SizeSamples) -> Option<f32> {
        let (row, width) = samples.means()?;
        Some(width / self.expected_width(row)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-wheeler track on a road whose horizon is at y = 100: width 0.2·(y − 100).
    fn bike(rows: std::ops::Range<u32>, scale: f32) -> SizeSamples {
        let mut s = SizeSamples::default();
        for y in rows.step_by(20) {
            s.add(y as f32, scale * 0.2 * (y as f32 - 100.0));
        }
        s
    }

    #[test]
    fn learns_width_against_row_and_waits_for_evidence() {
        let mut m = SizeModel::new(3);
        m.learn_two_wheeler(&bike(300..700, 1.0));
        m.learn_two_wheeler(&bike(400..600, 1.0));
        assert_eq!(m.expected_width(500.0), None, "two tracks are not enough");
        m.learn_two_wheeler(&bike(200..500, 1.0));
        let w = m.expected_width(600.0).unwrap();
        assert!((w - 100.0).abs() < 1.0, "{w}");
        assert!((m.expected_width(300.0).unwrap() - 40.0).abs() < 1.0);
    }

    #[test]
    fn a_car_sized_box_is_wider_than_a_motorbike_sized_one() {
        let mut m = SizeModel::new(3);
        for _ in 0..5 {
            m.learn_two_wheeler(&bike(300..700, 1.0));
        }
        assert!((m.width_ratio(&bike(350..450, 1.0)).unwrap() - 1.0).abs() < 0.05);
        assert!(m.width_ratio(&bike(350..450, 2.4)).unwrap() > 2.0);
    }

    #[test]
    fn rows_without_spread_give_a_constant_width() {
        let mut m = SizeModel::new(1);
        let mut s = SizeSamples::default();
        for _ in 0..10 {
            s.add(400.0, 50.0);
        }
        m.learn_two_wheeler(&s);
        assert_eq!(m.expected_width(100.0), Some(50.0));
    }
}
