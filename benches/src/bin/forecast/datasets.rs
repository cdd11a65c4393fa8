//! Loaders for the public datasets the forecasting benchmark replays. Each becomes a
//! [`Dataset`]: series on a 5-minute grid (`None` where the source has no row), the road
//! graph's neighbour weights, and the chronological train / test ranges of its protocol.

use std::ops::Range;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use forecast::Grid;

pub struct Dataset {
    pub name: String,
    pub grid: Grid,
    pub first_index: i64,
    /// `series[s][i]` is grid index `first_index + i`.
    pub series: Vec<Vec<Option<f64>>>,
    /// Per series: (neighbour, weight), self excluded.
    pub neighbours: Vec<Vec<(usize, f64)>>,
    pub train: Range<i64>,
    pub test: Range<i64>,
    pub horizons_min: Vec<u32>,
}

const STEP_S: u32 = 300;

/// One Caltrans PeMS detector (xiaochus/TrafficFlowPrediction): train on the train file,
/// test on the test file; rows are `d/m/Y H:M,flow,…`; the days are not contiguous.
pub fn pems_1det(dir: &Path) -> Result<Dataset> {
    let train = read_pems(&dir.join("pems_1det_train.csv"))?;
    let test = read_pems(&dir.join("pems_1det_test.csv"))?;
    let grid = Grid::new(STEP_S, 0);
    let first = train.iter().chain(&test).map(|r| r.0).min().context("empty PeMS files")?;
    let last = train.iter().chain(&test).map(|r| r.0).max().unwrap();
    let mut values = vec![None; (last - first + 1) as usize];
    for (index, flow) in train.iter().chain(&test) {
        values[(index - first) as usize] = Some(*flow);
    }
    let range =
        |rows: &[(i64, f64)]| rows.iter().map(|r| r.0).min().unwrap()..rows.iter().map(|r| r.0).max().unwrap() + 1;
    let (train_range, test_range) = (range(&train), range(&test));
    ensure!(train_range.end <= test_range.start, "PeMS train and test overlap");
    Ok(Dataset {
        name: "pems-1det".into(),
        grid,
        first_index: first,
        series: vec![values],
        neighbours: vec![vec![]],
        train: train_range,
        test: test_range,
        horizons_min: vec![5, 15, 30, 60],
    })
}

fn read_pems(path: &Path) -> Result<Vec<(i64, f64)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    for (n, line) in text.trim_start_matches('\u{feff}').lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let at = || format!("{} line {}", path.display(), n + 1);
        ensure!(fields.len() >= 2, "{}: expected `time,flow,…`", at());
        let (date, time) = fields[0].split_once(' ').with_context(|| format!("{}: time {:?}", at(), fields[0]))?;
        let dmy: Vec<i64> = date
            .split('/')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}: date {date:?}", at()))?;
        let hm: Vec<i64> = time
            .split(':')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}: time {time:?}", at()))?;
        ensure!(dmy.len() == 3 && hm.len() == 2, "{}: time {:?} is not d/m/Y H:M", at(), fields[0]);
        let flow: f64 = fields[1].trim().parse().with_context(|| format!("{}: flow {:?}", at(), fields[1]))?;
        let unix = days_from_civil(dmy[2], dmy[1], dmy[0]) * 86_400 + hm[0] * 3600 + hm[1] * 60;
        rows.push((unix / STEP_S as i64, flow));
    }
    ensure!(!rows.is_empty(), "{}: no rows", path.display());
    Ok(rows)
}

/// Los-loop (lehaifeng/T-GCN): 207 detectors' speeds every 5 minutes from 2012-03-01
/// 00:00 local time; adjacency matrix beside it; chronological 80/20 split.
pub fn los_loop(dir: &Path) -> Result<Dataset> {
    let speed_path = dir.join("los_speed.csv");
    let text = std::fs::read_to_string(&speed_path).with_context(|| format!("reading {}", speed_path.display()))?;
    let mut lines = text.lines();
    let width = lines.next().context("los_speed.csv is empty")?.split(',').count();
    let mut series = vec![Vec::new(); width];
    for (n, line) in lines.enumerate() {
        let row: Vec<f64> = line
            .split(',')
            .map(|v| v.trim().parse())
            .collect::<Result<_, _>>()
            .with_context(|| format!("{} line {}", speed_path.display(), n + 2))?;
        ensure!(
            row.len() == width,
            "{} line {}: {} values, header has {width}",
            speed_path.display(),
            n + 2,
            row.len()
        );
        for (s, v) in row.into_iter().enumerate() {
            // METR-LA family files write 0 for "no reading": missing, not a standstill.
            series[s].push((v > 0.0).then_some(v));
        }
    }
    let adjacency = read_matrix(&dir.join("los_adj.csv"), width)?;
    let grid = Grid::new(STEP_S, 0);
    let first = days_from_civil(2012, 3, 1) * 86_400 / STEP_S as i64;
    let steps = series[0].len() as i64;
    let split = first + (steps as f64 * 0.8) as i64;
    Ok(Dataset {
        name: "los-loop".into(),
        grid,
        first_index: first,
        series,
        neighbours: neighbours_from(&adjacency),
        train: first..split,
        test: split..first + steps,
        horizons_min: vec![15, 30, 60],
    })
}

