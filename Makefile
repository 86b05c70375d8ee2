# imgops: `make demo` shows it working, `make test` proves it. Both start from a bare machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_TEST_PACKAGES := postgresql debootstrap systemd-container openssh-client prometheus

.PHONY: venv demo test lint unit types system-packages molecule lock clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(STAMP)

## demo: build a demo platform under demo/ and run the maintenance playbook against it
demo: venv
	$(BIN)/python scripts/demo_platform.py demo
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

unit: venv
	$(BIN)/pytest tests/unit

## molecule: each role on a real systemd host (Debian bookworm booted with systemd-nspawn)
ROLES := imgops_runtime maintenance_timers disk_alerts
molecule: venv system-packages
	source $(BIN)/activate && for role in $(ROLES); do (cd roles/$$role && molecule test) || exit 1; done

## test: everything the project promises, on real PostgreSQL, real files, real Ansible and real systemd
test: venv system-packages node_modules/.installed-stamp lint
	source $(BIN)/activate && pytest
	$(MAKE) molecule

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache node_modules
