//! The retiming worker, a task on central's runtime: every `retime_every_s` it turns the
//! latest forecasts into per-movement demand, retimes every junction, and publishes the
//! signed plans (retained, so a junction that reconnects gets the current plan) on
//! central's one MQTT client. The MQTT session hands it the junctions' acks and status,
//! which the API serves.
//!
//! One owner: this worker owns the retimer (with any operator override) and the junction
//! views. The HTTP API never touches them: it sends `SignalsCommand`s (an override, its
//! cancellation, "run a round now"), with a reply channel where it needs the outcome, and
//! reads the views as immutable snapshots the worker publishes after every change.
//!
//! Demand of an approach = Σ over its cameras' lines of the 15-minute forecast (the
//! current demand when no forecast yet); split over the approach's movements in
//! proportion to the profile's turning shares (else to lanes × saturation flow). A
//! junction none of whose cameras has reported is not retimed (no data is not zero
//! traffic): it keeps its plan or its local plan.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use firmware_profiles::JunctionProfile;
use protocol::messages::decode;
use protocol::plan::{JunctionStatus, OVERRIDE_PLAN_ID, PlanAck, PlanSource, SignedPlan};
use protocol::topics::Topic;
use rumqttc::{AsyncClient, Publish, QoS};
use serde::Serialize;

use super::retimer::{RetimeError, Retimer};
use crate::clock::now_ms;
use crate::forecast::Latest;

/// What the API shows per junction.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JunctionView {
    pub junction_id: String,
    pub issued: Option<SignedPlan>,
    pub status: Option<JunctionStatus>,
    /// Latest acks first (at most 50).
    pub acks: VecDeque<PlanAck>,
    /// Plans issued, latest first (at most 50).
    pub history: VecDeque<IssuedPlan>,
    /// The operator override in force: until when, and who set it.
    pub override_until_ms: Option<i64>,
    pub override_by: Option<String>,
}

/// One plan central issued, as the junction view lists it.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedPlan {
    pub plan_id: String,
    pub version: u64,
    pub issued_ms: i64,
    pub valid_until_ms: i64,
    pub cycle_ms: u32,
    pub offset_ms: u32,
    pub greens_ms: Vec<u32>,
}

/// The junction views as the worker last published them. Each view is shared, so a
/// snapshot costs one pointer per junction and a change copies only the view it touches.
pub type Junctions = Arc<BTreeMap<String, Arc<JunctionView>>>;

/// What the HTTP API may ask of the worker.
#[derive(Debug)]
pub enum SignalsCommand {
    /// Validate and hold an operator override (`greens_ms` per stage until `until_ms`); it
    /// goes out only after `OverrideAccepted` (the API audits in between).
    SetOverride {
        junction: String,
        greens_ms: Vec<u32>,
        until_ms: i64,
        reply: tokio::sync::oneshot::Sender<Result<(), RetimeError>>,
    },
    /// The override was audited: show it (until, by whom) and issue it now.
    OverrideAccepted { junction: String, until_ms: i64, by: String },
    /// End an override now (cancelled, or its audit failed); replies whether there was one.
    CancelOverride { junction: String, reply: tokio::sync::oneshot::Sender<Result<bool, RetimeError>> },
}

pub struct SignalWorker {
    pub retimer: Retimer,
    pub forecasts: Latest,
    /// Owned here; published to `views_tx` after every change.
    pub views: BTreeMap<String, Arc<JunctionView>>,
    pub views_tx: tokio::sync::watch::Sender<Junctions>,
    pub commands: tokio::sync::mpsc::UnboundedReceiver<SignalsCommand>,
    /// Junction acks and status, from the MQTT session.
    pub inbox: tokio::sync::mpsc::Receiver<Publish>,
    /// Central's one MQTT client (plans go out on it).
    pub client: AsyncClient,
    pub retime_every: Duration,
    pub hub: Arc<crate::hub::Hub>,
}

pub fn demand_for(profile: &JunctionProfile, forecasts: &Latest) -> Option<Vec<f64>> {
    let latest = forecasts.lock();
    split_approach_flows(profile, |approach| {
        let flows: Vec<f64> = approach
            .cameras
            .iter()
            .filter_map(|cam| latest.get(&cam.camera).and_then(|lines| lines.get(&cam.line)))
            .filter_map(|report| {
                report.horizons.iter().find(|h| h.minutes == 15).map(|h| h.pcu_per_hour).or(report.current_pcu_per_hour)
            })
            .collect();
        (!flows.is_empty()).then(|| flows.iter().sum())
    })
}

/// Movement demand (PCU/h, profile order) from each approach's flow (`None`: not
/// measured): by the movements' turning shares, else in proportion to lanes ×
/// saturation flow. `None` when no approach is measured.
pub fn split_approach_flows(
    profile: &JunctionProfile,
    flow_of: impl Fn(&firmware_profiles::junction::Approach) -> Option<f64>,
) -> Option<Vec<f64>> {
    let mut any = false;
    let mut demand = vec![0.0; profile.movements.len()];
    for approach in &profile.approaches {
        let flow = flow_of(approach).inspect(|_| any = true).unwrap_or(0.0);
        let members: Vec<usize> =
            (0..profile.movements.len()).filter(|&i| profile.movements[i].approach == approach.id).collect();
        let capacity: f64 = members
            .iter()
            .map(|&i| profile.movements[i].lanes as f64 * profile.movements[i].saturation_pcu_per_lane)
            .sum();
        for i in members {
            let m = &profile.movements[i];
            demand[i] = flow * m.turn_share.unwrap_or(m.lanes as f64 * m.saturation_pcu_per_lane / capacity);
        }
    }
    any.then_some(demand)
}

