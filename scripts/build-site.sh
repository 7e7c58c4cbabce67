#!/usr/bin/env bash
# Builds the browser bundle without cargo-leptos: the `frontend` crate for
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
  # The name section is ~40% of the gzipped bundle; a release bundle does not need it.
  # (binaryen's wasm-opt -Oz was measured here too: it made the gzipped bundle larger.)
  strip=(--remove-name-section --remove-producers-section)
else
  cargo build -p frontend --lib --target wasm32-unknown-unknown -j2
  wasm=target/wasm32-unknown-unknown/debug/frontend.wasm
  strip=()
fi
mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript "${strip[@]}" --out-dir "$site/pkg" --out-name "$name" "$wasm"
cp style/main.css "$site/pkg/$name.css"
cp -r public/. "$site/"
out=$site/pkg/${name}_bg.wasm
echo "site: $out ($(stat -c %s "$out") bytes, $(gzip -9c "$out" | wc -c) bytes gzipped)"
