# The one entry point: `make run` starts everything, `make test` checks everything.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.SHELLFLAGS := -eu -o pipefail -c

PYTHON_BASE ?= $(shell command -v python3.11 || command -v python3.10 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
INSTALLED := $(VENV)/.installed
MODEL_STAMP := models/.trained
# pytest-xdist workers for make unit (each test still runs alone in its worker).
UNIT_WORKERS ?= 2
# ... and for make e2e's non-browser tests, a test file per worker (its own system, free ports,
# databases, queues and keys of its own names): most of a system's start is waiting.
E2E_WORKERS ?= 2
TRAINING_INPUTS := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null)
REQUIREMENTS := requirements/rasa.txt requirements/app.txt requirements/dev.txt

# Every command sees the settings in .env (made from .env.example with random secrets).
-include .env
export

.env: .env.example
	@$(PYTHON_BASE) -m launcher.envfile .env.example .env

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(INSTALLED): $(REQUIREMENTS)
	@test -x $(PY) || $(PYTHON_BASE) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python $(addprefix -r ,$(REQUIREMENTS))
	@touch $@

install: $(INSTALLED) .env ## Create .venv and install the pinned dependencies

$(MODEL_STAMP): $(TRAINING_INPUTS) | $(INSTALLED)
	$(RASA) train --fixed-model-name support-assistant
	@touch $@

train: $(MODEL_STAMP) ## Train the model if the data, domain or config changed

# The desk first: the mortgage applications move into its database before the action server's
# migration drops them there.
db: install ## Create (migrate) and seed the demo databases (desk agents; orders)
	$(PY) -m desk.seed
	$(PY) -m launcher.move_applications
	$(PY) -m actions.store.seed

run: install train db ## Install, train, seed, and start the whole system
	$(PY) -m launcher run

# Two of each process behind HAProxy, on the local PostgreSQL, Redis and RabbitMQ (README,
# "Running on several processes"); it creates and seeds its PostgreSQL databases itself.
run-scaled: install train balancer ## Start 2 Rasa + 2 action servers + 2 desks behind HAProxy (PostgreSQL, Redis, RabbitMQ)
	$(PY) -m launcher run-scaled

shell: install train db ## Chat with the assistant in this terminal
	$(PY) -m launcher shell

validate: install ## Check the training data, the designers' content files and the handoff schema
	$(RASA) data validate --fail-on-warnings
	$(PY) -m actions.troubleshooting_trees
	$(PY) -m desk.services.checklists
	$(PY) -m desk.services.branches
	$(PY) -m desk.services.service_levels
	$(PY) -m analytics.stages
	$(PY) -m analytics.blueprints
	$(PY) -m analytics.fmea_catalog
	$(PY) -m contract.schema --check
	$(PY) -m desk.api.openapi --check

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy analytics actions contract assistant launcher rasa_sdk_plugins benchmarks desk sqlsupport settingsupport sentimentsupport harness contentsupport evaluation

# pip-audit needs a newer `packaging` than Rasa pins, so it lives in a venv of its own. It asks
# PyPI's vulnerability data about every pinned version (--strict: a package it cannot check
# fails the audit, never passes unchecked); the known ones accepted, each with its reason, are
# in requirements/audit-ignore.txt, so any other fails.
AUDIT_VENV := .venv-audit
AUDIT_INSTALLED := $(AUDIT_VENV)/.installed
AUDIT_IGNORED := $(shell grep -oE '^[A-Z]+-[A-Za-z0-9-]+' requirements/audit-ignore.txt)

$(AUDIT_INSTALLED): requirements/audit.txt
	@test -x $(AUDIT_VENV)/bin/python || $(PYTHON_BASE) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install --quiet --no-deps -r requirements/audit.txt
	@touch $@

audit: $(AUDIT_INSTALLED) ## Known vulnerabilities in the pinned requirements (pip-audit; needs PyPI)
	$(AUDIT_VENV)/bin/pip-audit --strict --no-deps --disable-pip --progress-spinner off \
		$(addprefix -r ,$(REQUIREMENTS)) $(addprefix --ignore-vuln ,$(AUDIT_IGNORED))

unit: install ## Unit and contract tests (no processes started), on UNIT_WORKERS workers
	$(PY) -m pytest -m "not e2e" -q -n $(UNIT_WORKERS) --dist worksteal

