#![allow(clippy::needless_range_loop)]
use super::*;
use crate::frame::{Plane, YuvMatrix};

fn spec(placement: Placement, pad: u8, mean: f32, std: f32) -> InputSpec {
    InputSpec {
        name: "x".into(),
        width: 8,
        height: 8,
        layout: models::Layout::Nchw,
        channel_order: ChannelOrder::Bgr,
        mean: [mean; 3],
        std: [std; 3],
        letterbox: models::Letterbox { placement, pad_value: pad },
    }
}

#[test]
fn letterbox_maps_1080p_into_416_and_back() {
    let view = BBox::new(0.0, 0.0, 1920.0, 1080.0);
    let m = LetterboxMap::new(&view, 416, 416, Placement::TopLeft);
    assert_eq!((m.new_w, m.new_h, m.pad_x, m.pad_y), (416, 234, 0, 0));
    let c = LetterboxMap::new(&view, 416, 416, Placement::Centre);
    assert_eq!((c.pad_x, c.pad_y), (0, 91));
    let b = BBox::new(100.0, 200.0, 300.0, 400.0);
    let input = BBox::new(b.x1 * c.scale, b.y1 * c.scale + 91.0, b.x2 * c.scale, b.y2 * c.scale + 91.0);
    let back = c.to_frame(&input);
    assert!((back.x1 - 100.0).abs() < 1e-3 && (back.y2 - 400.0).abs() < 1e-3, "{back:?}");
    let tile = LetterboxMap::new(&BBox::new(960.0, 540.0, 1920.0, 1080.0), 416, 416, Placement::TopLeft);
    let back = tile.to_frame(&BBox::new(0.0, 0.0, 416.0, 234.0));
    assert!((back.x1 - 960.0).abs() < 1e-3 && (back.x2 - 1920.0).abs() < 0.5, "{back:?}");
}

#[test]
fn packed_rgb_is_reordered_normalised_and_padded() {
    // 16x8 frame of one colour: letterboxed into 8x8 it fills the top 4 rows.
    let (r, g, b) = (200u8, 100u8, 50u8);
    let data: Vec<u8> = (0..16 * 8).flat_map(|_| [r, g, b]).collect();
    let frame = Frame::from_rgb(16, 8, data).unwrap();
    let mut pre = Preprocessor::new(&spec(Placement::TopLeft, 114, 10.0, 2.0));
    let mut out = vec![0.0; 3 * 64];
    let map = pre.fill(&frame, &BBox::new(0.0, 0.0, 16.0, 8.0), &mut out);
    assert_eq!((map.new_w, map.new_h), (8, 4));
    let at = |c: usize, x: usize, y: usize| out[c * 64 + y * 8 + x];
    assert_eq!(at(0, 3, 1), (50.0 - 10.0) / 2.0, "channel 0 is blue");
    assert_eq!(at(2, 7, 3), (200.0 - 10.0) / 2.0, "channel 2 is red");
    assert_eq!(at(1, 0, 4), (114.0 - 10.0) / 2.0, "row 4 is padding");
}

#[test]
fn i420_grey_converts_like_rgb_grey() {
    let (w, h) = (16usize, 8usize);
    let mut data = vec![126u8; w * h];
    data.extend(vec![128u8; 2 * (w / 2) * (h / 2)]);
    let planes = [
        Plane { offset: 0, stride: w },
        Plane { offset: w * h, stride: w / 2 },
        Plane { offset: w * h + (w / 2) * (h / 2), stride: w / 2 },
    ];
    let frame = Frame::from_planes(w as u32, h as u32, PixelFormat::I420, YuvMatrix::Bt601, planes, data).unwrap();
    let mut pre = Preprocessor::new(&spec(Placement::Centre, 0, 0.0, 1.0));
    let mut out = vec![0.0; 3 * 64];
    pre.fill(&frame, &BBox::new(0.0, 0.0, 16.0, 8.0), &mut out);
    let expected = 1.164 * (126.0 - 16.0);
    for c in 0..3 {
        let v = out[c * 64 + 3 * 8 + 4];
        assert!((v - expected).abs() < 0.01, "channel {c}: {v}");
    }
    assert_eq!(out[0], 0.0, "centred padding at row 0");
}

