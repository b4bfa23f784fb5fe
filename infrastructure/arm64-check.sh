#!/usr/bin/env bash
# The Lambda binaries, checked as built for arm64 (template.yaml: Architectures [arm64]) on this x64 machine:
# - each service is published exactly as `sam build` does it (the Makefile's build-<Function> targets: Native AOT
#   for linux-arm64, cross-linked with Debian's aarch64 toolchain) and is an aarch64 executable;
# - none needs a glibc newer than 2.34, provided.al2023's;
# - each runs under qemu-aarch64 (user-mode emulation, Debian's arm64 glibc and OpenSSL) and answers /healthz;
# - genuine signed ReturnURL posts go through the arm64 Notifications, the local SQS server, the event source and the
#   arm64 Settlement into MariaDB: every acknowledged one credited once, the ledger in balance.
# Emulation proves the binaries and their libraries, not Graviton's speed: no figure here is a performance figure.
#
#   infrastructure/arm64-check.sh     about 5 minutes on 2 cores, most of it the four arm64 publishes; installs the
#                                     cross toolchain and qemu-user with apt when missing (infrastructure/local/tooling.sh arm64)
#
# Its own ports on 127.0.0.1: MariaDB 3393 (data in .local/mariadb-3393), SQS 4668, Notifications 5191,
# Settlement 5192, PaymentsApi 5193, Timeouts 5194. The binaries go to .local/arm64/<Function>/bootstrap.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SQS_PORT=4668 NOTIFICATIONS_PORT=5191 SETTLEMENT_PORT=5192 PAYMENTS_API_PORT=5193 TIMEOUTS_PORT=5194
export MARIADB_PORT=3393
COUNT=${ARM64_CHECK_COUNT:-200}
WORK="$ROOT/.local/arm64"
LOGS="$WORK/logs"
mkdir -p "$LOGS"
log() { printf '[arm64 %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
START=$(date +%s)

source infrastructure/local/ports.sh
refuse_busy_ports arm64-check $SQS_PORT $NOTIFICATIONS_PORT $SETTLEMENT_PORT $PAYMENTS_API_PORT $TIMEOUTS_PORT
bash infrastructure/local/tooling.sh all >&2
OPENSSL_ARM64=$(bash infrastructure/local/tooling.sh arm64)
NODE=$(bash infrastructure/local/tooling.sh node)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# ---------------------------------------------------------------- the four binaries, as sam build makes them
for fn in Notifications Settlement PaymentsApi Timeouts; do
  log "publishing $fn for linux-arm64 (make build-${fn}Function)"
  rm -rf "${WORK:?}/$fn" && mkdir -p "$WORK/$fn"
  flock /tmp/ecpay-build.lock make -s "build-${fn}Function" ARTIFACTS_DIR="$WORK/$fn" >"$LOGS/publish-$fn.log" 2>&1 ||
    { tail -n 30 "$LOGS/publish-$fn.log" >&2; fail "make build-${fn}Function"; }
  bin="$WORK/$fn/bootstrap"
  file -b "$bin" | grep -q 'ARM aarch64' || fail "$fn: $(file -b "$bin")"
  glibc=$(aarch64-linux-gnu-objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)
  [ "$(printf '%s\nGLIBC_2.34\n' "$glibc" | sort -V | tail -n 1)" = GLIBC_2.34 ] || fail "$fn needs $glibc (provided.al2023 has 2.34)"
  log "$fn: $(du -m "$bin" | cut -f1) MB, aarch64, needs up to $glibc"
done
CLI_DLL="$ROOT/infrastructure/EcpayEvents.Cli/bin/Release/net10.0/ecpay-events.dll"
GEN="$ROOT/tests/EcpayEvents.LoadBench/bin/Release/net10.0/EcpayEvents.LoadBench.dll"
for p in infrastructure/EcpayEvents.Cli tests/EcpayEvents.LoadBench; do
  flock /tmp/ecpay-build.lock dotnet build "$p" -c Release -nologo -v q -clp:ErrorsOnly >>"$LOGS/build.log" 2>&1 || { tail -n 30 "$LOGS/build.log" >&2; fail "dotnet build $p"; }
done

# ---------------------------------------------------------------- the local parts (stopped on exit)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash infrastructure/local/mariadb.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash infrastructure/local/mariadb.sh start 2>"$LOGS/mariadb.log"
DB=arm64check
CS="Server=127.0.0.1;Port=$MARIADB_PORT;User ID=root;Password=${MARIADB_ROOT_PASSWORD:-local-dev-only};Database=$DB"
bash infrastructure/local/mariadb.sh client -e "DROP DATABASE IF EXISTS $DB"
dotnet "$CLI_DLL" db migrate --connection-string "$CS" >"$LOGS/migrate.log"

"$NODE" --no-warnings infrastructure/local/sqs-server.mjs --port "$SQS_PORT" --visibility-timeout 30 --max-receive-count 5 >"$LOGS/sqs.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q '"ready":true' "$LOGS/sqs.log" && break; sleep 0.1; done
QUEUE_URL=$(sed -n 's/.*"queueUrl":"\([^"]*\)".*/\1/p' "$LOGS/sqs.log" | head -n 1)
[ -n "$QUEUE_URL" ] || fail "the SQS server did not start: $(cat "$LOGS/sqs.log")"

# Configuration as the template gives it on AWS (secrets there come from SSM; these are ECPay's public stage values).
export ASPNETCORE_ENVIRONMENT=Production DOTNET_ENVIRONMENT=Production Logging__LogLevel__Default=Warning
export Database__ConnectionString="$CS"
export Ecpay__MerchantId=3002607 Ecpay__HashKey=pwFHCqoQZGmho4w6 Ecpay__HashIv=EkRm7iFT261dpevs
export Ecpay__ReturnUrl="http://127.0.0.1:$NOTIFICATIONS_PORT/ecpay/return" Ecpay__PaymentInfoUrl="http://127.0.0.1:$NOTIFICATIONS_PORT/ecpay/payment-info"
export Sqs__ServiceUrl="http://127.0.0.1:$SQS_PORT" Sqs__Region=us-east-1 Sqs__QueueUrl="$QUEUE_URL"
export StepFunctions__ServiceUrl="http://127.0.0.1:9" StepFunctions__StateMachineArn="arn:aws:states:us-east-1:000000000000:stateMachine:payment-timeout"
export PaymentsApi__PublicBaseUrl="http://127.0.0.1:$PAYMENTS_API_PORT" PaymentsApi__LinkSigningKey=$(head -c 32 /dev/urandom | base64)
export PaymentsApi__Cognito__Issuer="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_arm64check" PaymentsApi__Cognito__ClientId=arm64check
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1

emulated() { # emulated FUNCTION PORT: the arm64 binary under qemu-aarch64, with arm64 glibc and OpenSSL
  QEMU_LD_PREFIX=/usr/aarch64-linux-gnu LD_LIBRARY_PATH="$OPENSSL_ARM64" \
    qemu-aarch64 "$WORK/$1/bootstrap" --urls "http://127.0.0.1:$2" >"$LOGS/$1.log" 2>&1 &
  PIDS+=($!)
  local started; started=$(date +%s%N)
  for _ in $(seq 600); do
    if curl -fsS -m 2 "http://127.0.0.1:$2/healthz" >/dev/null 2>&1; then
      log "$1 (arm64, emulated): /healthz 200 after $(( ($(date +%s%N) - started) / 1000000 )) ms"
      return 0
    fi
    kill -0 "${PIDS[-1]}" 2>/dev/null || { tail -n 20 "$LOGS/$1.log" >&2; fail "$1 exited under qemu-aarch64"; }
    sleep 0.1
  done
  tail -n 20 "$LOGS/$1.log" >&2
  fail "$1 did not answer /healthz within 60 s"
}
emulated Notifications "$NOTIFICATIONS_PORT"
emulated Settlement "$SETTLEMENT_PORT"
emulated PaymentsApi "$PAYMENTS_API_PORT"
emulated Timeouts "$TIMEOUTS_PORT"

dotnet "$CLI_DLL" event-source --sqs-endpoint "http://127.0.0.1:$SQS_PORT" --queue-url "$QUEUE_URL" \
  --target "http://127.0.0.1:$SETTLEMENT_PORT/events" --batch-size 10 --pollers 2 --wait-seconds 1 >"$LOGS/event-source.log" 2>&1 &
PIDS+=($!)

# ---------------------------------------------------------------- payments through the arm64 binaries
PREFIX="A$(printf '%04d' $((RANDOM % 10000)))"
log "posting $COUNT signed ReturnURL results for fresh deposits to the arm64 Notifications"
dotnet "$GEN" seed --cs "$CS" --prefix "$PREFIX" --count "$COUNT" --users 20 >"$LOGS/seed.txt"
dotnet "$GEN" e2e --url "http://127.0.0.1:$NOTIFICATIONS_PORT/ecpay/return" --cs "$CS" --prefix "$PREFIX" \
  --count "$COUNT" --concurrency 4 --timeout 180 | tee "$LOGS/e2e.txt" >&2
value() { sed -n "s/^$1=//p" "$LOGS/e2e.txt"; }
[ "$(value e2e.acked)" = "$COUNT" ] || fail "acknowledged $(value e2e.acked) of $COUNT posts"
[ "$(value e2e.credited)" = "$COUNT" ] || fail "credited $(value e2e.credited) of $COUNT"
[ "$(value e2e.lost)" = 0 ] && [ "$(value e2e.twice)" = 0 ] || fail "lost $(value e2e.lost), credited twice $(value e2e.twice)"
violations=$(dotnet "$CLI_DLL" db check --connection-string "$CS" >"$LOGS/db-check.txt" 2>&1 && echo 0 || echo "see $LOGS/db-check.txt")
[ "$violations" = 0 ] || fail "ecpay-events db check: $violations"
log "arm64 binaries OK: $COUNT payments credited once each through Notifications and Settlement, ledger in balance ($(( $(date +%s) - START )) s)"
