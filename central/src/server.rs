//! Wiring for `central run`: embedded broker (optional) → MQTT session → store writer
//! thread → acks, the stored-interval bus (live stream, forecasting, printer), retiming,
//! and the HTTP API, until Ctrl-C or SIGTERM. Every task runs on one runtime and every
//! message central sends goes out on one MQTT client.
//!
//! Start-up: everything that can fail (the broker, the stores, the MQTT options, the
//! junction profiles and signing key, the HTTP listener) is done before any part starts,
//! so a bad setting never leaves half a server running.
//!
//! Shutdown is structural: a chain in which each part starts to stop only once the part
//! before it has ended, each logged. Ctrl-C or SIGTERM cancels one `CancellationToken`,
//! which the HTTP API (and the police relay) watch. Once the API has stopped, the MQTT
//! receive loop is told to stop; its end drops the job queue, so the store writer drains
//! it and ends; the writer's end closes the bus, so forecasting saves its state and ends
//! (as do the live stream and the printer); then the signals worker is stopped. `run`
//! joins them in that order — HTTP API → MQTT session → store writer → forecast worker →
//! signals worker — and then waits for the small tasks (acker, live stream, printer,
//! police relay) on a `TaskTracker`.

use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bus::{StoredBus, Subscription};
use crate::clock::now_ms;
use crate::config::CentralConfig;
use crate::http::{ApiState, SignalsApi, router};
use crate::metrics::Metrics;
use crate::mqtt::{Inboxes, Session};
use crate::signals::SignalWorker;
use crate::store::StoredInterval;
use crate::store_writer::Writer;

/// Called for every newly stored interval (`central run --print-intervals`).
pub type OnStored = Box<dyn FnMut(&StoredInterval) + Send>;

pub fn run(config: &CentralConfig, base: Option<&Path>, print: Option<OnStored>) -> anyhow::Result<()> {
    if config.broker.embedded {
        crate::broker::start(config.broker.listen)?;
    }
    let spec = config.store_spec(base);
    let writer_store = spec.open().map_err(|e| anyhow::anyhow!("store {spec:?}: {e}"))?;
    let reader_store = spec.open().map_err(|e| anyhow::anyhow!("store {spec:?}: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let session = Session::new(&config.broker)?;
    let metrics = Arc::new(Metrics::new());
    let police = config.police.as_ref().map(crate::police::PoliceFeed::new);
    let hub = crate::hub::Hub::new(police.clone());
    let latest = crate::forecast::Latest::default();
    let signals = match &config.signals {
        Some(settings) => Some(signals_worker(settings, base, latest.clone(), hub.clone(), session.client.clone())?),
        None => None,
    };
    let listen = config.http.listen;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(listen))
        .map_err(|e| anyhow::anyhow!("http.listen {listen}: {e}"))?;
    tracing::info!(%listen, "HTTP API listening");

    // Subscribers first: from its start the writer owns the bus.
    let bus = StoredBus::default();
    let tasks = TaskTracker::new();
    let _entered = runtime.enter();
    tasks.spawn(hub.clone().follow_stored(bus.subscribe()));
    if let Some(print) = print {
        tasks.spawn(print_stored(print, bus.subscribe()));
    }
    let forecast_intervals = config.forecast.enabled.then(|| bus.subscribe());

    let (jobs_tx, jobs_rx) = mpsc::channel(config.ingest.max_batch * 4);
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let writer = Writer {
        store: writer_store,
        metrics: metrics.clone(),
        max_batch: config.ingest.max_batch,
        max_skew_ms: config.ingest.max_future_skew_s as i64 * 1000,
        central_id: config.broker.client_id.clone(),
        epoch: now_ms() as u64,
        seq: 0,
        bus,
        hub: hub.clone(),
    };
    let writer_thread =
        std::thread::Builder::new().name("store-writer".into()).spawn(move || writer.run(jobs_rx, done_tx))?;
    let forecast_thread = match forecast_intervals {
        Some(intervals) => {
            let worker = crate::forecast::Worker {
                settings: config.forecast.clone(),
                state_file: config.forecast_state_file(base),
                store: spec.clone(),
                client: Some(session.client.clone()),
                latest: latest.clone(),
                metrics: metrics.clone(),
                central_id: config.broker.client_id.clone(),
                hub: hub.clone(),
            };
            let runtime = runtime.handle().clone();
            Some(std::thread::Builder::new().name("forecast".into()).spawn(move || worker.run(intervals, runtime))?)
        }
        None => None,
    };

    let shutdown = CancellationToken::new();
    if let Some(feed) = &police {
        tasks.spawn(feed.relay_to_mqtt(session.client.clone(), shutdown.clone()));
    }
    let (signals_api, junction_inbox, signals_task) = match signals {
        Some(Signals { worker, api, inbox }) => {
            let stop = CancellationToken::new();
            (Some(api), Some(inbox), Some((stop.clone(), tokio::spawn(worker.run(stop)))))
        }
        None => (None, None, None),
    };
    let configs = Arc::new(crate::config_push::ConfigPublisher::new(session.client.clone(), &config.broker.client_id));
    let snapshots = Arc::new(crate::snapshots::SnapshotDesk::new(session.client.clone(), &config.broker.client_id));
    let inboxes = Inboxes { jobs: jobs_tx, junctions: junction_inbox, snapshots: snapshots.clone() };
    let stop_receiving = CancellationToken::new();
    let connections = session.connections();
    let receive = session.spawn(inboxes, done_rx, metrics.clone(), &tasks, stop_receiving.clone());
    // Held here too so the last reference (a PostgreSQL client, which blocks on close)
    // is dropped outside the async runtime.
    let reader = Arc::new(Mutex::new(reader_store));
    tasks.spawn(configs.clone().republish_on_connect(connections, reader.clone(), shutdown.clone()));
    let api = ApiState {
        store: reader.clone(),
        metrics,
        silent_after_ms: config.ingest.silent_after_s as i64 * 1000,
        forecasts: latest,
        signals: signals_api,
        public: std::num::NonZeroU32::new(config.http.public_per_minute).map(crate::public::PublicFeed::new),
        police,
        auth: config.auth.as_ref().map(crate::auth::Sessions::new),
        hub,
        map: Arc::new(config.map.clone()),
        export: Arc::new(config.export.clone()),
        dashboard_dir: config.dashboard_dir(base),
        configs,
        snapshots,
        snapshot_timeout: std::time::Duration::from_secs(config.http.snapshot_timeout_s.max(1)),
        behind_tls: config.http.behind_tls,
    };
    tasks.spawn(cancel_on_signal(shutdown.clone()));

    let served = runtime.block_on(async {
        let app = router(api).into_make_service_with_connect_info::<std::net::SocketAddr>();
        let served = axum::serve(listener, app).with_graceful_shutdown(shutdown.clone().cancelled_owned()).await;
        tracing::info!("HTTP API stopped");
        // However the API ended (a signal, or an error), every part stops, in order.
        shutdown.cancel();
        stop_receiving.cancel();
        if let Err(e) = receive.await {
            tracing::error!(error = %e, "MQTT receive loop panicked");
        }
        tracing::info!("MQTT session closed");
        // The receive loop held the job queue: the writer drains it and ends, closing the bus.
        join(writer_thread).await;
        tracing::info!("store writer stopped");
        if let Some(thread) = forecast_thread {
            join(thread).await;
            tracing::info!("forecast worker stopped");
        }
        if let Some((stop, task)) = signals_task {
            stop.cancel();
            if let Err(e) = task.await {
                tracing::error!(error = %e, "signals worker panicked");
            }
            tracing::info!("signals worker stopped");
        }
        tasks.close();
        tasks.wait().await;
        served
    });
    drop(_entered);
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    drop(reader);
    tracing::info!("central stopped");
    Ok(served?)
}

/// Joins a worker thread without blocking the runtime.
async fn join(thread: std::thread::JoinHandle<()>) {
    let name = thread.thread().name().unwrap_or("worker").to_string();
    if let Ok(Err(_)) = tokio::task::spawn_blocking(move || thread.join()).await {
        tracing::error!(thread = %name, "worker thread panicked; what it held in memory is lost");
    }
}

/// Hands each stored interval to the printer until the bus closes.
async fn print_stored(mut print: OnStored, mut stored: Subscription) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match stored.recv().await {
            Ok(s) => print(&s),
            Err(RecvError::Lagged(n)) => tracing::warn!(missed = n, "printer fell behind the store writer"),
            Err(RecvError::Closed) => return,
        }
    }
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        _ = shutdown.cancelled() => return,
    }
    tracing::info!("central stopping");
    shutdown.cancel();
}

