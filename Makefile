# Every target creates/uses .venv itself: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export CVN_HOME ?= $(CURDIR)/.cvn-demo

.PHONY: setup demo test lint bench clean airflow-venv infra-tools

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,live]"
	touch $(STAMP)

# Airflow lives in its own venv (not a dependency of the package): the DAG test drives it.
# Its stamp is named after a hash of what goes into it (Airflow's requirements and the package's
# dependency list), so editing other parts of pyproject.toml does not reinstall Airflow. CI keeps
# it across fresh clones with AIRFLOW_VENV=<persistent dir> (see .ci/run); the test finds it
# through CVN_AIRFLOW_VENV and puts this checkout's src/ first on the path.
AIRFLOW_VENV ?= .venv-airflow
AIRFLOW_KEY := $(shell { cat infra/airflow/requirements.txt; sed -n '/^dependencies = \[/,/^\]/p' pyproject.toml; } | sha256sum | cut -c1-16)
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed-$(AIRFLOW_KEY)
export CVN_AIRFLOW_VENV := $(abspath $(AIRFLOW_VENV))

airflow-venv: $(AIRFLOW_STAMP)

$(AIRFLOW_STAMP):
	test -x $(AIRFLOW_VENV)/bin/python || { $(PYTHON) -m venv $(AIRFLOW_VENV) && \
		$(AIRFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip; }
	echo '*' > $(AIRFLOW_VENV)/.gitignore
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet -r infra/airflow/requirements.txt -e .
	rm -f $(AIRFLOW_VENV)/.installed*
	touch $@

# The demo's home is recreated at each run only when it carries the demo marker file; any other
# non-empty directory is refused (exit 2) and left alone (docs/demo.md).
demo: setup
	$(BIN)/cvntrade demo --home $(CURDIR)/.cvn-demo

# promtool, amtool, prometheus, prometheus-alertmanager for the infra/ tests: installed with apt
# when missing and we are root; otherwise those tests skip (or fail under CI=true) with the command.
INFRA_TOOLS := promtool amtool prometheus prometheus-alertmanager
infra-tools:
	@missing=; for t in $(INFRA_TOOLS); do command -v $$t >/dev/null || missing=1; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus prometheus-alertmanager; \
	elif [ -n "$$missing" ]; then \
		echo "infra tools missing: sudo apt-get update && sudo apt-get install -y prometheus prometheus-alertmanager" >&2; \
	fi
	@# headless Chromium for the console's browser test (Playwright drives /usr/bin/chromium)
	@if ! command -v chromium >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	elif ! command -v chromium >/dev/null; then \
		echo "chromium missing: sudo apt-get update && sudo apt-get install -y chromium" >&2; \
	fi

test: setup airflow-venv infra-tools
	$(BIN)/python -m pytest -n 2 --dist worksteal

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b" >&2; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .venv-airflow .cvn-demo .pytest_cache .mypy_cache .ruff_cache