impl SignalWorker {
    /// Runs until `stop` is cancelled; the first round is 5 s after the start (junctions
    /// and forecasts have reported by then), then one every `retime_every`, and one at once
    /// after an operator's override or its cancellation.
    pub async fn run(mut self, stop: tokio_util::sync::CancellationToken) {
        let first = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut rounds = tokio::time::interval_at(first, self.retime_every);
        rounds.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.publish_views();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                Some(command) = self.commands.recv() => {
                    if self.handle(command) {
                        self.round();
                        rounds.reset();
                    }
                }
                Some(message) = self.inbox.recv() => self.record(&message.topic, &message.payload),
                _ = rounds.tick() => {
                    self.round();
                }
            }
        }
    }

    /// Carries out one command; true when a round should run now.
    fn handle(&mut self, command: SignalsCommand) -> bool {
        match command {
            SignalsCommand::SetOverride { junction, greens_ms, until_ms, reply } => {
                let _ = reply.send(self.retimer.set_override(&junction, &greens_ms, until_ms, now_ms()));
                false
            }
            SignalsCommand::OverrideAccepted { junction, until_ms, by } => {
                if let Some(view) = self.views.get_mut(&junction).map(Arc::make_mut) {
                    view.override_until_ms = Some(until_ms);
                    view.override_by = Some(by);
                }
                self.publish_views();
                self.hub.junction_changed(&junction);
                true
            }
            SignalsCommand::CancelOverride { junction, reply } => {
                let result = self.retimer.cancel_override(&junction);
                if let Some(view) = self.views.get_mut(&junction).map(Arc::make_mut) {
                    view.override_until_ms = None;
                    view.override_by = None;
                }
                self.publish_views();
                self.hub.junction_changed(&junction);
                let _ = reply.send(result);
                true
            }
        }
    }

    fn publish_views(&self) {
        self.views_tx.send_replace(Arc::new(self.views.clone()));
    }

    /// One retiming round; returns how many plans were published.
    pub fn round(&mut self) -> usize {
        let ids: Vec<String> = self.views.keys().cloned().collect();
        let demand: BTreeMap<String, Vec<f64>> = ids
            .iter()
            .filter_map(|id| {
                self.retimer.profile(id).and_then(|p| demand_for(p, &self.forecasts)).map(|d| (id.clone(), d))
            })
            .collect();
        let mut published = 0;
        for result in self.retimer.retime_all(&demand, now_ms()) {
            let Ok(signed) = result else { continue }; // logged at ERROR by the retimer
            let Ok(topic) = (Topic::JunctionPlan { junction: signed.plan.junction_id.clone() }).to_topic() else {
                continue;
            };
            let payload = serde_json::to_vec(&signed).expect("serialisable");
            match self.client.try_publish(topic, QoS::AtLeastOnce, true, payload) {
                Ok(()) => published += 1,
                Err(e) => {
                    tracing::warn!(
                        junction = %signed.plan.junction_id,
                        error = %e,
                        "plan not queued; the next round re-issues it"
                    )
                }
            }
            tracing::info!(
                junction = %signed.plan.junction_id,
                version = signed.plan.version,
                cycle_ms = signed.plan.cycle_ms,
                plan = %signed.plan.plan_id,
                "plan issued"
            );
            let junction = signed.plan.junction_id.clone();
            let view = Arc::make_mut(self.views.entry(junction.clone()).or_default());
            let p = &signed.plan;
            view.history.push_front(IssuedPlan {
                plan_id: p.plan_id.clone(),
                version: p.version,
                issued_ms: now_ms(),
                valid_until_ms: p.valid_until_ms,
                cycle_ms: p.cycle_ms,
                offset_ms: p.offset_ms,
                greens_ms: p.stages.iter().map(|s| s.green_ms).collect(),
            });
            view.history.truncate(50);
            if p.plan_id != OVERRIDE_PLAN_ID && view.override_until_ms.is_some() {
                // The override expired (or was cancelled) and the computed plan is back.
                view.override_until_ms = None;
                view.override_by = None;
            }
            view.issued = Some(signed);
            self.publish_views();
            self.hub.junction_changed(&junction);
        }
        published
    }

    fn record(&mut self, topic: &str, payload: &[u8]) {
        match Topic::parse(topic) {
            Ok(Topic::JunctionPlanAck { junction }) => {
                let ack = match decode::<PlanAck>(payload) {
                    Ok(envelope) => envelope.body,
                    Err(e) => {
                        tracing::warn!(junction = %junction, reason = e.reason(), error = %e, "plan ack rejected");
                        return;
                    }
                };
                if ack.reason.is_some() {
                    tracing::warn!(
                        junction = %junction,
                        version = ack.version,
                        reason = ?ack.reason,
                        "junction rejected a plan"
                    );
                }
                self.hub.plan_ack(&ack);
                if let Some(view) = self.views.get_mut(&junction).map(Arc::make_mut) {
                    view.acks.push_front(ack);
                    view.acks.truncate(50);
                }
                self.publish_views();
            }
            Ok(Topic::JunctionStatus { junction }) => {
                let status = match decode::<JunctionStatus>(payload) {
                    Ok(envelope) => envelope.body,
                    Err(e) => {
                        tracing::warn!(
                            junction = %junction,
                            reason = e.reason(),
                            error = %e,
                            "junction status rejected"
                        );
                        return;
                    }
                };
                if status.source == PlanSource::Central {
                    let now = now_ms();
                    self.retimer.adopt_running(&junction, &status.greens_ms, status.offset_ms, status.version, now);
                }
                if let Some(view) = self.views.get_mut(&junction).map(Arc::make_mut) {
                    view.status = Some(status);
                }
                self.publish_views();
                self.hub.junction_changed(&junction);
            }
            _ => {}
        }
    }
}
