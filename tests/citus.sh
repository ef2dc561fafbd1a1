#!/usr/bin/env bash
# `make test-citus`: the unit and integration suites against a real Citus cluster (a coordinator and two
# workers on this machine, from ../shared/citus: see its README), prepared by `grassroots db init`.
#
#   tests/citus.sh [PYTEST ARGS]   default: tests/unit tests/integration
#
# Env: CITUS_KIT (default ../shared/citus), CITUS_DIR (default .citus, git-ignored), CITUS_PORT (default
# 9700: the coordinator; the workers take the next two), GRASSROOTS_TEST_EXAMPLES (default 0.25: the share
# of each Hypothesis property test's examples run here; 1 for all of them). Each run starts from a new
# cluster (the suites leave their counties behind), and the cluster is stopped however the run ends; its
# data and logs stay in CITUS_DIR until the next run. Tests that take no database are skipped here
# (tests/conftest.py): they prove the same on every server, and `make test` runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=${CITUS_KIT:-../shared/citus}
DIR=${CITUS_DIR:-.citus}
PORT=${CITUS_PORT:-9700}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config

# Build and install Citus only when it is not there (build.sh needs root: ~1 min, more with apt-get).
if [ ! -x "$PG_CONFIG" ] || [ ! -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ]; then
  if [ "$(id -u)" = 0 ]; then "$KIT/build.sh"; else sudo "$KIT/build.sh"; fi
fi
if [ -d "$DIR" ]; then
  "$KIT/cluster.sh" stop "$DIR" >/dev/null 2>&1 || true
  rm -rf "$DIR"
fi
trap '"$KIT/cluster.sh" stop "$DIR" >/dev/null 2>&1 || true' EXIT
URL=$("$KIT/cluster.sh" start "$DIR" "$PORT")
# Each database holding Citus keeps a maintenance daemon (a background worker) on every node, and the suites
# make about a dozen: with PostgreSQL's default of 8 workers, the logical replication that moves a county
# (citus_schema_move) finds none free and waits for ever. Raised, then the nodes restarted to take it.
# And no fsync, as on the embedded test server (tests/conftest.py: `throwaway`): the cluster is deleted
# by the next run, and no test crashes the machine; every DDL statement a county's provisioning sends on
# to a worker, and each two-phase commit across the nodes, no longer waits for the disk.
for node in 0 1 2; do
  psql -q -h 127.0.0.1 -p $((PORT + node)) -U citus -d postgres -c "ALTER SYSTEM SET max_worker_processes = 64" \
    -c "ALTER SYSTEM SET fsync = off"
done
"$KIT/cluster.sh" stop "$DIR" >/dev/null
URL=$("$KIT/cluster.sh" start "$DIR" "$PORT")
DATABASE_URL=$URL .venv/bin/grassroots db init
if [ $# -eq 0 ]; then set -- tests/unit tests/integration --durations=15; fi
# A quarter of each property test's examples (at least 3; tests/examples.py): the count proves the logic,
# which `make test` proves in full; here the same SQL must run and answer the same on Citus.
GRASSROOTS_TEST_EXAMPLES=${GRASSROOTS_TEST_EXAMPLES:-0.25} TEST_DATABASE_URL=$URL \
  .venv/bin/pytest -q -p no:cacheprovider --timeout 600 "$@"
