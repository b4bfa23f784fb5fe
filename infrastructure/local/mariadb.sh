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
PIDF="$BASE/mysqld.pid"
LOGF="$BASE/mysqld.log"
PASS=${MARIADB_ROOT_PASSWORD:-local-dev-only}

log() { echo "[mariadb] $*" >&2; }

find_bin() { for b in "$@"; do command -v "$b" >/dev/null 2>&1 && { command -v "$b"; return; }; [ -x "/usr/sbin/$b" ] && { echo "/usr/sbin/$b"; return; }; done; return 1; }

running() { [ -S "$SOCK" ] && mysql_client -e "SELECT 1" >/dev/null 2>&1; }

mysql_client() { "$(find_bin mariadb mysql)" --no-defaults --protocol=socket -S "$SOCK" -uroot -p"$PASS" "$@"; }

start() {
  if running; then log "already running on 127.0.0.1:$PORT"; return; fi
  find_bin mariadbd mysqld >/dev/null || bash "$ROOT/infrastructure/local/tooling.sh" apt
  local server; server=$(find_bin mariadbd mysqld)
  mkdir -p "$BASE"
  exec 8>"$BASE/.lock"; flock 8
  if running; then return; fi
  if [ ! -d "$DATA/mysql" ]; then
    log "initialising data directory $DATA"
    rm -rf "$DATA"; mkdir -p "$DATA"
    "$(find_bin mariadb-install-db mysql_install_db)" --no-defaults --datadir="$DATA" --user="$(id -un)" \
      --auth-root-authentication-method=normal --skip-test-db >"$BASE/install.log" 2>&1 \
      || { cat "$BASE/install.log" >&2; exit 1; }
    local fresh=1
  fi
  log "starting on 127.0.0.1:$PORT"
  # setsid: the server outlives the calling shell (tests start it once and reuse it).
  setsid "$server" --no-defaults --datadir="$DATA" --socket="$SOCK" --pid-file="$PIDF" \
    --port="$PORT" --bind-address=127.0.0.1 --user="$(id -un)" --log-error="$LOGF" \
    --skip-name-resolve --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=2 \
    --max-connections=500 --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-lock-wait-timeout=10 </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 100); do
    if [ -S "$SOCK" ] && "$(find_bin mariadb mysql)" --no-defaults -S "$SOCK" -uroot -e "SELECT 1" >/dev/null 2>&1; then break; fi
    if running; then break; fi
    sleep 0.2
  done
  if [ "${fresh:-0}" = 1 ]; then
    "$(find_bin mariadb mysql)" --no-defaults -S "$SOCK" -uroot -e "
      ALTER USER 'root'@'localhost' IDENTIFIED BY '$PASS';
      CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
      ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '$PASS';
      GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;"
  fi
  running || { log "failed to start; see $LOGF"; tail -n 20 "$LOGF" >&2; exit 1; }
  log "ready on 127.0.0.1:$PORT"
}

stop() {
  if [ -f "$PIDF" ]; then
    local pid; pid=$(cat "$PIDF")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
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
