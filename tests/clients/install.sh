#!/usr/bin/env bash
# Installs the real client libraries the acceptance tests (tests/clients.rs) drive:
#   js/  discord.js, exactly as package-lock.json pins it (npm ci)
#   py/  discord.py, as requirements.txt pins it, into py/.venv
# Idempotent: each part is skipped when what is installed already matches its lock file, so a
# second run takes well under a second.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
log() { echo "==> clients: $*" >&2; }
status=0

# --- discord.js
if ! command -v npm >/dev/null 2>&1; then
  log "npm not found: cannot install discord.js"
  status=1
else
  stamp=js/node_modules/.accord-lock.sha256
  want="$(sha256sum js/package-lock.json | cut -d' ' -f1) $(node --version)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -d js/node_modules/discord.js ]]; then
    log "discord.js up to date"
  else
    log "npm ci (discord.js)"
    if (cd js && npm ci --no-audit --no-fund --loglevel=error >&2); then
      echo "$want" >"$stamp"
    else
      log "npm ci failed"
      status=1
    fi
  fi
fi

# --- discord.py
PY="${PYTHON:-python3}"
if ! command -v "$PY" >/dev/null 2>&1; then
  log "$PY not found: cannot install discord.py"
  status=1
else
  stamp=py/.venv/.accord-requirements.sha256
  want="$(sha256sum py/requirements.txt | cut -d' ' -f1) $("$PY" --version 2>&1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x py/.venv/bin/python ]]; then
    log "discord.py up to date"
  else
    log "creating py/.venv and installing discord.py"
    rm -rf py/.venv
    if "$PY" -m venv py/.venv &&
      py/.venv/bin/python -m pip install --quiet --disable-pip-version-check -r py/requirements.txt >&2; then
      echo "$want" >"$stamp"
    else
      log "discord.py install failed"
      status=1
    fi
  fi
fi

exit "$status"
