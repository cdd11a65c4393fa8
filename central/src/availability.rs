//! When a camera was watching, said truthfully: what the API, the dashboard and the
//! open-data export show as gaps.
//!
//! A gap is a span in which the camera was expected to report and did not (it, its agent
//! or the link was down). Two spans are not gaps:
//! - before the camera's first stored interval: it did not exist yet (a camera added two
//!   minutes ago has no 24-hour outage behind it);
//! - the interval being counted now: from the end of the last stored interval to now,
//!   while that is within one interval length plus `grace_ms` (the agent reports at the
//!   boundary, the link takes a moment). That span is `in_progress`.
//!
//! The future (after now) is neither. Pure: the caller gives the clock.

use crate::store::StoredInterval;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Availability {
    /// Start of the camera's first stored interval (`None`: it never reported one).
    pub since_ms: Option<i64>,
    /// Spans of the asked period nothing covers, by start.
    pub gaps: Vec<(i64, i64)>,
    /// The interval being counted now (`[last end, now)`), when the period reaches it.
    pub in_progress: Option<(i64, i64)>,
}

/// The availability over `[from_ms, to_ms)` of a camera whose stored intervals there are
/// `intervals` (sorted by start) and whose record begins at `since_ms`.
pub fn availability(
    intervals: &[StoredInterval],
    from_ms: i64,
    to_ms: i64,
    since_ms: Option<i64>,
    now_ms: i64,
    grace_ms: i64,
) -> Availability {
    let Some(since) = since_ms else { return Availability::default() };
    let lo = from_ms.max(since);
    let hi = to_ms.min(now_ms);
    if lo >= hi {
        return Availability { since_ms, ..Default::default() };
    }
    let mut gaps = gaps(intervals, lo, hi);
    let mut in_progress = None;
    // The open interval: the trailing span up to now, if the last report is recent enough.
    // Its length is taken from the last interval the period holds (the agent's setting).
    if let (Some(&(start, end)), Some(last)) = (gaps.last(), intervals.last()) {
        let length = last.interval.end_ms - last.interval.start_ms;
        if end == now_ms && start >= last.interval.end_ms && now_ms - start <= length + grace_ms {
            in_progress = Some((start, end));
            gaps.pop();
        }
    }
    Availability { since_ms, gaps, in_progress }
}

/// Spans of `[from_ms, to_ms)` that no stored interval covers. Input sorted by start.
pub fn gaps(intervals: &[StoredInterval], from_ms: i64, to_ms: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut covered_to = from_ms;
    for i in intervals {
        if i.interval.start_ms > covered_to {
            out.push((covered_to, i.interval.start_ms.min(to_ms)));
        }
        covered_to = covered_to.max(i.interval.end_ms);
        if covered_to >= to_ms {
            break;
        }
    }
    if covered_to < to_ms {
        out.push((covered_to, to_ms));
    }
    out.retain(|(a, b)| b > a);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::IntervalCounts;

    fn iv(start_ms: i64, end_ms: i64) -> StoredInterval {
        StoredInterval {
            agent_id: "a".into(),
            epoch: 1,
            seq: 1,
            camera_id: "c".into(),
            model_id: "m".into(),
            model_sha256: String::new(),
            received_ms: end_ms,
            interval: IntervalCounts { start_ms, end_ms, ..Default::default() },
        }
    }

    #[test]
    fn uncovered_spans() {
        assert_eq!(gaps(&[], 0, 100), vec![(0, 100)]);
        assert_eq!(gaps(&[iv(0, 10), iv(10, 20), iv(40, 50)], 0, 60), vec![(20, 40), (50, 60)]);
        assert_eq!(gaps(&[iv(-5, 10), iv(10, 70)], 0, 60), vec![]);
        assert_eq!(gaps(&[iv(5, 10)], 0, 10), vec![(0, 5)]);
    }

    #[test]
    fn a_camera_that_began_two_minutes_ago_has_no_outage_before_it() {
        // Asked for the last hour; the camera's first interval began 2 minutes ago.
        let now = 3_600_000;
        let rows = [iv(now - 120_000, now - 60_000), iv(now - 60_000, now - 5_000)];
        let a = availability(&rows, 0, now, Some(now - 120_000), now, 10_000);
        assert_eq!(a.gaps, vec![], "nothing before its first report, nothing in the open interval");
        assert_eq!(a.in_progress, Some((now - 5_000, now)));
        assert_eq!(a.since_ms, Some(now - 120_000));
        // Never reported: no record, so no gaps either (the answer says since = none).
        assert_eq!(availability(&[], 0, now, None, now, 10_000), Availability::default());
    }

    #[test]
    fn a_real_outage_stays_a_gap_and_the_future_is_not_one() {
        let rows = [iv(0, 60_000), iv(180_000, 240_000)];
        // A missed interval in the middle, and silence since 240 s: at 400 s that is more
        // than one 60 s interval plus 10 s of grace, so an outage, not "in progress".
        let a = availability(&rows, 0, 1_000_000, Some(0), 400_000, 10_000);
        assert_eq!(a.gaps, vec![(60_000, 180_000), (240_000, 400_000)]);
        assert_eq!(a.in_progress, None);
        // At 290 s the open interval is 50 s old: in progress, and nothing after now.
        let a = availability(&rows, 0, 1_000_000, Some(0), 290_000, 10_000);
        assert_eq!((a.gaps, a.in_progress), (vec![(60_000, 180_000)], Some((240_000, 290_000))));
        // A period in the past ends where it ends.
        let a = availability(&rows, 0, 200_000, Some(0), 290_000, 10_000);
        assert_eq!((a.gaps, a.in_progress), (vec![(60_000, 180_000)], None));
    }
}
