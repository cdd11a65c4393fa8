//! Optimal one-to-one assignment of tracks to detections by IoU (Hungarian method via
//! `pathfinding::kuhn_munkres`), keeping only pairs that overlap at least `min_iou`.

use pathfinding::matrix::Matrix;
use pathfinding::prelude::kuhn_munkres;

use crate::geometry::BBox;

pub struct Assignment {
    pub pairs: Vec<(usize, usize)>,
    pub unmatched_tracks: Vec<usize>,
    pub unmatched_dets: Vec<usize>,
}

pub fn by_iou(tracks: &[BBox], dets: &[BBox], min_iou: f32) -> Assignment {
    let (nt, nd) = (tracks.len(), dets.len());
    let mut pairs = Vec::new();
    if nt > 0 && nd > 0 {
        const SCALE: f32 = 1_000_000.0;
        let weight = |t: usize, d: usize| {
            let iou = tracks[t].iou(&dets[d]);
            if iou >= min_iou { (iou * SCALE) as i64 } else { 0 }
        };
        // kuhn_munkres needs rows <= columns.
        if nt <= nd {
            let m = Matrix::from_fn(nt, nd, |(t, d)| weight(t, d));
            let (_, cols) = kuhn_munkres(&m);
            pairs.extend(cols.into_iter().enumerate().filter(|&(t, d)| m[(t, d)] > 0));
        } else {
            let m = Matrix::from_fn(nd, nt, |(d, t)| weight(t, d));
            let (_, cols) = kuhn_munkres(&m);
            pairs.extend(cols.into_iter().enumerate().filter(|&(d, t)| m[(d, t)] > 0).map(|(d, t)| (t, d)));
        }
    }
    let mut track_used = vec![false; nt];
    let mut det_used = vec![false; nd];
    for &(t, d) in &pairs {
        track_used[t] = true;
        det_used[d] = true;
    }
    Assignment {
        pairs,
        unmatched_tracks: (0..nt).filter(|&t| !track_used[t]).collect(),
        unmatched_dets: (0..nd).filter(|&d| !det_used[d]).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_not_greedy() {
        // Greedy by best IoU would give t0-d0 and leave t1 unmatched.
        let tracks = [BBox::new(0.0, 0.0, 10.0, 10.0), BBox::new(6.0, 0.0, 16.0, 10.0)];
        let dets = [BBox::new(3.0, 0.0, 13.0, 10.0), BBox::new(-4.0, 0.0, 6.0, 10.0)];
        let a = by_iou(&tracks, &dets, 0.1);
        let mut pairs = a.pairs.clone();
        pairs.sort();
        assert_eq!(pairs, vec![(0, 1), (1, 0)]);
        assert!(a.unmatched_tracks.is_empty() && a.unmatched_dets.is_empty());
    }

    #[test]
    fn below_threshold_stays_unmatched() {
        let a = by_iou(&[BBox::new(0.0, 0.0, 10.0, 10.0)], &[BBox::new(50.0, 0.0, 60.0, 10.0)], 0.1);
        assert!(a.pairs.is_empty());
        assert_eq!((a.unmatched_tracks, a.unmatched_dets), (vec![0], vec![0]));
    }
}
