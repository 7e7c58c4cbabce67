#!/usr/bin/env bash
# `make drills`: every failure drill against the release binary, PostgreSQL and the
# simulator (`fillbook drills`: kill -9, gateway and PostgreSQL restarts, orders while the
# gateway is down, concurrency, a Sync now storm, fuzzing, a full disk, a 10-minute API
# soak), then the API contract with 1,000 schemathesis examples per operation (NUL bytes
# included). Restarts the local PostgreSQL and mounts a tmpfs: run it as root on a machine
# of its own. Prints one table; the run date goes with it into the README.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
cargo build --release -p server
scripts/build-site.sh debug
echo "drills run on $(date -u +%Y-%m-%d) ($(nproc) cores)"
target/release/fillbook drills "$@"
FILLBOOK_BIN=target/release/fillbook SCHEMATHESIS_EXAMPLES=1000 scripts/api-contract.sh
