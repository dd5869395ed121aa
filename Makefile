# `make demo` and `make test` do all set-up on a fresh machine, then run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test slow lint typecheck unit handlers eval-gate holdout-gate holdout stress bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/healer demo

# `make test` stays under 15 minutes on 2 cores; `make slow` is the rest of what CI runs
# (.ci/run runs both): the deployed workflow on moto, the holdout gate, the red team, the
# Terraform apply on moto, checkov and the race tests 20 times over.
test: lint typecheck unit eval-gate

slow: handlers holdout-gate redteam terraform checkov stress

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest --ignore=tests/handlers

# The Lambda handlers and the Step Functions workflow on moto (~4 min).
handlers: $(STAMP)
	$(BIN)/pytest tests/handlers

# The dev set replayed and scored; fails when it misses evals/thresholds.yaml. Then again in
# shadow mode (nothing may execute; what it would do must agree with the answer key), and the
# trust sequences (autopilot earned over a run of incidents, lost on a failure).
eval-gate: $(STAMP)
	$(BIN)/healer eval --report reports/dev
	$(BIN)/healer eval --shadow --report reports/shadow
	$(BIN)/healer eval --suite sequence

# The holdout set; fails when it falls below its floor, evals/holdout-floor.yaml (the last
# measured scores; the bar itself, evals/holdout-thresholds.yaml, is `make holdout`).
holdout-gate: $(STAMP)
	$(BIN)/healer eval --cases evals/holdout --thresholds evals/holdout-floor.yaml --report reports/holdout

# Incidents nobody tuned the engine for: measured, never read while writing rules or runbooks.
holdout: $(STAMP)
	$(BIN)/healer eval --cases evals/holdout --thresholds evals/holdout-thresholds.yaml --report reports/holdout

# The race and crash tests, 20 times over: a flake shows here.
stress: $(STAMP)
	for run in $$(seq 20); do $(BIN)/pytest -q -p no:cacheprovider tests/workflow/test_exactly_once.py || exit 1; done

# Retrieval quality and latency (numbers in BENCHMARKS.md); the dev eval's speed; the Lambda
# package's size and cold import.
bench: $(STAMP)
	$(BIN)/python infra/lambda/package.py
	$(BIN)/healer kb eval
	$(BIN)/python -m evals.bench_kb
	$(BIN)/python -m evals.bench_kb --sweep
	$(BIN)/healer eval --report reports/bench
	$(BIN)/python -m evals.bench_storm
	$(BIN)/python -m evals.bench_storm --store dynamodb --scale 20
	test -d build/baseline || git worktree add -f build/baseline 3059c9f
	$(BIN)/python -m evals.bench_speed --baseline build/baseline

clean:
	rm -rf $(VENV) .healer .mypy_cache .ruff_cache .pytest_cache

# The red-team suite (~3 min, so in `make slow`): hostile models and poisoned logs against
# the real workflow, judged by the sandbox's world record; fails when any attack executed.
.PHONY: redteam
redteam: $(STAMP)
	$(BIN)/healer eval --suite redteam --report reports/redteam

# The Lambda package (build/lambda/healer-lambda.zip) from infra/lambda/requirements.txt; fails
# when a handler's import graph reaches a test or sandbox library; prints size and import time.
.PHONY: package
package: $(STAMP)
	$(BIN)/python infra/lambda/package.py

# infra/terraform: `unit` runs fmt, validate and the mocked `terraform test` suites
# (tests/infra); this is their plan, apply and destroy on a moto server (~60 s, most of it the
# AWS provider's waits). Skips, saying why, without Terraform or its provider mirror.
.PHONY: terraform
terraform: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/infra -m terraform_apply

# checkov on infra/terraform, 0 failed checks; every skip is justified where it is (`#checkov:skip`).
# Its own virtual environment: it pins old urllib3 and packaging and ships a conflicting hcl2.
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30

$(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION):
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

.PHONY: checkov
checkov: $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
	$(CHECKOV_VENV)/bin/checkov -d infra/terraform --framework terraform --skip-download --compact --quiet
