//! Tracking stage: per-frame detections → tracks with stable ids (ByteTrack-class).
//!
//! Association runs in three rounds (ByteTrack): confirmed and lost tracks against
//! high-score boxes, then still-unmatched confirmed tracks against low-score boxes (the
//! partly hidden vehicles a plain tracker drops), then tentative tracks against the
//! leftover high-score boxes. Matching ignores class: detectors flip between car/truck
//! or rider/motorbike on one vehicle, and the track accumulates class votes instead.
//! A track is born tentative, confirmed after `birth_hits` consecutive matches, and
//! survives `lost_buffer_s` without detections on Kalman prediction, so a short
//! occlusion does not split it (or lose its line crossing).

pub mod assign;
pub mod kalman;

use serde::Deserialize;

use crate::detect::Detection;
use crate::geometry::BBox;
use kalman::Kalman;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrackerSettings {
    /// Boxes at or above this score are "high" (first association, births).
    pub high_score: f32,
    /// Lowest score a new track may start from.
    pub new_track_score: f32,
    /// Minimum IoU in the first (high-score) association.
    pub match_iou: f32,
    /// Minimum IoU when matching low-score boxes.
    pub low_match_iou: f32,
    /// Minimum IoU for tentative tracks.
    pub tentative_match_iou: f32,
    /// Tentative tracks match on boxes grown by this fraction of their size on each side
    /// (buffered IoU, C-BIoU): a new track has no velocity yet, and a fast vehicle seen
    /// at a low or irregular frame rate may not overlap its last box at all.
    pub tentative_buffer: f32,
    /// Consecutive matches before a track is confirmed.
    pub birth_hits: u32,
    /// Seconds a track survives unmatched.
    pub lost_buffer_s: f32,
}

