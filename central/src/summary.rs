//! `central summarize`: totals the JSON lines `edge-agent run` prints (one per interval)
//! per camera and line, validated against the shared `protocol` types; for looking at an
//! agent's output without a broker.

use std::collections::BTreeMap;
use std::io::BufRead;

use protocol::{DirectionCounts, IntervalCounts};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct AgentLine {
    camera: String,
    interval: IntervalCounts,
}

/// Totals per camera: line counts, intervals seen, and mean coverage.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CameraTotals {
    pub intervals: u64,
    pub coverage_sum: f64,
    pub lines: BTreeMap<String, DirectionCounts>,
}

#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error("line {line}: {message}")]
    BadReport { line: usize, message: String },
    #[error("reading input: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads JSON lines of `{"camera": …, "interval": …}` and totals them.
pub fn summarize(input: impl BufRead) -> Result<BTreeMap<String, CameraTotals>, SummaryError> {
    let mut totals: BTreeMap<String, CameraTotals> = BTreeMap::new();
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let report: AgentLine =
            serde_json::from_str(&line).map_err(|e| SummaryError::BadReport { line: i + 1, message: e.to_string() })?;
        if !(0.0..=1.0).contains(&report.interval.coverage) || report.interval.end_ms <= report.interval.start_ms {
            return Err(SummaryError::BadReport {
                line: i + 1,
                message: "coverage outside 0..=1 or empty interval".into(),
            });
        }
        let t = totals.entry(report.camera).or_default();
        t.intervals += 1;
        t.coverage_sum += report.interval.coverage;
        for (name, c) in &report.interval.lines {
            t.lines.entry(name.clone()).or_default().merge(c);
        }
    }
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_per_camera_and_rejects_bad_reports() {
        let line = concat!(
            r#"{"camera":"c1","interval":{"start_ms":0,"end_ms":10000,"coverage":0.5,"fps":25.0,"#,
            r#""frames":125,"lines":{"l":{"forward":{"car":2,"motorcycle":5,"bus":0,"truck":0,"#,
            r#""bicycle":0},"backward":{"car":0,"motorcycle":0,"bus":0,"truck":0,"bicycle":0}}},"#,
            r#""zones":{},"movements":[]},"stream":{}}"#,
        );
        let input = format!("{line}\n{line}\n");
        let t = summarize(input.as_bytes()).unwrap();
        assert_eq!(t["c1"].intervals, 2);
        assert_eq!(t["c1"].lines["l"].forward.motorcycle, 10);
        assert!((t["c1"].coverage_sum - 1.0).abs() < 1e-9);
        let bad = line.replace("\"coverage\":0.5", "\"coverage\":1.5");
        let err = summarize(format!("{line}\n{bad}\n").as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with("line 2"), "{err}");
    }
}
