//! The long-running agent loop (`edge-agent run`): one camera, forever. The stream is
//! reconnected whenever it drops; interval reports keep coming on the wall clock, with
//! coverage telling how much of each interval was really seen.
//!
//! Each interval is stored in the durable outbox and published over MQTT when the config
//! has `[mqtt]` (see `report`), and handed to a callback (the CLI prints a JSON line).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use protocol::IntervalCounts;

use crate::app::build_pipeline;
use crate::config::AgentConfig;
use crate::ingest::health::unix_ms;
use crate::ingest::{HealthSnapshot, Reader, ReconnectPolicy};
use crate::stages::{PrepStage, Staged};

pub fn run(
    config: &AgentConfig,
    config_dir: Option<&Path>,
    stop: Arc<AtomicBool>,
    mut on_interval: impl FnMut(&IntervalCounts, &HealthSnapshot, Option<StoredAs>),
) -> anyhow::Result<()> {
    let mut pipeline = build_pipeline(config, None, config_dir)?;
    let spec = config.source(config_dir).map_err(anyhow::Error::msg)?;
    let opts = config.open_options();
    let live = spec.is_live();
    let reader = if live {
        Reader::new_live(spec, opts, ReconnectPolicy::default())
    } else {
        Reader::open(spec, opts, ReconnectPolicy { reconnect: false, ..Default::default() })?
    };
    let epoch = unix_ms(SystemTime::now()) as u64;
    let reporter = crate::report::Reporter::start(config, config_dir, epoch)?;
    let health = reader.health();
    let source_name = reader.spec().display_name();
    let stage = PrepStage::spawn(reader, pipeline.preparer(), 1);
    if live {
        pipeline.start(unix_ms(SystemTime::now()));
    }
    tracing::info!(camera = %config.camera.id, source = %source_name, model = %config.camera.model, "agent started");
    let mut last_status = Instant::now();
    let mut last_ms = 0;
    let mut last_presence_ms = i64::MIN;
    while !stop.load(Ordering::Relaxed) {
        let now_ms = match stage.next() {
            Staged::Frame(input) => {
                pipeline.process_prepared(&input)?;
                last_ms = unix_ms(input.meta.captured_at);
                for incident in pipeline.take_incidents() {
                    if let Some(r) = &reporter {
                        r.publish_incident(incident);
                    }
                }
                stage.recycle(input);
                if let Some(r) = &reporter
                    && let Some(every) = r.presence_interval_ms()
                    && last_ms - last_presence_ms >= every
                    && let Some((at_ms, zones)) = pipeline.presence()
                {
                    r.publish_presence(at_ms, zones);
                    last_presence_ms = last_ms;
                }
                last_ms
            }
            Staged::End => break,
            Staged::Failed(e) => return Err(e.into()),
            Staged::Idle | Staged::Down(_) => {
                if live {
                    unix_ms(SystemTime::now())
                } else {
                    last_ms
                }
            }
        };
        for interval in pipeline.poll(now_ms) {
            let stored = store(&reporter, &interval, epoch);
            let h = health.snapshot();
            if let Some(r) = &reporter {
                r.update_status(interval.fps, interval.coverage, h.up);
            }
            on_interval(&interval, &h, stored);
        }
        if last_status.elapsed() > Duration::from_secs(30) {
            let h = health.snapshot();
            let delivery = reporter.as_ref().map(|r| r.status()).unwrap_or_default();
            tracing::info!(
                camera = %config.camera.id,
                up = h.up,
                fps = h.fps,
                reconnects = h.reconnects,
                outbox_depth = delivery.depth,
                dropped = delivery.dropped,
                published = delivery.published,
                mqtt_connected = delivery.connected,
                "status"
            );
            last_status = Instant::now();
        }
    }
    let end_ms = if live { unix_ms(SystemTime::now()) } else { last_ms + 1 };
    for interval in pipeline.finish(end_ms) {
        let stored = store(&reporter, &interval, epoch);
        on_interval(&interval, &health.snapshot(), stored);
    }
    // Crossings decided as the stream ended.
    for incident in pipeline.take_incidents() {
        if let Some(r) = &reporter {
            r.publish_incident(incident);
        }
    }
    if let Some(r) = &reporter {
        r.drain(Duration::from_secs(5));
    }
    tracing::info!(camera = %config.camera.id, "agent stopped");
    Ok(())
}

/// The envelope identity an interval report was stored under (what central keys on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StoredAs {
    pub epoch: u64,
    pub seq: u64,
}

/// Stores an interval in the outbox (when publishing is configured). A failure here is
/// the one place a count can be lost, so it is logged at ERROR.
fn store(reporter: &Option<crate::report::Reporter>, interval: &IntervalCounts, epoch: u64) -> Option<StoredAs> {
    let r = reporter.as_ref()?;
    match r.store(interval) {
        Ok(seq) => Some(StoredAs { epoch, seq }),
        Err(e) => {
            tracing::error!(error = %e, start_ms = interval.start_ms, "interval report could not be stored: lost");
            None
        }
    }
}
