"""Counting score of the full Rust pipeline (edge-agent count) with each model on the
shared hand-counted clips: 1 - sum|counted - truth| / sum(truth) over line x direction
x class, as edge-agent/tests/accuracy.rs computes it.

    python count_score.py MODEL [MODEL ...]   # builtin id or a manifest .toml path

Needs target/release/edge-agent and the shared assets (TRAFFIC_ASSETS).
"""
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ASSETS = os.environ.get("TRAFFIC_ASSETS", os.path.join(ROOT, "..", "shared", "assets"))
CLIPS = [("multilane_road_360p", "multilane_road_360p.toml"), ("vn_intersection_1080p", "vn_intersection_1080p.toml")]
CLASSES = ["car", "motorcycle", "bus", "truck", "bicycle"]


def count(model, clip, config):
    cmd = [os.path.join(ROOT, "target/release/edge-agent"), "count", "--config", os.path.join(ROOT, "configs", config),
           "--source", os.path.join(ASSETS, "clips", clip + ".mp4"), "--model", model, "--json"]
    gt = json.load(open(os.path.join(ASSETS, "groundtruth", clip + ".json")))
    for line in gt["lines"]:
        cmd += ["--line", f"{line['name']}:{line['x1']},{line['y1']},{line['x2']},{line['y2']}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out), gt


def score(report, gt):
    total, err, rows = 0, 0, []
    for line in gt["lines"]:
        name = line["name"]
        for direction, ours in (("up", "backward"), ("down", "forward")):
            for c in CLASSES:
                truth = sum(1 for e in gt["events"] if e["line"] == name and e["direction"] == direction and e["class"] == c)
                counted = report["lines"][name][ours][c]
                total += truth
                err += abs(counted - truth)
                if truth or counted:
                    rows.append((f"{name} {direction} {c}", truth, counted))
    return 1 - err / total, rows


def main():
    models = sys.argv[1:]
    for clip, config in CLIPS:
        results = []
        for m in models:
            report, gt = count(m, clip, config)
            results.append(score(report, gt))
        print(f"\n{clip}")
        print("| line dir class | truth | " + " | ".join(os.path.basename(m) for m in models) + " |")
        print("|---|---|" + "---|" * len(models))
        keys = sorted({r[0] for _, rows in results for r in rows})
        for k in keys:
            truth = next(r[1] for _, rows in results for r in rows if r[0] == k)
            cells = [next((str(r[2]) for r in rows if r[0] == k), "0") for _, rows in results]
            print(f"| {k} | {truth} | " + " | ".join(cells) + " |")
        print("| **score** | | " + " | ".join(f"**{s:.3f}**" for s, _ in results) + " |")


if __name__ == "__main__":
    main()
