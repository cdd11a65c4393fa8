# Two commands matter: `make demo` and `make test`. Both run scripts/setup.sh first,
# which installs what is missing (Debian packages, ONNX Runtime from PyPI) and checks
# the shared assets, then writes .setup/env.
SHELL := /bin/bash
ENV := source .setup/env &&
CLIPS = $${TRAFFIC_ASSETS}/clips

.PHONY: setup build test demo count-demo bench clean

setup:
	@bash scripts/setup.sh

build: setup
	$(ENV) cargo build --release --workspace

# Tests run optimised: they push real video through the real detector.
test: setup
	$(ENV) cargo test --release --workspace

# The whole system: looping RTSP camera → edge agent → embedded broker → central
# (SQLite, HTTP on 127.0.0.1:8080); prints each stored interval; Ctrl-C stops it.
demo: setup
	$(ENV) cargo build --release -p edge-agent -p central
	bash scripts/demo.sh

# The old single-clip count, as a table.
count-demo: setup
	$(ENV) cargo build --release -p edge-agent
	$(ENV) ./target/release/edge-agent count --config configs/vn_intersection_1080p.toml \
		--source $(CLIPS)/vn_intersection_1080p.mp4 --line main:0,540,1919,540

bench: setup
	$(ENV) cargo build --release -p benches -p central
	$(ENV) ./target/release/ingest --agents 1000 --per-agent 20 --rate 1000 --latency-seconds 20
	$(ENV) ./target/release/edge --clip $(CLIPS)/multilane_road_360p.mp4 \
		--line right_cw:125,200,600,200 --line left_cw:30,60,215,60 --threads 1
	$(ENV) ./target/release/edge --clip $(CLIPS)/vn_intersection_1080p.mp4 \
		--line main:0,540,1919,540 --threads 1

clean:
	cargo clean
	rm -rf .setup
