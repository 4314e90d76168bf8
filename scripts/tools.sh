#!/usr/bin/env bash
# Installs the two tools the contract tests use besides the virtualenv, when absent:
#
# - the AsyncAPI CLI (`@asyncapi/cli` from the npm registry, with the machine's
#   Node.js) into .tools/asyncapi/, which git ignores;
# - `promtool` (Debian's `prometheus` package), as root, without starting the
#   Prometheus daemon the package ships.
#
# Says what it could not install and exits non-zero; the tests that need a tool
# then fail naming this script.
set -euo pipefail
cd "$(dirname "$0")/.."

ASYNCAPI_CLI_VERSION=6.2.0
ASYNCAPI_DIR=.tools/asyncapi
ASYNCAPI_BIN=$ASYNCAPI_DIR/node_modules/.bin/asyncapi

say() { printf 'tools: %s\n' "$*" >&2; }
failed=0

install_asyncapi() {
  if [ -x "$ASYNCAPI_BIN" ]; then return 0; fi
  if ! command -v npm >/dev/null 2>&1; then
    say "cannot install the AsyncAPI CLI: npm (Node.js 18 or later) is not installed"
    return 1
  fi
  say "installing @asyncapi/cli@$ASYNCAPI_CLI_VERSION into $ASYNCAPI_DIR (about two minutes)"
  mkdir -p "$ASYNCAPI_DIR"
  npm install --prefix "$ASYNCAPI_DIR" --no-audit --no-fund --loglevel=error \
    "@asyncapi/cli@$ASYNCAPI_CLI_VERSION" >/dev/null
}

prometheus_pids() { pgrep -x prometheus 2>/dev/null | sort || true; }

install_promtool() {
  if command -v promtool >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "cannot install promtool: run as root on Debian/Ubuntu, or install Prometheus's promtool"
    return 1
  fi
  say "installing promtool (Debian package prometheus; its daemon is not started)"
  local before policy=/usr/sbin/policy-rc.d ours=
  before=$(prometheus_pids)
  # policy-rc.d answering 101 keeps the package's postinst from starting the service
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && ours=1
  fi
  local apt=(apt-get -o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends)
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install prometheus >/dev/null 2>&1 || {
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install prometheus >/dev/null
  } || { [ -z "$ours" ] || rm -f "$policy"; return 1; }
  [ -z "$ours" ] || rm -f "$policy"
  # should the daemon have started anyway, stop only the one this install started
  for pid in $(comm -13 <(echo "$before") <(prometheus_pids)); do
    say "stopping the prometheus daemon (pid $pid) the package started"
    kill "$pid" || true
  done
}

install_asyncapi || { say "the AsyncAPI validation test will fail"; failed=1; }
install_promtool || { say "the alert rule tests will fail"; failed=1; }
exit "$failed"
