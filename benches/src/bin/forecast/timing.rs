//! Times one forecasting round the way central runs it: for every camera, the fitted
//! model reads the camera's recent series and profile and forecasts every horizon.
//! Cameras are the dataset's series repeated (with their neighbours) up to the count asked.

use anyhow::{Result, ensure};
use forecast::{Grouping, LagModel, Profile, ProfileTable, SeriesInput};

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
            let mut p = Profile::new(ds.grid, Grouping::DayType, learned.stat, learned.smoothing, 28);
            for index in ds.train.clone() {
                p.observe(index, values[(index - ds.first_index) as usize]);
            }
            p.table()
        })
        .collect();
    let inputs: Vec<SeriesInput> = ds.series.iter().zip(&tables).map(|(v, t)| SeriesInput { values: v, first_index: ds.first_index, profile: t, scale: t.level().unwrap_or(1.0).max(1e-9) }).collect();
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
    Ok(Round { cameras, horizons: model.spec.horizons.len(), rounds: times.len(), median_ms: times[times.len() / 2], max_ms: times[times.len() - 1] })
}
