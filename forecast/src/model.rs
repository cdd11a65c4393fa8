//! The learned forecaster: per horizon, a linear model on [`features`](crate::features)
//! fitted by iteratively reweighted least squares to minimise absolute error (the
//! metric operators feel, and robust to incident spikes), with a small ridge penalty.
//!
//! Prediction = profile at the target + scale · (features · coefficients). When a series
//! has too few recent observations the model is not trusted and the forecast degrades to
//! the profile alone (`Method::Profile`); without a profile there is no forecast.
//! Prediction intervals are the 10th/90th percentiles of the training residuals.

use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::features::{FeatureBuilder, FeatureSpec, SeriesInput};
use crate::linalg::solve_spd;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub features: FeatureSpec,
    /// Horizons in grid steps.
    pub horizons: Vec<usize>,
    /// Ridge penalties (per unit of sample weight) to choose from, per horizon, by the
    /// absolute error on the last `validation_fraction` of the training history.
    pub ridge: Vec<f64>,
    pub validation_fraction: f64,
    /// IRLS passes for the absolute-error fit (1 = plain least squares).
    pub l1_iterations: usize,
    /// Fewer observed own lags than this and the forecast falls back to the profile.
    pub min_observed_lags: usize,
    /// Most training origins used (per horizon); beyond it origins are taken at an even
    /// stride, which bounds retraining memory for a whole city (~200 MB at the default).
    pub max_samples: usize,
}

