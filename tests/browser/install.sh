#!/usr/bin/env bash
# Installs what the /admin browser test (tests/browser.rs → tests/browser/admin.mjs) needs:
# Debian's chromium (a browser download by Playwright would not work here) and the npm package
# playwright-core (which drives it over CDP). Idempotent and quick when both are present.
# Called by scripts/test; run it by hand before `cargo test --test browser`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
log() { echo "==> browser: $*" >&2; }

chromium_bin() {
  for c in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    if [[ -n "$c" && -x "$c" ]]; then echo "$c"; return 0; fi
  done
  return 1
}

if ! chromium_bin >/dev/null; then
  log "installing chromium (Debian package)"
  SUDO=()
  if [[ "$(id -u)" != 0 ]]; then SUDO=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  # fonts-liberation: readable text in screenshots.
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
fi
log "chromium: $(chromium_bin) ($("$(chromium_bin)" --version 2>/dev/null || echo 'version unknown'))"

if [[ ! -d node_modules/playwright-core ]]; then
  log "installing playwright-core (npm ci)"
  # playwright-core never downloads a browser itself; we point it at Debian's chromium.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
log "ready"
