# Entry points a new user and CI run. `make deploy` deploys the local dev stack (no cluster,
# no cloud account); `make test` runs every test layer. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
BIN := venv/bin
STACK ?= dev

.PHONY: venv engine tools cluster cluster-down cluster-status deploy preview test unit lint typecheck golden bench bench-quick bench-cluster clean

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

unit: venv
	$(BIN)/python -m pytest -q --cov --cov-report=term tests
	$(BIN)/coverage report --include='components/*' --fail-under=90
	$(BIN)/coverage report --include='policies/*' --fail-under=90

test: venv engine tools lint typecheck unit

golden: venv
	UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/test_golden.py

# Figures, never assertions. QUICK=1 (or `make bench-quick`): every benchmark once, small load.
QUICK ?=
bench: venv engine tools
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

clean:
	rm -rf rendered .pytest_cache .mypy_cache .ruff_cache .coverage
