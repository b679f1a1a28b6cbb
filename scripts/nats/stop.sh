#!/usr/bin/env bash
# Stops the NATS server started by start.sh and removes its directory.
#   scripts/nats/stop.sh [NATS_DIR]     (default: $NATS_DIR)
set -euo pipefail
DIR="${1:-${NATS_DIR:-}}"
if [[ -z "$DIR" || ! -d "$DIR" ]]; then
  echo "nats: no NATS_DIR given (or it does not exist); nothing to stop" >&2
  exit 0
fi
if [[ -f "$DIR/pid" ]]; then
  PID="$(cat "$DIR/pid")"
  if kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$PID" 2>/dev/null || true
  fi
fi
# Only remove what start.sh made.
if [[ -d "$DIR/js" ]]; then
  rm -rf "$DIR"
fi
echo "nats: stopped" >&2
