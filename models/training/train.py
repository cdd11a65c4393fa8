"""Fine-tunes the shipped YOLOX-nano (COCO) on human-labelled road-traffic images.

    python train.py --data DATA/Data --base yolox_nano_416.onnx --out runs/r1 \
                    [--epochs 6] [--seed 7] [--max-minutes 0]

DATA is the `Data/` folder of DoanBuiHoaHop/Hethonggiaothong-YOLOv8@ebd191b (see
data.toml; its digest is checked). Writes OUT/model.onnx (same input/output contract
as the base: the Rust decoder is unchanged), OUT/metrics.json and OUT/MODEL_CARD.md.
"""
import argparse
import json
import math
import os
import random
import sys
import time
import tomllib

import cv2
import numpy as np
import torch

import common
import transplant

HERE = os.path.dirname(os.path.abspath(__file__))


def batches(items, batch, seed_rng, augment):
    order = list(range(len(items)))
    seed_rng.shuffle(order)
    for i in range(0, len(order) - batch + 1, batch):
        imgs, targets = [], []
        for j in order[i:i + batch]:
            path, boxes = items[j]
            img = cv2.imread(path)
            aspect = seed_rng.uniform(4 / 3, 16 / 9) if augment else 16 / 9
            crop = None
            if augment and seed_rng.random() < 0.5:
                s = seed_rng.uniform(0.55, 1.0)
                x0, y0 = seed_rng.uniform(0, 1 - s), seed_rng.uniform(0, 1 - s)
                crop = (x0, y0, x0 + s, y0 + s)
            flip = augment and seed_rng.random() < 0.5
            out, b = common.letterbox(img, boxes, aspect, crop, flip)
            if augment:
                hsv = cv2.cvtColor(out, cv2.COLOR_BGR2HSV).astype(np.float32)
                hsv[..., 1] *= seed_rng.uniform(0.7, 1.3)
                hsv[..., 2] *= seed_rng.uniform(0.7, 1.3)
                out = cv2.cvtColor(hsv.clip(0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR)
            imgs.append(out.transpose(2, 0, 1))
            t = np.zeros((120, 5), np.float32)
            b = b[:120]
            t[:len(b), 0] = b[:, 0]
            t[:len(b), 1] = (b[:, 1] + b[:, 3]) / 2
            t[:len(b), 2] = (b[:, 2] + b[:, 4]) / 2
            t[:len(b), 3] = b[:, 3] - b[:, 1]
            t[:len(b), 4] = b[:, 4] - b[:, 2]
            targets.append(t)
        yield torch.from_numpy(np.stack(imgs).astype(np.float32)), torch.from_numpy(np.stack(targets))


def write_manifest(out, source):
    """OUT/manifest.toml: the base model's manifest with this file's id and sha256, so
    `edge-agent --model OUT/manifest.toml` runs it through the whole pipeline."""
    import hashlib
    sha = hashlib.sha256(open(os.path.join(out, "model.onnx"), "rb").read()).hexdigest()
    base = open(os.path.join(HERE, "..", "manifests", "yolox_nano_416.toml")).read().splitlines()
    lines = []
    for line in base:
        if line.startswith("id = "):
            line = 'id = "yolox_nano_416_vn"'
        elif line.startswith("file = "):
            line = 'file = "model.onnx"'
        elif line.startswith("sha256 = "):
            line = f'sha256 = "{sha}"'
        elif line.startswith("description = "):
            line = f'description = "YOLOX-nano fine-tuned on {source["name"]} ({source["licence"]}); see MODEL_CARD.md"'
        elif line.startswith("source_url = "):
            line = f'source_url = "models/training (base {line.split("=", 1)[1].strip()[1:-1]})"'
        lines.append(line)
    open(os.path.join(out, "manifest.toml"), "w").write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=max(1, os.cpu_count() or 1))
    ap.add_argument("--max-minutes", type=float, default=0, help="stop after this long (0: run every epoch)")
    ap.add_argument("--skip-digest", action="store_true")
    ap.add_argument("--freeze-backbone", action="store_true", help="train only the FPN and the head (less forgetting)")
    ap.add_argument("--distill", type=float, default=0.0,
                    help="weight of a loss keeping objectness x class scores close to the base model's (less forgetting of COCO)")
    args = ap.parse_args()

    data_toml = tomllib.load(open(os.path.join(HERE, "data.toml"), "rb"))
    source = data_toml["sources"][0]
    if not args.skip_digest:
        digest, files = common.dataset_digest(args.data)
        if digest != source["sha256"]:
            sys.exit(f"{args.data}: digest {digest} ({files} files) is not the recorded {source['sha256']} (data.toml)")
    os.makedirs(args.out, exist_ok=True)
    common.seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)

    model = transplant.build_model()
    transplant.load_onnx_weights(model, args.base)
    teacher = None
    if args.distill > 0:
        teacher = transplant.build_model()
        transplant.load_onnx_weights(teacher, args.base)
        teacher.eval()
        teacher.head.decode_in_inference = False
        for p in teacher.parameters():
            p.requires_grad = False
    train = common.load_split(args.data, "train")
    if args.freeze_backbone:
        for p in model.backbone.backbone.parameters():
            p.requires_grad = False
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=args.lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    steps_per_epoch = len(train) // args.batch
    total = steps_per_epoch * args.epochs
    warmup = min(200, total // 10)
    started = time.time()
    step, log = 0, []
    stopped_early = False
    for epoch in range(args.epochs):
        model.train()
        transplant.freeze_batchnorm(model)
        for imgs, targets in batches(train, args.batch, rng, augment=True):
            lr = args.lr * (step + 1) / warmup if step < warmup else args.lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
            for g in opt.param_groups:
                g["lr"] = lr
            if teacher is None:
                out = model(imgs, targets)
                loss = out["total_loss"]
            else:
                fpn = model.backbone(imgs)
                loss, iou_l, conf_l, cls_l, l1_l, _ = model.head(fpn, targets, imgs)
                out = {"total_loss": loss, "iou_loss": iou_l, "conf_loss": conf_l, "cls_loss": cls_l, "l1_loss": l1_l}
                with torch.no_grad():
                    soft = teacher(imgs)[..., 4:]
                model.head.training = False
                model.head.decode_in_inference = False
                student = model.head(fpn)[..., 4:]
                model.head.training = True
                # Soft targets: sum over objectness and the 80 classes, mean over anchors.
                kd = torch.nn.functional.binary_cross_entropy(student.clamp(1e-6, 1 - 1e-6), soft, reduction="none").sum(-1).mean()
                kd = kd - torch.nn.functional.binary_cross_entropy(soft.clamp(1e-6, 1 - 1e-6), soft, reduction="none").sum(-1).mean()
                out["distill_loss"] = kd
                loss = loss + args.distill * kd
                out["total_loss"] = loss
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 10.0)
            opt.step()
            step += 1
            if step % 20 == 0:
                row = {k: float(v) for k, v in out.items() if k != "num_fg"} | {"step": step, "epoch": epoch, "lr": lr, "minutes": (time.time() - started) / 60}
                log.append(row)
                print(json.dumps(row), flush=True)
            if args.max_minutes and time.time() - started > args.max_minutes * 60:
                stopped_early = True
                break
        if stopped_early:
            break
    transplant.export_onnx(model, os.path.join(args.out, "model.onnx"))
    run = {
        "base": os.path.basename(args.base),
        "data": source,
        "epochs_planned": args.epochs,
        "steps": step,
        "epochs_done": step / max(1, steps_per_epoch),
        "batch": args.batch,
        "lr": args.lr,
        "seed": args.seed,
        "threads": args.threads,
        "freeze_backbone": args.freeze_backbone,
        "distill": args.distill,
        "minutes": (time.time() - started) / 60,
        "stopped_by_time_limit": stopped_early,
        "loss_log": log,
    }
    json.dump(run, open(os.path.join(args.out, "train.json"), "w"), indent=1)
    print(f"wrote {args.out}/model.onnx after {step} steps ({run['epochs_done']:.2f} epochs, {run['minutes']:.1f} min)")
    write_manifest(args.out, source)
    import model_card
    model_card.write_card(args.data, args.base, args.out)
    print(f"wrote {args.out}/MODEL_CARD.md")


if __name__ == "__main__":
    main()
