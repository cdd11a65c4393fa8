//! This product's loop inside SUMO, on simulated time, every message through a real
//! Mosquitto:
//!
//! cameras (one induction loop per incoming lane, read every simulated second) → count
//! reports in the protocol format on `tac/v1/cameras/{id}/counts` → central's retiming
//! (`central::signals`: PCU flows split to movements, Webster splits, smoothing,
//! validation, ed25519 signing) → `tac/v1/junctions/{id}/plan` → the junction code
//! (`junction_agent::Controller`: signature, expiry, replay and safety checks,
//! safe take-over, local actuation) → the `sumo` driver → the simulated light. Acks go
//! back on `…/plan/ack`. Every simulated second each camera also sends its live
//! presence (`…/presence`: standing queue, last arrival) over the broker to the
//! junction's `PresenceFeed`, the same reader the field junction uses.
//!
//! Lock-step: after publishing an interval's reports the harness waits until central
//! has read all of them and the junctions have read every plan central sent (and each
//! second, every presence snapshot), so runs are reproducible; message contents never
//! bypass the broker.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use central::signals::retimer::{RetimeSettings, Retimer};
use central::signals::worker::split_approach_flows;
use ed25519_dalek::SigningKey;
use junction_agent::driver::SignalDriver;
use junction_agent::presence::PresenceFeed;
use junction_agent::sumo::SumoDriver;
use junction_agent::traci::Traci;
use junction_agent::{Actuation, Controller};
use protocol::messages::{CountReport, Envelope, ModelRef, Presence as PresenceMsg, ZoneNow, decode};
use protocol::plan::{PlanKeys, PlanOutcome};
use protocol::topics::Topic;
use protocol::{ClassCounts, DirectionCounts, IntervalCounts, VehicleClass};
use rumqttc::{Client, Event, MqttOptions, Packet, Publish, QoS};

use crate::safety::Monitors;
use crate::sumo_junction::SumoJunction;

/// How the emulated cameras fall short of perfect (seeded: the same seed, the same misses).
#[derive(Debug, Clone, Copy, Default)]
pub struct Imperfection {
    /// Fraction of vehicles a camera never sees (not counted, no arrival, not in its queue);
    /// decided per vehicle and camera, so a missed vehicle stays missed.
    pub miss: f64,
    /// Presence dropouts: each second a camera starts one with probability 1 / `every_s`,
    /// and then sends no presence for `length_s` seconds.
    pub dropout_every_s: f64,
    pub dropout_length_s: f64,
    pub seed: u64,
}

