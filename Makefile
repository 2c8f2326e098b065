# Set-up is part of every target: the venv is (re)built whenever pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# A CPU build of torch; it comes from local disk on the project machines.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.masklet-installed

.PHONY: venv demo test lint fuzz soak bench bench-video eval-nano eval-interactive-video clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "$(TORCH_SPEC)"
	$(PY) -m pip install -q --disable-pip-version-check -e ".[dev,demo]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m masklet.demo

test: $(STAMP)
	$(PY) -m pytest -q tests

# ruff (lint and import order, settings in pyproject.toml) and mypy over backend/, predict/, model/.
lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks tools examples
	$(PY) -m mypy

# Fuzz every reader of user files (tools/fuzz): FUZZ_SECONDS per target (15 targets), atheris
# (coverage-guided) when it installs, else seeded mutation; findings go to out/fuzz/crashes/.
FUZZ_SECONDS ?= 20
fuzz: $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check atheris || echo "atheris did not install: fuzzing by mutation"
	$(PY) tools/fuzz/run.py --seconds $(FUZZ_SECONDS)

# Soak masklet serve on loopback (tools/soak): SOAK_CLIENTS clients for SOAK_SECONDS, a kill -9 and
# a SIGTERM under load, then every acknowledged change, the database and the exports checked;
# results in benchmarks/results/serve_soak.json.
SOAK_CLIENTS ?= 4
SOAK_SECONDS ?= 300
soak: $(STAMP)
	$(PY) tools/soak/run.py --clients $(SOAK_CLIENTS) --seconds $(SOAK_SECONDS)

bench: $(STAMP)
	$(PY) benchmarks/image.py

bench-video: $(STAMP)
	$(PY) benchmarks/video.py

# Accuracy on ../shared/data (DAVIS, GrabCut) beside model-free baselines; MODEL=path to override.
eval-nano: $(STAMP)
	$(PY) benchmarks/nano_eval.py $(if $(MODEL),--model $(MODEL)) --output out/nano-eval.json

# Interactive video segmentation (DAVIS, GrabCut): the video predictor beside its image-model baselines.
eval-interactive-video: $(STAMP)
	$(PY) benchmarks/interactive_video.py $(if $(MODEL),--model $(MODEL)) --output out/interactive-video

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
