#!/usr/bin/env bash
# Session 29's hot-channel run (BENCHMARKS.md, "One hot channel, profiled again"): 64 clients,
# one channel, creates only, durability immediate, perf on the server from 6 s to 14 s.
# Knobs: BIN, LABEL, PERF=1, DURATION, OUT. The raw baseline was run after it by hand:
#   $BIN loadgen baseline-server --listen 127.0.0.1:3302 &
#   $BIN loadgen --url http://127.0.0.1:3302 --server-pid $! --label base-prof --out $OUT \
#     --after-secs 1 rest -k 64 --channels 1 --read-every 0 --duration 15
set -euo pipefail
BIN=${BIN:-/work/main/target/profiling/accord}
LABEL=${LABEL:-hot}
DURATION=${DURATION:-15}
OUT=${OUT:-/tmp/hot-out}
PORT=3301
DATA=$(mktemp -d /tmp/hot.XXXX)
mkdir -p $OUT
RUST_LOG=warn $BIN serve --data-dir $DATA --listen 127.0.0.1:$PORT --durability immediate > $DATA/server.log 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:$PORT/api/ping >/dev/null 2>&1 && break; sleep 0.1; done
TOKEN="$(curl -fs "http://127.0.0.1:$PORT/api/v10/auth/register" -H 'content-type: application/json' \
  -d '{"username":"benchadmin","email":"benchadmin@example.com","password":"bench admin password","date_of_birth":"2000-01-01","consent":true}' |
  sed -E 's/.*"token":"([^"]+)".*/\1/')"
kill $PID; wait $PID 2>/dev/null || true
$BIN admin grant benchadmin@example.com --data-dir $DATA --durability immediate >/dev/null
RUST_LOG=warn $BIN serve --data-dir $DATA --listen 127.0.0.1:$PORT --durability immediate > $DATA/server.log 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:$PORT/api/ping >/dev/null 2>&1 && break; sleep 0.1; done
if [[ "${PERF:-0}" == 1 ]]; then
  ( sleep 6; perf record -F 499 -g -o $OUT/$LABEL.perf -p $PID -- sleep 8 ) > $OUT/$LABEL.perf.log 2>&1 &
  PERF_PID=$!
fi
$BIN loadgen --url http://127.0.0.1:$PORT --server-pid $PID --admin-token $TOKEN --label $LABEL --out $OUT --after-secs 1 rest -k 64 --channels 1 --read-every 0 --duration $DURATION 2>&1 | tail -15
[[ -n "${PERF_PID:-}" ]] && { wait $PERF_PID || true; }
kill $PID; wait $PID 2>/dev/null || true
rm -rf $DATA