/// The signals worker, built but not started, with the API's door to it and the inbox the
/// MQTT session fills with junction acks and status.
struct Signals {
    worker: SignalWorker,
    api: SignalsApi,
    inbox: mpsc::Sender<rumqttc::Publish>,
}

/// Loads the junction profiles and the signing key, and builds the retiming worker.
fn signals_worker(
    settings: &crate::signals::SignalSettings,
    base: Option<&Path>,
    forecasts: crate::forecast::Latest,
    hub: Arc<crate::hub::Hub>,
    client: rumqttc::AsyncClient,
) -> anyhow::Result<Signals> {
    use crate::signals::{Corridor, JunctionView, RetimeSettings, Retimer, settings::read_signing_key};
    let profiles = crate::signals::settings::load_profiles(settings, base)
        .map_err(|(field, e)| anyhow::anyhow!("{field}: {e}"))?;
    let key = read_signing_key(&settings.resolve(base, &settings.signing_key_file))?;
    let retime = RetimeSettings {
        max_step_ms: (settings.max_step_s * 1000.0) as u32,
        valid_for_ms: settings.plan_valid_s as i64 * 1000,
        heartbeat_ms: settings.heartbeat_s as i64 * 1000,
        ..RetimeSettings::default()
    };
    let corridors = settings
        .corridors
        .iter()
        .map(|c| Corridor {
            junctions: c.junctions.clone(),
            travel_ms: c.travel_s.iter().map(|t| (t * 1000.0) as u32).collect(),
        })
        .collect();
    let views: std::collections::BTreeMap<String, Arc<JunctionView>> = profiles
        .iter()
        .map(|p| (p.id.clone(), Arc::new(JunctionView { junction_id: p.id.clone(), ..Default::default() })))
        .collect();
    let (views_tx, views_rx) = tokio::sync::watch::channel(Arc::new(views.clone()));
    let by_id = Arc::new(profiles.iter().map(|p| (p.id.clone(), p.clone())).collect());
    let retimer = Retimer::new(retime, profiles, corridors, &settings.key_id, key);
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let (inbox, inbox_rx) = mpsc::channel(1024);
    let worker = SignalWorker {
        retimer,
        forecasts,
        views,
        views_tx,
        commands: commands_rx,
        inbox: inbox_rx,
        client,
        retime_every: std::time::Duration::from_secs(settings.retime_every_s),
        hub,
    };
    let override_token =
        settings.override_token_env.as_ref().and_then(|v| std::env::var(v).ok()).filter(|t| !t.is_empty());
    Ok(Signals { worker, api: SignalsApi { views: views_rx, commands, profiles: by_id, override_token }, inbox })
}
