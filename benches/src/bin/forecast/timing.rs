//! Times one forecasting round the way central runs it: for every camera, the fitted
//! model reads the camera's recent series and profile and forecasts every horizon.
//! Cameras are the dataset's series repeated (with their neighbours) up to the count asked.

use anyhow::{Result, ensure};
use forecast::{History, LagModel, ProfileTable, SeriesInput};

use crate::datasets::Dataset;
use crate::evaluate::Learned;

pub struct Round {
    pub cameras: usize,
    pub horizons: usize,
    pub rounds: usize,
    pub median_ms: f64,
    pub max_ms: f64,
}

pub fn round(ds: &Dataset, model: &LagModel, learned: &Learned, cameras: usize) -> Result<Round> {
    ensure!(cameras > 0, "--cameras must be positive");
    let tables: Vec<ProfileTable> = ds
        .series
        .iter()
        .map(|values| {
            History { values, first_index: ds.first_index }
                .profile(ds.grid, &learned.profile_config(), ds.train.clone(), None)
                .table()
        })
        .collect();
    let inputs: Vec<SeriesInput> = ds
        .series
        .iter()
        .zip(&tables)
        .map(|(v, t)| SeriesInput {
            values: v,
            first_index: ds.first_index,
            profile: t,
            scale: t.level().unwrap_or(1.0).max(1e-9),
        })
        .collect();
    let origin = ds.test.start;
    let mut times = Vec::new();
    let (mut scratch, mut neighbours) = (Vec::new(), Vec::new());
    for _ in 0..21 {
        let started = std::time::Instant::now();
        let mut produced = 0;
        for camera in 0..cameras {
            let s = camera % inputs.len();
            neighbours.clear();
            neighbours.extend(ds.neighbours[s].iter().map(|&(n, w)| (inputs[n], w)));
            produced += std::hint::black_box(model.predict(&inputs[s], &neighbours, origin, &mut scratch)).len();
        }
        times.push(started.elapsed().as_secs_f64() * 1e3);
        ensure!(produced > 0, "no forecast produced");
    }
    times.sort_by(f64::total_cmp);
    Ok(Round {
        cameras,
        horizons: model.spec.horizons.len(),
        rounds: times.len(),
        median_ms: times[times.len() / 2],
        max_ms: times[times.len() - 1],
    })
}

/// Central's whole forecasting path at city scale: `cameras` approaches with `days` of
/// 5-minute history (a daily two-peak pattern, each camera its own volume and noise)
/// retrained at once, then one round in which every camera's next interval arrives.
pub struct CentralRound {
    pub cameras: usize,
    pub days: i64,
    pub retrain_s: f64,
    pub round_ms: f64,
    pub model: bool,
}

pub fn central_round(cameras: usize, days: i64) -> CentralRound {
    use central::forecast::ForecastSettings;
    use central::forecast::engine::Engine;
    use central::store::StoredInterval;
    use protocol::{ClassCounts, DirectionCounts, IntervalCounts, VehicleClass};

    const STEP: i64 = 300_000;
    let now = 1_795_453_200_000 + 9 * 3_600_000; // 09:00 in Ho Chi Minh City
    let interval = |camera: usize, start: i64| {
        let hour = ((start / 1000 + 7 * 3600) % 86_400) as f64 / 3600.0;
        let level = 50.0 + 200.0 * (-(hour - 7.5).powi(2) / 3.0).exp() + 150.0 * (-(hour - 17.5).powi(2) / 3.0).exp();
        // 0..63
        let noise = ((start / STEP) as u64 ^ (camera as u64 * 0x9e37_79b9)).wrapping_mul(0x2545_f491_4f6c_dd1d) >> 58;
        let mut forward = ClassCounts::default();
        forward.add(VehicleClass::Motorcycle, (level * (1.0 + camera as f64 % 7.0 / 7.0) + noise as f64) as u32);
        forward.add(VehicleClass::Car, (level / 8.0) as u32);
        StoredInterval {
            agent_id: format!("cam-{camera}"),
            epoch: 1,
            seq: (start / STEP) as u64,
            camera_id: format!("cam-{camera}"),
            model_id: "m".into(),
            model_sha256: String::new(),
            received_ms: start + STEP,
            interval: IntervalCounts {
                start_ms: start,
                end_ms: start + STEP,
                coverage: 1.0,
                fps: 10.0,
                frames: 3000,
                lines: [("main".to_string(), DirectionCounts { forward, backward: ClassCounts::default() })]
                    .into_iter()
                    .collect(),
                zones: Default::default(),
                movements: vec![],
                speeds: Default::default(),
            },
        }
    };
    let mut engine = Engine::new(ForecastSettings::default());
    engine.begin_retrain();
    for camera in 0..cameras {
        for k in (1..=days * 288).rev() {
            engine.record(&interval(camera, now - k * STEP));
        }
    }
    let started = std::time::Instant::now();
    let trained = engine.finish_retrain(now);
    let retrain_s = started.elapsed().as_secs_f64();
    let arrivals: Vec<StoredInterval> = (0..cameras).map(|c| interval(c, now)).collect();
    let started = std::time::Instant::now();
    let reports: usize = arrivals.iter().map(|s| std::hint::black_box(engine.on_interval(s)).len()).sum();
    let round_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(reports, cameras);
    CentralRound { cameras, days, retrain_s, round_ms, model: trained.model.is_some() }
}
