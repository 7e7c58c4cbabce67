# Fillbook — the README's two commands are `make run` and `make test`.
SHELL := /bin/bash
export CARGO_BUILD_JOBS ?= 2
BIN := target/debug/fillbook
RUN_ARGS ?= --demo

.PHONY: run build site bootstrap test lint unit contract e2e bench drills help

help:
	@echo "make run    start Fillbook on http://127.0.0.1:3000 (SQLite under ./data, demo gateway)"
	@echo "make test   fmt + clippy, unit and PostgreSQL/SQLite integration tests, Playwright e2e"
	@echo "make lint | make unit | make e2e   the parts of make test"
	@echo "make bench  benchmarks (release)     make drills   failure drills (release)"

## Start the app on the embedded SQLite database, installing what is missing.
run: build
	$(BIN) serve $(RUN_ARGS)

build: bootstrap site
	cargo build -p server

bootstrap:
	scripts/bootstrap.sh build

site: bootstrap
	scripts/build-site.sh debug

## Benchmarks (release build): figures for the README's performance section.
BENCH_PG := postgres://postgres@127.0.0.1:5432/fillbook_bench
bench: bootstrap
	scripts/bootstrap.sh bench
	scripts/build-site.sh release
	cargo build --release -p server
	target/release/fillbook bench sync --executions 100000
	scripts/bench-sync-rss.sh 100000 1000000
	target/release/fillbook bench import --executions 100000
	psql postgres://postgres@127.0.0.1:5432/postgres -tAc "select 1 from pg_database where datname = 'fillbook_bench'" | grep -q 1 || \
	  psql postgres://postgres@127.0.0.1:5432/postgres -qc 'create database fillbook_bench'
	target/release/fillbook --database-url $(BENCH_PG) bench jobs
	mkdir -p target/bench
	target/release/fillbook --database-url sqlite://target/bench/jobs.db bench jobs
	target/release/fillbook bench live
	target/release/fillbook bench api
	target/release/fillbook bench export

## Failure drills (release build, ~40 min; restarts the local PostgreSQL, mounts a tmpfs).
drills: bootstrap
	scripts/drills.sh

## Everything: lint, unit + integration (both databases), e2e; ends with a summary line.
test:
	scripts/test-all.sh

lint:
	scripts/test-all.sh lint

unit:
	scripts/test-all.sh unit

e2e:
	scripts/test-all.sh e2e

contract:
	scripts/test-all.sh contract
