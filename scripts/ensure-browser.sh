#!/usr/bin/env bash
# The real-browser tests drive Debian's Chromium (no browser download: none is
# reachable from here). Install it when it is missing and we are allowed to.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the browser tests…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
else
  echo "chromium is missing: install Debian's 'chromium' package to run the browser tests" >&2
  exit 1
fi
