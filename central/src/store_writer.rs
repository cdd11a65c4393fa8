//! The store writer: one thread that owns the store's write connection. It takes
//! received messages in arrival order, validates them, commits count reports in batches
//! (one durable transaction each) and hands every message back, in the same order, for
//! its PUBACK and, for a count report, central's ack to the agent.
//!
//! Invariants: a message is handed back only after its effect is committed (or it was
//! rejected); a failed commit is retried with the same messages until it succeeds, so a
//! store outage stalls ingest (the broker queues) instead of losing reports. Queues stay
//! small without limits of their own because the broker sends at most its in-flight
//! window of unacknowledged messages.
//!
//! What follows a commit is not the writer's business: each newly stored interval is
//! published once on the [`StoredBus`](crate::bus::StoredBus), which the hub, forecasting
//! and the printer subscribe to. A camera's status and an incident go to the hub.
//!
//! A camera's config ack (its answer to a pushed geometry version) is recorded here too,
//! so it is PUBACKed only once its state and the camera's running version are committed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use protocol::camera_config::ConfigOutcome;
use protocol::messages::{AckOutcome, AgentState, CountAck, Envelope};
use protocol::topics::Topic;
use rumqttc::Publish;
use tokio::sync::mpsc;

use crate::clock::now_ms;
use crate::metrics::Metrics;
use crate::store::{AckUpdate, Inserted, StatusUpdate, Store, StoredInterval};
use crate::validate::{Message, check};

/// A message as received, tagged with the MQTT connection it came on.
pub struct Job {
    pub publish: Publish,
    pub connection: u64,
    pub received: Instant,
    pub received_ms: i64,
}

/// A message whose effect is durable: PUBACK it (if its connection is still the
/// current one) and publish `ack` if any.
pub struct Done {
    pub publish: Publish,
    pub connection: u64,
    pub ack: Option<(String, Vec<u8>)>,
}

pub struct Writer {
    pub store: Box<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub max_batch: usize,
    pub max_skew_ms: i64,
    /// Central's own envelope identity for the acks it sends.
    pub central_id: String,
    pub epoch: u64,
    pub seq: u64,
    /// Every newly stored interval, once; dropped with the writer, which ends the bus.
    pub bus: crate::bus::StoredBus,
    /// Camera status (offline / online) and incidents: alerts, live events, police feed.
    pub hub: Arc<crate::hub::Hub>,
}

