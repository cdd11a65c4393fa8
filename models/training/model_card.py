"""Writes RUN/MODEL_CARD.md: data, splits, training settings, seed, and the fine-tuned
model's metrics beside the base model's on the validation split.

    python model_card.py --data DATA/Data --base yolox_nano_416.onnx --run RUN
"""
import argparse
import hashlib
import json
import os

import common
import evaluate


def write_card(data, base, run_dir):
    run = json.load(open(os.path.join(run_dir, "train.json")))
    model = os.path.join(run_dir, "model.onnx")
    valid = common.load_split(data, "valid")
    results = [evaluate.evaluate(base, valid, 0.3), evaluate.evaluate(model, valid, 0.3)]
    json.dump(results, open(os.path.join(run_dir, "valid_metrics.json"), "w"), indent=1)
    sha = hashlib.sha256(open(model, "rb").read()).hexdigest()
    src = run["data"]
    last = run["loss_log"][-1] if run["loss_log"] else {}
    lines = [
        "# Model card: YOLOX-nano 416, fine-tuned on road traffic (yolox_nano_416_vn)",
        "",
        f"- File: `model.onnx`, sha256 `{sha}`; same contract as the base (input `images` 1x3x416x416 BGR 0..255, output `output` 1x3549x85, 80 COCO classes).",
        f"- Base: `{run['base']}`, YOLOX-nano (Megvii, Apache-2.0), COCO-trained; weights transplanted into the official architecture (yolox-datamint 0.3.1), batch-norm frozen.",
        f"- Data: {src['name']} — `{src['repo']}@{src['commit']}`, folder `{src['path']}`, digest `{src['sha256']}`, {src['licence']}. Attribution: {src['attribution']}.",
        f"- Splits: {src['use']}. Labels mapped onto COCO ids (bicycle 1, bus 5, car 2, motorbike → motorcycle 3, person 0, truck 7).",
        f"- Training: {run['epochs_done']:.2f} epochs ({run['steps']} steps) of batch {run['batch']}, SGD (momentum 0.9, nesterov, wd 5e-4), lr {run['lr']} with warm-up and cosine decay, "
        f"augmentation: un-stretch to 4:3..16:9, random crop (p 0.5, 55-100 %), horizontal flip, saturation/value jitter; letterbox top-left pad 114 as on the edge. "
        f"Seed {run['seed']}, {run['threads']} CPU threads, {run['minutes']:.1f} min.",
        f"- Final training loss: {last.get('total_loss', float('nan')):.3f} (iou {last.get('iou_loss', float('nan')):.3f}, obj {last.get('conf_loss', float('nan')):.3f}, cls {last.get('cls_loss', float('nan')):.3f}).",
        "",
        "## Validation split (705 images), AP50 and recall at score >= 0.3 (IoU 0.5)",
        "",
        "| class | boxes | base AP50 | base recall | fine-tuned AP50 | fine-tuned recall |",
        "|---|---|---|---|---|---|",
    ]
    for c in evaluate.CLASSES:
        n = common.COCO_NAMES[c]
        b, f = results[0]["classes"][n], results[1]["classes"][n]
        lines.append(f"| {n} | {b['boxes']} | {b['ap50']:.3f} | {b['recall_at_working_score']:.3f} | {f['ap50']:.3f} | {f['recall_at_working_score']:.3f} |")
    lines.append(f"| mAP50 | | {results[0]['map50']:.3f} | | {results[1]['map50']:.3f} | |")
    lines.append("")
    lines.append("Held-out test split and counting scores: `make bench-detector`.")
    open(os.path.join(run_dir, "MODEL_CARD.md"), "w").write("\n".join(lines) + "\n")
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--run", required=True)
    a = ap.parse_args()
    write_card(a.data, a.base, a.run)
    print(open(os.path.join(a.run, "MODEL_CARD.md")).read())
