#!/usr/bin/env bash
# `make test`: every stage (lint, unit + PostgreSQL/SQLite integration, e2e), then one summary.
#   scripts/test-all.sh [lint] [unit] [contract] [e2e]     (default: all four)
# Every stage runs even when an earlier one failed; the exit status is non-zero if any failed.
# An unreachable PostgreSQL or a missing chromium is a failure, never a skip.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(lint unit contract e2e)
logs=target/test-logs
mkdir -p "$logs"
summary=()
failed_stages=0
tests_passed=0
tests_failed=0

run_stage() { # name command...
  local name=$1; shift
  echo "==> $name: $*"
  if "$@" 2>&1 | tee "$logs/$name.log"; then
    summary+=("$name: ok")
  else
    summary+=("$name: FAILED (log: $logs/$name.log)")
    failed_stages=$((failed_stages + 1))
  fi
}

count_cargo() { # sums "test result: … N passed; M failed" lines
  local p f
  p=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$1" | awk '{s+=$4} END {print s+0}')
  f=$(grep -Eo '[0-9]+ failed;' "$1" | awk '{s+=$1} END {print s+0}')
  tests_passed=$((tests_passed + p)); tests_failed=$((tests_failed + f))
  summary+=("  cargo tests: $p passed, $f failed")
}

count_plain() { # sums "name: N passed, M failed" lines
  local p f
  p=$(grep -Eo '^[a-z]+: [0-9]+ passed' "$1" | awk '{s+=$2} END {print s+0}')
  f=$(grep -Eo '^[a-z]+: [0-9]+ passed, [0-9]+ failed' "$1" | awk '{s+=$4} END {print s+0}')
  tests_passed=$((tests_passed + p)); tests_failed=$((tests_failed + f))
  summary+=("  contract (MCP client + schemathesis): $p passed, $f failed")
}

count_playwright() {
  local p f
  p=$(grep -Eo '^ *[0-9]+ passed' "$1" | awk '{s+=$1} END {print s+0}')
  f=$(grep -Eo '^ *[0-9]+ failed' "$1" | awk '{s+=$1} END {print s+0}')
  tests_passed=$((tests_passed + p)); tests_failed=$((tests_failed + f))
  summary+=("  playwright: $p passed, $f failed")
}

ensure_postgres() {
  local url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
  if psql "$url" -qAtc 'select 1' >/dev/null 2>&1; then return 0; fi
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is not answering; trying to start the local cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    sleep 2
    psql "$url" -qAtc 'select 1' >/dev/null 2>&1 && return 0
  fi
  echo "PostgreSQL is unreachable at $url: the integration tests need it (set TEST_DATABASE_URL)." >&2
  return 1
}

drop_stale_test_databases() {
  local url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
  psql "$url" -qAtc "select datname from pg_database where datname like 'fillbook_test_%' or datname like 'fillbook_tpl_%'" 2>/dev/null |
    while read -r db; do psql "$url" -qc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true; done
}

lint() {
  # The server's top-level modules depend on each other one way only (no cycle).
  python3 scripts/module-cycles.py &&
    cargo fmt --all -- --check &&
    cargo clippy --workspace --exclude frontend --all-targets -- -D warnings &&
    # The production build without the simulator, the benchmarks and `bench worker`.
    cargo clippy -p server --no-default-features -- -D warnings &&
    cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
}

unit() {
  ensure_postgres || return 1
  drop_stale_test_databases
  cargo test --workspace --exclude frontend --no-fail-fast
}

# The server binary is built the way `cargo test` builds it (same feature set), so the
# contract and e2e stages reuse the unit stage's artifacts instead of a second full build.
build_server() { cargo test --workspace --exclude frontend --no-run; }

contract() {
  scripts/build-site.sh debug && build_server && scripts/api-contract.sh
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

e2e() {
  command -v chromium >/dev/null 2>&1 || { echo "chromium is missing (scripts/bootstrap.sh test installs it)" >&2; return 1; }
  scripts/build-site.sh debug && build_server &&
    (cd end2end && E2E_PORT=$(free_port) npx playwright test)
}

run_stage bootstrap scripts/bootstrap.sh test
for stage in "${stages[@]}"; do
  case $stage in
    lint) run_stage lint lint ;;
    unit) run_stage unit unit; count_cargo "$logs/unit.log" ;;
    contract) run_stage contract contract; count_plain "$logs/contract.log" ;;
    e2e) run_stage e2e e2e; count_playwright "$logs/e2e.log" ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
done

echo
echo "==== make test summary ===="
printf '%s\n' "${summary[@]}"
[ "$failed_stages" -gt 0 ] && tests_failed=$((tests_failed > 0 ? tests_failed : failed_stages))
echo "$tests_passed passed, $tests_failed failed"
[ "$failed_stages" -eq 0 ]
