#!/usr/bin/env bash
# Stops the Cassandra started by start.sh and removes its directory.
#   scripts/cassandra/stop.sh [CASSANDRA_DIR]     (default: $CASSANDRA_DIR)
set -euo pipefail
DIR="${1:-${CASSANDRA_DIR:-}}"
if [[ -z "$DIR" || ! -d "$DIR" ]]; then
  echo "cassandra: no CASSANDRA_DIR given (or it does not exist); nothing to stop" >&2
  exit 0
fi
if [[ -f "$DIR/pid" ]]; then
  PID="$(cat "$DIR/pid")"
  if kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null || true
    for _ in $(seq 1 30); do
      kill -0 "$PID" 2>/dev/null || break
      sleep 1
    done
    if kill -0 "$PID" 2>/dev/null; then
      echo "cassandra: pid $PID did not stop in 30 s; killing it" >&2
      kill -9 "$PID" 2>/dev/null || true
    fi
  fi
fi
# Only remove what start.sh made: a dir holding its marker files.
if [[ -f "$DIR/conf/cassandra.yaml" ]]; then
  rm -rf "$DIR"
fi
echo "cassandra: stopped" >&2
