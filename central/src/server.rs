//! Wiring for `central run`: embedded broker (optional) → MQTT session → store writer
//! thread → acks, forecasting and retiming, and the HTTP API, until Ctrl-C or SIGTERM.
//!
//! Shutdown is structural: Ctrl-C or SIGTERM cancels one `CancellationToken`; every part
//! watches it (or a channel closed by the part upstream of it), and `run` joins them
//! upstream first so what is in flight drains downstream: HTTP API → MQTT session (its
//! tasks end with the runtime, closing the writer's queue) → store writer (closing the
//! forecast channel) → forecast worker (saves its state) → signals worker. Each logs
//! when it has stopped.

use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::config::CentralConfig;
use crate::http::{ApiState, router};
use crate::metrics::Metrics;
use crate::mqtt::Session;
use crate::store::StoredInterval;
use crate::store_writer::Writer;

pub use crate::store_writer::OnStored;

pub fn run(config: &CentralConfig, base: Option<&Path>, on_stored: Option<OnStored>) -> anyhow::Result<()> {
    if config.broker.embedded {
        crate::broker::start(config.broker.listen)?;
    }
    let spec = config.store_spec(base);
    let writer_store = spec.open().map_err(|e| anyhow::anyhow!("store {spec:?}: {e}"))?;
    let reader_store = spec.open().map_err(|e| anyhow::anyhow!("store {spec:?}: {e}"))?;
    let metrics = Arc::new(Metrics::new());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;

    let latest: crate::forecast::Latest = Default::default();
    let (forecast_tx, forecast_rx) = std::sync::mpsc::sync_channel::<StoredInterval>(4096);
    let on_stored: Option<OnStored> = if config.forecast.enabled {
        let (mut print, dropped) = (on_stored, metrics.clone());
        Some(Box::new(move |s: &StoredInterval| {
            if let Some(p) = print.as_mut() {
                p(s);
            }
            if forecast_tx.try_send(s.clone()).is_err() {
                dropped.forecast_updates_dropped.inc();
            }
        }))
    } else {
        on_stored
    };

    let (jobs_tx, jobs_rx) = mpsc::channel(config.ingest.max_batch * 4);
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let police = config.police.as_ref().map(crate::police::PoliceFeed::new);
    let hub = crate::hub::Hub::new(police.clone());
    let writer = Writer {
        store: writer_store,
        metrics: metrics.clone(),
        max_batch: config.ingest.max_batch,
        max_skew_ms: config.ingest.max_future_skew_s as i64 * 1000,
        central_id: config.broker.client_id.clone(),
        epoch: now_ms() as u64,
        seq: 0,
        on_stored,
        hub: hub.clone(),
    };
    let writer_thread =
        std::thread::Builder::new().name("store-writer".into()).spawn(move || writer.run(jobs_rx, done_tx))?;

    // Held here too so the last reference (a PostgreSQL client, which blocks on close)
    // is dropped outside the async runtime.
    let reader = Arc::new(Mutex::new(reader_store));
    let shutdown = CancellationToken::new();
    let (signals, signals_thread) = match &config.signals {
        Some(settings) => {
            let (api, thread) = start_signals(config, settings, base, latest.clone(), hub.clone(), shutdown.clone())?;
            (Some(api), Some(thread))
        }
        None => (None, None),
    };
    let api = ApiState {
        store: reader.clone(),
        metrics: metrics.clone(),
        silent_after_ms: config.ingest.silent_after_s as i64 * 1000,
        forecasts: latest.clone(),
        signals,
        public: std::num::NonZeroU32::new(config.http.public_per_minute).map(crate::public::PublicFeed::new),
        police: police.clone(),
        auth: config.auth.as_ref().map(crate::auth::Sessions::new),
        hub: hub.clone(),
        map: Arc::new(config.map.clone()),
        dashboard_dir: config.dashboard_dir(base),
    };
    let listen = config.http.listen;
    let mut forecast_thread = None;
    let served = runtime.block_on(async {
        let session = Session::new(&config.broker)?;
        if config.forecast.enabled {
            let worker = crate::forecast::Worker {
                settings: config.forecast.clone(),
                state_file: config.forecast_state_file(base),
                store: spec.clone(),
                client: Some(session.client.clone()),
                latest,
                metrics: metrics.clone(),
                central_id: config.broker.client_id.clone(),
                hub: hub.clone(),
            };
            forecast_thread =
                Some(std::thread::Builder::new().name("forecast".into()).spawn(move || worker.run(forecast_rx))?);
        }
        if let Some(feed) = &police {
            // The same events on MQTT, for consumers that read the broker (ACL: read-only).
            let (client, mut rx, stop) = (session.client.clone(), feed.subscribe(), shutdown.clone());
            tokio::spawn(async move {
                loop {
                    let next = tokio::select! {
                        next = rx.recv() => next,
                        _ = stop.cancelled() => break,
                    };
                    match next {
                        Ok(ev) => {
                            let body = serde_json::to_vec(&ev).unwrap_or_default();
                            if let Err(e) = client
                                .publish(protocol::topics::POLICE_ALERTS, rumqttc::QoS::AtLeastOnce, false, body)
                                .await
                            {
                                tracing::warn!(error = %e, "police feed event not queued for MQTT");
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "police feed MQTT publisher fell behind")
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
        }
        session.spawn(jobs_tx, done_rx, metrics);
        let listener =
            tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("http.listen {listen}: {e}"))?;
        tracing::info!(%listen, "HTTP API listening");
        tokio::spawn(cancel_on_signal(shutdown.clone()));
        let app = router(api).into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, app).with_graceful_shutdown(shutdown.clone().cancelled_owned()).await?;
        tracing::info!("HTTP API stopped");
        anyhow::Ok(())
    });
    // However the API ended (a signal, or a bind error), every part stops.
    shutdown.cancel();
    // Ends the MQTT tasks; their job sender closes, so the writer drains its queue and ends.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    tracing::info!("MQTT session closed");
    let _ = writer_thread.join();
    tracing::info!("store writer stopped");
    // The writer held the forecast channel's sender: the forecast worker sees it close.
    if let Some(t) = forecast_thread {
        let _ = t.join();
        tracing::info!("forecast worker stopped");
    }
    if let Some(t) = signals_thread {
        let _ = t.join();
        tracing::info!("signals worker stopped");
    }
    drop(reader);
    tracing::info!("central stopped");
    served
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

/// Loads the junction profiles and the signing key, and starts the retiming thread.
fn start_signals(
    config: &CentralConfig,
    settings: &crate::signals::SignalSettings,
    base: Option<&Path>,
    forecasts: crate::forecast::Latest,
    hub: Arc<crate::hub::Hub>,
    shutdown: CancellationToken,
) -> anyhow::Result<(crate::http::SignalsApi, std::thread::JoinHandle<()>)> {
    use crate::signals::{Corridor, RetimeSettings, Retimer, SignalWorker, settings::read_signing_key};
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
    let views: std::collections::BTreeMap<String, Arc<crate::signals::JunctionView>> = profiles
        .iter()
        .map(|p| {
            (p.id.clone(), Arc::new(crate::signals::JunctionView { junction_id: p.id.clone(), ..Default::default() }))
        })
        .collect();
    let (views_tx, views_rx) = tokio::sync::watch::channel(Arc::new(views.clone()));
    let by_id = Arc::new(profiles.iter().map(|p| (p.id.clone(), p.clone())).collect());
    let retimer = Retimer::new(retime, profiles, corridors, &settings.key_id, key);
    let (commands, commands_rx) = std::sync::mpsc::channel();
    let mut broker = config.broker.clone();
    broker.client_id = format!("{}-signals", broker.client_id);
    let mut mqtt = crate::mqtt::options(&broker)?;
    mqtt.set_manual_acks(false);
    mqtt.set_clean_session(true);
    let worker = SignalWorker {
        retimer,
        forecasts,
        views,
        views_tx,
        commands: commands_rx,
        mqtt,
        retime_every: std::time::Duration::from_secs(settings.retime_every_s),
        hub,
    };
    let thread = std::thread::Builder::new().name("signals".into()).spawn(move || worker.run(shutdown))?;
    let override_token =
        settings.override_token_env.as_ref().and_then(|v| std::env::var(v).ok()).filter(|t| !t.is_empty());
    Ok((crate::http::SignalsApi { views: views_rx, commands, profiles: by_id, override_token }, thread))
}
