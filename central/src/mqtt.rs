//! Central's MQTT session: receives on the shared subscriptions, feeds the store writer,
//! and sends PUBACKs and agent acks once the writer says a message's effect is durable.
//!
//! Manual acks, persistent session (`clean_session = false`): a report the broker sent
//! but central never acknowledged is sent again. Subscriptions are renewed on every
//! connect (a restarted broker may have forgotten them). PUBACKs are sent only on the
//! connection the message arrived on: after a reconnect, packet ids may name different
//! messages, and the broker resends the old ones anyway.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use protocol::topics::{
    ALL_CAMERA_COUNTS, ALL_CAMERA_EVENTS, ALL_CAMERA_STATUS, SHARED_COUNTS_SUBSCRIPTION, SHARED_EVENTS_SUBSCRIPTION,
    SHARED_STATUS_SUBSCRIPTION,
};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

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
    filters: [&'static str; 3],
}

/// The embedded broker serves one central, so it gets plain subscriptions: rumqttd
/// 0.20 holds back a shared subscription's next message until another one arrives.
const PLAIN_FILTERS: [&str; 3] = [ALL_CAMERA_COUNTS, ALL_CAMERA_STATUS, ALL_CAMERA_EVENTS];

impl Session {
    pub fn new(settings: &BrokerSettings) -> anyhow::Result<Session> {
        let (client, eventloop) = AsyncClient::new(options(settings)?, 65_536);
        let filters = if settings.embedded {
            PLAIN_FILTERS
        } else {
            [SHARED_COUNTS_SUBSCRIPTION, SHARED_STATUS_SUBSCRIPTION, SHARED_EVENTS_SUBSCRIPTION]
        };
        Ok(Session { client, eventloop, connection: Arc::new(AtomicU64::new(0)), filters })
    }

    /// Spawns the receive loop and the acker; they run until the runtime shuts down.
    pub fn spawn(self, jobs: mpsc::Sender<Job>, done: mpsc::UnboundedReceiver<Done>, metrics: Arc<Metrics>) {
        let Session { client, eventloop, connection, filters } = self;
        tokio::spawn(acker(client.clone(), done, connection.clone()));
        tokio::spawn(receive(client, eventloop, filters, jobs, connection, metrics));
    }
}

async fn receive(
    client: AsyncClient,
    mut eventloop: EventLoop,
    filters: [&'static str; 3],
    jobs: mpsc::Sender<Job>,
    connection: Arc<AtomicU64>,
    metrics: Arc<Metrics>,
) {
    let mut delays = reconnect_delays();
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                let n = connection.fetch_add(1, Ordering::SeqCst) + 1;
                tracing::info!(
                    session_present = ack.session_present,
                    connection = n,
                    "central connected to the broker"
                );
                metrics.mqtt_connected.set(1);
                delays = reconnect_delays();
                for filter in filters {
                    if let Err(e) = client.try_subscribe(filter, QoS::AtLeastOnce) {
                        tracing::error!(error = %e, filter, "could not subscribe");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let job = Job {
                    publish,
                    connection: connection.load(Ordering::SeqCst),
                    received: Instant::now(),
                    received_ms: now_ms(),
                };
                if jobs.send(job).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                metrics.mqtt_connected.set(0);
                tracing::warn!(error = %e, "broker connection lost; reconnecting");
                tokio::time::sleep(delays.next().unwrap_or(MAX_RECONNECT_DELAY)).await;
            }
        }
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

const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(2);

/// Reconnect delays: 250 ms, doubling, at most 2 s (`backon`; restarted on every connect).
fn reconnect_delays() -> backon::ExponentialBackoff {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(MAX_RECONNECT_DELAY)
        .with_factor(2.0)
        .without_max_times()
        .build()
}