impl Default for TrackerSettings {
    fn default() -> Self {
        TrackerSettings {
            high_score: 0.45,
            new_track_score: 0.5,
            match_iou: 0.2,
            low_match_iou: 0.3,
            tentative_match_iou: 0.3,
            tentative_buffer: 0.3,
            birth_hits: 2,
            lost_buffer_s: 1.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackState {
    Tentative,
    Confirmed,
    Lost,
}

#[derive(Debug, Clone)]
pub struct Track {
    pub id: u64,
    pub state: TrackState,
    kf: Kalman,
    /// Filtered box at the last matched frame.
    pub bbox: BBox,
    /// Box of the first detection (where the vehicle was first seen).
    pub first_bbox: BBox,
    /// Sum of per-class scores over matched frames, indexed by `ObjectClass::index`.
    pub votes: [f32; 6],
    pub hits: u32,
    /// Frames since the last match.
    pub missed: u32,
    /// Matched in the current frame.
    pub observed: bool,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// Frame index of the last match.
    pub last_frame: u64,
}

impl Track {
    /// Predicted (or, right after a match, filtered) box.
    pub fn predicted(&self) -> BBox {
        BBox::from_xyah(self.kf.measurement())
    }

    /// Estimated velocity of the box centre, pixels per frame.
    pub fn velocity(&self) -> (f32, f32) {
        (self.kf.mean[4], self.kf.mean[5])
    }

    fn observe(&mut self, det: &Detection, frame: u64, at_ms: i64) {
        self.kf.update(det.bbox.to_xyah());
        // Keep the detection's bottom edge: the anchor must follow the tyres, not the
        // filter's lag, while x and size are smoothed.
        let f = BBox::from_xyah(self.kf.measurement());
        self.bbox = BBox::new(f.x1, f.y1.min(det.bbox.y2 - 1.0), f.x2, det.bbox.y2);
        for (v, s) in self.votes.iter_mut().zip(det.class_scores) {
            *v += s;
        }
        self.hits += 1;
        self.missed = 0;
        self.observed = true;
        self.last_seen_ms = at_ms;
        self.last_frame = frame;
    }
}

pub struct Tracker {
    settings: TrackerSettings,
    fps: f32,
    tracks: Vec<Track>,
    ended: Vec<Track>,
    next_id: u64,
    frame: u64,
}

impl Tracker {
    /// `fps` sizes the lost-track buffer in frames.
    pub fn new(settings: TrackerSettings, fps: f32) -> Tracker {
        Tracker { settings, fps: fps.max(1.0), tracks: Vec::new(), ended: Vec::new(), next_id: 1, frame: 0 }
    }

    pub fn set_fps(&mut self, fps: f32) {
        self.fps = fps.max(1.0);
    }

    /// Live tracks (any state) after the last update.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// Tracks that ended in the last update (lost too long, or tentative and unmatched).
    pub fn ended(&self) -> &[Track] {
        &self.ended
    }

    /// Ends every track (end of stream).
    pub fn finish(&mut self) -> Vec<Track> {
        std::mem::take(&mut self.tracks)
    }

    /// One frame, one frame period after the last.
    pub fn update(&mut self, dets: &[Detection], at_ms: i64) {
        self.update_steps(dets, at_ms, 1.0);
    }

    /// One frame, `steps` frame periods after the last (more after dropped or skipped
    /// frames, less after a short interval of a variable-rate stream).
    pub fn update_steps(&mut self, dets: &[Detection], at_ms: i64, steps: f32) {
        let s = self.settings.clone();
        self.frame += 1;
        self.ended.clear();
        for t in &mut self.tracks {
            t.kf.predict_by(steps);
            t.observed = false;
        }
        let (high, low): (Vec<usize>, Vec<usize>) = (0..dets.len()).partition(|&i| dets[i].score >= s.high_score);

        // Round 1: confirmed + lost tracks vs high-score boxes.
        let pool: Vec<usize> =
            (0..self.tracks.len()).filter(|&i| self.tracks[i].state != TrackState::Tentative).collect();
        let a1 = self.associate(&pool, dets, &high, s.match_iou, 0.0, at_ms);
        // Round 2: unmatched confirmed (not lost) tracks vs low-score boxes.
        let pool2: Vec<usize> =
            a1.unmatched_tracks.iter().copied().filter(|&i| self.tracks[i].state == TrackState::Confirmed).collect();
        let a2 = self.associate(&pool2, dets, &low, s.low_match_iou, 0.0, at_ms);
        // Round 3: tentative tracks vs leftover high-score boxes.
        let pool3: Vec<usize> =
            (0..self.tracks.len()).filter(|&i| self.tracks[i].state == TrackState::Tentative).collect();
        let a3 = self.associate(&pool3, dets, &a1.unmatched_dets, s.tentative_match_iou, s.tentative_buffer, at_ms);

        for t in &mut self.tracks {
            if t.observed {
                if t.state == TrackState::Lost || (t.state == TrackState::Tentative && t.hits >= s.birth_hits) {
                    t.state = TrackState::Confirmed;
                }
            } else {
                t.missed += 1;
                t.hits = if t.state == TrackState::Tentative { 0 } else { t.hits };
                if t.state == TrackState::Confirmed {
                    t.state = TrackState::Lost;
                }
            }
        }
        // The lost buffer is time, not frames: skipped repeats and drops do not age a track.
        let max_lost_ms = (s.lost_buffer_s * 1000.0) as i64;
        let mut i = 0;
        while i < self.tracks.len() {
            let t = &self.tracks[i];
            let dead = (t.state == TrackState::Tentative && !t.observed) || at_ms - t.last_seen_ms > max_lost_ms;
            if dead {
                self.ended.push(self.tracks.swap_remove(i));
            } else {
                i += 1;
            }
        }
        for &d in &a3.unmatched_dets {
            let det = &dets[d];
            if det.score < s.new_track_score {
                continue;
            }
            let mut track = Track {
                id: self.next_id,
                state: TrackState::Tentative,
                kf: Kalman::new(det.bbox.to_xyah()),
                bbox: det.bbox,
                first_bbox: det.bbox,
                votes: [0.0; 6],
                hits: 0,
                missed: 0,
                observed: false,
                first_seen_ms: at_ms,
                last_seen_ms: at_ms,
                last_frame: self.frame,
            };
            self.next_id += 1;
            track.observe(det, self.frame, at_ms);
            track.bbox = det.bbox;
            if s.birth_hits <= 1 {
                track.state = TrackState::Confirmed;
            }
            self.tracks.push(track);
        }
        let _ = a2;
    }

    /// Matches `pool` tracks to `cand` detections; applies the matches.
    fn associate(
        &mut self,
        pool: &[usize],
        dets: &[Detection],
        cand: &[usize],
        min_iou: f32,
        buffer: f32,
        at_ms: i64,
    ) -> assign::Assignment {
        let grow = |b: BBox| {
            let (dx, dy) = (buffer * b.width(), buffer * b.height());
            BBox::new(b.x1 - dx, b.y1 - dy, b.x2 + dx, b.y2 + dy)
        };
        let tboxes: Vec<BBox> = pool.iter().map(|&i| grow(self.tracks[i].predicted())).collect();
        let dboxes: Vec<BBox> = cand.iter().map(|&d| grow(dets[d].bbox)).collect();
        let a = assign::by_iou(&tboxes, &dboxes, min_iou);
        let frame = self.frame;
        for &(t, d) in &a.pairs {
            self.tracks[pool[t]].observe(&dets[cand[d]], frame, at_ms);
        }
        assign::Assignment {
            pairs: a.pairs.iter().map(|&(t, d)| (pool[t], cand[d])).collect(),
            unmatched_tracks: a.unmatched_tracks.iter().map(|&t| pool[t]).collect(),
            unmatched_dets: a.unmatched_dets.iter().map(|&d| cand[d]).collect(),
        }
    }
}

#[cfg(test)]
mod tests;
