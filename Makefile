# The targets are the commands in the README. Everything installs into ./.venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` installs only what the hub needs to run (runtime dependencies); the test and
# translation extras (playwright, onnx, argostranslate, ...) come with `make test`/`setup`.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed

.PHONY: run test lint bench smtp-sink setup clean

$(RUN_STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test,translate]'
	touch $(STAMP) $(RUN_STAMP)

tests/a11y/node_modules: tests/a11y/package.json
	npm ci --prefix tests/a11y --no-audit --no-fund --silent || npm install --prefix tests/a11y --no-audit --no-fund --silent
	touch tests/a11y/node_modules

setup: $(STAMP)

## Start the hub (HTTP API + workers) on SQLite + a Maildir outbox under ./var/
run: $(RUN_STAMP)
	$(BIN)/commhub migrate
	$(BIN)/commhub serve

## Run the whole test suite (real SQLite, SMTP, espeak-ng, Chromium, argostranslate; PostgreSQL if up)
test: $(STAMP) tests/a11y/node_modules
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check commhub tests benchmarks
	$(BIN)/ruff format --check commhub tests benchmarks
	$(BIN)/mypy

## Benchmarks: figures and ratios printed, never asserted (see README "Performance")
bench: $(STAMP) smtp-sink
	$(BIN)/python -m benchmarks.run_all

# postfix's C smtp-sink is the SMTP receiver the benchmarks measure against (aiosmtpd would
# be the bottleneck). Installed without configuring or starting a mail server; where apt-get
# cannot run (not root), the benchmarks fall back to aiosmtpd and say so.
smtp-sink:
	@command -v smtp-sink >/dev/null || test -x /usr/sbin/smtp-sink || { \
	  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postfix; } \
	  || echo "smtp-sink not installed: the benchmarks will use aiosmtpd"

clean:
	rm -rf $(VENV) var tests/a11y/node_modules
