#!/usr/bin/env bash
# Install (once) and run every test except those marked slow. Extra args go to pytest.
# Browser tests need Chromium at /usr/bin/chromium (or $RNNX_CHROMIUM). Outside CI they are
# skipped when it cannot be installed; in CI (CI=true) a missing browser fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh

ensure_venv requirements-dev.txt requirements.txt

chromium="${RNNX_CHROMIUM:-/usr/bin/chromium}"  # the browser tests read the same variable
why="installing it needs apt-get as root"
missing=()  # Debian packages the tests use: chromium (browser tests), nginx (deploy/local.sh's test)
[ -x "$chromium" ] || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    mkdir -p artifacts
    log=artifacts/apt-get.log
    echo "Installing Debian's ${missing[*]} for the tests (log: $log)"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; } >"$log" 2>&1 || true
    why="apt-get did not install it, see $log"
fi
if [ ! -x "$chromium" ]; then
    if [ "${CI:-}" = true ]; then
        echo "error: no Chromium at $chromium ($why); CI must run the browser tests" >&2
        exit 1
    fi
    echo "No Chromium at $chromium ($why): browser tests will be skipped."
    export RNNX_SKIP_BROWSER=1
fi

exec .venv/bin/python -m pytest "$@"
