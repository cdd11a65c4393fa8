//! Publishing: interval reports go from the durable outbox to the broker over MQTT,
//! QoS 1, persistent session, and leave the outbox only once acknowledged (below).
//!
//! Delivery is stop-and-wait: one report in flight at a time. A report is a few KB and
//! cameras report once a minute, so even a day of backlog drains in about a minute.
//!
//! When a report counts as delivered (`[mqtt] ack`):
//! - `central` (default): after the broker's PUBACK *and* central's ack on
//!   `…/counts/ack` saying the report is in its store. A broker acknowledges before it
//!   persists, and one killed by SIGKILL (or restarted without persistence) forgets what
//!   it acknowledged; only the end-to-end ack survives that. The report is sent again on
//!   every reconnect and after `ack_timeout_s` without an ack.
//! - `broker`: on PUBACK alone (for deployments where something other than central
//!   consumes the reports).
//!
//! Either way delivery is at-least-once: central de-duplicates on (agent_id, epoch, seq),
//! and acks duplicates too, so a resend always ends the wait.
//!
//! Incidents (`…/events`) wait in their own outbox (`<outbox dir>/events`, same format)
//! and share the one slot in flight, ahead of reports: an agent restarted while the link
//! is down loses none. An incident leaves its outbox on the broker's PUBACK (central does
//! not ack incidents; it keeps each incident id once, so a resend is harmless).
//!
//! The connection's last will publishes `offline` (retained) on the camera's status
//! topic; the agent publishes `online` (retained) on every connect.
//!
//! Central's geometry pushes (`…/config`, retained) and snapshot requests are subscribed
//! to on every connect when asked (`with_inbox`) and handed over as they arrive; what to
//! make of them is the frame loop's business (`remote_config`, `agent`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use std::time::Duration;

use mqtt_link::{MAX_RECONNECT_DELAY, reconnect_delays};
use protocol::messages::{AgentState, CountAck, Envelope, Status};
use protocol::topics::Topic;
use rumqttc::{Client, Connection, Event, LastWill, Outgoing, Packet, QoS, RecvTimeoutError};

use super::outbox::Outbox;
use crate::config::{AckMode, MqttSettings};

/// Counters shared with whoever reports status.
#[derive(Debug, Default)]
pub struct PublishStats {
    pub connected: AtomicBool,
    pub published: std::sync::atomic::AtomicU64,
}

/// Which outbox a record in flight came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Queue {
    Counts,
    Events,
}

#[derive(Debug, Clone, Copy)]
struct Inflight {
    queue: Queue,
    seq: u64,
    /// MQTT packet id, once rumqttc has sent it.
    pkid: Option<u16>,
    sent: std::time::Instant,
}

pub struct Publisher {
    camera: String,
    epoch: u64,
    client: Client,
    connection: Connection,
    outbox: Arc<Mutex<Outbox>>,
    /// Incidents waiting to go (see the header); `None`: this publisher sends none.
    events: Option<Arc<Mutex<Outbox>>>,
    events_topic: String,
    counts_topic: String,
    status_topic: String,
    ack_topic: String,
    ack_mode: AckMode,
    ack_timeout: Duration,
    /// The report in flight, if any.
    inflight: Option<Inflight>,
    /// The status the agent keeps current; depth, dropped and uptime are filled in here.
    status: Arc<Mutex<Status>>,
    status_every: Duration,
    status_seq: u64,
    last_status: Option<std::time::Instant>,
    /// The state the last published status carried.
    last_status_state: Option<AgentState>,
    started: std::time::Instant,
    connected: bool,
    /// Waits between reconnection attempts (restarted on every connect).
    reconnect: backon::ExponentialBackoff,
    stats: Arc<PublishStats>,
    /// Topics subscribed to on every connect (central's config pushes, snapshot
    /// requests), and where their payloads go.
    inboxes: Vec<(String, std::sync::mpsc::Sender<Vec<u8>>)>,
}

