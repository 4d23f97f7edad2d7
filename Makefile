# The two commands a newcomer needs are `make demo` and `make test`; both set up
# the virtualenv from the lock (constraints.txt) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

BENCH_STAMP := $(VENV)/.bench-stamp

# LangChain's MCP adapters need the MCP SDK 1.x; the gateway's tests use 2.x. So the LangChain
# test (tests/gateway/test_mcp_langchain.py) runs its probe in a virtualenv of its own.
LC_VENV := .venv-langchain
LC_STAMP := $(LC_VENV)/.installed-stamp

# npm packages the tests run (each pinned by its package-lock.json): the official MCP
# conformance suite, and the OpenID Connect provider agents and staff sign in with.
NODE_STAMPS := tests/conformance/node_modules/.installed tests/oidc/node_modules/.installed

.PHONY: install debian-packages node-deps demo serve test lint format screenshots lock lock-langchain langchain clean bench bench-soap bench-odata bench-overload bench-fleet

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) debian-packages

# Debian packages the tests run as real processes, installed only when missing: HAProxy is
# the load balancer of deploy/compose.yaml, and tests/deploy run the fleet behind it;
# Chromium is the browser tests/console drive through Playwright.
DEBIAN_PACKAGES := haproxy chromium
debian-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; } \
	  || echo "could not install$$missing (Debian packages): tests/deploy and tests/console will skip without them"; \
	fi

$(LC_STAMP): constraints-langchain.txt
	$(PYTHON) -m venv $(LC_VENV)
	$(LC_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  -c constraints-langchain.txt langchain-mcp-adapters langchain-core
	touch $(LC_STAMP)

langchain: $(LC_STAMP)

tests/%/node_modules/.installed: tests/%/package.json tests/%/package-lock.json
	@command -v npm >/dev/null || { echo "make test needs node 20+ and npm"; exit 1; }
	cd tests/$* && npm ci --no-audit --no-fund --loglevel=error
	touch $@

node-deps: $(NODE_STAMPS)

demo: install
	$(BIN)/lastmile demo

serve: install
	$(BIN)/lastmile serve

# A picture of each console page in docs/console/ (not part of make test).
screenshots: install
	$(BIN)/pytest -q -p no:cacheprovider tests/console/screenshots.py

lint: install
	$(BIN)/ruff check gateway adapters schemas sandbox tests bench
	$(BIN)/ruff format --check gateway adapters schemas sandbox tests bench
	$(BIN)/mypy

test: lint langchain node-deps
	$(BIN)/pytest

# Not part of `make test`: timings belong here, not in tests. Writes bench/results/overload.md.
bench-overload: install
	$(BIN)/python -m bench.overload

# The fleet on the local PostgreSQL and Redis: the audit trail's appends, latency and proofs,
# halt acknowledgement and config reload with three processes, limiter cost per check,
# and how soon a call shows in another process's console.
# Writes bench/results/fleet_*.md (the README table quotes them).
bench-fleet: install
	$(BIN)/python -m bench.fleet_audit
	$(BIN)/python -m bench.fleet_halts
	$(BIN)/python -m bench.fleet_reload
	$(BIN)/python -m bench.fleet_limits
	$(BIN)/python -m bench.fleet_console

format: install
	$(BIN)/ruff format gateway adapters schemas sandbox tests bench
	$(BIN)/ruff check --fix gateway adapters schemas sandbox tests bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) \
	  || { echo "make bench needs wrk (Debian package 'wrk')"; exit 1; }
	command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server) \
	  || { echo "make bench needs redis-server (Debian package 'redis-server')"; exit 1; }
	touch $(BENCH_STAMP)

# Performance is measured here, never in `make test`: ratios against a baseline from the same run.
# About 8 minutes on 2 cores; a quick smoke run: `make bench LASTMILE_BENCH_SECONDS=2
# LASTMILE_BENCH_CPU_CALLS=300` (see bench/README.md).
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.soap_cost
	$(BIN)/python -m bench.stage_cpu
	$(BIN)/python -m bench.cli_start
	$(BIN)/python -m bench.readme

# Per-call cost of the SOAP adapter against a bare zeep call (not part of `make test`).
bench-soap: install
	$(BIN)/python -m bench.soap_cost

# The OData adapter's per-call cost next to a bare aiohttp call, same sandbox, same run.
bench-odata: install
	$(BIN)/python -m bench.odata_cost

# Re-resolve the lock from pyproject.toml's lower bounds in a throwaway virtualenv (--all keeps
# setuptools, which the dev extra needs to build the production wheel in tests/deploy).
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev,bench,otel]'
	( echo "# Generated by 'make lock' from pyproject.toml; the Makefile installs with -c constraints.txt."; \
	  .lock-venv/bin/python -m pip freeze --all --exclude-editable | grep -v '^pip==' ) > constraints.txt
	rm -rf .lock-venv

# Re-resolve the LangChain virtualenv's pins (see constraints-langchain.txt).
lock-langchain:
	rm -rf .lock-lc-venv
	$(PYTHON) -m venv .lock-lc-venv
	.lock-lc-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-lc-venv/bin/python -m pip install --quiet langchain-mcp-adapters langchain-core
	( sed -n '1,3p' constraints-langchain.txt; .lock-lc-venv/bin/python -m pip freeze ) \
	  > constraints-langchain.tmp && mv constraints-langchain.tmp constraints-langchain.txt
	rm -rf .lock-lc-venv

clean:
	rm -rf $(VENV) $(LC_VENV) .mypy_cache .ruff_cache .pytest_cache
