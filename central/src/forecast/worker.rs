//! The forecasting thread. Stored intervals arrive from the stored-interval bus (a
//! subscriber that falls behind misses forecast updates, never a count: the count is already
//! stored, and the next retraining reads it back); when the bus closes (the store writer
//! stopped) the worker saves its state and ends. Retraining runs at start-up and every
//! `retrain_every_s`, reading `history_days` from the store; its result is written to
//! `state_file` (JSON, written to a temporary file and renamed) and read back at the next
//! start, so forecasts continue if the store cannot be read then.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use protocol::forecast::ForecastReport;
use protocol::messages::Envelope;
use protocol::topics::Topic;
use rumqttc::{AsyncClient, QoS};
use tokio::sync::broadcast::error::RecvError;

use super::engine::{Engine, Trained};
use super::settings::ForecastSettings;
use crate::bus::Subscription;
use crate::clock::now_ms;
use crate::metrics::Metrics;
use crate::store::StoreSpec;

/// Latest forecast per camera and line, for the API.
pub type Latest = Arc<Mutex<BTreeMap<String, BTreeMap<String, ForecastReport>>>>;

pub struct Worker {
    pub settings: ForecastSettings,
    pub state_file: PathBuf,
    pub store: StoreSpec,
    pub client: Option<AsyncClient>,
    pub latest: Latest,
    pub metrics: Arc<Metrics>,
    pub central_id: String,
    /// Alerts and the police feed.
    pub hub: Arc<crate::hub::Hub>,
}

impl Worker {
    /// Runs on its own thread (retraining is long and blocking) until the bus closes;
    /// `runtime` only times the waits for the next interval.
    pub fn run(self, mut intervals: Subscription, runtime: tokio::runtime::Handle) {
        let mut engine = Engine::new(self.settings.clone());
        match std::fs::read(&self.state_file).map(|b| serde_json::from_slice::<Trained>(&b)) {
            Ok(Ok(t)) if t.grid.step_s == self.settings.step_s && t.grid.utc_offset_s == self.settings.utc_offset_s => {
                engine.trained = Some(t)
            }
            Ok(Ok(_)) => {
                tracing::info!(file = %self.state_file.display(), "forecast state is for another grid; retraining")
            }
            Ok(Err(e)) => {
                tracing::warn!(file = %self.state_file.display(), error = %e, "forecast state unreadable; retraining")
            }
            Err(_) => {}
        }
        let (epoch, mut seq) = (now_ms() as u64, 0u64);
        let mut cutoff_ms = self.retrain(&mut engine);
        let mut next_retrain = now_ms() + self.settings.retrain_every_s as i64 * 1000;
        loop {
            // The timer is made inside `block_on`, where the runtime's clock is.
            match runtime.block_on(async { tokio::time::timeout(Duration::from_secs(1), intervals.recv()).await }) {
                Ok(Ok(s)) => {
                    // Already in the history the last retraining read.
                    if s.received_ms < cutoff_ms {
                        continue;
                    }
                    for report in engine.on_interval(&s) {
                        seq += 1;
                        self.publish(&report, epoch, seq);
                        self.metrics.forecasts.inc();
                        if report.alert {
                            self.metrics.forecast_alerts.inc();
                        }
                        self.hub.forecast(&report);
                        let mut latest = self.latest.lock();
                        latest.entry(report.camera_id.clone()).or_default().insert(report.line.clone(), report);
                    }
                }
                Err(_elapsed) => {}
                Ok(Err(RecvError::Lagged(missed))) => {
                    self.metrics.forecast_updates_dropped.inc_by(missed);
                }
                // The store writer has stopped: nothing more will arrive.
                Ok(Err(RecvError::Closed)) => {
                    if let Some(trained) = &engine.trained {
                        self.save(trained);
                    }
                    return;
                }
            }
            if now_ms() >= next_retrain {
                cutoff_ms = self.retrain(&mut engine);
                next_retrain = now_ms() + self.settings.retrain_every_s as i64 * 1000;
            }
        }
    }

    /// Returns the receive time before which intervals are already in the history read.
    fn retrain(&self, engine: &mut Engine) -> i64 {
        let started = now_ms();
        let from = started - self.settings.history_days as i64 * 86_400_000;
        engine.begin_retrain();
        let read = (|| -> Result<usize, crate::store::StoreError> {
            let mut store = self.store.open()?;
            let mut n = 0;
            for camera in store.cameras()? {
                for s in store.counts(&camera.camera_id, from, started + 1, usize::MAX >> 1)? {
                    engine.record(&s);
                    n += 1;
                }
            }
            Ok(n)
        })();
        let intervals = match read {
            Ok(n) => n,
            Err(e) => {
                // The series are rebuilt from what arrives next; the model stays.
                tracing::warn!(error = %e, "forecast retraining could not read the store; keeping the previous model");
                return i64::MIN;
            }
        };
        let trained = engine.finish_retrain(started);
        tracing::info!(
            intervals,
            approaches = trained.profiles.len(),
            model = trained.model.is_some(),
            seconds = (now_ms() - started) as f64 / 1e3,
            "forecast model retrained"
        );
        self.save(&trained);
        started
    }

    /// Writes the model and profiles to `state_file` (temporary file, then rename).
    fn save(&self, trained: &Trained) {
        let tmp = self.state_file.with_extension("json.tmp");
        let written = serde_json::to_vec(trained)
            .map_err(std::io::Error::other)
            .and_then(|b| std::fs::write(&tmp, b))
            .and_then(|_| std::fs::rename(&tmp, &self.state_file));
        match written {
            Ok(()) => tracing::info!(file = %self.state_file.display(), "forecast state saved"),
            Err(e) => tracing::warn!(file = %self.state_file.display(), error = %e, "forecast state not saved"),
        }
    }

    fn publish(&self, report: &ForecastReport, epoch: u64, seq: u64) {
        let Some(client) = &self.client else { return };
        let Ok(topic) = (Topic::Forecast { area: report.area.clone() }).to_topic() else { return };
        let payload = serde_json::to_vec(&Envelope::new(&self.central_id, epoch, seq, report)).expect("serialisable");
        if let Err(e) = client.try_publish(topic, QoS::AtLeastOnce, false, payload) {
            tracing::warn!(error = %e, "forecast not published");
        }
    }
}
