//! Central's one MQTT session: receives on the shared subscriptions and feeds the store
//! writer, sends PUBACKs and agent acks once the writer says a message's effect is durable,
//! hands junction acks and status to the signals worker and snapshots to the snapshot desk.
//! Everything central publishes (acks, forecasts, plans, camera configs, the police feed)
//! goes out on this session's client. Cameras' config acks go to the store writer like
//! counts (recorded, then PUBACKed).
//!
//! Manual acks, persistent session (`clean_session = false`): a report the broker sent
//! but central never acknowledged is sent again. Subscriptions are renewed on every
//! connect (a restarted broker may have forgotten them). PUBACKs are sent only on the
//! connection the message arrived on: after a reconnect, packet ids may name different
//! messages, and the broker resends the old ones anyway.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mqtt_link::{MAX_RECONNECT_DELAY, reconnect_delays};
use protocol::topics::{
    ALL_CAMERA_CONFIG_ACKS, ALL_CAMERA_COUNTS, ALL_CAMERA_EVENTS, ALL_CAMERA_SNAPSHOTS, ALL_CAMERA_STATUS,
    ALL_JUNCTION_PLAN_ACKS, ALL_JUNCTION_STATUS, SHARED_COUNTS_SUBSCRIPTION, SHARED_EVENTS_SUBSCRIPTION,
    SHARED_STATUS_SUBSCRIPTION, Topic,
};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::config::BrokerSettings;
use crate::metrics::Metrics;
use crate::store_writer::{Done, Job};

pub fn options(settings: &BrokerSettings) -> anyhow::Result<MqttOptions> {
    let (host, port) = if settings.embedded {
        (settings.listen.ip().to_string(), settings.listen.port())
    } else {
        (settings.host.clone(), settings.port)
    };
    let mut opts = MqttOptions::new(&settings.client_id, host, port);
    opts.set_keep_alive(Duration::from_secs(settings.keep_alive_s.max(5)));
    opts.set_clean_session(false);
    opts.set_manual_acks(true);
    // Take oversized payloads off the wire so they are rejected (and counted) here
    // instead of breaking the connection and coming back forever.
    opts.set_max_packet_size(64 * 1024 * 1024, 1024 * 1024);
    opts.set_inflight(1000);
    if let Some(user) = &settings.username {
        let password = match &settings.password_env {
            Some(var) => std::env::var(var).map_err(|_| anyhow::anyhow!("broker.password_env: {var} is not set"))?,
            None => String::new(),
        };
        opts.set_credentials(user, password);
    }
    if let Some(ca) = &settings.tls_ca_file {
        let pem = std::fs::read(ca).map_err(|e| anyhow::anyhow!("broker.tls_ca_file: {}: {e}", ca.display()))?;
        opts.set_transport(rumqttc::Transport::tls(pem, None, None));
    }
    Ok(opts)
}

pub struct Session {
    pub client: AsyncClient,
    eventloop: EventLoop,
    connection: Arc<AtomicU64>,
    /// The number of the current connection, for tasks that act on each (re)connect.
    connected: watch::Sender<u64>,
    filters: Vec<&'static str>,
}

/// The embedded broker serves one central, so it gets plain subscriptions: rumqttd
/// 0.20 holds back a shared subscription's next message until another one arrives.
const PLAIN_FILTERS: [&str; 3] = [ALL_CAMERA_COUNTS, ALL_CAMERA_STATUS, ALL_CAMERA_EVENTS];

/// Camera config acks and snapshots: plain subscriptions either way. Every central
/// instance records each ack (idempotent: the same state and running version again), and
/// a snapshot must reach the instance whose operator asked for it.
const CONFIG_ACK_FILTERS: [&str; 2] = [ALL_CAMERA_CONFIG_ACKS, ALL_CAMERA_SNAPSHOTS];

/// Junction acks and status: every central instance keeps every junction's view, so
/// these are plain subscriptions, never shared.
const JUNCTION_FILTERS: [&str; 2] = [ALL_JUNCTION_PLAN_ACKS, ALL_JUNCTION_STATUS];

/// Where the receive loop sends what it takes off the wire.
pub struct Inboxes {
    /// Camera counts, status, incidents and config acks, in arrival order, for the store writer.
    pub jobs: mpsc::Sender<Job>,
    /// Junction plan acks and status for the signals worker (`None`: no `[signals]`).
    pub junctions: Option<mpsc::Sender<Publish>>,
    /// Cameras' snapshot answers.
    pub snapshots: Arc<crate::snapshots::SnapshotDesk>,
}

