//! The junction's MQTT side and clock: subscribes to its plan topic (retained, so a
//! restarted junction gets central's current plan at once), offers each plan to the
//! controller and publishes the ack, ticks the controller every 100 ms, hands lamp
//! changes to the driver, and publishes its status (retained) on every change of plan
//! or stage and every `status_interval`. A broker outage changes nothing but the
//! silence the controller measures: the junction keeps running safely on its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use protocol::messages::Envelope;
use protocol::plan::{JunctionStatus, PlanAck, PlanOutcome, PlanSource, decode};
use protocol::topics::Topic;
use rumqttc::{Client, Event, MqttOptions, Packet, QoS, RecvTimeoutError};

use super::controller::{Controller, Source};
use super::driver::SignalDriver;
use super::presence::PresenceFeed;

pub struct JunctionLink {
    /// How to reach the broker (`mqtt_link`: credentials, TLS); the keep-alive is short so
    /// a dropped link shows within seconds.
    pub mqtt: MqttOptions,
    pub status_interval: Duration,
    pub utc_offset_s: i32,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Minute of the local day.
pub fn local_minute(now_ms: i64, utc_offset_s: i32) -> u32 {
    ((now_ms / 1000 + utc_offset_s as i64).rem_euclid(86_400) / 60) as u32
}

/// Runs until `stop` is set. With `presence` (and a controller with actuation), the
/// cameras' live zone occupancy drives local actuation whenever it is fresh.
pub fn run(
    mut controller: Controller,
    mut driver: Box<dyn SignalDriver>,
    link: &JunctionLink,
    mut presence: Option<PresenceFeed>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let presence_topics = presence.as_ref().map(|p| p.topics()).unwrap_or_default();
    let junction = controller.rules().junction_id.clone();
    let movements = controller.rules().movements.clone();
    let plan_topic = Topic::JunctionPlan { junction: junction.clone() }.to_topic()?;
    let ack_topic = Topic::JunctionPlanAck { junction: junction.clone() }.to_topic()?;
    let status_topic = Topic::JunctionStatus { junction: junction.clone() }.to_topic()?;
    let (client, mut connection) = Client::new(link.mqtt.clone(), 64);
    let (epoch, mut seq) = (now_ms() as u64, 0u64);
    let mut last_lamps = Vec::new();
    let mut last_status: Option<(String, u64, usize)> = None;
    // The plan the driver has (None: not yet, or its last download failed: retried).
    let mut driver_plan: Option<(String, u64)> = None;
    let mut next_download = std::time::Instant::now();
    let mut next_status = std::time::Instant::now();
    let mut online = true;
    while !stop.load(Ordering::SeqCst) {
        match connection.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                tracing::info!(junction = %junction, "connected; subscribing to plans");
                online = true;
                client.try_subscribe(&plan_topic, QoS::AtLeastOnce)?;
                for t in &presence_topics {
                    client.try_subscribe(t, QoS::AtMostOnce)?;
                }
                next_status = std::time::Instant::now();
            }
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) if p.topic == plan_topic => {
                let now = now_ms();
                let ack = match decode(&p.payload) {
                    Ok(signed) => controller.offer(&signed, now),
                    Err(e) => PlanAck {
                        junction_id: junction.clone(),
                        plan_id: String::new(),
                        version: 0,
                        outcome: PlanOutcome::Rejected,
                        reason: Some(e.code()),
                        detail: Some(e.to_string()),
                    },
                };
                seq += 1;
                let payload = serde_json::to_vec(&Envelope::new(&junction, epoch, seq, &ack))?;
                if let Err(e) = client.try_publish(&ack_topic, QoS::AtLeastOnce, false, payload) {
                    tracing::warn!(error = %e, "plan ack not queued");
                }
            }
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) if presence_topics.contains(&p.topic) => {
                if let Some(feed) = presence.as_mut()
                    && let Err(e) = feed.offer(&p.topic, &p.payload, std::time::Instant::now())
                {
                    tracing::debug!(error = %e, "presence snapshot refused");
                }
            }
            Ok(Ok(_)) | Err(RecvTimeoutError::Timeout) => {}
            Ok(Err(e)) => {
                if online {
                    tracing::warn!(error = %e, "broker connection lost; running on");
                    online = false;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(RecvTimeoutError::Disconnected) => anyhow::bail!("MQTT connection closed"),
        }
        let now = now_ms();
        let seen = presence.as_ref().and_then(|p| p.current(std::time::Instant::now()));
        let lamps = controller.tick_with(now, local_minute(now, link.utc_offset_s), seen.as_ref());
        if lamps != last_lamps {
            driver.apply(now, &movements, &lamps)?;
            last_lamps = lamps.clone();
        }
        let plan = controller.plan();
        let applied = driver_plan.as_ref().is_some_and(|(id, v)| *id == plan.plan_id && *v == plan.version);
        if !applied && std::time::Instant::now() >= next_download {
            match driver.plan_changed(now, plan) {
                Ok(()) => driver_plan = Some((plan.plan_id.clone(), plan.version)),
                Err(e) => {
                    tracing::error!(
                        junction = %junction,
                        error = %e,
                        "the controller did not take the running plan; retrying in 5 s"
                    );
                    next_download = std::time::Instant::now() + Duration::from_secs(5);
                }
            }
        }
        let running = controller.running();
        let key = (running.plan_id.clone(), running.version, running.stage);
        if last_status.as_ref() != Some(&key) || std::time::Instant::now() >= next_status {
            let status = JunctionStatus {
                junction_id: junction.clone(),
                plan_id: running.plan_id,
                version: running.version,
                source: if running.source == Source::Central { PlanSource::Central } else { PlanSource::Local },
                stage: running.stage,
                cycle_ms: running.cycle_ms,
                greens_ms: running.greens_ms,
                offset_ms: running.offset_ms,
                lamps: movements.iter().cloned().zip(lamps.iter().map(|c| c.to_string())).collect(),
                last_central_ms: controller.last_central_ms(),
            };
            seq += 1;
            let payload = serde_json::to_vec(&Envelope::new(&junction, epoch, seq, &status))?;
            // Best effort while offline: the next change or interval sends it again.
            let _ = client.try_publish(&status_topic, QoS::AtLeastOnce, true, payload);
            last_status = Some(key);
            next_status = std::time::Instant::now() + link.status_interval;
        }
    }
    let _ = client.disconnect();
    Ok(())
}
