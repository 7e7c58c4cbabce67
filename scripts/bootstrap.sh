#!/usr/bin/env bash
# Installs what the build and the tests need, pinned and idempotently.
#   scripts/bootstrap.sh build   the wasm32 target and wasm-bindgen-cli (for `make run`)
#   scripts/bootstrap.sh test    the above, plus Debian chromium and the end2end npm packages
#   scripts/bootstrap.sh bench   the above (build), plus Debian wrk
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' Cargo.toml)
what=${1:-build}
say() { printf 'bootstrap: %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (matches the wasm-bindgen pin; takes a few minutes once)"
  # Not --locked: its lockfile pins a webpki-roots that no longer builds.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" -j2 --force
fi

if [ "$what" = "bench" ]; then
  if ! command -v wrk >/dev/null 2>&1; then
    say "installing Debian wrk (the load generator of the benchmarks)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  fi
  exit 0
fi
[ "$what" = "test" ] || exit 0

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    say "installing Debian chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "bootstrap: chromium is missing and this user cannot apt-get install it" >&2
    exit 1
  fi
fi

pyenv=target/pyenv
# A venv's scripts name its interpreter by absolute path: one whose checkout moved is rebuilt.
if [ ! -f "$pyenv/.stamp" ] || ! cmp -s scripts/requirements-test.txt "$pyenv/.stamp" ||
  ! "$pyenv/bin/schemathesis" --version >/dev/null 2>&1; then
  say "installing schemathesis and the MCP client into $pyenv"
  rm -rf "$pyenv"
  python3 -m venv "$pyenv"
  "$pyenv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements-test.txt
  cp scripts/requirements-test.txt "$pyenv/.stamp"
fi

stamp=end2end/node_modules/.lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s end2end/package-lock.json "$stamp"; then
  say "installing end2end npm packages from package-lock.json"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  cp end2end/package-lock.json "$stamp"
fi
