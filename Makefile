# The two commands a newcomer needs are `make quickstart` and `make test` (see README.md).
# Both create and use the virtual environment in .venv/.

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-stamp

.PHONY: quickstart test test-deps test-fast lint system-deps cluster-build cluster-up cluster-down bench bench-table clean ci-cold

$(PY):
	python3 -m venv $(VENV)

# Reinstall when the package's metadata changes. PyTorch (CPU use, gloo) is downloaded from
# PyPI on a machine's first install; later installs on the same machine reuse pip's cache.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,torch]'
	touch $(STAMP)

# The lint tools, pinned in pyproject.toml's `lint` extra (with the package, which mypy reads).
LINT    := $(VENV)/.lint-stamp
$(LINT): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[lint]'
	touch $(LINT)

# JupyterHub's proxy for tests/hub and the hub benchmarks (configurable-http-proxy, from npm,
# pinned by the lock file).
CHP     := tests/hub/node_modules/.bin/configurable-http-proxy
$(CHP): tests/hub/package-lock.json
	npm ci --prefix tests/hub --no-audit --no-fund --loglevel=error
	touch $(CHP)

# The side panel's own unit tests (jest), from the lock file (installing the package usually
# did this already, when it built the panel).
JEST    := labextension/node_modules/.bin/jest
$(JEST): labextension/package-lock.json
	npm ci --prefix labextension --no-audit --no-fund --loglevel=error
	touch $(JEST)

quickstart: $(STAMP)
	$(PY) examples/quickstart/run.py

system-deps:
	bash scripts/system-deps.sh

cluster-build:
	bash tests/cluster/build.sh

cluster-up: $(STAMP) cluster-build
	bash tests/cluster/up.sh

cluster-down:
	bash tests/cluster/down.sh

# The whole suite: unit, local processes, the real control plane (built and started by the
# session fixture), the server extension and the browser; then the panel's jest tests.
test: system-deps test-deps cluster-build
	$(PY) -m pytest
	npm test --prefix labextension -- --ci

# Every gate, then the verdict: formatting and lint (ruff), types (mypy on jupyter_kf/), the
# import contracts (import-linter, pyproject.toml's [tool.importlinter]) and the layout rules
# (scripts/check_layout.py). CI runs it before the tests.
LINT_GATES := 'ruff format --check .' 'ruff check .' 'mypy' 'lint-imports' 'python scripts/check_layout.py'
lint: $(LINT)
	@failed=""; for gate in $(LINT_GATES); do \
		echo "== $$gate"; \
		PATH="$(CURDIR)/$(VENV)/bin:$$PATH" sh -c "$$gate" || failed="$$failed; $$gate"; \
	done; \
	if [ -n "$$failed" ]; then echo "make lint: failed: $${failed#; }"; exit 1; fi; \
	echo "make lint: all gates pass"

# Only what needs neither the control plane, a real hub nor a browser (by their markers).
test-fast: $(STAMP)
	$(PY) -m pytest -m "not cluster and not hub and not browser"

# KubeSpawner, the peer of the hub benchmarks (spawn_herd, idle_api_load), in a virtualenv
# of its own so its pins never touch .venv. The other peers' benchmarks make theirs.
HUB_PEER := .venv-bench-hub/bin/jupyterhub
$(HUB_PEER): benchmarks/requirements-kubespawner.txt
	python3 -m venv .venv-bench-hub
	.venv-bench-hub/bin/pip install -q -r benchmarks/requirements-kubespawner.txt
	touch $(HUB_PEER)

# The kubeflow SDK (PyPI kubeflow, pinned in benchmarks/requirements-kubeflow-sdk.txt) for
# tests/sdk and the trainjob_* benchmarks: it pins kubernetes<36, so it gets a virtualenv of
# its own and runs as a subprocess; .venv is never downgraded.
SDK_VENV := .venv-sdk/.installed-stamp
$(SDK_VENV): benchmarks/requirements-kubeflow-sdk.txt
	python3 -m venv .venv-sdk
	.venv-sdk/bin/pip install -q -r benchmarks/requirements-kubeflow-sdk.txt
	touch $(SDK_VENV)

# What the suite installs besides the control plane (CI installs it while that builds). A
# rule of its own below SDK_VENV's definition: make expands a rule's prerequisites where
# the rule is read, so $(SDK_VENV) above it would be empty.
test-deps: $(STAMP) $(CHP) $(JEST) $(SDK_VENV)

# The v1 Training Operator's SDK, the peer of the cluster benchmarks on PyTorchJobs
# (status_propagation, list_jobs, submit_latency --cluster), in a virtualenv of its own from
# its pinned requirements (the kubeflow SDK's peers use $(SDK_VENV)). The benchmarks would
# make it too; made here, a run starts with every peer in place.
BENCH_TRAINING := .venv-bench-training/.installed-stamp
$(BENCH_TRAINING): benchmarks/requirements-kubeflow-training.txt
	python3 -m venv .venv-bench-training
	.venv-bench-training/bin/pip install -q -r benchmarks/requirements-kubeflow-training.txt
	touch $(BENCH_TRAINING)

# Every benchmark, ours against its peer (the cluster ones start a control plane if none
# is configured); results in benchmarks/results/, then the table in docs/benchmarks.md.
# Every one runs even after a miss; the target fails at the end, naming each that missed
# its goal (a benchmark exits 1 then).
bench: $(STAMP) $(CHP) $(HUB_PEER) $(SDK_VENV) $(BENCH_TRAINING)
	@failed=""; \
	for b in benchmarks/*.py "benchmarks/submit_latency.py --cluster"; do \
		echo "== $$b"; $(PY) $$b || failed="$$failed $$b;"; \
	done; \
	$(PY) benchmarks/support/table.py; \
	if [ -n "$$failed" ]; then echo "make bench: goal not met or run failed:$$failed"; exit 1; fi

bench-table:
	$(PY) benchmarks/support/table.py

# CI as a brand-new machine runs it: a clean clone of HEAD in a temporary folder, empty Go,
# pip and npm caches (.ci/run --cold). Stop a cluster you run here first (its ports and the
# real node are one per machine). Prints each phase's time.
ci-cold:
	d=$$(mktemp -d /tmp/jkf-ci-clone.XXXXXX) && git clone -q . $$d && cd $$d && CI=true bash .ci/run --cold

clean:
	rm -rf $(VENV) build dist *.egg-info