impl Session {
    pub fn new(settings: &BrokerSettings) -> anyhow::Result<Session> {
        let (client, eventloop) = AsyncClient::new(options(settings)?, 65_536);
        let mut filters = if settings.embedded {
            PLAIN_FILTERS.to_vec()
        } else {
            vec![SHARED_COUNTS_SUBSCRIPTION, SHARED_STATUS_SUBSCRIPTION, SHARED_EVENTS_SUBSCRIPTION]
        };
        filters.extend(CONFIG_ACK_FILTERS);
        let connected = watch::Sender::new(0);
        Ok(Session { client, eventloop, connection: Arc::new(AtomicU64::new(0)), connected, filters })
    }

    /// Changes each time the session (re)connects to the broker.
    pub fn connections(&self) -> watch::Receiver<u64> {
        self.connected.subscribe()
    }

    /// Spawns the receive loop, which runs until `stop` is cancelled (its handle is
    /// returned: joining it is "the MQTT session closed"), and the acker on `tasks`,
    /// which runs until the store writer drops its end of `done`.
    pub fn spawn(
        self,
        inboxes: Inboxes,
        done: mpsc::UnboundedReceiver<Done>,
        metrics: Arc<Metrics>,
        tasks: &tokio_util::task::TaskTracker,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let Session { client, eventloop, connection, connected, mut filters } = self;
        if inboxes.junctions.is_some() {
            filters.extend(JUNCTION_FILTERS);
        }
        tasks.spawn(acker(client.clone(), done, connection.clone()));
        let receiver = Receiver { client, filters, inboxes, connection, connected, metrics };
        tokio::spawn(receiver.run(eventloop, stop))
    }
}

struct Receiver {
    client: AsyncClient,
    filters: Vec<&'static str>,
    inboxes: Inboxes,
    connection: Arc<AtomicU64>,
    connected: watch::Sender<u64>,
    metrics: Arc<Metrics>,
}

impl Receiver {
    async fn run(self, mut eventloop: EventLoop, stop: CancellationToken) {
        let mut delays = reconnect_delays();
        loop {
            let event = tokio::select! {
                event = eventloop.poll() => event,
                _ = stop.cancelled() => return,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    let n = self.connection.fetch_add(1, Ordering::SeqCst) + 1;
                    tracing::info!(
                        session_present = ack.session_present,
                        connection = n,
                        "central connected to the broker"
                    );
                    self.metrics.mqtt_connected.set(1);
                    delays = reconnect_delays();
                    for filter in &self.filters {
                        if let Err(e) = self.client.try_subscribe(*filter, QoS::AtLeastOnce) {
                            tracing::error!(error = %e, filter, "could not subscribe");
                        }
                    }
                    self.connected.send_replace(n);
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    if !self.route(publish).await {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    self.metrics.mqtt_connected.set(0);
                    tracing::warn!(error = %e, "broker connection lost; reconnecting");
                    tokio::select! {
                        _ = tokio::time::sleep(delays.next().unwrap_or(MAX_RECONNECT_DELAY)) => {}
                        _ = stop.cancelled() => return,
                    }
                }
            }
        }
    }

    /// Hands a message to its owner; false once the store writer has gone.
    async fn route(&self, publish: Publish) -> bool {
        if let Ok(Topic::CameraSnapshot { camera }) = Topic::parse(&publish.topic) {
            // A picture for an operator waiting now, never stored: acknowledged on arrival.
            if let Err(e) = self.client.try_ack(&publish) {
                tracing::warn!(error = %e, "snapshot PUBACK not queued; the broker will resend");
            }
            self.inboxes.snapshots.deliver(&camera, &publish.payload);
            return true;
        }
        if let Some(junctions) = &self.inboxes.junctions
            && matches!(Topic::parse(&publish.topic), Ok(Topic::JunctionPlanAck { .. } | Topic::JunctionStatus { .. }))
        {
            // Junction state, not data to store: acknowledged on arrival, since nothing
            // downstream makes it durable (the views are memory; the next status replaces it).
            if let Err(e) = self.client.try_ack(&publish) {
                tracing::warn!(error = %e, "junction message PUBACK not queued; the broker will resend");
            }
            if junctions.send(publish).await.is_err() {
                tracing::debug!("signals worker gone; junction message dropped");
            }
            return true;
        }
        let job = Job {
            publish,
            connection: self.connection.load(Ordering::SeqCst),
            received: Instant::now(),
            received_ms: now_ms(),
        };
        self.inboxes.jobs.send(job).await.is_ok()
    }
}

async fn acker(client: AsyncClient, mut done: mpsc::UnboundedReceiver<Done>, connection: Arc<AtomicU64>) {
    while let Some(d) = done.recv().await {
        if d.connection == connection.load(Ordering::SeqCst)
            && d.publish.qos != QoS::AtMostOnce
            && let Err(e) = client.ack(&d.publish).await
        {
            tracing::warn!(error = %e, "PUBACK not queued; the broker will resend");
        }
        if let Some((topic, payload)) = d.ack
            && let Err(e) = client.publish(topic, QoS::AtLeastOnce, false, payload).await
        {
            tracing::warn!(error = %e, "agent ack not queued; the agent will resend");
        }
    }
}
