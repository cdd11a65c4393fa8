//! The junction's view of its cameras' live zone occupancy (`tac/v1/cameras/{id}/presence`,
//! published by the camera agents about once a second), turned into what actuation
//! reads: per movement, the queue standing in its approach's zone and the gap: the time
//! since traffic last moved there — a vehicle entered the zone, or the standing queue
//! shrank (a vehicle in it started off). A queue discharging at the start of a green is
//! moving traffic even before its tail reaches the zone's entry; a queue that stands
//! still (a left turn blocked by the oncoming flow, a lane blocked downstream) is not.
//!
//! Fail-safe: actuation needs every approach watched (a profile approach whose camera
//! line names a `zone`); an approach without one would never call its stage. Any
//! snapshot older than `max_age` (camera down, link down) makes the whole view
//! unavailable, and the controller runs central's plan as timed until it is back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use firmware_profiles::JunctionProfile;
use protocol::messages::{Presence as Snapshot, decode};
use protocol::topics::Topic;

use super::actuation::Presence;

#[derive(Debug)]
pub struct PresenceFeed {
    /// Per approach (profile order): (camera, zone).
    sources: Vec<(String, String)>,
    /// Per movement (profile order): its approach.
    approach_of_movement: Vec<usize>,
    latest: HashMap<String, (Instant, Snapshot)>,
    /// Per (camera, zone): when its standing queue last shrank (snapshot time).
    discharged_ms: HashMap<(String, String), i64>,
    max_age: Duration,
}

impl PresenceFeed {
    /// `Err` names the first approach no camera zone watches.
    pub fn from_profile(profile: &JunctionProfile, max_age: Duration) -> Result<PresenceFeed, String> {
        let mut sources = Vec::new();
        for a in &profile.approaches {
            let watched = a.cameras.iter().find_map(|c| c.zone.as_ref().map(|z| (c.camera.clone(), z.clone())));
            sources.push(watched.ok_or_else(|| format!("approach {:?} has no camera line with a zone", a.id))?);
        }
        let approach_of_movement = profile
            .movements
            .iter()
            .map(|m| profile.approaches.iter().position(|a| a.id == m.approach).unwrap_or(0))
            .collect();
        Ok(PresenceFeed {
            sources,
            approach_of_movement,
            latest: HashMap::new(),
            discharged_ms: HashMap::new(),
            max_age,
        })
    }

    /// The topics to subscribe to.
    pub fn topics(&self) -> Vec<String> {
        let mut cameras: Vec<&String> = self.sources.iter().map(|(c, _)| c).collect();
        cameras.sort();
        cameras.dedup();
        cameras
            .into_iter()
            .filter_map(|camera| Topic::CameraPresence { camera: camera.clone() }.to_topic().ok())
            .collect()
    }

    /// A message on one of `topics()`; malformed or foreign snapshots are refused.
    pub fn offer(&mut self, topic: &str, payload: &[u8], received: Instant) -> Result<(), String> {
        let Ok(Topic::CameraPresence { camera }) = Topic::parse(topic) else {
            return Err(format!("not a presence topic: {topic}"));
        };
        let snapshot = decode::<Snapshot>(payload).map_err(|e| format!("{topic}: {e}"))?.body;
        if snapshot.camera_id != camera {
            return Err(format!("{topic}: snapshot for camera {:?}", snapshot.camera_id));
        }
        if self.latest.get(&camera).is_none_or(|(_, old)| snapshot.at_ms >= old.at_ms) {
            if let Some((_, old)) = self.latest.get(&camera) {
                for (zone, now) in &snapshot.zones {
                    if old.zones.get(zone).is_some_and(|before| now.stationary < before.stationary) {
                        self.discharged_ms.insert((camera.clone(), zone.clone()), snapshot.at_ms);
                    }
                }
            }
            self.latest.insert(camera, (received, snapshot));
        }
        Ok(())
    }

