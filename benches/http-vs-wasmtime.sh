#!/usr/bin/env bash
# Requests/s and latency of `examples/http-hello.wasm` served by `skiff run --listen`
# and by `wasmtime serve`, same component, same load tool (wrk), same run, alternating.
#
# usage: benches/http-vs-wasmtime.sh
#   WASMTIME=path/to/wasmtime (default: wasmtime on PATH; install the CLI with
#     `cargo install wasmtime-cli@48.0.8 --locked`)
#   DURATION=10s CONNECTIONS=32 THREADS=1 ROUNDS=3
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

WASMTIME=${WASMTIME:-wasmtime}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-3}
COMPONENT=examples/http-hello.wasm
SKIFF_PORT=18080
WASMTIME_PORT=18081

cargo build --release --quiet
SKIFF=target/release/skiff
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
echo "skiff:    $($SKIFF --version)"
echo "wasmtime: $($WASMTIME --version)"
echo "load:     wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

"$SKIFF" run --listen 127.0.0.1:$SKIFF_PORT "$COMPONENT" 2>/dev/null &
pids+=($!)
"$WASMTIME" serve -S cli --addr 127.0.0.1:$WASMTIME_PORT "$COMPONENT" 2>/dev/null >/dev/null &
pids+=($!)

wait_for() { for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/" >/dev/null && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }
wait_for $SKIFF_PORT
wait_for $WASMTIME_PORT

measure() { # name port
  local out rps p50 p99
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$2/")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/' <<<"$out")
  printf '%-9s round %s: %10s req/s  p50 %8s  p99 %8s %s\n' "$1" "$round" "$rps" "$p50" "$p99" "$errors"
}

# Warm both up (instance pools, CoW images, connections).
wrk -t1 -c8 -d2s "http://127.0.0.1:$SKIFF_PORT/" >/dev/null
wrk -t1 -c8 -d2s "http://127.0.0.1:$WASMTIME_PORT/" >/dev/null
for round in $(seq "$ROUNDS"); do
  measure skiff $SKIFF_PORT
  measure wasmtime $WASMTIME_PORT
done
