# Two entry points (see README): `make run` and `make test`. Each installs what it needs.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

TRAIN_VENV  ?= .venv-train
TRAIN_STAMP := $(TRAIN_VENV)/.installed

.PHONY: run test test-fast lint browser bench clean train-reader test-training

# pip's own output goes to a log, shown only when it fails: an editable install ends with a
# setuptools notice about "folders with the same name as your package" that reads like an
# error and is not one.
$(STAMP): pyproject.toml
	@echo "installing qa-over-sources and its packages into $(VENV) (about a minute, once; log: $(VENV)/install.log)"
	python3 -m venv $(VENV)
	@# a new venv's pip 23.2 cannot resolve this stack (docs/offline.md)
	@$(PY) -m pip install -U pip > $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@$(PY) -m pip install -e '.[dev]' >> $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@echo "installed: $$($(PY) -m pip list 2>/dev/null | tail -n +3 | wc -l) packages"
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
	$(VENV)/bin/pytest -m "not browser and not e2e and not slow" -q -n 2

bench: $(STAMP) browser
	$(PY) bench/bench_index.py
	$(PY) bench/bench_ask.py
	$(PY) bench/bench_chat.py

# The reader's training environment is separate: torch never enters the default install.
$(TRAIN_STAMP): pyproject.toml
	@echo "installing qa-over-sources with its training packages (torch CPU) into $(TRAIN_VENV) (once; log: $(TRAIN_VENV)/install.log)"
	python3 -m venv $(TRAIN_VENV)
	@$(TRAIN_VENV)/bin/python -m pip install -U pip > $(TRAIN_VENV)/install.log 2>&1 || { cat $(TRAIN_VENV)/install.log; exit 1; }
	@$(TRAIN_VENV)/bin/python -m pip install -e '.[train]' >> $(TRAIN_VENV)/install.log 2>&1 || { cat $(TRAIN_VENV)/install.log; exit 1; }
	touch $(TRAIN_STAMP)

# Train the reader on groups of lines for at most TRAIN_HOURS (resuming from the run's state in
# the user's cache, $$XDG_CACHE_HOME/qa/train/reader, or from the shipped model on a machine
# without it), then export, measure and calibrate a candidate model in that folder. Start it
# with nohup at the beginning of a session. `python -m training.pipeline --no-train --ship`
# makes the candidate the shipped model once it measures at least as well (docs/training.md).
TRAIN_HOURS ?= 2
train-reader: $(TRAIN_STAMP)
	$(TRAIN_VENV)/bin/python -m training.pipeline --hours $(TRAIN_HOURS)

# A few training steps on a few dozen questions, exported and answered with (CI runs it).
test-training: $(TRAIN_STAMP)
	$(TRAIN_VENV)/bin/pytest -p no:cacheprovider tests/test_training.py

clean:
	rm -rf $(VENV) .qa-data