stories: install train ## Test stories against the trained model
	rm -rf var/test-stories && mkdir -p var/test-stories && cp tests/test_*.yml var/test-stories/
	$(RASA) test core --stories var/test-stories --fail-on-prediction-errors --out results/core

CHROMIUM ?= /usr/bin/chromium

$(CHROMIUM):
	@echo "Installing Debian's chromium for the browser tests (needs root)..."
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

browser: $(CHROMIUM) ## Install Debian's chromium for the browser tests

HAPROXY ?= /usr/sbin/haproxy

$(HAPROXY):
	@echo "Installing Debian's haproxy, the scaled system's load balancer (needs root: sudo make balancer)..."
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy

balancer: $(HAPROXY) ## Install Debian's haproxy for make run-scaled and the scaled tests

# Clients nobody here wrote, from the npm registry, for the end-to-end tests (socket.io-client).
NODE_CLIENTS_DIR := tests/support/node
NODE_CLIENTS := $(NODE_CLIENTS_DIR)/node_modules/.package-lock.json

$(NODE_CLIENTS): $(NODE_CLIENTS_DIR)/package.json $(NODE_CLIENTS_DIR)/package-lock.json
	npm ci --prefix $(NODE_CLIENTS_DIR) --no-audit --no-fund

node-clients: $(NODE_CLIENTS) ## Install socket.io-client (npm registry) for the end-to-end tests

# Schemathesis needs newer jsonschema and packaging than Rasa pins: its own venv, fully pinned.
FUZZ_VENV := .venv-fuzz
FUZZ_INSTALLED := $(FUZZ_VENV)/.installed

$(FUZZ_INSTALLED): requirements/fuzz.txt
	@test -x $(FUZZ_VENV)/bin/python || $(PYTHON_BASE) -m venv $(FUZZ_VENV)
	$(FUZZ_VENV)/bin/python -m pip install --quiet --no-deps -r requirements/fuzz.txt
	@touch $@

fuzz-tools: $(FUZZ_INSTALLED) ## Install Schemathesis (.venv-fuzz) for the desk's API fuzzing test

# The fault-injection suite (tests/chaos/) runs here too, beside the others: its files and the
# other tests marked long_running start first (tests/conftest.py; collection order, hence
# --no-loadscope-reorder), so the workers end together.
e2e: install train db browser balancer node-clients fuzz-tools ## End-to-end tests (the chaos suite too): real servers on loopback, pages in headless chromium
	$(PY) -m pytest -m e2e -q --ignore=tests/browser -n $(E2E_WORKERS) --dist loadfile --no-loadscope-reorder
	$(PY) -m pytest -m e2e -q tests/browser

# Faults under load (kill -9, restarts, duplicates, a slow desk), then the invariants, alone
# (make e2e runs them too); the summary lands in results/chaos/summary.json (docs/chaos.md).
chaos: install train db balancer ## Fault-injection suite alone: each fault under load, then the invariants
	$(PY) -m pytest -m chaos -q tests/chaos $(ARGS)

test: lint validate unit stories e2e ## Run every check

analytics: install ## Fold new conversations and handoffs into the supervisors' facts now
	$(PY) -m analytics $(ARGS)

demo-traffic: install ## Play scripted conversations through the running system (`make run`), then build the analytics
	$(PY) -m launcher.demo_traffic

# NLU cross-validation (intent F1, confusion matrix image, per-class errors) and the behaviour
# evaluation on the held-out set (evaluation/phrasings.yml); everything lands in results/eval/.
eval: install train ## Evaluate understanding: rasa test nlu cross-validation + behaviour on the held-out set
	$(PY) -m evaluation $(ARGS)

# Options after ARGS=, e.g. `make bench ARGS="--skip-train --soak-minutes 0"` (see benchmarks/run.py).
bench: install train db node-clients ## Speed benchmarks (numbers go in the README)
	$(PY) -m benchmarks.run $(ARGS)

clean: ## Remove the trained model, results and local state
	rm -rf models results var

.PHONY: help install train db run run-scaled balancer shell validate lint unit stories e2e test eval bench clean browser node-clients analytics demo-traffic chaos audit fuzz-tools
