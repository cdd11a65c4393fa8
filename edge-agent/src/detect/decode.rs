//! Output decoders: turn raw head tensors into candidate boxes in model-input pixels.
//! Pure functions over slices, so they are unit-tested without ONNX Runtime.
//!
//! Each candidate keeps the score of every product class (max over the model classes
//! mapped to it), so later stages can vote on a vehicle's class across frames instead
//! of trusting one frame's arg-max.

use protocol::ObjectClass;

use super::Detection;
use crate::geometry::BBox;

/// Model class id → product class (None: ignored).
pub type ClassTable = [Option<ObjectClass>];

fn product_scores(class_probs: impl Iterator<Item = f32>, table: &ClassTable, scale: f32) -> [f32; 6] {
    let mut scores = [0.0f32; 6];
    for (id, p) in class_probs.enumerate().take(table.len()) {
        if let Some(class) = table[id] {
            let s = p * scale;
            if s > scores[class.index()] {
                scores[class.index()] = s;
            }
        }
    }
    scores
}

fn best(scores: &[f32; 6]) -> (ObjectClass, f32) {
    let (i, s) = scores.iter().enumerate().fold((0, f32::MIN), |acc, (i, s)| if *s > acc.1 { (i, *s) } else { acc });
    (ObjectClass::ALL[i], s)
}

/// YOLOX: `[anchors, 5 + classes]` rows of (x, y, w, h, objectness, class scores…),
/// anchors laid out stride by stride, row-major. Boxes: xy = (raw + grid)·stride,
/// wh = exp(raw)·stride; score = objectness × class score.
pub fn yolox(
    out: &[f32],
    num_classes: usize,
    input: (u32, u32),
    strides: &[u32],
    table: &ClassTable,
    threshold: f32,
    dets: &mut Vec<Detection>,
) {
    let row = 5 + num_classes;
    let mut anchor = 0usize;
    for &stride in strides {
        let (gw, gh) = (input.0 / stride, input.1 / stride);
        for gy in 0..gh {
            for gx in 0..gw {
                let r = &out[anchor * row..(anchor + 1) * row];
                anchor += 1;
                let obj = r[4];
                if obj < threshold {
                    continue;
                }
                let scores = product_scores(r[5..].iter().copied(), table, obj);
                let (class, score) = best(&scores);
                if score < threshold {
                    continue;
                }
                let s = stride as f32;
                let cx = (r[0] + gx as f32) * s;
                let cy = (r[1] + gy as f32) * s;
                let w = r[2].exp() * s;
                let h = r[3].exp() * s;
                dets.push(Detection {
                    bbox: BBox::new(cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0),
                    score,
                    class,
                    class_scores: scores,
                });
            }
        }
    }
}

