//! Per-track counting state machine. Consumes the tracker's view of each frame and
//! emits finalised `CountEvent`s. See the module header of `count` for the rules.
//!
//! Invariants: a track produces at most one line event per line, and at most one
//! movement; every event is emitted exactly once, either when its decision delay has
//! passed or when its track ends.

use std::collections::{HashMap, VecDeque};

use protocol::VehicleClass;

use super::size::{SizeModel, SizeSamples};
use super::{CountSettings, Direction, LineDef, ZoneDef, class};
use crate::geometry::{BBox, Point};
use crate::track::{Track, TrackState};
use protocol::calibration::{Calibration, speed_kmh};

#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    Line { line: usize, direction: Direction },
    ZoneEnter { zone: usize },
    ZoneDwell { zone: usize, seconds: f64 },
    Movement { from: String, to: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CountEvent {
    pub kind: EventKind,
    pub class: VehicleClass,
    pub at_ms: i64,
    pub track: u64,
    /// Line crossings on a calibrated camera: the vehicle's speed on the road (km/h).
    pub speed_kmh: Option<f64>,
}

#[derive(Debug, Clone)]
struct Pending {
    kind: EventKind,
    track: u64,
    at_ms: i64,
    due_ms: i64,
}

/// What the counter knows about one track: where it started and is, which side of
/// each line it is on, what it has been counted for, and its class votes.
#[derive(Debug, Clone)]
struct TrackProgress {
    last_anchor: Point,
    first_anchor: Point,
    /// Top-centre of the box when first seen and last seen.
    first_top: Point,
    last_top: Point,
    first_ms: i64,
    last_ms: i64,
    height_sum: f32,
    samples: u32,
    /// Settled side per line: -1 left of A→B, +1 right, 0 not yet known.
    side: Vec<i8>,
    /// First seen with the anchor on the line (inside the travel margin).
    born_on_line: Vec<bool>,
    first_width: f32,
    last_width: f32,
    /// Where and when the anchor passed a line, awaiting the travel margin.
    passing: Vec<Option<(Point, i64)>>,
    counted: Vec<bool>,
    /// Entry time per zone while inside.
    inside: Vec<Option<i64>>,
    /// Lines crossed and zones entered, in order (for movements).
    touches: Vec<String>,
    votes: [f32; 6],
    /// Rows and widths of its boxes (the size model).
    sizes: SizeSamples,
    /// Its anchor over the last `PATH_MS` (calibrated cameras only: speeds).
    path: VecDeque<(i64, Point)>,
}

/// How much of a track's path is kept for its speed: the window either side of a
/// crossing, plus the decision delay that passes before the crossing is decided.
const PATH_MS: i64 = 4_000;
/// A crossing's speed is measured over the anchor's path this long either side of it.
const SPEED_WINDOW_MS: i64 = 1_000;
/// Fewest samples, and shortest time span, a speed is measured over.
const SPEED_MIN_SAMPLES: usize = 4;
const SPEED_MIN_SPAN_MS: i64 = 300;

/// The speed at a crossing at `at_ms`, from the path around it.
fn crossing_speed(calibration: Option<&Calibration>, path: &VecDeque<(i64, Point)>, at_ms: i64) -> Option<f64> {
    let calibration = calibration?;
    let samples: Vec<(f64, [f64; 2])> = path
        .iter()
        .filter(|(t, _)| (t - at_ms).abs() <= SPEED_WINDOW_MS)
        .map(|(t, p)| ((t - at_ms) as f64 / 1000.0, [p.x as f64, p.y as f64]))
        .collect();
    let span_ms = samples.last().map_or(0.0, |l| l.0) - samples.first().map_or(0.0, |f| f.0);
    if samples.len() < SPEED_MIN_SAMPLES || span_ms * 1000.0 < SPEED_MIN_SPAN_MS as f64 {
        return None;
    }
    speed_kmh(calibration, &samples).filter(|v| v.is_finite())
}

/// The class of a track: its votes and speed, then the camera's size model.
fn decide(st: &TrackProgress, size: &SizeModel, s: &CountSettings) -> Option<VehicleClass> {
    class::by_size(class::decide(&st.votes, st.speed(), s), &st.sizes, size, s)
}

/// True when the whole box moved across the line, not only its bottom edge: the top
/// of the box moved the same way by at least 30 % of the anchor's travel. A box that
/// grows downwards over a static object, or whose bottom jumps while the vehicle waits,
/// moves its anchor alone.
fn body_moved(seg: &crate::geometry::Segment, st: &TrackProgress, anchor: Point, top: Point) -> bool {
    let d_anchor = seg.signed_distance(anchor) - seg.signed_distance(st.first_anchor);
    let d_top = seg.signed_distance(top) - seg.signed_distance(st.first_top);
    d_anchor * d_top > 0.0 && d_top.abs() >= 0.3 * d_anchor.abs()
}

impl TrackProgress {
    /// A track first seen with box `first` at `first_ms`: its side of each line, and
    /// whether it was born on one.
    fn start(first_box: &BBox, first_ms: i64, lines: &[LineDef], settings: &CountSettings, zones: usize) -> Self {
        // The origin side comes from where the track was first seen, even if it was
        // confirmed a few frames later.
        let first = first_box.anchor();
        let margin = settings.min_travel_px.max(settings.min_travel * first_box.height());
        let d: Vec<f32> = lines.iter().map(|l| l.segment.signed_distance(first)).collect();
        let first_top = Point::new(first.x, first_box.y1);
        TrackProgress {
            last_anchor: first,
            first_anchor: first,
            first_top,
            last_top: first_top,
            first_ms,
            last_ms: first_ms,
            height_sum: 0.0,
            samples: 0,
            side: d.iter().map(|d| if d.abs() >= margin { sign(*d) } else { 0 }).collect(),
            born_on_line: d.iter().map(|d| d.abs() < margin).collect(),
            first_width: first_box.width(),
            last_width: first_box.width(),
            passing: vec![None; lines.len()],
            counted: vec![false; lines.len()],
            inside: vec![None; zones],
            touches: Vec::new(),
            votes: [0.0; 6],
            sizes: SizeSamples::default(),
            path: VecDeque::new(),
        }
    }

    fn speed(&self) -> f32 {
        let dt = (self.last_ms - self.first_ms) as f32 / 1000.0;
        let h = self.height_sum / self.samples.max(1) as f32;
        if dt <= 0.0 || h <= 0.0 { 0.0 } else { self.first_anchor.dist(self.last_anchor) / dt / h }
    }
}

fn sign(d: f32) -> i8 {
    if d > 0.0 {
        1
    } else if d < 0.0 {
        -1
    } else {
        0
    }
}

pub struct Counter {
    lines: Vec<LineDef>,
    zones: Vec<ZoneDef>,
    settings: CountSettings,
    state: HashMap<u64, TrackProgress>,
    pending: Vec<Pending>,
    events: Vec<CountEvent>,
    /// Per zone: (vehicles inside, of which stationary) in the last frame.
    occupancy: Vec<(u32, u32)>,
    /// Per zone: when a vehicle last entered it (live presence: time since an arrival).
    last_entry: Vec<Option<i64>>,
    /// Crossings of the last few seconds.
    recent: Vec<Recent>,
    /// Standing vehicles in the last frame: (track, zone, class so far).
    standing: Vec<(u64, usize, Option<VehicleClass>)>,
    /// This camera's two-wheeler widths by row.
    size: SizeModel,
    /// Image → road plane, for speeds; `None`: uncalibrated, no speeds.
    calibration: Option<Calibration>,
}

/// How long a crossing is remembered to recognise a re-born track as the same vehicle.
const RECENT_MS: i64 = 2_000;

/// A crossing counted in the last `RECENT_MS`.
#[derive(Debug, Clone, Copy)]
struct Recent {
    line: usize,
    point: Point,
    at_ms: i64,
    /// Width of the box that crossed.
    width: f32,
    /// Side it left: the direction.
    from_side: i8,
}

impl Counter {
    pub fn new(lines: Vec<LineDef>, zones: Vec<ZoneDef>, settings: CountSettings) -> Counter {
        let n = zones.len();
        Counter {
            lines,
            zones,
            state: HashMap::new(),
            pending: Vec::new(),
            events: Vec::new(),
            occupancy: vec![(0, 0); n],
            last_entry: vec![None; n],
            recent: Vec::new(),
            standing: Vec::new(),
            size: SizeModel::new(settings.size_min_tracks),
            settings,
            calibration: None,
        }
    }

    /// Measures the speed of each line crossing through `calibration`.
    pub fn with_calibration(mut self, calibration: Option<Calibration>) -> Counter {
        self.calibration = calibration;
        self
    }

    pub fn lines(&self) -> &[LineDef] {
        &self.lines
    }

    pub fn zones(&self) -> &[ZoneDef] {
        &self.zones
    }

    /// Zone occupancy (inside, stationary) after the last update.
    pub fn occupancy(&self) -> &[(u32, u32)] {
        &self.occupancy
    }

    /// Per zone: when a vehicle last entered it.
    pub fn last_entry(&self) -> &[Option<i64>] {
        &self.last_entry
    }

    /// Tracks standing inside a zone in the last frame: (track, zone, class so far;
    /// `None` for what looks like a pedestrian).
    pub fn standing(&self) -> &[(u64, usize, Option<VehicleClass>)] {
        &self.standing
    }

    /// Takes over the tracks on the road when the geometry changes: each starts from
    /// where it is now, so a vehicle that crossed a line under the old geometry is not
    /// counted again under the new one (one straddling a line now may go uncounted).
    pub fn adopt(&mut self, tracks: &[Track], at_ms: i64) {
        let nz = self.zones.len();
        for t in tracks.iter().filter(|t| t.state == TrackState::Confirmed) {
            let mut st = TrackProgress::start(&t.bbox, at_ms, &self.lines, &self.settings, nz);
            st.votes = t.votes;
            self.state.insert(t.id, st);
        }
    }

    /// Finalised events since the last call.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, CountEvent> {
        self.events.drain(..)
    }

    /// One frame: `tracks` are the live tracks, `ended` those that ended this frame.
    pub fn update(&mut self, tracks: &[Track], ended: &[Track], at_ms: i64, fps: f32) {
        for t in tracks.iter().filter(|t| t.observed && t.state == TrackState::Confirmed) {
            self.observe(t, at_ms);
        }
        self.occupancy.iter_mut().for_each(|o| *o = (0, 0));
        self.standing.clear();
        for t in tracks.iter().filter(|t| t.state != TrackState::Tentative) {
            let Some(st) = self.state.get(&t.id) else { continue };
            let (vx, vy) = t.velocity();
            let stationary =
                (vx * vx + vy * vy).sqrt() * fps / t.bbox.height().max(1.0) < self.settings.queue_max_speed;
            for (z, inside) in st.inside.iter().enumerate() {
                if inside.is_some() {
                    self.occupancy[z].0 += 1;
                    self.occupancy[z].1 += stationary as u32;
                    if stationary {
                        self.standing.push((t.id, z, decide(st, &self.size, &self.settings)));
                    }
                }
            }
        }
        for t in ended {
            self.end(t.id, t.last_seen_ms);
        }
        self.settle(at_ms);
    }

    /// End of stream: every remaining track ends now.
    pub fn finish(&mut self, tracks: &[Track], at_ms: i64) {
        for t in tracks {
            self.end(t.id, t.last_seen_ms.min(at_ms));
        }
        self.settle(i64::MAX);
    }

    fn observe(&mut self, t: &Track, at_ms: i64) {
        let anchor = t.bbox.anchor();
        let nz = self.zones.len();
        let settings = &self.settings;
        let lines = &self.lines;
        let st = self
            .state
            .entry(t.id)
            .or_insert_with(|| TrackProgress::start(&t.first_bbox, t.first_seen_ms, lines, settings, nz));
        if self.calibration.is_some() {
            st.path.push_back((at_ms, anchor));
            while st.path.front().is_some_and(|(t, _)| at_ms - t > PATH_MS) {
                st.path.pop_front();
            }
        }
        st.votes = t.votes;
        st.last_width = t.bbox.width();
        st.sizes.add(anchor.y, t.bbox.width());
        st.height_sum += t.bbox.height();
        st.samples += 1;
        let margin = self.settings.min_travel_px.max(self.settings.min_travel * t.bbox.height());
        let top = Point::new(anchor.x, t.bbox.y1);
        for (i, line) in self.lines.iter().enumerate() {
            if st.counted[i] {
                continue;
            }
            let seg = &line.segment;
            let d = seg.signed_distance(anchor);
            if st.side[i] == 0 {
                if d.abs() < margin || (st.born_on_line[i] && !body_moved(seg, st, anchor, top)) {
                    continue;
                }
                if !st.born_on_line[i] {
                    st.side[i] = sign(d);
                    continue;
                }
                // First seen on the line (a late detection, or a queue at the stop
                // line): it crosses towards the side it leaves to — unless a vehicle
                // just crossed here, in which case this is that vehicle re-found under
                // a new id.
                st.side[i] = -sign(d);
                let p = st.first_anchor;
                let duplicate = self.recent.iter().any(|r| {
                    r.line == i && at_ms - r.at_ms <= RECENT_MS && r.point.dist(p) < st.first_width.max(t.bbox.width())
                });
                if duplicate {
                    st.counted[i] = true;
                } else {
                    let first_ms = st.first_ms;
                    Self::cross(
                        &self.settings,
                        &self.lines,
                        &mut self.pending,
                        &mut self.recent,
                        st,
                        i,
                        p,
                        first_ms,
                        t.id,
                    );
                }
                continue;
            }
            if sign(d) == -st.side[i] {
                if st.passing[i].is_none() {
                    // Interpolate where the path met the line.
                    let d0 = seg.signed_distance(st.last_anchor);
                    let f = if (d0 - d).abs() > 1e-6 { d0 / (d0 - d) } else { 1.0 };
                    let p = Point::new(
                        st.last_anchor.x + (anchor.x - st.last_anchor.x) * f,
                        st.last_anchor.y + (anchor.y - st.last_anchor.y) * f,
                    );
                    st.passing[i] = Some((p, at_ms));
                }
                if d.abs() >= margin && body_moved(seg, st, anchor, top) {
                    let (p, when) = st.passing[i].take().expect("set above");
                    Self::cross(&self.settings, &self.lines, &mut self.pending, &mut self.recent, st, i, p, when, t.id);
                }
            } else if d.abs() >= margin {
                // Back on the origin side: the earlier pass was jitter.
                st.passing[i] = None;
            }
        }
        let due_ms = at_ms + (self.settings.decision_delay_s * 1000.0) as i64;
        for (z, zone) in self.zones.iter().enumerate() {
            let now_inside = zone.polygon.contains(anchor);
            match (st.inside[z], now_inside) {
                (None, true) => {
                    st.inside[z] = Some(at_ms);
                    self.last_entry[z] = Some(at_ms);
                    st.touches.push(zone.name.clone());
                    self.pending.push(Pending { kind: EventKind::ZoneEnter { zone: z }, track: t.id, at_ms, due_ms });
                }
                (Some(entered), false) => {
                    st.inside[z] = None;
                    let seconds = (at_ms - entered) as f64 / 1000.0;
                    self.pending.push(Pending {
                        kind: EventKind::ZoneDwell { zone: z, seconds },
                        track: t.id,
                        at_ms,
                        due_ms,
                    });
                }
                _ => {}
            }
        }
        st.last_anchor = anchor;
        st.last_top = top;
        st.last_ms = at_ms;
    }

    #[allow(clippy::too_many_arguments)]
    fn cross(
        s: &CountSettings,
        lines: &[LineDef],
        pending: &mut Vec<Pending>,
        recent: &mut Vec<Recent>,
        st: &mut TrackProgress,
        i: usize,
        p: Point,
        at_ms: i64,
        track: u64,
    ) {
        let seg = &lines[i].segment;
        st.counted[i] = true;
        let t = seg.projection(p);
        if t < -s.end_tolerance || t > 1.0 + s.end_tolerance {
            return; // passed beside the line, not through it
        }
        let from_side = st.side[i];
        let direction = if from_side < 0 { Direction::Forward } else { Direction::Backward };
        st.side[i] = -st.side[i];
        // A twin: a second box on a vehicle just counted here (its cast shadow, a rider
        // boxed apart from the bike) crosses the same way at nearly the same point and
        // moment. Two vehicles side by side are a body width apart; one behind the other
        // crosses a good fraction of a second later.
        let twin = recent.iter().find(|r| {
            r.line == i
                && r.from_side == from_side
                && (r.at_ms - at_ms).abs() <= (s.twin_window_s * 1000.0) as i64
                && r.point.dist(p) < s.twin_distance * r.width.max(st.last_width)
        });
        if let Some(r) = twin {
            tracing::debug!(
                track,
                line = i,
                dt_ms = at_ms - r.at_ms,
                offset = r.point.dist(p) / r.width.max(st.last_width),
                "crossing twins one just counted: not counted again"
            );
        }
        let twin = twin.is_some();
        recent.push(Recent { line: i, point: p, at_ms, width: st.last_width, from_side });
        if twin {
            return;
        }
        st.touches.push(lines[i].name.clone());
        let delay = (s.decision_delay_s * 1000.0) as i64;
        pending.push(Pending { kind: EventKind::Line { line: i, direction }, track, at_ms, due_ms: at_ms + delay });
    }

    fn end(&mut self, id: u64, at_ms: i64) {
        let Some(mut st) = self.state.remove(&id) else { return };
        for i in 0..self.lines.len() {
            if let Some((p, when)) = st.passing[i].take()
                && !st.counted[i]
                && body_moved(&self.lines[i].segment, &st, st.last_anchor, st.last_top)
            {
                Self::cross(&self.settings, &self.lines, &mut self.pending, &mut self.recent, &mut st, i, p, when, id);
            }
        }
        for z in 0..self.zones.len() {
            if let Some(entered) = st.inside[z].take() {
                let seconds = (st.last_ms - entered) as f64 / 1000.0;
                // Decided below with the rest of this track's events.
                self.pending.push(Pending {
                    kind: EventKind::ZoneDwell { zone: z, seconds },
                    track: id,
                    at_ms: st.last_ms,
                    due_ms: st.last_ms,
                });
            }
        }
        let class = decide(&st, &self.size, &self.settings);
        if st.samples >= 5 && class::clearly_two_wheeler(&st.votes) {
            self.size.learn_two_wheeler(&st.sizes);
        }
        tracing::debug!(
            track = id,
            ?class,
            votes = ?st.votes,
            speed = st.speed(),
            touches = ?st.touches,
            first = ?st.first_anchor,
            last = ?st.last_anchor,
            samples = st.samples,
            "track ended"
        );
        // Everything still pending for this track is decided now.
        let (mine, rest): (Vec<Pending>, Vec<Pending>) = self.pending.drain(..).partition(|p| p.track == id);
        self.pending = rest;
        if let Some(class) = class {
            for p in mine {
                let speed_kmh = self.speed_of(&p.kind, &st, p.at_ms);
                self.events.push(CountEvent { kind: p.kind, class, at_ms: p.at_ms, track: id, speed_kmh });
            }
            if st.touches.len() >= 2 {
                let (from, to) = (st.touches[0].clone(), st.touches[st.touches.len() - 1].clone());
                if from != to {
                    let kind = EventKind::Movement { from, to };
                    self.events.push(CountEvent { kind, class, at_ms, track: id, speed_kmh: None });
                }
            }
        }
    }

    /// A line crossing's speed; other events have none.
    fn speed_of(&self, kind: &EventKind, st: &TrackProgress, at_ms: i64) -> Option<f64> {
        match kind {
            EventKind::Line { .. } => crossing_speed(self.calibration.as_ref(), &st.path, at_ms),
            _ => None,
        }
    }

    /// Decides pending events whose delay has passed.
    fn settle(&mut self, now_ms: i64) {
        self.recent.retain(|r| now_ms - r.at_ms <= RECENT_MS);
        let mut i = 0;
        while i < self.pending.len() {
            let p = &self.pending[i];
            if p.due_ms > now_ms {
                i += 1;
                continue;
            }
            let p = self.pending.swap_remove(i);
            let Some(st) = self.state.get(&p.track) else { continue };
            let class = decide(st, &self.size, &self.settings);
            tracing::debug!(
                track = p.track,
                ?class,
                kind = ?p.kind,
                at_ms = p.at_ms,
                votes = ?st.votes,
                speed = st.speed(),
                "event decided"
            );
            if let Some(class) = class {
                let speed_kmh = self.speed_of(&p.kind, st, p.at_ms);
                self.events.push(CountEvent { kind: p.kind, class, at_ms: p.at_ms, track: p.track, speed_kmh });
            }
        }
    }
}