impl Writer {
    /// Runs until every sender of `jobs` is gone.
    pub fn run(mut self, mut jobs: mpsc::Receiver<Job>, done: mpsc::UnboundedSender<Done>) {
        while let Some(first) = jobs.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < self.max_batch {
                match jobs.try_recv() {
                    Ok(j) => batch.push(j),
                    Err(_) => break,
                }
            }
            for d in self.handle(batch) {
                if done.send(d).is_err() {
                    return;
                }
            }
        }
    }

    /// Validates and commits one batch; returns the messages in their original order.
    pub fn handle(&mut self, batch: Vec<Job>) -> Vec<Done> {
        let mut reports: Vec<(usize, StoredInterval)> = Vec::new();
        let mut acks: Vec<Option<(String, Vec<u8>)>> = vec![None; batch.len()];
        for (idx, job) in batch.iter().enumerate() {
            match check(&job.publish.topic, &job.publish.payload, now_ms(), self.max_skew_ms) {
                Ok(Message::Counts(env)) => reports.push((
                    idx,
                    StoredInterval {
                        agent_id: env.agent_id,
                        epoch: env.epoch,
                        seq: env.seq,
                        camera_id: env.body.camera_id,
                        model_id: env.body.model.id,
                        model_sha256: env.body.model.sha256,
                        received_ms: job.received_ms,
                        interval: env.body.interval,
                    },
                )),
                Ok(Message::Status(env)) => {
                    let s = &env.body;
                    let update = StatusUpdate {
                        camera_id: s.camera_id.clone(),
                        agent_id: env.agent_id.clone(),
                        state: serde_json::to_value(s.state)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default(),
                        fps: s.fps,
                        coverage: s.coverage,
                        outbox_depth: s.outbox_depth,
                        dropped: s.dropped,
                        at_ms: job.received_ms,
                        box_profile: s.box_profile.clone(),
                        model_id: s.model.as_ref().map(|m| m.id.clone()),
                        calibration: s.calibration,
                    };
                    self.retry(|store| store.record_status(&update));
                    self.metrics.statuses.inc();
                    self.metrics.camera_seen(&s.camera_id, job.received_ms, Some(s.state == AgentState::Online));
                    self.hub.camera_state(&s.camera_id, s.state != AgentState::Offline, job.received_ms);
                }
                Ok(Message::Incident(env)) => {
                    self.metrics.incidents.inc();
                    self.hub.incident(&env.body, job.received_ms);
                }
                Ok(Message::ConfigAck(env)) => {
                    let ack = &env.body;
                    if ack.outcome == ConfigOutcome::Rejected {
                        tracing::warn!(
                            camera = %ack.camera_id,
                            version = ack.version,
                            running = ack.running_version,
                            problems = ?ack.problems,
                            "agent refused a camera config"
                        );
                    }
                    let update = AckUpdate::from_ack(ack, job.received_ms);
                    self.retry(|store| store.record_config_ack(&update));
                }
                Err(r) => {
                    tracing::warn!(
                        topic = %job.publish.topic,
                        reason = r.reason,
                        detail = %r.detail,
                        "message rejected"
                    );
                    self.metrics.reject(r.reason);
                }
            }
        }
        if !reports.is_empty() {
            let rows: Vec<StoredInterval> = reports.iter().map(|(_, r)| r.clone()).collect();
            let outcomes = self.retry(|store| store.insert_batch(&rows));
            for ((idx, row), outcome) in reports.into_iter().zip(outcomes) {
                let job = &batch[idx];
                self.metrics.ingest_latency.observe(job.received.elapsed().as_secs_f64());
                self.metrics.camera_seen(&row.camera_id, job.received_ms, None);
                match outcome {
                    Inserted::New => {
                        self.metrics.accepted.inc();
                        acks[idx] = self.ack_message(&row, AckOutcome::Stored);
                        self.bus.publish(row);
                    }
                    Inserted::Duplicate => {
                        self.metrics.duplicates.inc();
                        acks[idx] = self.ack_message(&row, AckOutcome::Duplicate);
                    }
                }
            }
        }
        batch
            .into_iter()
            .zip(acks)
            .map(|(job, ack)| Done { publish: job.publish, connection: job.connection, ack })
            .collect()
    }

    fn ack_message(&mut self, row: &StoredInterval, outcome: AckOutcome) -> Option<(String, Vec<u8>)> {
        let topic = Topic::CameraCountsAck { camera: row.camera_id.clone() }.to_topic().ok()?;
        self.seq += 1;
        let body = CountAck {
            camera_id: row.camera_id.clone(),
            report_agent_id: row.agent_id.clone(),
            report_epoch: row.epoch,
            report_seq: row.seq,
            outcome,
        };
        let payload = serde_json::to_vec(&Envelope::new(&self.central_id, self.epoch, self.seq, body)).ok()?;
        Some((topic, payload))
    }

    /// Retries a store operation until it succeeds: nothing is acknowledged meanwhile.
    fn retry<T>(&mut self, mut op: impl FnMut(&mut dyn Store) -> Result<T, crate::store::StoreError>) -> T {
        let mut wait = Duration::from_millis(100);
        loop {
            match op(self.store.as_mut()) {
                Ok(v) => return v,
                Err(e) => {
                    self.metrics.store_errors.inc();
                    tracing::warn!(
                        error = %e,
                        retry_in_ms = wait.as_millis() as u64,
                        "store write failed; holding the messages"
                    );
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
