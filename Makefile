# imgops: `make demo` shows it working, `make test` proves it. Both start from a bare machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# pytest workers for the suites that are safe in parallel (each worker starts its own PostgreSQL server).
PYTEST_WORKERS ?= 2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_TEST_PACKAGES := postgresql debootstrap systemd-container openssh-client prometheus

.PHONY: venv demo test lint unit types system-packages molecule lock clean

# imgops and, beside it, its test fixtures (tests/support: the imgops-testing distribution, never in the wheel).
$(STAMP): pyproject.toml tests/support/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e tests/support
	touch $@

venv: $(STAMP)

## demo: build a demo platform under demo/ and run the maintenance playbook against it
demo: venv
	$(BIN)/python -m imgops_testing.platform demo
	source $(BIN)/activate && ansible-playbook maintenance.yml
	@echo
	@echo "Run it again to see nothing left to do (changed=0):  source $(BIN)/activate && ansible-playbook maintenance.yml"

## system-packages: Debian packages the tests use (PostgreSQL server), installed when missing
system-packages:
	@missing=""; for pkg in $(DEBIAN_TEST_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	source $(BIN)/activate && ansible-lint --offline -q

node_modules/.installed-stamp: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Debian's nodejs and npm (make types needs json-schema-to-typescript)"; exit 1; }
	npm ci --no-audit --no-fund --silent
	touch $@

## types: regenerate what is derived from shared/schema (embedded schemas, TypedDicts, TypeScript)
types: venv node_modules/.installed-stamp
	$(BIN)/python scripts/generate_shared_types.py

## lock: pin the hosts' runtime dependencies with hashes (the imgops_runtime role installs exactly these)
lock: venv
	$(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock" \
	  --output-file roles/imgops_runtime/files/requirements.lock

# pytest exits 5 when it ran no tests (a wrong path, a marker selecting nothing): a failure, said plainly.
define pytest
$(BIN)/pytest $(1) || { status=$$?; [ $$status -ne 5 ] || echo "pytest ran no tests: pytest $(1)" >&2; exit $$status; }
endef

## unit: the unit tests, where importing psycopg fails: they need neither it nor a PostgreSQL server
NO_PSYCOPG := PYTHONPATH=$(CURDIR)/tests/support/without_psycopg$${PYTHONPATH:+:$$PYTHONPATH}
unit: venv
	@if $(NO_PSYCOPG) $(BIN)/python -c 'import psycopg' 2>/dev/null; then \
	  echo "tests/support/without_psycopg did not block psycopg: make unit would prove nothing" >&2; exit 1; fi
	$(NO_PSYCOPG) $(call pytest,tests/unit)

## molecule: each role on a real systemd host (Debian bookworm booted with systemd-nspawn)
ROLES := imgops_runtime maintenance_timers disk_alerts
molecule: venv system-packages
	source $(BIN)/activate && for role in $(ROLES); do (cd roles/$$role && molecule test) || exit 1; done

## test: everything the project promises, on real PostgreSQL, real files, real Ansible and real systemd
# After the unit tests, the other suites run on $(PYTEST_WORKERS) workers; tests marked `serial` (they rewrite
# files of the checkout that other tests read, or time a child process with fixed delays) run alone afterwards.
test: venv system-packages node_modules/.installed-stamp lint unit
	source $(BIN)/activate && $(call pytest,-n $(PYTEST_WORKERS) -m 'not serial' --ignore=tests/unit)
	source $(BIN)/activate && $(call pytest,-m serial --ignore=tests/unit)
	$(MAKE) molecule

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache node_modules