impl Default for ModelSpec {
    fn default() -> Self {
        ModelSpec {
            features: FeatureSpec { lags: 12, neighbour_lags: 3 },
            horizons: vec![3, 6, 12],
            ridge: vec![1e-6, 1e-5, 1e-4, 1e-3, 1e-2],
            validation_fraction: 0.2,
            l1_iterations: 20,
            min_observed_lags: 3,
            max_samples: 400_000,
        }
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum FitError {
    #[error("horizon {horizon} steps: only {samples} training samples (need {needed})")]
    TooFewSamples { horizon: usize, samples: usize, needed: usize },
    #[error("horizon {horizon} steps: the normal equations are singular")]
    Singular { horizon: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Model,
    Profile,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub horizon_steps: usize,
    pub value: f64,
    pub low: f64,
    pub high: f64,
    pub method: Method,
}

/// Training samples for every horizon of one spec; fill with [`TrainingSet::add`].
pub struct TrainingSet {
    builder: FeatureBuilder,
    horizons: Vec<usize>,
    rows: Vec<Vec<f64>>,
    targets: Vec<Vec<f64>>,
    origins: Vec<Vec<i64>>,
    scratch: Vec<f64>,
}

impl TrainingSet {
    pub fn new(spec: &ModelSpec, slots_per_day: usize) -> Self {
        let n = spec.horizons.len();
        TrainingSet {
            builder: FeatureBuilder { spec: spec.features, slots_per_day: slots_per_day as i64 },
            horizons: spec.horizons.clone(),
            rows: vec![Vec::new(); n],
            targets: vec![Vec::new(); n],
            origins: vec![Vec::new(); n],
            scratch: Vec::new(),
        }
    }

    /// Adds the samples whose origin is `origin` and whose targets are observed.
    pub fn add(&mut self, own: &SeriesInput, neighbours: &[(SeriesInput, f64)], origin: i64, min_observed_lags: usize) {
        for (h, &horizon) in self.horizons.iter().enumerate() {
            let target = origin + horizon as i64;
            let Some(actual) = own.value(target) else { continue };
            let Some(built) = self.builder.build(own, neighbours, origin, horizon, &mut self.scratch) else { continue };
            if built.observed_lags < min_observed_lags {
                continue;
            }
            self.rows[h].extend_from_slice(&self.scratch);
            self.targets[h].push((actual - built.expected_at_target) / own.scale);
            self.origins[h].push(origin);
        }
    }

    pub fn samples(&self, horizon_index: usize) -> usize {
        self.targets[horizon_index].len()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LagModel {
    pub spec: ModelSpec,
    pub slots_per_day: usize,
    coefficients: Vec<Vec<f64>>,
    /// Per horizon: 10th and 90th percentile of the model's scaled residuals.
    model_band: Vec<[f64; 2]>,
    /// Per horizon: the same for the profile alone.
    profile_band: Vec<[f64; 2]>,
    ridge: Vec<f64>,
}

impl LagModel {
    /// Fits every horizon; the ridge penalty of each is chosen on the samples whose
    /// origin is in the last `validation_fraction` of the origins seen (time order, so the
    /// choice is made the way the model will be used: on days it has not seen).
    pub fn fit(spec: &ModelSpec, slots_per_day: usize, set: &TrainingSet) -> Result<Self, FitError> {
        let width = spec.features.width();
        let mut coefficients = Vec::new();
        let (mut model_band, mut profile_band, mut chosen) = (Vec::new(), Vec::new(), Vec::new());
        for (h, &horizon) in spec.horizons.iter().enumerate() {
            let n = set.targets[h].len();
            if n < 4 * width {
                return Err(FitError::TooFewSamples { horizon, samples: n, needed: 4 * width });
            }
            let x = Array2::from_shape_vec((n, width), set.rows[h].clone()).expect("rows are whole");
            let y = Array1::from(set.targets[h].clone());
            let ridge = choose_ridge(spec, &x, &y, &set.origins[h]).ok_or(FitError::Singular { horizon })?;
            let beta = irls(&x, &y, ridge, spec.l1_iterations.max(1)).ok_or(FitError::Singular { horizon })?;
            let residuals = &y - &x.dot(&beta);
            model_band.push(band(residuals.to_vec()));
            profile_band.push(band(y.to_vec()));
            coefficients.push(beta.to_vec());
            chosen.push(ridge);
        }
        Ok(LagModel { spec: spec.clone(), slots_per_day, coefficients, model_band, profile_band, ridge: chosen })
    }

    /// The ridge penalty chosen per horizon.
    pub fn chosen_ridge(&self) -> &[f64] {
        &self.ridge
    }

    pub fn builder(&self) -> FeatureBuilder {
        FeatureBuilder { spec: self.spec.features, slots_per_day: self.slots_per_day as i64 }
    }

    /// Forecasts every horizon from `origin`; horizons the profile knows nothing about are left out.
    pub fn predict(
        &self,
        own: &SeriesInput,
        neighbours: &[(SeriesInput, f64)],
        origin: i64,
        scratch: &mut Vec<f64>,
    ) -> Vec<Prediction> {
        let builder = self.builder();
        let mut out = Vec::with_capacity(self.spec.horizons.len());
        for (h, &horizon) in self.spec.horizons.iter().enumerate() {
            let Some(built) = builder.build(own, neighbours, origin, horizon, scratch) else { continue };
            let expected = built.expected_at_target;
            let (deviation, band, method) = if built.observed_lags >= self.spec.min_observed_lags {
                (
                    scratch.iter().zip(&self.coefficients[h]).map(|(x, b)| x * b).sum::<f64>(),
                    self.model_band[h],
                    Method::Model,
                )
            } else {
                (0.0, self.profile_band[h], Method::Profile)
            };
            let value = (expected + own.scale * deviation).max(0.0);
            out.push(Prediction {
                horizon_steps: horizon,
                value,
                low: (value + own.scale * band[0]).max(0.0),
                high: value + own.scale * band[1],
                method,
            });
        }
        out
    }
}

/// Absolute-error ridge regression by IRLS: weights 1/max(|r|, ε) turn least squares into
/// least absolute deviations; ε keeps exact fits from dominating.
fn irls(x: &Array2<f64>, y: &Array1<f64>, ridge: f64, iterations: usize) -> Option<Array1<f64>> {
    const EPSILON: f64 = 0.01;
    let mut weights = Array1::<f64>::ones(y.len());
    let mut beta = None;
    for _ in 0..iterations {
        let weighted = x * &weights.view().insert_axis(Axis(1));
        let mut normal = weighted.t().dot(x);
        let penalty = ridge * weights.sum();
        for i in 0..normal.nrows() {
            normal[[i, i]] += penalty;
        }
        let solved = solve_spd(&normal, &weighted.t().dot(y))?;
        let residuals = y - &x.dot(&solved);
        weights = residuals.mapv(|r| 1.0 / r.abs().max(EPSILON));
        beta = Some(solved);
    }
    beta
}

fn choose_ridge(spec: &ModelSpec, x: &Array2<f64>, y: &Array1<f64>, origins: &[i64]) -> Option<f64> {
    if spec.ridge.len() == 1 {
        return spec.ridge.first().copied();
    }
    let mut sorted = origins.to_vec();
    sorted.sort_unstable();
    let split = sorted
        [((sorted.len() as f64) * (1.0 - spec.validation_fraction)).clamp(0.0, (sorted.len() - 1) as f64) as usize];
    let (fit_rows, check_rows): (Vec<usize>, Vec<usize>) = (0..origins.len()).partition(|&i| origins[i] < split);
    if fit_rows.len() < 4 * x.ncols() || check_rows.is_empty() {
        return spec.ridge.iter().copied().fold(None, |a: Option<f64>, r| Some(a.map_or(r, |a| a.max(r))));
    }
    let (xf, yf) = (x.select(Axis(0), &fit_rows), y.select(Axis(0), &fit_rows));
    let (xc, yc) = (x.select(Axis(0), &check_rows), y.select(Axis(0), &check_rows));
    spec.ridge
        .iter()
        .filter_map(|&r| {
            irls(&xf, &yf, r, spec.l1_iterations.max(1)).map(|b| (r, (&yc - &xc.dot(&b)).mapv(f64::abs).sum()))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(r, _)| r)
}

fn band(mut residuals: Vec<f64>) -> [f64; 2] {
    residuals.sort_by(f64::total_cmp);
    let at = |q: f64| residuals[((residuals.len() - 1) as f64 * q).round() as usize];
    [at(0.1), at(0.9)]
}
