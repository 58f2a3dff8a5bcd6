# Two entry points (see README): `make run` and `make test`. Each installs what it needs.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

TRAIN_VENV  ?= .venv-train
TRAIN_STAMP := $(TRAIN_VENV)/.installed

.PHONY: run test test-fast lint browser bench clean train-reader test-training

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	# a new venv's pip 23.2 cannot resolve this stack (docs/offline.md)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/qa chat

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The browser test drives Debian's Chromium (a registry package; Playwright's own browser
# download is not reachable here).
browser:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; }

test: lint browser
	$(VENV)/bin/pytest

# While working: lint, then everything but the browser, end-to-end and slow tests
# (tests/conftest.py marks them by what they do).
test-fast: lint
	$(VENV)/bin/pytest -m "not browser and not e2e and not slow" -q

bench: $(STAMP) browser
	$(PY) bench/bench_index.py
	$(PY) bench/bench_ask.py
	$(PY) bench/bench_chat.py

# The reader's training environment is separate: torch never enters the default install.
$(TRAIN_STAMP): pyproject.toml
	python3 -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/python -m pip install -q -U pip
	$(TRAIN_VENV)/bin/python -m pip install -q -e '.[train]'
	touch $(TRAIN_STAMP)

# Train (or resume), export, measure, calibrate and write the model card into qa/reader/model/.
# About 1.5 hours on 2 cores, then about 15 minutes of measuring and calibrating: run it with
# nohup; a second run resumes from .train/reader/checkpoint.pt.
train-reader: $(TRAIN_STAMP)
	$(TRAIN_VENV)/bin/python -m training.pipeline --fraction 0.28

# A few training steps on a few dozen questions, exported and answered with (CI runs it).
test-training: $(TRAIN_STAMP)
	$(TRAIN_VENV)/bin/pytest -p no:cacheprovider tests/test_training.py

clean:
	rm -rf $(VENV) .qa-data
