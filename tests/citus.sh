#!/usr/bin/env bash
# `make test-citus`: the unit and integration suites against a real Citus cluster (a coordinator and two
# workers on this machine, from ../shared/citus: see its README), prepared by `grassroots db init`.
#
#   tests/citus.sh [PYTEST ARGS]   default: tests/unit tests/integration
#
# Env: CITUS_KIT (default ../shared/citus), CITUS_DIR (default .citus, git-ignored), CITUS_PORT (default
# 9700: the coordinator; the workers take the next two). Each run starts from a new cluster (the
# suites leave their counties behind), and the cluster is stopped however the run ends; its data and
# logs stay in CITUS_DIR until the next run.
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
DATABASE_URL=$URL .venv/bin/grassroots db init
if [ $# -eq 0 ]; then set -- tests/unit tests/integration --durations=15; fi
TEST_DATABASE_URL=$URL .venv/bin/pytest -q -p no:cacheprovider "$@"