/// A uniform number in [0, 1) from `seed` and two keys (SplitMix64 over FNV-1a).
fn unit(seed: u64, a: &str, b: &str) -> f64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for byte in a.bytes().chain([0xff]).chain(b.bytes()) {
        h = (h ^ byte as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

pub struct LoopOptions {
    pub cameras: Imperfection,
    /// The junctions' starvation bound (`None`: the controller's default).
    pub max_wait_ms: Option<i64>,
    /// Camera report interval = central's retiming period (s).
    pub interval_s: u32,
    pub actuation: Option<Actuation>,
    /// Weight of the newest interval in central's flow estimate.
    pub smoothing: f64,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct LoopStats {
    pub reports: u64,
    /// Presence snapshots sent and those that did not arrive in time (the junction then
    /// runs its plan as timed for that second, as in the field).
    pub presence_sent: u64,
    pub presence_missed: u64,
    /// Presence snapshots not sent: the camera was in a dropout (`Imperfection`).
    pub presence_dropped: u64,
    pub plans: u64,
    pub accepted: u64,
    pub rejected: u64,
}

const WAIT: Duration = Duration::from_secs(30);

/// A client; with `subscribe`, its publishes arrive on the receiver (after the broker
/// granted the subscription).
fn client(port: u16, id: &str, subscribe: Option<&str>) -> Result<(Client, Receiver<Publish>)> {
    let mut opts = MqttOptions::new(id, "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(60)).set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut connection) = Client::new(opts, 4096);
    if let Some(filter) = subscribe {
        client.subscribe(filter, QoS::AtLeastOnce)?;
    }
    let (tx, rx) = channel();
    let (ready_tx, ready) = channel();
    let want_suback = subscribe.is_some();
    std::thread::spawn(move || {
        for event in connection.iter() {
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) if !want_suback => drop(ready_tx.send(())),
                Ok(Event::Incoming(Packet::SubAck(_))) => drop(ready_tx.send(())),
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let sent = tx.send(p);
                    if sent.is_err() {
                        break;
                    }
                }
                Err(_) => break,
                _ => {}
            }
        }
    });
    ready.recv_timeout(WAIT).with_context(|| format!("MQTT client {id}: no answer from the broker on port {port}"))?;
    Ok((client, rx))
}

/// The emulated camera of one approach lane.
#[derive(Default)]
struct Camera {
    last_ids: Vec<String>,
    count: u32,
    last_seen: f64,
    queued: u32,
    /// Vehicles on the presence loops at the last step.
    on_presence_loops: Vec<String>,
    /// No presence is sent before this (simulated s): a dropout.
    dropout_until: f64,
    seq: u64,
    presence_seq: u64,
}

pub fn run(
    traci: &Arc<Mutex<Traci>>,
    junctions: &[SumoJunction],
    begin: f64,
    end: f64,
    port: u16,
    opts: &LoopOptions,
    monitors: &mut Monitors,
) -> Result<LoopStats> {
    let key = SigningKey::from_bytes(&[7; 32]);
    let keys = PlanKeys(vec![("central".into(), key.verifying_key())]);
    let profiles = junctions.iter().map(|j| j.profile.clone()).collect();
    let mut retimer = Retimer::new(RetimeSettings::default(), profiles, vec![], "central", key);
    let (cameras_mqtt, _) = client(port, "cameras", None)?;
    let (central_mqtt, counts_in) = client(port, "central", Some("tac/v1/cameras/+/counts"))?;
    let (junction_mqtt, plans_in) = client(port, "junctions", Some("tac/v1/junctions/+/plan"))?;
    let (_presence_mqtt, presence_in) = client(port, "junctions-presence", Some("tac/v1/cameras/+/presence"))?;
    let mut feeds: Vec<PresenceFeed> = junctions
        .iter()
        .map(|j| PresenceFeed::from_profile(&j.profile, Duration::from_secs(3)).map_err(anyhow::Error::msg))
        .collect::<Result<_>>()?;
    let feed_of_camera: BTreeMap<String, usize> = junctions
        .iter()
        .enumerate()
        .flat_map(|(i, j)| j.approaches.iter().map(move |v| (v.camera.clone(), i)))
        .collect();
    let now_ms = |t: f64| (t * 1000.0).round() as i64;
    let minute = |t: f64| ((t / 60.0) as u32) % 1440;
    let mut controllers: Vec<Controller> = junctions
        .iter()
        .map(|j| {
            let mut c = Controller::new(j.profile.clone(), keys.clone(), 300_000, now_ms(begin), minute(begin));
            if let Some(ms) = opts.max_wait_ms {
                c = c.with_max_wait(ms);
            }
            match opts.actuation {
                Some(a) => c.with_actuation(a),
                None => c,
            }
        })
        .collect();
    let mut drivers: Vec<SumoDriver> = junctions
        .iter()
        .map(|j| SumoDriver::new(traci.clone(), &j.tls, j.movement_of_link.clone(), j.yields_to.clone(), j.red.clone()))
        .collect();
    let mut cameras: Vec<Vec<Camera>> = junctions
        .iter()
        .map(|j| j.approaches.iter().map(|_| Camera { last_seen: f64::NEG_INFINITY, ..Camera::default() }).collect())
        .collect();
    let movements: Vec<Vec<String>> = junctions.iter().map(|j| j.profile.rules().movements).collect();
    let mut flows: BTreeMap<String, f64> = BTreeMap::new();
    let mut stats = LoopStats::default();
    let (mut t, mut interval_start) = (begin, begin);
    let sim_origin = Instant::now();
    // The junctions take the lights over before the first simulated second, so the
    // monitor never sees the network's own program hand over mid-interval.
    for (i, c) in controllers.iter_mut().enumerate() {
        let lamps = c.tick(now_ms(begin), minute(begin));
        drivers[i].apply(now_ms(begin), &movements[i], &lamps)?;
    }
    let mut trace = std::env::var("SIGNALS_TRACE")
        .ok()
        .map(|p| std::fs::File::create(&p).map(std::io::BufWriter::new).with_context(|| format!("SIGNALS_TRACE={p}")))
        .transpose()?;
    while t < end {
        t += 1.0;
        let mut sumo = traci.lock();
        sumo.step(t)?;
        let imp = opts.cameras;
        for (j, cams) in junctions.iter().zip(&mut cameras) {
            for (view, cam) in j.approaches.iter().zip(cams.iter_mut()) {
                let visible = |id: &String| imp.miss <= 0.0 || unit(imp.seed, &view.camera, id) >= imp.miss;
                if imp.dropout_every_s > 0.0
                    && t >= cam.dropout_until
                    && unit(imp.seed, &view.camera, &format!("dropout@{t}")) < 1.0 / imp.dropout_every_s
                {
                    cam.dropout_until = t + imp.dropout_length_s;
                }
                let mut ids = Vec::new();
                for (det, _) in &view.count_loops {
                    ids.extend(sumo.loop_vehicle_ids(det)?.into_iter().filter(visible));
                }
                cam.count += ids.iter().filter(|id| !cam.last_ids.contains(id)).count() as u32;
                cam.last_ids = ids;
                // An arrival is a vehicle entering the view (new on a presence loop), as
                // the agent's zone reports `last_entry_ms`; one standing on a loop is not.
                let mut seen_now = Vec::new();
                for (det, _, _) in &view.presence_loops {
                    let ids: Vec<String> = sumo.loop_vehicle_ids(det)?.into_iter().filter(visible).collect();
                    if ids.iter().any(|id| !cam.on_presence_loops.contains(id)) {
                        cam.last_seen = t;
                    }
                    seen_now.extend(ids);
                }
                cam.on_presence_loops = seen_now;
                cam.queued = 0;
                for lane in &view.queue_lanes {
                    let mut halting = sumo.lane_halting(lane)?.max(0) as u32;
                    if halting > 0 && imp.miss > 0.0 {
                        for id in sumo.lane_vehicle_ids(lane)?.iter().filter(|id| !visible(id)) {
                            if sumo.vehicle_speed(id)? < 0.1 {
                                halting = halting.saturating_sub(1);
                            }
                        }
                    }
                    cam.queued += halting;
                }
            }
        }
        monitors.observe(t, &mut sumo)?;
        drop(sumo);
        // Presence ages on the simulated clock (a dropout of 5 simulated seconds is stale).
        let sim_now = sim_origin + Duration::from_secs_f64(t - begin);
        exchange_presence(
            &cameras_mqtt,
            &presence_in,
            junctions,
            &mut cameras,
            &mut feeds,
            &feed_of_camera,
            (now_ms(t), t, sim_now),
            &mut stats,
        )?;
        for (i, feed) in feeds.iter().enumerate() {
            let presence = feed.current(sim_now);
            let lamps = controllers[i].tick_with(now_ms(t), minute(t), presence.as_ref());
            if let Some(w) = trace.as_mut() {
                use std::io::Write as _;
                let r = controllers[i].running();
                let q: Vec<String> = cameras[i]
                    .iter()
                    .map(|c| {
                        format!("{}/{}", c.queued, if c.last_seen.is_finite() { (t - c.last_seen) as i64 } else { -1 })
                    })
                    .collect();
                writeln!(
                    w,
                    "{t}\t{}\t{}\t{:?}\t{}\t{:?}\t{}\t{}",
                    junctions[i].tls,
                    r.stage,
                    r.source,
                    lamps.iter().collect::<String>(),
                    r.greens_ms,
                    q.join(" "),
                    presence.is_some()
                )?;
            }
            drivers[i].apply(now_ms(t), &movements[i], &lamps)?;
        }
        if t - interval_start >= opts.interval_s as f64 {
            report_and_retime(
                &cameras_mqtt,
                &central_mqtt,
                &junction_mqtt,
                &counts_in,
                &plans_in,
                junctions,
                &mut cameras,
                (interval_start, t),
                &mut retimer,
                &mut flows,
                &mut controllers,
                opts,
                &mut stats,
            )?;
            interval_start = t;
        }
    }
    for c in [cameras_mqtt, central_mqtt, junction_mqtt] {
        let _ = c.disconnect();
    }
    Ok(stats)
}

/// Every camera's live presence for this second, over the broker to the junctions'
/// presence feeds (the same reader as in the field).
#[allow(clippy::too_many_arguments)]
fn exchange_presence(
    cameras_mqtt: &Client,
    presence_in: &Receiver<Publish>,
    junctions: &[SumoJunction],
    cameras: &mut [Vec<Camera>],
    feeds: &mut [PresenceFeed],
    feed_of_camera: &BTreeMap<String, usize>,
    (at_ms, t, sim_now): (i64, f64, Instant),
    stats: &mut LoopStats,
) -> Result<()> {
    let mut sent = 0;
    for (j, cams) in junctions.iter().zip(cameras.iter_mut()) {
        for (view, cam) in j.approaches.iter().zip(cams.iter_mut()) {
            if t < cam.dropout_until {
                stats.presence_dropped += 1;
                continue;
            }
            let last_entry_ms = cam.last_seen.is_finite().then(|| (cam.last_seen * 1000.0).round() as i64);
            let zone = ZoneNow { inside: cam.last_ids.len() as u32, stationary: cam.queued, last_entry_ms };
            cam.presence_seq += 1;
            let body =
                PresenceMsg { camera_id: view.camera.clone(), at_ms, zones: [("queue".to_string(), zone)].into() };
            let topic = Topic::CameraPresence { camera: view.camera.clone() }.to_topic()?;
            cameras_mqtt.publish(
                topic,
                QoS::AtMostOnce,
                false,
                serde_json::to_vec(&Envelope::new(&view.camera, 1, cam.presence_seq, body))?,
            )?;
            sent += 1;
        }
    }
    stats.presence_sent += sent;
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut got = 0;
    while got < sent {
        let Ok(p) = presence_in.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
            stats.presence_missed += sent - got;
            break;
        };
        let Ok(Topic::CameraPresence { camera }) = Topic::parse(&p.topic) else { continue };
        if let Some(&i) = feed_of_camera.get(&camera) {
            feeds[i].offer(&p.topic, &p.payload, sim_now).map_err(anyhow::Error::msg)?;
            got += 1;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn report_and_retime(
    cameras_mqtt: &Client,
    central_mqtt: &Client,
    junction_mqtt: &Client,
    counts_in: &Receiver<Publish>,
    plans_in: &Receiver<Publish>,
    junctions: &[SumoJunction],
    cameras: &mut [Vec<Camera>],
    (from, to): (f64, f64),
    retimer: &mut Retimer,
    flows: &mut BTreeMap<String, f64>,
    controllers: &mut [Controller],
    opts: &LoopOptions,
    stats: &mut LoopStats,
) -> Result<()> {
    let (from_ms, to_ms) = ((from * 1000.0) as i64, (to * 1000.0) as i64);
    // Cameras: one report per approach lane, as an edge agent sends it.
    let mut sent = 0;
    for (j, cams) in junctions.iter().zip(cameras.iter_mut()) {
        for (view, cam) in j.approaches.iter().zip(cams.iter_mut()) {
            let camera = &view.camera;
            let mut forward = ClassCounts::default();
            forward.add(VehicleClass::Car, std::mem::take(&mut cam.count));
            let interval = IntervalCounts {
                start_ms: from_ms,
                end_ms: to_ms,
                coverage: 1.0,
                fps: 1.0,
                frames: (to - from) as u64,
                lines: [("stop".to_string(), DirectionCounts { forward, backward: ClassCounts::default() })].into(),
                ..IntervalCounts::default()
            };
            cam.seq += 1;
            let report = Envelope::new(
                camera,
                1,
                cam.seq,
                CountReport {
                    camera_id: camera.clone(),
                    model: ModelRef { id: "sumo-loop".into(), sha256: "0".repeat(64) },
                    interval,
                },
            );
            let topic = Topic::CameraCounts { camera: camera.clone() }.to_topic()?;
            cameras_mqtt.publish(topic, QoS::AtLeastOnce, false, serde_json::to_vec(&report)?)?;
            sent += 1;
        }
    }
    // Central: every report off the broker, checked as ingest checks it.
    let hours = (to - from) / 3600.0;
    for _ in 0..sent {
        let p = counts_in.recv_timeout(WAIT).context("central: a camera report did not arrive")?;
        let report = decode::<CountReport>(&p.payload)
            .map_err(|e| anyhow::anyhow!("central: bad report on {}: {e}", p.topic))?
            .body;
        report.check(to_ms, 5_000).map_err(|e| anyhow::anyhow!("central: report {}: {e}", report.camera_id))?;
        let vehicles: u32 = report.interval.lines.values().map(|d| d.forward.total() + d.backward.total()).sum();
        let pcu_h = vehicles as f64 / hours;
        let f = flows.entry(report.camera_id).or_insert(pcu_h);
        *f += opts.smoothing * (pcu_h - *f);
        stats.reports += 1;
    }
    let demand: BTreeMap<String, Vec<f64>> = junctions
        .iter()
        .filter_map(|j| {
            Some((
                j.profile.id.clone(),
                split_approach_flows(&j.profile, |a| a.cameras.first().and_then(|c| flows.get(&c.camera).copied()))?,
            ))
        })
        .collect();
    let mut published = 0;
    for plan in retimer.retime_all(&demand, to_ms) {
        let signed = plan.context("central refused its own plan")?;
        let topic = Topic::JunctionPlan { junction: signed.plan.junction_id.clone() }.to_topic()?;
        central_mqtt.publish(topic, QoS::AtLeastOnce, false, serde_json::to_vec(&signed)?)?;
        published += 1;
    }
    stats.plans += published;
    // Junctions: every plan off the broker, through the same acceptance as in the field.
    for _ in 0..published {
        let p = plans_in.recv_timeout(WAIT).context("junction: a plan did not arrive")?;
        let Ok(Topic::JunctionPlan { junction }) = Topic::parse(&p.topic) else {
            bail!("unexpected topic {}", p.topic)
        };
        let i = junctions.iter().position(|j| j.profile.id == junction).context("plan for an unknown junction")?;
        let signed = protocol::plan::decode(&p.payload).map_err(|e| anyhow::anyhow!("junction {junction}: {e}"))?;
        let ack = controllers[i].offer(&signed, to_ms);
        match ack.outcome {
            PlanOutcome::Accepted => stats.accepted += 1,
            PlanOutcome::Rejected => stats.rejected += 1,
        }
        let topic = Topic::JunctionPlanAck { junction }.to_topic()?;
        junction_mqtt.publish(topic, QoS::AtMostOnce, false, serde_json::to_vec(&ack)?)?;
    }
    Ok(())
}
