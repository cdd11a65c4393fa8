"""Side by side on the held-out split: AP50 per class, mAP50 and recall at the edge
agent's working threshold, plus inference time with one thread, for each ONNX given.

    python evaluate.py --data DATA/Data [--split test] MODEL.onnx [MODEL.onnx ...]

Images are letterboxed as in training (un-stretched to 16:9), so both models see the
same pixels the edge agent would give them.
"""
import argparse
import json
import time

import cv2
import numpy as np
import onnxruntime as ort

import common

CLASSES = [3, 2, 5, 7, 1, 0]  # motorcycle, car, bus, truck, bicycle, person


def iou(a, b):
    x1, y1 = np.maximum(a[0], b[:, 0]), np.maximum(a[1], b[:, 1])
    x2, y2 = np.minimum(a[2], b[:, 2]), np.minimum(a[3], b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter + 1e-9)


def evaluate(model_path, items, working_score):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
    per_class = {c: {"scores": [], "tp": [], "gt": 0, "hit_at_working": 0} for c in CLASSES}
    spent = 0.0
    for path, boxes in items:
        img, gt = common.letterbox(cv2.imread(path), boxes, 16 / 9)
        x = np.ascontiguousarray(img.transpose(2, 0, 1)[None]).astype(np.float32)
        t = time.perf_counter()
        out = sess.run(None, {"images": x})[0][0]
        spent += time.perf_counter() - t
        dets = common.decode(out)
        for c in CLASSES:
            g = gt[gt[:, 0] == c][:, 1:]
            per_class[c]["gt"] += len(g)
            used = np.zeros(len(g), bool)
            used_working = np.zeros(len(g), bool)
            for d in (d for d in dets if d[0] == c):
                box = np.array(d[2:])
                if len(g):
                    o = iou(box, g)
                    o_free = np.where(used, -1, o)
                    k = int(o_free.argmax())
                    hit = o_free[k] >= 0.5
                    if hit:
                        used[k] = True
                    if d[1] >= working_score:
                        ow = np.where(used_working, -1, o)
                        kw = int(ow.argmax())
                        if ow[kw] >= 0.5:
                            used_working[kw] = True
                else:
                    hit = False
                per_class[c]["scores"].append(d[1])
                per_class[c]["tp"].append(hit)
            per_class[c]["hit_at_working"] += int(used_working.sum())
    result = {"model": model_path, "ms_per_frame_1_thread": 1000 * spent / len(items), "classes": {}}
    aps = []
    for c, v in per_class.items():
        order = np.argsort(-np.array(v["scores"]))
        tp = np.array(v["tp"], dtype=float)[order]
        fp = 1 - tp
        tpc, fpc = np.cumsum(tp), np.cumsum(fp)
        recall = tpc / max(1, v["gt"])
        precision = tpc / np.maximum(tpc + fpc, 1e-9)
        mrec = np.concatenate([[0], recall, [1]])
        mpre = np.concatenate([[1], precision, [0]])
        for i in range(len(mpre) - 2, -1, -1):
            mpre[i] = max(mpre[i], mpre[i + 1])
        idx = np.where(mrec[1:] != mrec[:-1])[0]
        ap = float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))
        aps.append(ap)
        result["classes"][common.COCO_NAMES[c]] = {
            "boxes": v["gt"], "ap50": ap, "recall_at_working_score": v["hit_at_working"] / max(1, v["gt"])}
    result["map50"] = float(np.mean(aps))
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--working-score", type=float, default=0.3, help="score the recall column is taken at")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--json")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    items = common.load_split(args.data, args.split)
    if args.limit:
        items = items[:args.limit]
    results = [evaluate(m, items, args.working_score) for m in args.models]
    names = [r["model"] for r in results]
    print(f"{args.split} split, {len(items)} images; AP50 / recall at score >= {args.working_score} (IoU 0.5)")
    print("| class | boxes | " + " | ".join(f"{n} AP50 | {n} recall" for n in names) + " |")
    print("|---|---|" + "---|---|" * len(names))
    for c in CLASSES:
        name = common.COCO_NAMES[c]
        cells = " | ".join(f"{r['classes'][name]['ap50']:.3f} | {r['classes'][name]['recall_at_working_score']:.3f}" for r in results)
        print(f"| {name} | {results[0]['classes'][name]['boxes']} | {cells} |")
    print("| mAP50 (6 classes) | | " + " | ".join(f"{r['map50']:.3f} | " for r in results) + "")
    print("| ms/frame, 1 thread | | " + " | ".join(f"{r['ms_per_frame_1_thread']:.1f} | " for r in results) + "")
    if args.json:
        json.dump(results, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
