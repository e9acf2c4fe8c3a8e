#!/usr/bin/env bash
# Installs the servers that the test suite starts by itself (tests/servers.py), when missing:
#   PostgreSQL (initdb, pg_ctl) from Debian's packages.
#   Chromium from Debian's packages (browser test).
# The suite starts and stops them; nothing here starts a service. Quiet unless it installs.
# MLflow's server and moto_server (S3) come with the Python dev dependencies (pyproject.toml).
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Without root or password-less sudo, say in one line what to run instead of failing half-way.
need_root() {
  if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
    echo "ci_services: $1 is missing and installing it needs root: run 'sudo bash scripts/ci_services.sh' once, then the same command again" >&2
    exit 1
  fi
}

have_postgres() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null \
    || { command -v initdb >/dev/null && command -v pg_ctl >/dev/null; }
}

if ! have_postgres; then
  need_root PostgreSQL
  echo "ci_services: installing PostgreSQL (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  have_postgres || { echo "ci_services: PostgreSQL installed, but no initdb/pg_ctl found" >&2; exit 1; }
fi

# Chromium (Debian's) for the browser test of the MLflow run page and the cost report
# (tests/sweeper/report/test_browser.py drives it through playwright, a Python dev dependency).
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  need_root Chromium
  echo "ci_services: installing Chromium (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends chromium >/dev/null
  command -v chromium >/dev/null || { echo "ci_services: Chromium installed, but no chromium found" >&2; exit 1; }
fi