/// NanoDet (GFL head): per stride, class scores `[cells, classes]` (already sigmoid)
/// and distances `[cells, 4·bins]`, a softmax over `bins` per side (left, top, right,
/// bottom) whose expectation × stride is the distance from the cell centre.
#[allow(clippy::too_many_arguments)]
pub fn nanodet(
    cls: &[f32],
    dis: &[f32],
    num_classes: usize,
    bins: usize,
    stride: u32,
    input: (u32, u32),
    table: &ClassTable,
    threshold: f32,
    dets: &mut Vec<Detection>,
) {
    // A stride that does not divide the input (PicoDet's 64 on 416) has a partial last
    // row and column of cells, as the network's own padding produces.
    let (gw, gh) = (input.0.div_ceil(stride) as usize, input.1.div_ceil(stride) as usize);
    let s = stride as f32;
    let cells = (gw * gh).min(cls.len() / num_classes.max(1)).min(dis.len() / (4 * bins).max(1));
    for cell in 0..cells {
        let c = &cls[cell * num_classes..(cell + 1) * num_classes];
        let scores = product_scores(c.iter().copied(), table, 1.0);
        let (class, score) = best(&scores);
        if score < threshold {
            continue;
        }
        let d = &dis[cell * 4 * bins..(cell + 1) * 4 * bins];
        let mut dist = [0.0f32; 4];
        for (side, logits) in d.chunks_exact(bins).enumerate() {
            let max = logits.iter().copied().fold(f32::MIN, f32::max);
            let mut sum = 0.0;
            let mut expect = 0.0;
            for (k, l) in logits.iter().enumerate() {
                let e = (l - max).exp();
                sum += e;
                expect += e * k as f32;
            }
            dist[side] = expect / sum * s;
        }
        // Cell centres follow mmdetection's convention: x·stride + (stride − 1)/2.
        let cx = (cell % gw) as f32 * s + (s - 1.0) / 2.0;
        let cy = (cell / gw) as f32 * s + (s - 1.0) / 2.0;
        dets.push(Detection {
            bbox: BBox::new(cx - dist[0], cy - dist[1], cx + dist[2], cy + dist[3]),
            score,
            class,
            class_scores: scores,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<Option<ObjectClass>> {
        vec![Some(ObjectClass::Person), None, Some(ObjectClass::Car), None, None, Some(ObjectClass::Bus)]
    }

    #[test]
    fn yolox_decodes_one_anchor_on_the_stride_16_grid() {
        let input = (64, 64);
        let strides = [8, 16, 32];
        let anchors = 64 + 16 + 4;
        let classes = 6;
        let mut out = vec![0.0f32; anchors * (5 + classes)];
        // Anchor at stride 16, grid (2, 1): index 64 + 1*4 + 2.
        let a = 64 + 4 + 2;
        let r = &mut out[a * 11..(a + 1) * 11];
        r[..5].copy_from_slice(&[0.5, 0.25, (2.0f32).ln(), 0.0, 0.9]);
        r[5 + 5] = 0.8; // bus
        r[5 + 2] = 0.3; // car
        r[5 + 4] = 0.99; // unmapped class: ignored
        let mut dets = Vec::new();
        yolox(&out, classes, input, &strides, &table(), 0.1, &mut dets);
        assert_eq!(dets.len(), 1);
        let d = &dets[0];
        assert_eq!(d.class, ObjectClass::Bus);
        assert!((d.score - 0.72).abs() < 1e-5);
        assert!((d.class_scores[ObjectClass::Car.index()] - 0.27).abs() < 1e-5);
        // centre (2.5·16, 1.25·16) = (40, 20), size 32×16.
        let b = d.bbox;
        assert!((b.x1 - 24.0).abs() < 1e-4 && (b.x2 - 56.0).abs() < 1e-4, "{b:?}");
        assert!((b.y1 - 12.0).abs() < 1e-4 && (b.y2 - 28.0).abs() < 1e-4, "{b:?}");
    }

    #[test]
    fn nanodet_decodes_distances_from_cell_centre() {
        let input = (32, 32);
        let (bins, classes, stride) = (4usize, 6usize, 16u32);
        let cells = 4;
        let mut cls = vec![0.0f32; cells * classes];
        let mut dis = vec![0.0f32; cells * 4 * bins];
        cls[3 * classes] = 0.6; // cell (1,1) is a person
        // Put all mass on bin 1 for every side: distance = 1·16.
        for side in 0..4 {
            let d = &mut dis[3 * 4 * bins + side * bins..3 * 4 * bins + (side + 1) * bins];
            d.copy_from_slice(&[-50.0, 50.0, -50.0, -50.0]);
        }
        let mut dets = Vec::new();
        nanodet(&cls, &dis, classes, bins, stride, input, &table(), 0.3, &mut dets);
        assert_eq!(dets.len(), 1);
        let c = 16.0 + 7.5;
        let b = dets[0].bbox;
        assert!((b.x1 - (c - 16.0)).abs() < 1e-3 && (b.y2 - (c + 16.0)).abs() < 1e-3, "{b:?}");
        assert_eq!(dets[0].class, ObjectClass::Person);
    }

    /// PicoDet's stride 64 on a 416 input: a 7×7 grid (the last row and column partial).
    #[test]
    fn nanodet_rounds_a_non_dividing_stride_up() {
        let (bins, classes, stride) = (4usize, 6usize, 64u32);
        let cells = 49;
        let mut cls = vec![0.0f32; cells * classes];
        let dis = vec![0.0f32; cells * 4 * bins];
        cls[48 * classes + 2] = 0.7; // the last cell, (6, 6): a car
        let mut dets = Vec::new();
        nanodet(&cls, &dis, classes, bins, stride, (416, 416), &table(), 0.3, &mut dets);
        assert_eq!(dets.len(), 1);
        let c = dets[0].bbox.centre();
        assert!((c.x - (6.0 * 64.0 + 31.5)).abs() < 1e-3 && (c.y - (6.0 * 64.0 + 31.5)).abs() < 1e-3, "{c:?}");
        // A short tensor is read only as far as it goes, never past its end.
        nanodet(&cls[..10 * classes], &dis, classes, bins, stride, (416, 416), &table(), 0.3, &mut dets);
        assert_eq!(dets.len(), 1);
    }
}