impl Publisher {
    pub fn new(
        settings: &MqttSettings,
        camera: &str,
        epoch: u64,
        outbox: Arc<Mutex<Outbox>>,
        status: Arc<Mutex<Status>>,
    ) -> anyhow::Result<Publisher> {
        let counts_topic = Topic::CameraCounts { camera: camera.into() }.to_topic()?;
        let events_topic = Topic::CameraEvents { camera: camera.into() }.to_topic()?;
        let status_topic = Topic::CameraStatus { camera: camera.into() }.to_topic()?;
        let ack_topic = Topic::CameraCountsAck { camera: camera.into() }.to_topic()?;
        let client_id = settings.client_id.clone().unwrap_or_else(|| camera.to_string());
        let mut opts = mqtt_link::Link {
            prefix: "mqtt",
            host: &settings.host,
            port: settings.port,
            client_id: &client_id,
            username: settings.username.as_deref(),
            password_env: settings.password_env.as_deref(),
            keep_alive: Duration::from_secs(settings.keep_alive_s.max(5)),
            tls: settings.tls.as_ref(),
        }
        .options()?;
        opts.set_clean_session(false);
        // rumqttc's default packet limit is 10 KB; a report may be up to the protocol's.
        let limit = protocol::messages::MAX_PAYLOAD + 4096;
        opts.set_max_packet_size(limit, limit);
        let mut last_will = status.lock().clone();
        last_will.state = AgentState::Offline;
        let offline = serde_json::to_vec(&Envelope::new(camera, epoch, 0, last_will))?;
        opts.set_last_will(LastWill::new(&status_topic, offline, QoS::AtLeastOnce, true));
        let (client, connection) = Client::new(opts, 64);
        Ok(Publisher {
            camera: camera.into(),
            epoch,
            client,
            connection,
            outbox,
            events: None,
            events_topic,
            counts_topic,
            status_topic,
            ack_topic,
            ack_mode: settings.ack,
            ack_timeout: Duration::from_secs(settings.ack_timeout_s.max(1)),
            inflight: None,
            status,
            status_every: Duration::from_secs(settings.status_interval_s.max(1)),
            status_seq: 0,
            last_status: None,
            last_status_state: None,
            started: std::time::Instant::now(),
            connected: false,
            reconnect: reconnect_delays(),
            stats: Arc::new(PublishStats::default()),
            inboxes: Vec::new(),
        })
    }

    /// Subscribes to `topic` (QoS 1, again on every connect) and hands each payload to
    /// `inbox` (unbounded: a burst of config pushes must not lose the last, newest one).
    pub fn with_inbox(mut self, topic: &Topic, inbox: std::sync::mpsc::Sender<Vec<u8>>) -> anyhow::Result<Publisher> {
        self.inboxes.push((topic.to_topic()?, inbox));
        Ok(self)
    }

    /// Sends the incidents of `events` too, each until the broker acknowledges it.
    pub fn with_events(mut self, events: Arc<Mutex<Outbox>>) -> Publisher {
        self.events = Some(events);
        self
    }

