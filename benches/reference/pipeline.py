"""The Python pipeline a user would write instead of this product (issue 8's reference).

OpenCV decodes the clip, ONNX Runtime runs the same YOLOX-nano model with the same
pre-processing contract (BGR, 0..255, letterbox to the top-left corner padded with 114)
on one intra-op thread, the YOLOX grid is decoded with NumPy as in Megvii's
onnx_inference demo, and Roboflow supervision does the rest: class-wise NMS, ByteTrack
and one LineZone per counting line (default settings, as its documentation shows them).
Vehicle classes only (bicycle, car, motorcycle, bus, truck), the same score threshold
as the product.

Prints one JSON object: frames, wall time, fps, time per stage, and per line the
crossings per direction and class. Direction names follow the product's: supervision's
"in" (to the left of start→end as seen on screen) is the product's `backward`.

    python pipeline.py --model M.onnx --clip C.mp4 --line main:0,540,1919,540 [--threads 1]
"""

import argparse
import json
import time

import cv2
import numpy as np
import onnxruntime as ort
import supervision as sv

COCO_TO_CLASS = {1: "bicycle", 2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}
CLASSES = ["car", "motorcycle", "bus", "truck", "bicycle"]
SIZE = 416
STRIDES = (8, 16, 32)


def grids():
    cells, strides = [], []
    for s in STRIDES:
        n = SIZE // s
        ys, xs = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        cells.append(np.stack((xs, ys), 2).reshape(-1, 2))
        strides.append(np.full((n * n, 1), s))
    return np.concatenate(cells, 0).astype(np.float32), np.concatenate(strides, 0).astype(np.float32)


def letterbox(frame):
    h, w = frame.shape[:2]
    r = min(SIZE / h, SIZE / w)
    resized = cv2.resize(frame, (int(w * r), int(h * r)), interpolation=cv2.INTER_LINEAR)
    padded = np.full((SIZE, SIZE, 3), 114, dtype=np.uint8)
    padded[: resized.shape[0], : resized.shape[1]] = resized
    return np.ascontiguousarray(padded.transpose(2, 0, 1)[None], dtype=np.float32), r


def decode(out, r, cells, strides, min_score):
    out = out[0]
    xy = (out[:, :2] + cells) * strides
    wh = np.exp(out[:, 2:4]) * strides
    scores = out[:, 4:5] * out[:, 5:]
    class_id = scores.argmax(1)
    score = scores[np.arange(len(scores)), class_id]
    keep = (score >= min_score) & np.isin(class_id, list(COCO_TO_CLASS))
    xy, wh, score, class_id = xy[keep], wh[keep], score[keep], class_id[keep]
    xyxy = np.concatenate((xy - wh / 2, xy + wh / 2), 1) / r
    return sv.Detections(xyxy=xyxy.astype(np.float32), confidence=score.astype(np.float32), class_id=class_id.astype(int))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--clip", required=True)
    ap.add_argument("--line", action="append", required=True, help="NAME:x1,y1,x2,y2")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-score", type=float, default=0.1)
    ap.add_argument("--nms-iou", type=float, default=0.45)
    args = ap.parse_args()

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    cells, strides = grids()

    cap = cv2.VideoCapture(args.clip)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    tracker = sv.ByteTrack(frame_rate=int(round(fps)))
    zones = {}
    for spec in args.line:
        name, coords = spec.split(":")
        x1, y1, x2, y2 = (float(v) for v in coords.split(","))
        zones[name] = sv.LineZone(start=sv.Point(x1, y1), end=sv.Point(x2, y2))

    stage = {"decode": 0.0, "preprocess": 0.0, "inference": 0.0, "postprocess": 0.0, "track_count": 0.0}
    frames = 0
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        ok, frame = cap.read()
        t1 = time.perf_counter()
        if not ok:
            break
        tensor, r = letterbox(frame)
        t2 = time.perf_counter()
        out = session.run(None, {input_name: tensor})[0]
        t3 = time.perf_counter()
        detections = decode(out, r, cells, strides, args.min_score).with_nms(threshold=args.nms_iou)
        t4 = time.perf_counter()
        tracked = tracker.update_with_detections(detections)
        for zone in zones.values():
            zone.trigger(tracked)
        t5 = time.perf_counter()
        frames += 1
        for key, dt in zip(stage, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            stage[key] += dt
    wall = time.perf_counter() - start

    def per_class(counts):
        named = {c: 0 for c in CLASSES}
        for coco, n in counts.items():
            if coco in COCO_TO_CLASS:
                named[COCO_TO_CLASS[coco]] += n
        return named

    lines = {name: {"backward": per_class(z.in_count_per_class), "forward": per_class(z.out_count_per_class)} for name, z in zones.items()}
    print(json.dumps({
        "frames": frames,
        "seconds": round(wall, 3),
        "fps": round(frames / wall, 2),
        "ms_per_frame": {k: round(1000 * v / max(frames, 1), 3) for k, v in stage.items()},
        "lines": lines,
        "versions": {"supervision": sv.__version__, "onnxruntime": ort.__version__, "opencv": cv2.__version__, "numpy": np.__version__},
    }))


if __name__ == "__main__":
    main()
