#!/usr/bin/env bash
# Wall time of `skiff run examples/hello.wasm` as a whole process: the second start (the
# precompiled module in the cache) against a cold start (empty cache), and a check that
# the warm start did not compile.
#
# usage: benches/second-start.sh        (needs hyperfine: apt-get install hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
SKIFF=$PWD/target/release/skiff
CACHE=$(mktemp -d)
trap 'rm -rf "$CACHE"' EXIT
export SKIFF_CACHE_DIR=$CACHE

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
first=$(SKIFF_LOG=skiff_runtime=debug "$SKIFF" run examples/hello.wasm 2>&1 >/dev/null | grep -o 'source=[A-Za-z]*')
second=$(SKIFF_LOG=skiff_runtime=debug "$SKIFF" run examples/hello.wasm 2>&1 >/dev/null | grep -o 'source=[A-Za-z]*')
echo "first start:  $first"
echo "second start: $second"
[ "$second" = "source=DiskCache" ] || { echo "second start recompiled" >&2; exit 1; }

# One --prepare per command, in order: nothing for the warm start, an empty cache for the cold.
hyperfine --warmup 3 --runs 50 -N \
  --prepare "true" --prepare "rm -rf $CACHE" \
  -n "warm (precompiled in cache)" "$SKIFF run examples/hello.wasm" \
  -n "cold (compiles)" "$SKIFF run examples/hello.wasm" 2>&1 \
  | grep -vE '^\s*$'
