# Two commands matter: `make demo` and `make test`. Both run scripts/setup.sh first,
# which installs what is missing (Debian packages, ONNX Runtime from PyPI) and checks
# the shared assets, then writes .setup/env.
SHELL := /bin/bash
ENV := source .setup/env &&
CLIPS = $${TRAFFIC_ASSETS}/clips

.PHONY: setup build lint test demo count-demo bench bench-signals train-detector bench-detector clean

setup:
	@bash scripts/setup.sh

build: setup
	$(ENV) cargo build --release --workspace

# Style gate (CI runs it before the tests): rustfmt.toml's layout and every clippy lint as an error.
lint: setup
	$(ENV) cargo fmt --all --check
	$(ENV) cargo clippy --workspace --all-targets -- -D warnings

# Tests run optimised: they push real video through the real detector.
test: setup
	$(ENV) cargo test --release --workspace

# The whole system: looping RTSP camera → edge agent → embedded broker → central
# (SQLite, HTTP on 127.0.0.1:8080); prints each stored interval; Ctrl-C stops it.
demo: setup
	$(ENV) cargo build --release -p edge-agent -p junction-agent -p central
	bash scripts/demo.sh

# The old single-clip count, as a table.
count-demo: setup
	$(ENV) cargo build --release -p edge-agent
	$(ENV) ./target/release/edge-agent count --config configs/vn_intersection_1080p.toml \
		--source $(CLIPS)/vn_intersection_1080p.mp4

bench: setup
	bash scripts/setup-reference.sh
	$(ENV) cargo build --release -p benches -p central
	bash scripts/bench.sh

# Signal control in SUMO 1.28 on the eight RESCO scenarios (scripts/setup-sumo.sh installs
# SUMO from PyPI and unpacks the scenarios into .setup/resco): delay per controller, SEEDS
# seeds, JOBS networks at a time: the network's fixed time, SUMO actuated, max-pressure and
# this product's loop (emulated cameras → MQTT → central retiming → junction controller),
# then this product's loop with imperfect cameras. Tables in benches/signals/RESULTS.md.
SCENARIOS ?= cologne1 cologne3 cologne8 ingolstadt1 ingolstadt7 ingolstadt21 grid4x4 arterial4x4
SEEDS ?= 5
JOBS ?= 2
bench-signals: setup
	bash scripts/setup-sumo.sh
	$(ENV) cargo build --release -p benches --bin signals
	SCENARIOS="$(SCENARIOS)" SEEDS=$(SEEDS) JOBS=$(JOBS) bash scripts/bench-signals.sh

# Fine-tune YOLOX-nano: DATA = the Data/ folder of DoanBuiHoaHop/Hethonggiaothong-YOLOv8
# @ebd191b (models/training/data.toml). Writes $(RUN)/model.onnx and train.json.
DATA ?= ../data/road_traffic_4/Data
RUN ?= ../train-runs/yolox_nano_416_vn
EPOCHS ?= 12
SEED ?= 7
train-detector: setup
	bash scripts/setup-training.sh
	$(ENV) cd models/training && ../../.venv-train/bin/python train.py --data $(abspath $(DATA)) \
		--base $${TRAFFIC_ASSETS}/models/yolox_nano_416.onnx --out $(abspath $(RUN)) --epochs $(EPOCHS) --seed $(SEED)

# Shipped vs fine-tuned ($(RUN)), side by side: AP50 / recall on the held-out split, time per
# frame, and the full pipeline's counting score on the hand-counted clips.
bench-detector: setup
	bash scripts/setup-training.sh
	$(ENV) cargo build --release -p edge-agent
	$(ENV) cd models/training && ../../.venv-train/bin/python evaluate.py --data $(abspath $(DATA)) --split test \
		$${TRAFFIC_ASSETS}/models/yolox_nano_416.onnx $(abspath $(RUN))/model.onnx
	$(ENV) cd models/training && ../../.venv-train/bin/python count_score.py yolox_nano_416 $(abspath $(RUN))/manifest.toml

clean:
	cargo clean
	rm -rf .setup
