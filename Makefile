# Minzheng Assistant. `make run` to chat, `make test` to test. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Rasa 3.6 needs Python 3.10: the first python3.10 that really runs (pyenv shims may not).
PYTHON ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
MODEL := models/minzheng.tar.gz
CATALOG_DB := var/catalog.db

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONWARNINGS := ignore::DeprecationWarning
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

TRAIN_INPUTS := config.yml domain.yml bot/normalize.py \
	$(shell find data nlu_ext -type f ! -path '*__pycache__*' 2>/dev/null)
CONTENT := $(shell find bot/content bot/migrations -type f -name '*.yml' -o -type f -name '*.py' 2>/dev/null | grep -v __pycache__)

.PHONY: help run telegram qr prod test-scale test install install-dev catalog train validate test-unit test-nlu test-stories test-e2e eval bench reliability lint clean

help:
	@echo "make run    - set up everything and start the assistant (web chat at http://127.0.0.1:8080/)"
	@echo "make test   - run the whole test suite"
	@echo "make telegram - like make run, and serve Telegram too (TELEGRAM_TOKEN=... make telegram)"
	@echo "make qr     - QR codes and A4 posters for the entry points (needs MINZHENG_PUBLIC_URL or TELEGRAM_BOT_USERNAME)"
	@echo "make eval   - NLU cross-validation of the candidate pipelines (writes reports/)"
	@echo "make bench  - time 200 questions through python -m bot ask (writes reports/bench.md)"
	@echo "make reliability - fuzz, fault and load battery on loopback (writes reports/reliability.md, ~15 min)"
	@echo "make prod   - production mode: replicas behind nginx on PostgreSQL + Redis (settings: docs/deployment.md)"
	@echo "make test-scale - 2 Rasa, 2 action, 2 web replicas behind nginx, 100 conversations, a replica killed (reports/scale.md)"
	@echo "make lint   - ruff"
	@echo "make clean  - remove generated files (venv, models, databases)"

$(VENV)/.installed: requirements.txt
	@test -n "$(PYTHON)" || { echo "Python 3.10 is required (Rasa 3.6 supports <= 3.10)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<25" wheel
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip check
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip check
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(CATALOG_DB): $(CONTENT) | $(VENV)/.installed
	$(PY) -m bot catalog load
	@touch $@

catalog: $(CATALOG_DB)

# Trains only when training data, config or the NLU code changed (a new venv alone does not retrain).
$(MODEL): $(TRAIN_INPUTS) | $(VENV)/.installed
	@echo ">>> Training the model (about a minute on 2 cores; Rasa logs each step below)"
	$(RASA) train --config config.yml --domain domain.yml --data data --out models \
		--fixed-model-name minzheng
	@touch $@

train: $(MODEL)

run: $(VENV)/.installed $(CATALOG_DB) $(MODEL)
	$(PY) -m bot serve

telegram: $(VENV)/.installed $(CATALOG_DB) $(MODEL)
	$(PY) -m bot serve --telegram

# Production mode (bot/production.py): MINZHENG_DB_URL (PostgreSQL), MINZHENG_REDIS_URL, RASA_TOKEN,
# MINZHENG_ACTION_SECRET and MINZHENG_CLIENT_SECRET must be set; it runs the migrate step itself.
prod: $(VENV)/.installed $(MODEL)
	MINZHENG_PRODUCTION=1 $(PY) -m bot.production serve

# SCALE_ARGS e.g. "--conversations 40" (default 100, and one Rasa replica killed mid-run)
test-scale: $(VENV)/.installed-dev $(MODEL)
	$(PY) scripts/scale_test.py $(SCALE_ARGS)

# Needs a public address: MINZHENG_PUBLIC_URL=https://... or TELEGRAM_BOT_USERNAME=... (or QR_ARGS="--draft").
# QR_ARGS e.g. "--target web --web-url https://chat.example.gov.cn", "--bot-username my_bot" or "--draft"
qr: $(VENV)/.installed $(CATALOG_DB)
	$(PY) -m bot qr $(QR_ARGS)

test: $(VENV)/.installed-dev $(CATALOG_DB) $(MODEL)
	$(PY) -m pytest

test-unit: $(VENV)/.installed-dev $(CATALOG_DB)
	$(PY) -m pytest -m "not slow"

validate: $(VENV)/.installed-dev
	$(PY) -m pytest tests/test_rasa_data.py

test-nlu: $(VENV)/.installed-dev $(MODEL)
	$(PY) -m pytest tests/test_nlu_heldout.py

test-stories: $(VENV)/.installed-dev $(CATALOG_DB) $(MODEL)
	$(PY) -m pytest tests/test_conversations.py

eval: $(VENV)/.installed-dev $(CATALOG_DB) $(MODEL)
	$(PY) scripts/evaluate_nlu.py $(EVAL_ARGS)

bench: $(VENV)/.installed-dev $(CATALOG_DB) $(MODEL)
	$(PY) scripts/bench_ask.py

# RELIABILITY_ARGS e.g. "--quick" (a few hundred inputs, no servers) or "--inputs 20000 --seconds 300"
reliability: $(VENV)/.installed-dev $(CATALOG_DB) $(MODEL)
	$(PY) scripts/reliability.py $(RELIABILITY_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check bot actions nlu_ext tests scripts

clean:
	rm -rf $(VENV) models var .rasa results reports/tmp .pytest_cache .ruff_cache .hypothesis
