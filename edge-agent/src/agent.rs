//! The long-running agent loop (`edge-agent run`): one camera, forever. The stream is
//! reconnected whenever it drops; interval reports keep coming on the wall clock, with
//! coverage telling how much of each interval was really seen.
//!
//! Until the data path (durable outbox + MQTT) lands, each interval is handed to a
//! callback (the CLI prints it as a JSON line).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use protocol::IntervalCounts;

use crate::app::build_pipeline;
use crate::config::AgentConfig;
use crate::ingest::gst::OpenOptions;
use crate::ingest::health::unix_ms;
use crate::ingest::{HealthSnapshot, Reader, ReconnectPolicy};
use crate::stages::{PrepStage, Staged};

pub fn run(
    config: &AgentConfig,
    config_dir: Option<&Path>,
    stop: Arc<AtomicBool>,
    mut on_interval: impl FnMut(&IntervalCounts, &HealthSnapshot),
) -> anyhow::Result<()> {
    let mut pipeline = build_pipeline(config, None, config_dir)?;
    let spec = config.source(config_dir).map_err(anyhow::Error::msg)?;
    let opts = OpenOptions { rtsp_tcp_only: config.camera.rtsp_tcp_only, rtsp_latency_ms: config.camera.rtsp_latency_ms, ..Default::default() };
    let live = spec.is_live();
    let reader = if live {
        Reader::new_live(spec, opts, ReconnectPolicy::default())
    } else {
        Reader::open(spec, opts, ReconnectPolicy { reconnect: false, ..Default::default() })?
    };
    let health = reader.health();
    let source_name = reader.spec().display_name();
    let stage = PrepStage::spawn(reader, pipeline.preparer(), 1);
    if live {
        pipeline.start(unix_ms(SystemTime::now()));
    }
    tracing::info!(camera = %config.camera.id, source = %source_name, model = %config.camera.model, "agent started");
    let mut last_status = Instant::now();
    let mut last_ms = 0;
    while !stop.load(Ordering::Relaxed) {
        let now_ms = match stage.next() {
            Staged::Frame(input) => {
                pipeline.process_prepared(&input)?;
                last_ms = unix_ms(input.meta.captured_at);
                stage.recycle(input);
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
            on_interval(&interval, &health.snapshot());
        }
        if last_status.elapsed() > Duration::from_secs(30) {
            let h = health.snapshot();
            tracing::info!(camera = %config.camera.id, up = h.up, fps = h.fps, reconnects = h.reconnects, "stream status");
            last_status = Instant::now();
        }
    }
    let end_ms = if live { unix_ms(SystemTime::now()) } else { last_ms + 1 };
    for interval in pipeline.finish(end_ms) {
        on_interval(&interval, &health.snapshot());
    }
    tracing::info!(camera = %config.camera.id, "agent stopped");
    Ok(())
}
