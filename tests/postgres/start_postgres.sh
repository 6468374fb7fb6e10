#!/usr/bin/env bash
# Start a local PostgreSQL server for the OMOP adapter test (tests/test_omop_postgres.py). Needs root and
# Debian/Ubuntu packages; no systemd needed (pg_ctlcluster). Idempotent: installs `postgresql` only when
# missing, creates a cluster only when there is none, leaves a running cluster alone, and (re)sets the
# test role and database. Progress goes to stderr; stdout is one line for the caller to eval:
#
#   eval "$(bash tests/postgres/start_postgres.sh)"    # sets OMOP_TEST_DATABASE_URL
#   .venv/bin/python -m pytest -m postgres
#
# The role, password and database are throwaway test values for a server listening on localhost only.
set -euo pipefail

ROLE="${OMOP_TEST_ROLE:-icistop_test}"
PASSWORD="${OMOP_TEST_PASSWORD:-icistop_test_pw}"
DB="${OMOP_TEST_DB:-icistop_omop_test}"

if [ "$(id -u)" -ne 0 ]; then
  echo "start_postgres.sh: must run as root" >&2
  exit 1
fi
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# --- 1. packages -------------------------------------------------------------------------------
if ! dpkg-query -W -f='${Status}' postgresql 2>/dev/null | grep -q "install ok installed"; then
  echo "installing: postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  policy=/usr/sbin/policy-rc.d  # the package's init scripts must not start a server during install
  created_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1; fi
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  [ "$created_policy" = 1 ] && rm -f "$policy"
fi
echo "  [$(elapsed) s] package postgresql $(dpkg-query -W -f='${Version}' postgresql)" >&2

# --- 2. cluster --------------------------------------------------------------------------------
if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
  version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
  pg_createcluster "$version" main >&2
fi
read -r version name port status _ < <(pg_lsclusters -h | head -1)
if [ "$status" != "online" ]; then
  pg_ctlcluster "$version" "$name" start >&2
fi
for _ in $(seq 50); do
  runuser -u postgres -- pg_isready -q -h localhost -p "$port" && break
  sleep 0.2
done
runuser -u postgres -- pg_isready -q -h localhost -p "$port"
echo "  [$(elapsed) s] cluster $version/$name online on port $port" >&2

# --- 3. role and database ----------------------------------------------------------------------
psql_admin() { runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" = "1" ]; then
  psql_admin -c "ALTER ROLE $ROLE WITH LOGIN PASSWORD '$PASSWORD'" >/dev/null
else
  psql_admin -c "CREATE ROLE $ROLE WITH LOGIN PASSWORD '$PASSWORD'" >/dev/null
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
  psql_admin -c "CREATE DATABASE $DB OWNER $ROLE" >/dev/null
fi
echo "  [$(elapsed) s] role $ROLE, database $DB ready" >&2

echo "export OMOP_TEST_DATABASE_URL=postgresql://$ROLE:$PASSWORD@localhost:$port/$DB"
