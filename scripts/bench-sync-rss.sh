#!/usr/bin/env bash
# Peak memory of `fillbook sync trades` as an operator runs it: the simulator generates N
# executions in its own process, and the sync (a separate process, on a fresh SQLite
# database and on a fresh PostgreSQL database) reads and writes all of them.
#   scripts/bench-sync-rss.sh N [N …]      (release build: target/release/fillbook)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${FILLBOOK_BIN:-target/release/fillbook}
pg=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
port=${BENCH_SIM_PORT:-4702}
work=$(mktemp -d)
sim=
cleanup() { [ -n "$sim" ] && kill "$sim" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
for n in "${@:-100000}"; do
  "$bin" ib-sim --generate "$n" --port "$port" >"$work/sim.log" 2>&1 &
  sim=$!
  for _ in $(seq 1 600); do grep -q listening "$work/sim.log" && break; sleep 0.5; done
  grep -q listening "$work/sim.log" || { cat "$work/sim.log"; exit 1; }
  for db in sqlite postgres; do
    if [ "$db" = sqlite ]; then
      url="sqlite://$work/rss-$n.db"
    else
      name="fillbook_bench_rss_$n"
      psql "$pg" -qc "DROP DATABASE IF EXISTS $name" -qc "CREATE DATABASE $name"
      url="${pg%/*}/$name"
    fi
    "$bin" --database-url "$url" migrate >/dev/null
    /usr/bin/time -f "%M %e" -o "$work/time" \
      "$bin" --database-url "$url" sync trades --ib-port "$port" >"$work/sync.log" 2>&1 \
      || { cat "$work/sync.log"; exit 1; }
    read -r kib secs <"$work/time"
    echo "bench sync-rss: $n executions, $db: peak RSS $((kib / 1024)) MiB, $secs s (target < 300 MB)"
    [ "$db" = postgres ] && psql "$pg" -qc "DROP DATABASE IF EXISTS $name"
  done
  kill "$sim"; wait "$sim" 2>/dev/null || true; sim=
done
