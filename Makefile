# The two commands of the README: `make run` and `make test`. Everything they need is installed from
# this repository's own files: Debian packages (skipped when present), pip into .venv, npm into pwa/.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
DEBS := chromium chromium-driver fonts-noto-cjk
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run test test-citus lint bench soak install debs pwa serve clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Debian packages for the browser tests and Chinese text; apt-get runs only when one is missing.
debs:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

pwa/node_modules/.installed: pwa/package.json pwa/package-lock.json
	cd pwa && npm ci --no-audit --no-fund
	touch $@

pwa/dist/index.html: pwa/node_modules/.installed $(shell find pwa/src pwa/public -type f 2>/dev/null) pwa/vite.config.js pwa/index.html \
                     $(wildcard services/vocabulary/*.json)
	cd pwa && npm run build

pwa: pwa/dist/index.html

run: install pwa
	$(BIN)/grassroots demo
	$(BIN)/grassroots serve

# Lint and type checks (pyproject.toml configures both); seconds, so they run before the tests.
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# The slowest test takes under a minute: one that runs 5 fails with every thread's stack (pytest-timeout) instead of
# stalling CI. The browser tests run in a pytest process of their own: Playwright's sync API keeps an event loop
# running for the whole session, which the asyncio tests cannot share.
test: lint debs pwa
	cd pwa && npm test
	$(BIN)/pytest -q -p no:cacheprovider --timeout 300 tests/unit tests/integration tests/fault tests/soak
	$(BIN)/pytest -q -p no:cacheprovider --timeout 300 tests/e2e

# The same unit and integration suites on a real three-node Citus cluster under .citus/ (Citus built from
# ../shared/citus when not installed), prepared by `grassroots db init`; the cluster stops however it ends.
test-citus: install
	tests/citus.sh

# `make bench SCALE=county40k|county290k|province38|tenants3000` runs issue 12's real-size figures at that
# scale only (tests/bench/real.py); without SCALE, the server and PWA figures and a quick county40k run.
# With BENCH_DATABASE_URL (an empty database prepared by `grassroots db init`, e.g. a Citus coordinator's
# from ../shared/citus/cluster.sh) the real size is measured there instead of on a fresh embedded
# PostgreSQL, in a section of its own ("Real size: county40k on Citus").
bench: install pwa
	SCALE=$(SCALE) $(BIN)/python -m tests.bench.run

# Issue 15's long runs (tests/fault, tests/soak; the quick versions run in `make test`): 10,000 retried
# check-ins through 20 `kill -9`s of the server (about a minute on 2 cores), 20 `kill -9`s of the projector
# during a catch-up, database faults of 10 s each through tests/fault/proxy.py (about 1.5 min), a backup and
# restore under load (about a minute), 50,000 stateful Schemathesis calls (about 20 minutes) beside a
# 20-minute mixed load whose server memory is sampled (tests/soak/test_mixed_load.py).
# docs/reliability.md has the figures.
soak: install
	GRASSROOTS_FAULT_CHECK_INS=10000 GRASSROOTS_FAULT_KILLS=20 $(BIN)/pytest -q -s -p no:cacheprovider tests/fault/test_crash.py
	GRASSROOTS_PROJECTOR_KILLS=20 $(BIN)/pytest -q -s -p no:cacheprovider tests/fault/test_projector.py
	GRASSROOTS_DB_FAULT_SECONDS=10 $(BIN)/pytest -q -s -p no:cacheprovider tests/fault/test_database.py
	GRASSROOTS_FAULT_BACKUP_LOAD=3000 $(BIN)/pytest -q -s -p no:cacheprovider tests/fault/test_backup.py
	GRASSROOTS_SOAK_MIXED_SECONDS=1200 $(BIN)/pytest -q -s -p no:cacheprovider tests/soak/test_mixed_load.py & \
	mixed=$$!; \
	GRASSROOTS_SOAK_STATEFUL_CALLS=10000 $(BIN)/pytest -q -s -p no:cacheprovider tests/soak/test_stateful.py; \
	stateful=$$?; wait $$mixed && exit $$stateful

clean:
	rm -rf $(VENV) pwa/node_modules pwa/dist