    /// A handle for fire-and-forget publishes from other threads (live presence).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    pub fn stats(&self) -> Arc<PublishStats> {
        self.stats.clone()
    }

    /// Drives the connection until `stop`; then says `offline` (retained) and
    /// disconnects cleanly, so the broker does not fire the last will.
    pub fn run(&mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            self.step(Duration::from_millis(100));
        }
        if self.connected {
            self.status.lock().state = AgentState::Offline;
            self.publish_status();
            let _ = self.client.disconnect();
            let deadline = std::time::Instant::now() + Duration::from_secs(1);
            while std::time::Instant::now() < deadline {
                match self.connection.recv_timeout(Duration::from_millis(100)) {
                    Ok(Ok(Event::Outgoing(Outgoing::Disconnect)))
                    | Ok(Err(_))
                    | Err(RecvTimeoutError::Disconnected) => break,
                    _ => {}
                }
            }
        }
    }

    /// One turn: send the next report if none is in flight, then handle one event.
    pub fn step(&mut self, wait: Duration) {
        if let Some(f) = self.inflight
            && f.queue == Queue::Counts
            && self.ack_mode == AckMode::Central
            && f.sent.elapsed() >= self.ack_timeout
        {
            tracing::warn!(camera = %self.camera, seq = f.seq, "no ack from central; sending the report again");
            self.inflight = None;
        }
        if self.connected && self.inflight.is_none() {
            self.send_next();
        }
        // The heartbeat, and at once whenever the state changes (online ↔ degraded): a
        // reader should not learn of a broken camera a heartbeat late.
        let state_changed = self.last_status_state != Some(self.status.lock().state);
        if self.connected && (state_changed || self.last_status.is_none_or(|t| t.elapsed() >= self.status_every)) {
            self.publish_status();
        }
        match self.connection.recv_timeout(wait) {
            Ok(Ok(event)) => self.on_event(event),
            Ok(Err(e)) => {
                if self.connected {
                    tracing::warn!(
                        camera = %self.camera,
                        error = %e,
                        "MQTT connection lost; reports wait in the outbox"
                    );
                }
                self.connected = false;
                self.stats.connected.store(false, Ordering::Relaxed);
                // rumqttc reconnects on the next poll; do not spin while the broker is down.
                std::thread::sleep(self.reconnect.next().unwrap_or(MAX_RECONNECT_DELAY));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(wait),
        }
    }

    /// The oldest waiting record: an incident first (live alerts are rare and urgent), else
    /// a report.
    fn send_next(&mut self) {
        let queues = [(Queue::Events, self.events.as_ref()), (Queue::Counts, Some(&self.outbox))];
        for (queue, outbox) in queues {
            let Some(outbox) = outbox else { continue };
            let next = outbox.lock().pending_from(0, 1);
            let Some((seq, payload)) = (match next {
                Ok(records) => records.into_iter().next(),
                Err(e) => {
                    tracing::error!(error = %e, ?queue, "outbox unreadable; its records cannot be sent");
                    None
                }
            }) else {
                continue;
            };
            let topic = if queue == Queue::Events { &self.events_topic } else { &self.counts_topic };
            match self.client.try_publish(topic, QoS::AtLeastOnce, false, payload) {
                Ok(()) => self.inflight = Some(Inflight { queue, seq, pkid: None, sent: std::time::Instant::now() }),
                Err(e) => tracing::warn!(error = %e, "MQTT request queue full; retrying"),
            }
            return;
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Incoming(Packet::ConnAck(_)) => {
                tracing::info!(camera = %self.camera, "MQTT connected");
                self.connected = true;
                self.reconnect = reconnect_delays();
                self.stats.connected.store(true, Ordering::Relaxed);
                self.last_status = None;
                if self.ack_mode == AckMode::Central {
                    // Subscribed again on every connect: a broker that lost its state
                    // lost the subscription too. The report in flight may have been lost
                    // with it, so it goes again (after the SUBSCRIBE, same queue).
                    if let Err(e) = self.client.try_subscribe(&self.ack_topic, QoS::AtLeastOnce) {
                        tracing::warn!(error = %e, "could not subscribe to central's acks");
                    }
                    self.inflight = None;
                }
                for (topic, _) in &self.inboxes {
                    if let Err(e) = self.client.try_subscribe(topic.as_str(), QoS::AtLeastOnce) {
                        tracing::warn!(error = %e, topic, "could not subscribe");
                    }
                }
            }
            Event::Incoming(Packet::Publish(p)) if self.inboxes.iter().any(|(topic, _)| p.topic == *topic) => {
                if let Some((_, inbox)) = self.inboxes.iter().find(|(topic, _)| p.topic == *topic) {
                    let _ = inbox.send(p.payload.to_vec());
                }
            }
            Event::Outgoing(Outgoing::Publish(pkid)) if pkid != 0 => {
                if let Some(Inflight { pkid: slot @ None, .. }) = &mut self.inflight {
                    *slot = Some(pkid);
                }
            }
            Event::Incoming(Packet::PubAck(ack)) => {
                if let Some(Inflight { queue, seq, pkid: Some(pkid), .. }) = self.inflight
                    && pkid == ack.pkid
                    && (queue == Queue::Events || self.ack_mode == AckMode::Broker)
                {
                    self.delivered(queue, seq);
                }
            }
            Event::Incoming(Packet::Publish(p)) if p.topic == self.ack_topic => {
                match protocol::messages::decode::<CountAck>(&p.payload) {
                    Ok(ack) if ack.body.report_agent_id == self.camera => {
                        if self.inflight.is_some_and(|f| f.queue == Queue::Counts && f.seq == ack.body.report_seq) {
                            self.delivered(Queue::Counts, ack.body.report_seq);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "unreadable ack from central"),
                }
            }
            _ => {}
        }
    }

    fn delivered(&mut self, queue: Queue, seq: u64) {
        let outbox = match (queue, &self.events) {
            (Queue::Events, Some(events)) => events,
            _ => &self.outbox,
        };
        let mut outbox = outbox.lock();
        match outbox.ack_through(seq) {
            Ok(()) => {
                self.inflight = None;
                if queue == Queue::Counts {
                    self.stats.published.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, seq, "could not record an acknowledgement; the report will be sent again")
            }
        }
    }
}

impl Publisher {
    /// Publishes the retained status heartbeat (QoS 0: the next one supersedes it).
    fn publish_status(&mut self) {
        let mut status = self.status.lock().clone();
        {
            let outbox = self.outbox.lock();
            status.outbox_depth = outbox.depth();
            status.dropped = outbox.dropped();
        }
        status.uptime_s = self.started.elapsed().as_secs();
        let state = status.state;
        self.status_seq += 1;
        match serde_json::to_vec(&Envelope::new(&self.camera, self.epoch, self.status_seq, status)) {
            Ok(payload) => {
                if self.client.try_publish(&self.status_topic, QoS::AtMostOnce, true, payload).is_ok() {
                    self.last_status = Some(std::time::Instant::now());
                    self.last_status_state = Some(state);
                }
            }
            Err(e) => tracing::warn!(error = %e, "status not serialisable"),
        }
    }
}