#[test]
fn gradient_is_resampled_bilinearly() {
    // Horizontal ramp 0..=255 over 256 px, 8 rows; downscale to 8 columns (factor 32).
    let data: Vec<u8> = (0..8).flat_map(|_| (0..256u32).flat_map(|x| [x as u8; 3])).collect();
    let frame = Frame::from_rgb(256, 8, data).unwrap();
    let mut s = spec(Placement::TopLeft, 0, 0.0, 1.0);
    s.height = 8;
    let mut pre = Preprocessor::new(&s);
    let mut out = vec![0.0; 3 * 64];
    pre.fill(&frame, &BBox::new(0.0, 0.0, 256.0, 8.0), &mut out);
    // Output column o samples source x = (o + 0.5) * 32 - 0.5.
    for o in 0..8 {
        let want = (o as f32 + 0.5) * 32.0 - 0.5;
        assert!((out[o] - want).abs() < 1e-3, "col {o}: {} vs {want}", out[o]);
    }
}

/// The two-pass YUV sampler writes what the one-pass reference wrote, for both YUV
/// layouts, both matrices, both channel orders, normalisation and a cropped view.
#[test]
fn yuv_two_pass_matches_the_one_pass_reference() {
    let (w, h) = (64usize, 36usize);
    let (cw, ch) = (w / 2, h / 2);
    let mut seed = 12345u32;
    let mut rnd = || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (seed >> 16) as u8
    };
    let data: Vec<u8> = (0..w * h + 2 * cw * ch).map(|_| rnd()).collect();
    for format in [PixelFormat::I420, PixelFormat::Nv12] {
        let planes = match format {
            PixelFormat::I420 => [
                Plane { offset: 0, stride: w },
                Plane { offset: w * h, stride: cw },
                Plane { offset: w * h + cw * ch, stride: cw },
            ],
            _ => [Plane { offset: 0, stride: w }, Plane { offset: w * h, stride: w }, Plane::default()],
        };
        for matrix in [YuvMatrix::Bt601, YuvMatrix::Bt709] {
            for order in [ChannelOrder::Bgr, ChannelOrder::Rgb] {
                let frame = Frame::from_planes(w as u32, h as u32, format, matrix, planes, data.clone()).unwrap();
                let mut s = spec(Placement::Centre, 114, 0.0, 1.0);
                (s.width, s.height, s.channel_order, s.mean, s.std) =
                    (40, 40, order, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
                let mut pre = Preprocessor::new(&s);
                for view in [BBox::new(0.0, 0.0, 64.0, 36.0), BBox::new(10.0, 4.0, 50.0, 30.0)] {
                    let mut fast = vec![0.0; 3 * 1600];
                    let map = pre.fill(&frame, &view, &mut fast);
                    let mut slow = fast.clone();
                    pre.sample_yuv_reference(&frame, &map, &mut slow);
                    for (i, (a, b)) in fast.iter().zip(&slow).enumerate() {
                        assert!((a - b).abs() < 1e-3, "{format:?} {matrix:?} {order:?} {view:?} at {i}: {a} vs {b}");
                    }
                }
            }
        }
    }
}

/// A buffer refilled with the same letterbox keeps its padding; with another letterbox
/// the padding is rewritten.
#[test]
fn padding_is_written_once_per_letterbox() {
    let frame = Frame::from_rgb(16, 8, vec![200; 16 * 8 * 3]).unwrap();
    let mut pre = Preprocessor::new(&spec(Placement::TopLeft, 114, 0.0, 1.0));
    let mut out = vec![-1.0; 3 * 64];
    let map = pre.fill_over(&frame, &BBox::new(0.0, 0.0, 16.0, 8.0), &mut out, None);
    assert_eq!(out[7 * 8], 114.0, "bottom rows padded");
    out[7 * 8] = -1.0; // would be overwritten if padding were written again
    let again = pre.fill_over(&frame, &BBox::new(0.0, 0.0, 16.0, 8.0), &mut out, Some(&map));
    assert_eq!((again, out[7 * 8], out[0]), (map, -1.0, 200.0));
    pre.fill_over(&frame, &BBox::new(0.0, 0.0, 8.0, 8.0), &mut out, Some(&map));
    assert_eq!(out[7 * 8 + 7], 200.0, "a different view covers the whole input");
    pre.fill_over(&frame, &BBox::new(0.0, 0.0, 16.0, 8.0), &mut out, Some(&map));
    assert_eq!(out[7 * 8], 200.0, "stale: the caller passed the wrong previous map");
}
