//! Camera-moved detection: has the camera's view shifted since the counting lines were
//! drawn? A pole knocked by a truck, a bracket loosened by wind or a technician's
//! re-aim silently breaks every line and zone; operators must know.
//!
//! How: about once a second the preparer takes a small luma thumbnail of the frame
//! (`Thumb`, 80×45) and the watch looks at its edge image (gradient magnitude). A knock
//! is a *jump*: the edges of one check match the previous check's far better shifted by
//! a few pixels than in place (normalised cross-correlation over shifts up to
//! ±`MAX_SHIFT`) — traffic moves parts of the picture, a knock moves all of it. The jump
//! is a move once the next `confirm` checks still match the pre-jump view better at that
//! shift (a shake that comes back is not). Separately, edges falling under a quarter of
//! the view's normal detail (learnt over `learn_s`) for `confirm` checks is a lost view
//! (covered, dark, fogged), reported once until it recovers. A slow drift, under a pixel
//! per check, is not seen.
//!
//! Invariants: nothing is reported while learning; one report per move or loss.

use protocol::messages::{Incident, IncidentKind};
use serde::Deserialize;

pub const THUMB_W: usize = 80;
pub const THUMB_H: usize = 45;
const MAX_SHIFT: i32 = 6;

/// `[scene]` in the agent config.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SceneSettings {
    /// Report when the view moves (`camera_moved` incident).
    pub moved_alert: bool,
    /// Seconds between thumbnails.
    pub check_every_s: f64,
    /// Seconds of video the view's normal detail is learnt from.
    pub learn_s: f64,
    /// Consecutive checks that must agree before a move is reported.
    pub confirm: u32,
    /// Smallest shift reported, in thumbnail pixels (1 px = 1/80 of the width).
    pub min_shift: i32,
}

impl Default for SceneSettings {
    fn default() -> Self {
        SceneSettings { moved_alert: true, check_every_s: 1.0, learn_s: 60.0, confirm: 10, min_shift: 2 }
    }
}

impl SceneSettings {
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if !(self.check_every_s.is_finite() && (0.1..=60.0).contains(&self.check_every_s)) {
            out.push(("check_every_s".into(), format!("{} is outside 0.1..=60", self.check_every_s)));
        }
        if !(self.learn_s.is_finite() && self.learn_s >= self.check_every_s && self.learn_s <= 3600.0) {
            out.push(("learn_s".into(), format!("{} must be within check_every_s..=3600", self.learn_s)));
        }
        if !(1..=600).contains(&self.confirm) {
            out.push(("confirm".into(), format!("{} is outside 1..=600", self.confirm)));
        }
        if !(1..=MAX_SHIFT).contains(&self.min_shift) {
            out.push(("min_shift".into(), format!("{} is outside 1..={MAX_SHIFT}", self.min_shift)));
        }
        out
    }
}

/// A luma thumbnail, row-major `THUMB_W × THUMB_H`.
#[derive(Debug, Clone, PartialEq)]
pub struct Thumb {
    pub at_ms: i64,
    pub luma: Vec<f32>,
}

fn edges(luma: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; THUMB_W * THUMB_H];
    for y in 1..THUMB_H - 1 {
        for x in 1..THUMB_W - 1 {
            let i = y * THUMB_W + x;
            out[i] = (luma[i + 1] - luma[i - 1]).abs() + (luma[i + THUMB_W] - luma[i - THUMB_W]).abs();
        }
    }
    out
}