    /// What the cameras see now, or `None` when any approach's view is missing or stale.
    pub fn current(&self, now: Instant) -> Option<Presence> {
        let mut per_approach = Vec::with_capacity(self.sources.len());
        for (camera, zone) in &self.sources {
            let (received, snap) = self.latest.get(camera)?;
            let age = now.checked_duration_since(*received).unwrap_or_default();
            if age > self.max_age {
                return None;
            }
            let z = snap.zones.get(zone)?;
            let moved = z
                .last_entry_ms
                .into_iter()
                .chain(self.discharged_ms.get(&(camera.clone(), zone.clone())).copied())
                .max();
            let gap = moved.map_or(u32::MAX as i64, |t| (snap.at_ms - t).max(0) + age.as_millis() as i64);
            per_approach.push((z.stationary, gap.min(u32::MAX as i64) as u32));
        }
        Some(Presence {
            queued: self.approach_of_movement.iter().map(|&a| per_approach[a].0).collect(),
            gap_ms: self.approach_of_movement.iter().map(|&a| per_approach[a].1).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presence_topic(camera: &str) -> String {
        protocol::topics::Topic::CameraPresence { camera: camera.into() }.to_topic().unwrap()
    }
    use protocol::messages::{Envelope, ZoneNow};

    fn profile(with_zones: bool) -> JunctionProfile {
        let base = JunctionProfile::builtin("hcmc_sample_4arm").unwrap();
        let mut p = base.clone();
        for a in &mut p.approaches {
            for c in &mut a.cameras {
                c.zone = with_zones.then(|| "queue".to_string());
            }
        }
        p
    }

    fn snapshot(camera: &str, at_ms: i64, inside: u32, stationary: u32, last: Option<i64>) -> Vec<u8> {
        let zones = [("queue".to_string(), ZoneNow { inside, stationary, last_entry_ms: last })].into();
        serde_json::to_vec(&Envelope::new(camera, 1, 1, Snapshot { camera_id: camera.into(), at_ms, zones })).unwrap()
    }

    #[test]
    fn every_approach_must_be_watched_and_stale_views_are_dropped() {
        assert!(PresenceFeed::from_profile(&profile(false), Duration::from_secs(3)).unwrap_err().contains("north"));
        let mut feed = PresenceFeed::from_profile(&profile(true), Duration::from_secs(3)).unwrap();
        assert_eq!(feed.topics().len(), 4);
        let t0 = Instant::now();
        for cam in ["cam-n", "cam-s", "cam-e"] {
            feed.offer(&presence_topic(cam), &snapshot(cam, 10_000, 2, 1, Some(10_000)), t0).unwrap();
        }
        assert_eq!(feed.current(t0), None, "west not seen yet");
        feed.offer(&presence_topic("cam-w"), &snapshot("cam-w", 10_000, 0, 0, Some(6_000)), t0).unwrap();
        let p = feed.current(t0 + Duration::from_secs(1)).unwrap();
        let rules = profile(true).rules();
        let w = rules.movements.iter().position(|m| m == "W_T").unwrap();
        let n = rules.movements.iter().position(|m| m == "N_L").unwrap();
        assert_eq!((p.queued[n], p.gap_ms[n]), (1, 1_000), "arrival at the snapshot + 1 s since");
        assert_eq!((p.queued[w], p.gap_ms[w]), (0, 5_000), "4 s before the snapshot + 1 s since");
        assert_eq!(feed.current(t0 + Duration::from_secs(4)), None, "stale");
        // A snapshot for another camera on this camera's topic, or garbage, is refused.
        assert!(feed.offer(&presence_topic("cam-w"), &snapshot("cam-n", 11_000, 0, 0, None), t0).is_err());
        assert!(feed.offer(&presence_topic("cam-w"), b"{", t0).is_err());
    }

    /// Regression (cologne1, cologne3): the gap was the time since a vehicle was last on
    /// the detection line, so a car standing on it looked like a flowing stream (greens
    /// held to their maximum behind a blocked left turn); counted as arrivals only, a
    /// queue discharging from the stop line looked gapped out before its tail moved.
    /// Traffic moves when a vehicle enters or the standing queue shrinks.
    #[test]
    fn a_discharging_queue_flows_and_a_standing_one_gaps_out() {
        let p = profile(true);
        let mut feed = PresenceFeed::from_profile(&p, Duration::from_secs(3)).unwrap();
        let t0 = Instant::now();
        let n = p.rules().movements.iter().position(|m| m == "N_T").unwrap();
        let at = |s: u64| t0 + Duration::from_secs(s);
        // Second 0..3: the north queue (6 standing, last entry at 0) starts off: 6, 5, 4, 3.
        for (s, standing) in [(0u64, 6u32), (1, 5), (2, 4), (3, 3)] {
            for cam in ["cam-n", "cam-s", "cam-e", "cam-w"] {
                let stationary = if cam == "cam-n" { standing } else { 0 };
                feed.offer(
                    &presence_topic(cam),
                    &snapshot(cam, 10_000 + s as i64 * 1000, stationary, stationary, Some(10_000)),
                    at(s),
                )
                .unwrap();
            }
        }
        assert_eq!(feed.current(at(3)).unwrap().gap_ms[n], 0, "the queue shrank this second: flowing");
        // Seconds 4..8: three stand still (blocked), nobody enters.
        for s in 4u64..=8 {
            for cam in ["cam-n", "cam-s", "cam-e", "cam-w"] {
                let stationary = if cam == "cam-n" { 3 } else { 0 };
                feed.offer(
                    &presence_topic(cam),
                    &snapshot(cam, 10_000 + s as i64 * 1000, stationary, stationary, Some(10_000)),
                    at(s),
                )
                .unwrap();
            }
        }
        let now = feed.current(at(8)).unwrap();
        assert_eq!((now.gap_ms[n], now.queued[n]), (5_000, 3), "standing for 5 s: gapped out, 3 waiting");
    }
}
