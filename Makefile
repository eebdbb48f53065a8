# Entry points a new user and CI run. `make deploy` deploys the local dev stack (no cluster,
# no cloud account); `make test` runs every test layer (`make test-<layer>` one of them). Both
# install what they need. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
BIN := venv/bin
STACK ?= dev

# The test layers, fastest first (harness/layers.py says what each runs; `make test-<layer>`).
LAYERS := unit policy tools engine readme cluster pods
# pytest on WORKERS processes (WORKERS=0: one process); tests that share a server or a stack
# carry one xdist_group and stay on one worker, the slowest layers first (tests/layering.py).
# Three for two cores: each worker also waits on its `pulumi`s, nginx and servers, and on three
# the cores stayed busier (README, "Tests: the layers", has the runs).
# Four when the node's layers run (CI=true, or `make cluster` up): their two chains of releases
# (tests/pods_stack.py) wait on the node's pods most of their time, each on a worker of its
# own, and with fewer workers the rest of the suite ran on one core beside them. (The CPU was
# 45% idle through a cold CI's tests when every `pulumi` also waited 5 s for its language host,
# cli/interrupts.py; since, on three workers, the node's one chain took 1,159 s and the rest
# 660 s.)
# CI as harness.tooling.in_ci reads it.
IN_CI = $(filter 1 true True TRUE yes Yes YES,$(strip $(CI)))
CLUSTER_UP = $(shell scripts/cluster.sh status >/dev/null 2>&1 && echo up)
WORKERS ?= $(if $(IN_CI)$(CLUSTER_UP),4,3)
PYTEST_ARGS ?=
PYTEST := $(BIN)/python -m pytest -q -n $(WORKERS) --dist loadgroup --no-loadscope-reorder \
	$(PYTEST_ARGS)

.PHONY: help venv engine tools cluster cluster-down cluster-status deploy preview test test-all \
	$(addprefix test-,$(LAYERS)) lint typecheck golden bench bench-quick bench-cluster \
	bench-tests clean

help:
	@echo "make deploy              the dev stack, render mode (STACK=... for another)"
	@echo "make preview             pulumi preview --diff of STACK"
	@echo "make test                lint, typecheck and every test layer on WORKERS=$(WORKERS) workers"
	@echo "make test-<layer>        one layer: $(LAYERS)"
	@echo "make lint | typecheck    ruff | mypy"
	@echo "make cluster             the local API server the cluster layer needs (cluster-down, cluster-status)"
	@echo "make bench [QUICK=1]     the benchmarks; bench-cluster on the local cluster"
	@echo "make bench-tests         the suite's own wall times per layer, parallel beside serial"
	@echo "make golden              regenerate tests/golden for review"

venv:
	@PYTHON=$(PYTHON) scripts/venv.sh requirements-dev.txt

# The Pulumi CLI, Python language host and Kubernetes provider, built from Go modules once.
engine:
	@scripts/bootstrap_engine.sh >/dev/null

# nginx, redis-server, promtool and wrk from Debian's packages, when missing.
tools:
	@scripts/install_test_tools.sh

# A local cluster on this machine (as root): the control plane on loopback, a real node
# (containerd, kubelet, kube-proxy, CoreDNS, the release's images built locally) and a
# Prometheus scraping the pods; built from Go modules and Debian's packages once (~10 min cold,
# cached in ~/.cache/involution-cluster); prints the kubeconfig path (context involution-local).
# See README "The local cluster: releases on real pods".
cluster: venv
	@scripts/cluster.sh up

cluster-down:
	@scripts/cluster.sh down

cluster-status:
	@scripts/cluster.sh status

deploy: venv engine
	scripts/pulumi.sh up --yes --stack $(STACK)

preview: venv engine
	scripts/pulumi.sh preview --diff --stack $(STACK)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Two runs: the program and the policy pack each have a __main__ module.
typecheck: venv
	$(BIN)/mypy __main__.py involution components program cli harness tools benchmarks tests
	$(BIN)/mypy policies

# Every layer in one run (under CI=true the cluster layer too; elsewhere it runs when `make
# cluster` is up, else one skipped test says how to get it), with coverage from all workers of
# the layers that run the product's code in process (harness/layers.py, `covered`).
test-all: venv
	$(PYTEST) --cov --cov-report=term tests
	$(BIN)/coverage report --include='components/*' --fail-under=90
	$(BIN)/coverage report --include='policies/*' --fail-under=90

test: venv engine tools lint typecheck test-all

# One layer: `make test-unit`, `make test-policy`, `make test-tools`, `make test-engine`,
# `make test-readme`, `make test-cluster`.
$(addprefix test-,$(LAYERS)): test-%: venv
	$(PYTEST) -m $* tests
test-tools: tools
test-engine test-readme test-cluster test-pods: engine tools

golden: venv
	UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/test_golden.py

# Figures, never assertions. QUICK=1 (or `make bench-quick`): every benchmark once, small load.
QUICK ?=
bench: venv engine tools
	BENCH_QUICK=$(QUICK) $(BIN)/python -m benchmarks.program_import
	BENCH_QUICK=$(QUICK) $(BIN)/python -m benchmarks.mock_run
	BENCH_QUICK=$(QUICK) $(BIN)/python -m benchmarks.nginx_split
	BENCH_QUICK=$(QUICK) $(BIN)/python -m benchmarks.traffic
	BENCH_QUICK=$(QUICK) $(BIN)/python -m benchmarks.policy_check
	BENCH_QUICK=$(QUICK) $(BIN)/python -m benchmarks.engine
	BENCH_QUICK=$(QUICK) $(BIN)/python -m benchmarks.watch_rollback
	BENCH_QUICK=$(QUICK) $(BIN)/python -m benchmarks.report

# Releases on the local cluster's real node under load: pulumi up per phase change and rollback,
# pods Ready, failed requests, a bad canary's rollback by watch (needs `make cluster`).
bench-cluster: venv engine
	BENCH_QUICK=$(QUICK) $(BIN)/python -m benchmarks.cluster

bench-quick:
	@$(MAKE) --no-print-directory bench QUICK=1

# The suite itself: each layer's wall time and the whole, the slowest tests, on WORKERS
# processes beside one (minutes: a figure for a quiet machine, not a test).
bench-tests: venv engine tools
	$(BIN)/python -m benchmarks.tests

clean:
	rm -rf rendered .pytest_cache .mypy_cache .ruff_cache .coverage
