#!/usr/bin/env bash
# Starts a throwaway NATS server with JetStream on 127.0.0.1 for the cluster tests and
# `scripts/cluster`, installing nats-server first when it is missing.
#
#   eval "$(scripts/nats/start.sh)"    # exports ACCORD_NATS_URL and NATS_DIR
#   ...
#   scripts/nats/stop.sh               # uses $NATS_DIR
#
# nats-server comes from Debian's package (2.9, JetStream included) or, where apt has none,
# is built from the Go module proxy at a pinned version into ~/.cache/accord/nats/bin.
#
# Environment (all optional):
#   NATS_PORT     client port; default: a free one (4222 when free)
#   NATS_DIR      working dir (JetStream store, log, pid); default: a new `mktemp -d`
#   NATS_VERSION  version built with `go install` when apt has no package, default v2.15.3
#
# stdout carries only the `export` lines; progress goes to stderr.
set -euo pipefail

VERSION="${NATS_VERSION:-v2.15.3}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/accord/nats"
log() { echo "nats: $*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- 1. the binary
BIN="$(command -v nats-server || true)"
if [[ -z "$BIN" && -x "$CACHE/bin/nats-server" ]]; then BIN="$CACHE/bin/nats-server"; fi
if [[ -z "$BIN" ]] && command -v apt-get >/dev/null; then
  log "installing Debian's nats-server"
  if ! apt-get install -y nats-server >&2; then
    apt-get update >&2 || true
    apt-get install -y nats-server >&2 || log "apt could not install nats-server"
  fi
  BIN="$(command -v nats-server || true)"
fi
if [[ -z "$BIN" ]]; then
  command -v go >/dev/null || { log "no nats-server and no go to build one"; exit 1; }
  log "building nats-server $VERSION with go install"
  mkdir -p "$CACHE/bin"
  GOBIN="$CACHE/bin" go install "github.com/nats-io/nats-server/v2@$VERSION" >&2
  BIN="$CACHE/bin/nats-server"
fi

# --- 2. a port and a directory
PORT="${NATS_PORT:-}"
if [[ -z "$PORT" ]]; then
  for p in 4222 $(seq 14222 14322); do
    if ! port_open "$p"; then PORT=$p; break; fi
  done
fi
[[ -n "$PORT" ]] || { log "no free port"; exit 1; }
DIR="${NATS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/accord-nats.XXXXXX")}"
mkdir -p "$DIR/js"

# --- 3. start and wait for the port
"$BIN" -js -a 127.0.0.1 -p "$PORT" -sd "$DIR/js" -l "$DIR/nats.log" -P "$DIR/pid" </dev/null >/dev/null 2>&1 &
for _ in $(seq 1 100); do
  if port_open "$PORT"; then break; fi
  sleep 0.1
done
if ! port_open "$PORT"; then
  log "nats-server did not open port $PORT; its log:"
  cat "$DIR/nats.log" >&2 || true
  exit 1
fi
log "$("$BIN" --version) with JetStream on 127.0.0.1:$PORT (dir $DIR)"
echo "export ACCORD_NATS_URL=nats://127.0.0.1:$PORT"
echo "export NATS_DIR=$DIR"
