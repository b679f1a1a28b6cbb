#!/usr/bin/env bash
# Installs schemathesis (PyPI), pinned by requirements.txt, into tests/contract/.venv for the
# contract-fuzzing test (tests/contract.rs). Idempotent: skipped when the venv already matches
# the requirements and the Python version, so a second run takes well under a second.
# Called by scripts/test; run it by hand before `cargo test --test contract`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
log() { echo "==> contract: $*" >&2; }

PY="${PYTHON:-python3}"
if ! command -v "$PY" >/dev/null 2>&1; then
  log "$PY not found: cannot install schemathesis"
  exit 1
fi
stamp=.venv/.accord-requirements.sha256
want="$(sha256sum requirements.txt | cut -d' ' -f1) $("$PY" --version 2>&1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x .venv/bin/schemathesis ]]; then
  log "schemathesis up to date"
  exit 0
fi
log "creating .venv and installing schemathesis"
rm -rf .venv
"$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt >&2
echo "$want" >"$stamp"
