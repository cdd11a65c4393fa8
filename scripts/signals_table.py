#!/usr/bin/env python3
"""Tables of `make bench-signals` from the JSON each `signals --json` run wrote
(benches/signals/{scenario}.{perfect,imperfect}.json): delay per controller, this
product's loop with perfect and imperfect cameras, the worst junction per network, and
the issue's checks (never worse than fixed time; best on at least six of eight)."""
import argparse
import json
import os

p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("scenarios", nargs="+")
p.add_argument("--seeds", type=int)
p.add_argument("--elapsed", type=int)
p.add_argument("--jobs", type=int)
a = p.parse_args()

BASE = ["fixed_time", "actuated", "max_pressure"]


def load(s, kind):
    path = os.path.join(a.dir, f"{s}.{kind}.json")
    return json.load(open(path)) if os.path.exists(path) else None


def cell(c):
    if c is None:
        return "—"
    txt = f"{c['delay']:.1f} ± {c['delay_spread']:.1f}"
    if c.get("never_entered"):
        txt += f" ({c['never_entered']} never entered)"
    return txt


print("# Signal control on the eight RESCO networks (SUMO 1.28)\n")
print(f"Written by `make bench-signals`: {a.seeds} seeds per network (1–{a.seeds}), "
      f"{a.jobs} networks at a time, {a.elapsed // 60} min {a.elapsed % 60} s in all on this machine. "
      "Delay: mean over every scheduled vehicle of time loss + departure delay (s), mean ± sd over seeds.\n")
print("| scenario | lights | fixed time | SUMO actuated | max-pressure | **this product** | vs fixed | vs best baseline | safety breaches (this product) |")
print("|---|---|---|---|---|---|---|---|---|")
not_worse, best, rows = 0, 0, 0
for s in a.scenarios:
    r = load(s, "perfect")
    if r is None:
        print(f"| {s} | — | | | | | | | not run |")
        continue
    c = r["controllers"]
    central = c.get("central")
    base = {k: c[k]["delay"] for k in BASE if k in c}
    rows += 1
    vs_fixed = vs_best = "—"
    if central and base:
        fixed = base.get("fixed_time")
        b = min(base.values())
        vs_fixed = f"{100 * (central['delay'] / fixed - 1):+.0f} %" if fixed else "—"
        vs_best = f"{100 * (central['delay'] / b - 1):+.1f} %"
        not_worse += fixed is not None and central["delay"] <= fixed
        best += central["delay"] <= b
    refused = f" ({len(r['refused'])} refused)" if r.get("refused") else ""
    print(f"| {s} | {r['lights']}{refused} | {cell(c.get('fixed_time'))} | {cell(c.get('actuated'))} | {cell(c.get('max_pressure'))} | **{cell(central)}** | {vs_fixed} | {vs_best} | {central['violations'] if central else '—'} |")
print(f"\nThis product ≤ fixed time on {not_worse} of {rows}; ≤ the best of fixed, actuated and max-pressure on {best} of {rows}.\n")

print("## Imperfect cameras\n")
print("This product's loop again with the emulated cameras missing 20 % of vehicles (per vehicle and camera: never counted, never an arrival, never in a queue) and each camera's presence dropping out for 5 s with probability 1/60 per second (`--camera-miss 0.2 --presence-dropout 60:5`, seeded).\n")
recorded = any("presence_dropped" in ((load(s, "imperfect") or {}).get("controllers", {}).get("central", {}).get("messages") or {}) for s in a.scenarios)
print("| scenario | fixed time | this product, perfect cameras | this product, imperfect cameras | imperfect vs fixed |" + (" presence snapshots dropped per run |" if recorded else "") + " safety breaches |")
print("|---|---|---|---|---|" + ("---|" if recorded else "") + "---|")
ok = n = 0
for s in a.scenarios:
    r, i = load(s, "perfect"), load(s, "imperfect")
    if r is None or i is None:
        continue
    fixed, perfect, imperfect = r["controllers"].get("fixed_time"), r["controllers"].get("central"), i["controllers"].get("central")
    n += 1
    ok += fixed is not None and imperfect["delay"] <= fixed["delay"]
    vs = f"{100 * (imperfect['delay'] / fixed['delay'] - 1):+.0f} %" if fixed else "—"
    dropped = imperfect.get("messages", {}).get("presence_dropped", "—")
    print(f"| {s} | {cell(fixed)} | {cell(perfect)} | {cell(imperfect)} | {vs} |" + (f" {dropped} |" if recorded else "") + f" {imperfect['violations']} |")
print(f"\nWith imperfect cameras this product ≤ fixed time on {ok} of {n}.\n")

print("## Worst junction per network\n")
print("The light where this product's vehicles lose most time on its approaches (SUMO edgeData time loss on the edges its links leave from, per vehicle that used them, over all seeds), and every controller there.\n")
print("| scenario | light | fixed time | SUMO actuated | max-pressure | this product |")
print("|---|---|---|---|---|---|")
for s in a.scenarios:
    r = load(s, "perfect")
    if r is None or not r.get("worst_junction"):
        continue
    w = r["worst_junction"]
    d = w["delay"]
    f = lambda k: f"{d[k]:.1f}" if isinstance(d.get(k), (int, float)) else "—"
    print(f"| {s} | `{w['light'][:40]}` | {f('fixed_time')} | {f('actuated')} | {f('max_pressure')} | {f('central')} |")
refused = [(s, x) for s in a.scenarios for x in (load(s, "perfect") or {}).get("refused", [])]
if refused:
    print("\nLights refused as junction profiles (they keep the network's program under every controller):\n")
    for s, x in refused:
        print(f"- {s} `{x['light']}`: {x['reason']}")