/// Normalised cross-correlation of `a` with `b` moved by (dx, dy), over their overlap
/// (borders excluded).
fn ncc(a: &[f32], b: &[f32], dx: i32, dy: i32) -> f32 {
    let m = MAX_SHIFT + 1;
    let (mut sa, mut sb, mut n) = (0.0f64, 0.0f64, 0.0f64);
    let pairs = || {
        (m..THUMB_H as i32 - m).flat_map(move |y| {
            (m..THUMB_W as i32 - m)
                .map(move |x| (a[(y * THUMB_W as i32 + x) as usize], b[((y + dy) * THUMB_W as i32 + x + dx) as usize]))
        })
    };
    for (p, q) in pairs() {
        sa += p as f64;
        sb += q as f64;
        n += 1.0;
    }
    let (ma, mb) = (sa / n, sb / n);
    let (mut num, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (p, q) in pairs() {
        let (p, q) = (p as f64 - ma, q as f64 - mb);
        num += p * q;
        va += p * p;
        vb += q * q;
    }
    if va <= 1e-9 || vb <= 1e-9 { 0.0 } else { (num / (va * vb).sqrt()) as f32 }
}

/// Best alignment of `b` on `a` within ±`MAX_SHIFT`: (dx, dy, its correlation) and the
/// correlation with no shift.
fn align(a: &[f32], b: &[f32]) -> ((i32, i32), f32, f32) {
    let unshifted = ncc(a, b, 0, 0);
    let (mut best, mut at) = (unshifted, (0, 0));
    for dy in -MAX_SHIFT..=MAX_SHIFT {
        for dx in -MAX_SHIFT..=MAX_SHIFT {
            let c = ncc(a, b, dx, dy);
            if c > best + 1e-6 {
                best = c;
                at = (dx, dy);
            }
        }
    }
    (at, best, unshifted)
}

/// How much better a shifted alignment must match than none to be a jump of the view
/// (measured on the shared junction clip: traffic alone stays under 0.05, a 5 % knock
/// gives 0.46).
const JUMP_MARGIN: f32 = 0.2;

/// A jump seen, waiting to be confirmed.
struct Candidate {
    /// Edges just before the jump, and the shift that maps them onto the new view.
    before: Vec<f32>,
    shift: (i32, i32),
    checks: u32,
    best: f32,
    unshifted: f32,
}

pub struct SceneWatch {
    settings: SceneSettings,
    prev: Option<Vec<f32>>,
    /// Mean edge energy over the learning period (the view's normal texture).
    energy_sum: f64,
    learnt: u32,
    baseline: Option<f64>,
    candidate: Option<Candidate>,
    dark_checks: u32,
    /// A dark / covered view was reported and has not recovered since.
    in_change: bool,
    moves: u32,
}

impl SceneWatch {
    pub fn new(settings: SceneSettings) -> SceneWatch {
        SceneWatch {
            settings,
            prev: None,
            energy_sum: 0.0,
            learnt: 0,
            baseline: None,
            candidate: None,
            dark_checks: 0,
            in_change: false,
            moves: 0,
        }
    }

    pub fn check_every_ms(&self) -> u64 {
        (self.settings.check_every_s * 1000.0) as u64
    }

    /// One thumbnail; returns a `camera_moved` incident when a move (or a covered, dark
    /// view) is confirmed.
    pub fn observe(&mut self, thumb: &Thumb) -> Option<Incident> {
        let e = edges(&thumb.luma);
        let energy: f64 = e.iter().map(|v| *v as f64).sum();
        let prev = self.prev.replace(e.clone());
        let Some(baseline) = self.baseline else {
            // Learning the view's normal edge energy; no verdict before it is known.
            self.energy_sum += energy;
            self.learnt += 1;
            if self.learnt as f64 * self.settings.check_every_s >= self.settings.learn_s {
                self.baseline = Some(self.energy_sum / self.learnt as f64);
            }
            return None;
        };
        let detail = self.dark(energy, baseline).or_else(|| self.moved(prev.as_deref(), &e))?;
        if !self.settings.moved_alert {
            return None;
        }
        self.moves += 1;
        Some(Incident {
            camera_id: String::new(),
            incident_id: format!("moved{}", self.moves),
            kind: IncidentKind::CameraMoved,
            at_ms: thumb.at_ms,
            line: None,
            zone: None,
            class: None,
            stopped_s: None,
            detail: Some(detail),
        })
    }

    /// Covered, dark or fogged: edges under a quarter of normal for `confirm` checks;
    /// reported once until they recover.
    fn dark(&mut self, energy: f64, baseline: f64) -> Option<String> {
        if energy >= 0.25 * baseline {
            self.dark_checks = 0;
            if energy >= 0.5 * baseline {
                self.in_change = false;
            }
            return None;
        }
        self.dark_checks += 1;
        if self.in_change || self.dark_checks < self.settings.confirm {
            return None;
        }
        self.in_change = true;
        Some(format!(
            "view lost: {:.0} % of its normal detail (covered, dark or fogged); counting is unreliable",
            100.0 * energy / baseline
        ))
    }

    /// A jump between consecutive checks that the following `confirm` checks keep.
    fn moved(&mut self, prev: Option<&[f32]>, e: &[f32]) -> Option<String> {
        if let Some(c) = self.candidate.as_mut() {
            let kept = ncc(&c.before, e, c.shift.0, c.shift.1) - ncc(&c.before, e, 0, 0) > 0.1;
            if !kept {
                self.candidate = None; // it came back: a shake, not a move
                return None;
            }
            c.checks += 1;
            if c.checks < self.settings.confirm {
                return None;
            }
            let c = self.candidate.take().expect("checked above");
            return Some(format!(
                "view shifted by about {:.0} % of the width and {:.0} % of the height (match {:.2} shifted, {:.2} in \
                    place); counting lines and zones may no longer fit",
                -c.shift.0 as f32 * 100.0 / THUMB_W as f32,
                -c.shift.1 as f32 * 100.0 / THUMB_H as f32,
                c.best,
                c.unshifted
            ));
        }
        let prev = prev?;
        let (shift, best, unshifted) = align(prev, e);
        if shift.0.abs().max(shift.1.abs()) >= self.settings.min_shift && best - unshifted >= JUMP_MARGIN {
            self.candidate = Some(Candidate { before: prev.to_vec(), shift, checks: 0, best, unshifted });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic street: fixed structure (lines and blocks), shifted by (sx, sy),
    /// with a "vehicle" (bright box) at a moving position.
    fn scene(sx: i32, sy: i32, vehicle_x: usize, at_ms: i64) -> Thumb {
        let mut luma = vec![60.0f32; THUMB_W * THUMB_H];
        for y in 0..THUMB_H as i32 {
            for x in 0..THUMB_W as i32 {
                let (u, v) = (x - sx, y - sy);
                let structure = (u.rem_euclid(17) < 2) as i32 * 90
                    + (v.rem_euclid(11) < 1) as i32 * 70
                    + ((u / 9 + v / 7) % 3 == 0) as i32 * 25;
                luma[(y * THUMB_W as i32 + x) as usize] += structure as f32;
            }
        }
        for y in 20..26 {
            for x in vehicle_x..(vehicle_x + 6).min(THUMB_W) {
                luma[y * THUMB_W + x] = 230.0;
            }
        }
        Thumb { at_ms, luma }
    }

    fn watch() -> SceneWatch {
        SceneWatch::new(SceneSettings {
            moved_alert: true,
            check_every_s: 1.0,
            learn_s: 10.0,
            confirm: 3,
            min_shift: 2,
        })
    }

    #[test]
    fn traffic_alone_is_not_a_move() {
        let mut w = watch();
        for t in 0..120 {
            assert!(w.observe(&scene(0, 0, (t * 7) % 70, t as i64 * 1000)).is_none(), "t={t}");
        }
    }

    #[test]
    fn a_shift_is_reported_once_after_confirmation() {
        let mut w = watch();
        let mut reports = Vec::new();
        for t in 0..60i64 {
            let shifted = if t >= 20 { (4, -3) } else { (0, 0) };
            if let Some(i) = w.observe(&scene(shifted.0, shifted.1, (t as usize * 5) % 70, t * 1000)) {
                reports.push(i);
            }
        }
        assert_eq!(reports.len(), 1, "{reports:?}");
        let r = &reports[0];
        assert_eq!(r.kind, IncidentKind::CameraMoved);
        assert!((22_000..=26_000).contains(&r.at_ms), "confirmed a few checks after the move: {}", r.at_ms);
        assert!(r.detail.as_deref().is_some_and(|d| d.contains("shifted")), "{:?}", r.detail);
    }

    #[test]
    fn a_covered_lens_is_a_change() {
        let mut w = watch();
        let mut reports = 0;
        for t in 0..40i64 {
            let thumb = if t >= 15 {
                Thumb { at_ms: t * 1000, luma: vec![12.0; THUMB_W * THUMB_H] }
            } else {
                scene(0, 0, 10, t * 1000)
            };
            reports += w.observe(&thumb).is_some() as u32;
        }
        assert_eq!(reports, 1);
        // Uncovered: the old view is back, and a later cover is reported again.
        for t in 40..60i64 {
            reports += w.observe(&scene(0, 0, 10, t * 1000)).is_some() as u32;
        }
        assert_eq!(reports, 1, "the view coming back is not a move");
        for t in 60..80i64 {
            reports += w.observe(&Thumb { at_ms: t * 1000, luma: vec![12.0; THUMB_W * THUMB_H] }).is_some() as u32;
        }
        assert_eq!(reports, 2);
    }

    #[test]
    fn settings_are_checked() {
        let bad = SceneSettings { check_every_s: 0.0, learn_s: -1.0, confirm: 0, min_shift: 9, moved_alert: true };
        let fields: Vec<String> = bad.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["check_every_s", "learn_s", "confirm", "min_shift"]);
    }
}