/// ASTGCN-style PEMS04/PEMS08: `data` of shape T × N × 3 (flow, occupancy, speed) in an
/// `.npz`; standard protocol: 12 steps in, 12 out, chronological 6:2:2 split (the
/// validation fifth is left unused). `start` is the first sample's local time (PEMS04:
/// 2018-01-01, PEMS08: 2016-07-01). Optional `adjacency`: the `from,to,cost` CSV.
pub fn astgcn_npz(path: &Path, start_unix: i64, adjacency: Option<&Path>) -> Result<Dataset> {
    use ndarray::Array3;
    use ndarray_npy::NpzReader;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut npz = NpzReader::new(file).with_context(|| format!("{} is not an .npz", path.display()))?;
    let data: Array3<f64> = match npz.by_name("data") {
        Ok(d) => d,
        Err(_) => npz
            .by_name::<ndarray::OwnedRepr<f32>, ndarray::Ix3>("data")
            .with_context(|| format!("{}: no T×N×F array `data`", path.display()))?
            .mapv(f64::from),
    };
    let (steps, nodes, channels) = data.dim();
    ensure!(channels >= 1 && steps >= 24, "{}: `data` has shape {:?}, want T × N × 3", path.display(), data.dim());
    let series: Vec<Vec<Option<f64>>> =
        (0..nodes).map(|n| (0..steps).map(|t| Some(data[[t, n, 0]]).filter(|v| v.is_finite())).collect()).collect();
    let mut neighbours = vec![Vec::new(); nodes];
    if let Some(adj) = adjacency {
        for (n, line) in
            std::fs::read_to_string(adj).with_context(|| format!("reading {}", adj.display()))?.lines().enumerate()
        {
            let f: Vec<&str> = line.split(',').collect();
            let (Ok(a), Ok(b)) =
                (f[0].trim().parse::<usize>(), f.get(1).map_or(Ok(usize::MAX), |b| b.trim().parse::<usize>()))
            else {
                continue;
            }; // header
            if a >= nodes || b >= nodes {
                bail!("{} line {}: node out of range", adj.display(), n + 1);
            }
            neighbours[a].push((b, 1.0));
            neighbours[b].push((a, 1.0));
        }
    }
    let grid = Grid::new(STEP_S, 0);
    let first = start_unix / STEP_S as i64;
    let (train_end, test_start) = (first + (steps as f64 * 0.6) as i64, first + (steps as f64 * 0.8) as i64);
    let name = path.file_stem().map_or("npz".into(), |s| s.to_string_lossy().into_owned());
    Ok(Dataset {
        name,
        grid,
        first_index: first,
        series,
        neighbours,
        train: first..train_end,
        test: test_start..first + steps as i64,
        horizons_min: vec![5, 15, 30, 60],
    })
}

fn read_matrix(path: &Path, width: usize) -> Result<Vec<Vec<f64>>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let rows: Vec<Vec<f64>> = text
        .lines()
        .enumerate()
        .map(|(n, l)| {
            l.split(',')
                .map(|v| v.trim().parse())
                .collect::<Result<Vec<f64>, _>>()
                .with_context(|| format!("{} line {}", path.display(), n + 1))
        })
        .collect::<Result<_>>()?;
    ensure!(
        rows.len() == width && rows.iter().all(|r| r.len() == width),
        "{}: want a {width}×{width} matrix",
        path.display()
    );
    Ok(rows)
}

fn neighbours_from(adjacency: &[Vec<f64>]) -> Vec<Vec<(usize, f64)>> {
    adjacency
        .iter()
        .enumerate()
        .map(|(i, row)| row.iter().enumerate().filter(|&(j, w)| j != i && *w > 0.0).map(|(j, w)| (j, *w)).collect())
        .collect()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!((days_from_civil(2016, 1, 4) + 3) % 7, 0);
    }

    #[test]
    fn npz_layout_and_split() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("PEMS08.npz");
        let data =
            ndarray::Array3::<f64>::from_shape_fn((100, 3, 3), |(t, n, c)| (t * 10 + n) as f64 + c as f64 * 1000.0);
        let mut w = ndarray_npy::NpzWriter::new(std::fs::File::create(&path).unwrap());
        w.add_array("data", &data).unwrap();
        w.finish().unwrap();
        let d = astgcn_npz(&path, 0, None).unwrap();
        assert_eq!(d.series.len(), 3);
        assert_eq!(d.series[2][7], Some(72.0)); // flow is channel 0
        assert_eq!((d.train.end, d.test.start, d.test.end), (60, 80, 100));
    }
}
