#!/usr/bin/env bash
# Builds the browser bundle without cargo-leptos (DESIGN §9): the `frontend` crate for
# wasm32, wasm-bindgen into target/site/pkg, the stylesheet and the public assets.
#   scripts/build-site.sh [debug|release]
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-debug}
name=fillbook
site=target/site
if [ "$mode" = release ]; then
  cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release -j2
  wasm=target/wasm32-unknown-unknown/wasm-release/frontend.wasm
else
  cargo build -p frontend --lib --target wasm32-unknown-unknown -j2
  wasm=target/wasm32-unknown-unknown/debug/frontend.wasm
fi
mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name "$name" "$wasm"
cp style/main.css "$site/pkg/$name.css"
cp -r public/. "$site/"
echo "site: $site/pkg/${name}_bg.wasm ($(du -h "$site/pkg/${name}_bg.wasm" | cut -f1))"
