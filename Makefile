# 医保便民服务指标监测 — the two commands a newcomer runs: `make run` and `make test`.
PY := .venv/bin/python
DB ?= data/warehouse.duckdb
export GX_ANALYTICS_ENABLED := false
export FONTCONFIG_FILE := $(CURDIR)/pipelines/bulletin_fonts.conf

.PHONY: setup run test bench bench-big soak init demo clean screenshots

setup:
	@bash scripts/setup.sh

init: setup
	@$(PY) -m pipelines init --db $(DB)

run: init
	@$(PY) -m pipelines demo --db $(DB) --if-empty
	@$(PY) -m pipelines users ensure-admin --db $(DB)
	@$(PY) app.py --db $(DB)

test: setup
	@$(PY) -m pytest -q --headless tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected" >&2; exit 1; fi; exit $$rc

bench: setup
	@$(PY) -m bench.run

# Village-level national run (bench/big.py): `make bench-big` = the first province at village
# level; `make bench-big BIG_ARGS="--villages --provinces 31"` for the whole 36 M values.
BIG_ARGS ?= --villages
bench-big: setup
	@$(PY) -m bench.big $(BIG_ARGS)

soak: setup
	@$(PY) -m pytest -q --headless -m soak tests

# Every page at 1920x1080, 1366x768 and 390x844 into artifacts/screenshots/ (not committed);
# DB=... to shoot a warehouse of your own (a copy is used), else the demo is built there once.
screenshots: setup
	@$(PY) scripts/screenshots.py $(if $(filter command line,$(origin DB)),--db $(DB))

clean:
	rm -rf .venv artifacts
