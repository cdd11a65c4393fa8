"""Shared pieces of the YOLOX-nano fine-tuning: the dataset (YOLO txt labels mapped onto
COCO class ids, so the 80-class head and the Rust decoder stay unchanged), the
letterbox transform the edge agent uses, and ONNX inference + decoding for evaluation.
"""
import hashlib
import os
import random

import cv2
import numpy as np

INPUT = 416
STRIDES = (8, 16, 32)
PAD = 114
# Road Traffic 4 class order (data.yaml) -> COCO ids.
ROAD_TRAFFIC_4_TO_COCO = {0: 1, 1: 5, 2: 2, 3: 3, 4: 0, 5: 7}
COCO_NAMES = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}


def dataset_digest(root):
    """sha256 over `sha256  relative/path` lines of every file under images/ and labels/
    of the splits, sorted: one figure that pins the whole folder."""
    lines = []
    for split in ("train", "valid", "test"):
        for kind in ("images", "labels"):
            d = os.path.join(root, split, kind)
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), "rb") as f:
                    lines.append(f"{hashlib.sha256(f.read()).hexdigest()}  {split}/{kind}/{name}\n")
    return hashlib.sha256("".join(sorted(lines)).encode()).hexdigest(), len(lines)


def load_split(root, split):
    """[(image path, boxes [N,5] = coco_id, x1, y1, x2, y2 in 0..1)]"""
    out = []
    img_dir = os.path.join(root, split, "images")
    for name in sorted(os.listdir(img_dir)):
        stem = os.path.splitext(name)[0]
        boxes = []
        lp = os.path.join(root, split, "labels", stem + ".txt")
        if os.path.exists(lp):
            for line in open(lp):
                p = line.split()
                if len(p) != 5:
                    continue
                c, cx, cy, w, h = int(p[0]), *map(float, p[1:])
                if c in ROAD_TRAFFIC_4_TO_COCO and w > 0 and h > 0:
                    boxes.append([ROAD_TRAFFIC_4_TO_COCO[c], cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        out.append((os.path.join(img_dir, name), np.array(boxes, dtype=np.float32).reshape(-1, 5)))
    return out


def letterbox(img_bgr, boxes, aspect, crop=None, flip=False):
    """The images are 640x640 stretches of camera frames; un-stretch them to `aspect`
    (w/h), optionally crop (x0, y0, x1, y1 in 0..1) and flip, then letterbox top-left
    into INPUT x INPUT with grey 114, as the edge agent does. Boxes: normalised in,
    input pixels out (cls, x1, y1, x2, y2)."""
    boxes = boxes.copy()
    if crop is not None:
        x0, y0, x1, y1 = crop
        h, w = img_bgr.shape[:2]
        img_bgr = img_bgr[int(y0 * h):int(y1 * h), int(x0 * w):int(x1 * w)]
        boxes[:, [1, 3]] = (boxes[:, [1, 3]] - x0) / (x1 - x0)
        boxes[:, [2, 4]] = (boxes[:, [2, 4]] - y0) / (y1 - y0)
        boxes[:, 1:] = boxes[:, 1:].clip(0, 1)
    if flip:
        img_bgr = img_bgr[:, ::-1]
        boxes[:, [1, 3]] = 1 - boxes[:, [3, 1]]
    if aspect >= 1:
        w, h = INPUT, max(1, round(INPUT / aspect))
    else:
        w, h = max(1, round(INPUT * aspect)), INPUT
    out = np.full((INPUT, INPUT, 3), PAD, dtype=np.uint8)
    out[:h, :w] = cv2.resize(img_bgr, (w, h), interpolation=cv2.INTER_LINEAR)
    boxes[:, [1, 3]] *= w
    boxes[:, [2, 4]] *= h
    keep = ((boxes[:, 3] - boxes[:, 1]) >= 2) & ((boxes[:, 4] - boxes[:, 2]) >= 2)
    return out, boxes[keep]


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    import torch
    torch.manual_seed(seed)


def decode(output, conf=0.001, iou=0.5, max_det=300):
    """YOLOX raw head output [A, 85] (xy offsets, log wh, sigmoid obj and cls) -> per-class
    NMS'd detections [(cls, score, x1, y1, x2, y2)] in input pixels."""
    grids, strides = [], []
    for s in STRIDES:
        n = INPUT // s
        yv, xv = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        grids.append(np.stack([xv, yv], -1).reshape(-1, 2))
        strides.append(np.full((n * n, 1), s))
    grid, stride = np.concatenate(grids), np.concatenate(strides)
    xy = (output[:, :2] + grid) * stride
    wh = np.exp(np.clip(output[:, 2:4], -10, 10)) * stride
    scores = output[:, 4:5] * output[:, 5:]
    cls = scores.argmax(1)
    score = scores[np.arange(len(cls)), cls]
    m = score > conf
    xy, wh, cls, score = xy[m], wh[m], cls[m], score[m]
    boxes = np.concatenate([xy - wh / 2, xy + wh / 2], 1)
    dets = []
    for c in np.unique(cls):
        idx = np.where(cls == c)[0]
        keep = cv2.dnn.NMSBoxes(
            [[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])] for b in boxes[idx]],
            score[idx].astype(float).tolist(), conf, iou)
        for k in np.array(keep).reshape(-1):
            i = idx[k]
            dets.append((int(c), float(score[i]), *map(float, boxes[i])))
    dets.sort(key=lambda d: -d[1])
    return dets[:max_det]
