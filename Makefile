# Two entry points (see README): `make run` and `make test`. Each installs what it needs.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

TRAIN_VENV  ?= .venv-train
TRAIN_STAMP := $(TRAIN_VENV)/.installed

.PHONY: run test test-fast lint browser bench clean train-reader test-training

# A venv with the package and one of its extras: $(call install,VENV,EXTRA). pip's own output
# goes to a log, shown only when it fails: an editable install ends with a setuptools notice
# about "folders with the same name as your package" that reads like an error and is not one.
# pip is upgraded first: a new venv's pip 23.2 cannot resolve this stack (docs/offline.md).
define install
	python3 -m venv $(1)
	@$(1)/bin/python -m pip install -U pip > $(1)/install.log 2>&1 || { cat $(1)/install.log; exit 1; }
	@$(1)/bin/python -m pip install -e '.[$(2)]' >> $(1)/install.log 2>&1 || { cat $(1)/install.log; exit 1; }
	@echo "installed: $$($(1)/bin/python -m pip list 2>/dev/null | tail -n +3 | wc -l) packages"
	touch $(1)/.installed
endef

$(STAMP): pyproject.toml
	@echo "installing qa-over-sources and its packages into $(VENV) (about a minute, once; log: $(VENV)/install.log)"
	$(call install,$(VENV),dev)

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
	$(call install,$(TRAIN_VENV),train)

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
