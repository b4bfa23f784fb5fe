#!/usr/bin/env bash
# A private MariaDB instance for the local stack and the tests: data under .local/mariadb
# (git-ignored), bound to 127.0.0.1, default port 3307 (MARIADB_PORT overrides).
# Usage: mariadb.sh start | stop | status | client [args]
# The root account authenticates over TCP with user root / password from MARIADB_ROOT_PASSWORD
# (default: "local-dev-only" — a throwaway local instance, never a deployed one).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PORT=${MARIADB_PORT:-3307}
BASE="$ROOT/.local/mariadb-$PORT"
DATA="$BASE/data"
SOCK="$BASE/mysqld.sock"
# A Unix socket path is at most 107 bytes: under a deep checkout, use a short one in /tmp instead,
# named by a hash of the data folder (so each checkout and port has its own).
if [ ${#SOCK} -gt 100 ]; then
  SOCK="${TMPDIR:-/tmp}/ecpay-mariadb-$(printf '%s' "$BASE" | sha256sum | cut -c1-16).sock"
  [ ${#SOCK} -le 100 ] || SOCK="/tmp/ecpay-mariadb-$(printf '%s' "$BASE" | sha256sum | cut -c1-16).sock"
fi
PIDF="$BASE/mysqld.pid"
LOGF="$BASE/mysqld.log"
PASS=${MARIADB_ROOT_PASSWORD:-local-dev-only}
# Written only after the first start has set the root password: without it the data folder is
# treated as unfinished and set up (again) on the next start.
SETUP_DONE="$BASE/.setup-done"
SETUP_STARTED="$BASE/.setup-started"

log() { echo "[mariadb] $*" >&2; }

find_bin() { for b in "$@"; do command -v "$b" >/dev/null 2>&1 && { command -v "$b"; return; }; [ -x "/usr/sbin/$b" ] && { echo "/usr/sbin/$b"; return; }; done; return 1; }

running() { [ -S "$SOCK" ] && mysql_client -e "SELECT 1" >/dev/null 2>&1; }

mysql_client() { "$(find_bin mariadb mysql)" --no-defaults --protocol=socket -S "$SOCK" -uroot -p"$PASS" "$@"; }

start() {
  if running; then log "already running on 127.0.0.1:$PORT"; return; fi
  find_bin mariadbd mysqld >/dev/null || bash "$ROOT/infrastructure/local/tooling.sh" apt
  mkdir -p "$BASE"
  exec 8>"$BASE/.lock"; flock 8
  if running; then return; fi
  if [ ! -d "$DATA/mysql" ]; then
    initialise
  fi
  if ! launch; then
    if [ -f "$SETUP_STARTED" ] && [ ! -f "$SETUP_DONE" ]; then
      # The first run never finished (interrupted, or failed): nothing of value is in it. Start over once.
      log "the first-run setup of $DATA did not finish; initialising it again"
      stop_pidfile
      initialise
      launch || { log "failed to start; see $LOGF"; tail -n 20 "$LOGF" >&2; exit 1; }
    else
      log "failed to start; see $LOGF (to start from scratch: bash infrastructure/local/mariadb.sh stop; rm -rf $BASE)"
      tail -n 20 "$LOGF" >&2; exit 1
    fi
  fi
  if [ ! -f "$SETUP_DONE" ]; then setup_root || true; fi
  running || { log "started, but root cannot log in with MARIADB_ROOT_PASSWORD; if this folder was set up with another password, delete it: rm -rf $BASE"; exit 1; }
  log "ready on 127.0.0.1:$PORT"
}

initialise() {
  log "initialising data directory $DATA"
  rm -rf "$DATA" "$SETUP_DONE"; mkdir -p "$DATA"; touch "$SETUP_STARTED"
  "$(find_bin mariadb-install-db mysql_install_db)" --no-defaults --datadir="$DATA" --user="$(id -un)" \
    --auth-root-authentication-method=normal --skip-test-db >"$BASE/install.log" 2>&1 \
    || { cat "$BASE/install.log" >&2; log "initialising failed; the next start tries again"; rm -rf "$DATA"; exit 1; }
}

# Starts the server on the data folder; true once it accepts a connection (with or without the password).
launch() {
  local server; server=$(find_bin mariadbd mysqld)
  log "starting on 127.0.0.1:$PORT"
  rm -f "$SOCK"
  # setsid: the server outlives the calling shell (tests start it once and reuse it).
  setsid "$server" --no-defaults --datadir="$DATA" --socket="$SOCK" --pid-file="$PIDF" \
    --port="$PORT" --bind-address=127.0.0.1 --user="$(id -un)" --log-error="$LOGF" \
    --skip-name-resolve --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=2 \
    --max-connections=500 --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --default-time-zone=+00:00 --innodb-lock-wait-timeout=10 </dev/null >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 150); do
    if running || root_without_password -e "SELECT 1" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null && ! kill -0 "$(cat "$PIDF" 2>/dev/null || echo 0)" 2>/dev/null; then return 1; fi
    sleep 0.2
  done
  return 1
}

root_without_password() { "$(find_bin mariadb mysql)" --no-defaults --protocol=socket -S "$SOCK" -uroot "$@"; }

# First start: the root password, and root over TCP from 127.0.0.1. Idempotent.
setup_root() {
  if ! running; then
    root_without_password -e "
      ALTER USER 'root'@'localhost' IDENTIFIED BY '$PASS';
      CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
      ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '$PASS';
      GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;" || return 1
  fi
  running && touch "$SETUP_DONE" && rm -f "$SETUP_STARTED"
}

stop_pidfile() {
  if [ -f "$PIDF" ]; then
    local pid; pid=$(cat "$PIDF")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
}

stop() {
  if [ -f "$PIDF" ]; then
    stop_pidfile
    log "stopped"
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running on 127.0.0.1:$PORT"; else echo "stopped"; exit 1; fi ;;
  client) shift; mysql_client "$@" ;;
  *) echo "usage: $0 start|stop|status|client" >&2; exit 2 ;;
esac
