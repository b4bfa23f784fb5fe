#!/usr/bin/env bash
# Runs the whole system on this machine: MariaDB, the SQS server (fauxqs), the local Step Functions
# server, the four services, the SQS event-source runner and the ECPay sandbox, all on 127.0.0.1.
#
#   ./run.sh          start everything, print the URLs, run until Ctrl-C (or until a part fails)
#   ./run.sh demo     start the stack if it is not running, drive a card payment end to end and a
#                     payment that is never paid (it expires through the state machine), then exit:
#                     0 only if both ended as they should
#
# Ports (override with the environment variables): PaymentsApi 5080, Notifications 5081,
# Settlement 5082, Timeouts 5083, sandbox 5090, Cognito (cognito-local) 5095, SQS 4566,
# Step Functions 4584, MariaDB 3307.
# A card deposit stays payable for LOCAL_EXPIRY_SECONDS: 900 (15 min) for `./run.sh`, 20 when
# `./run.sh demo` starts the stack itself (so the demo shows an expiry within a minute).
# Installs what is missing first (idempotent): Debian packages, Node 22, npm packages, NuGet.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$PWD
MODE=${1:-up}
case "$MODE" in up|demo) ;; -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; *) echo "usage: ./run.sh [demo]" >&2; exit 2 ;; esac

PAYMENTS_API_PORT=${PAYMENTS_API_PORT:-5080}
NOTIFICATIONS_PORT=${NOTIFICATIONS_PORT:-5081}
SETTLEMENT_PORT=${SETTLEMENT_PORT:-5082}
TIMEOUTS_PORT=${TIMEOUTS_PORT:-5083}
SANDBOX_PORT=${SANDBOX_PORT:-5090}
COGNITO_PORT=${COGNITO_PORT:-5095}
SQS_PORT=${SQS_PORT:-4566}
STEPFUNCTIONS_PORT=${STEPFUNCTIONS_PORT:-4584}
export MARIADB_PORT=${MARIADB_PORT:-3307}

RUN_DIR="$ROOT/.local/run"
LOG_DIR="$RUN_DIR/logs"
# What the running stack was started with (ports, expiry), for `./run.sh demo` against it.
STACK_ENV="$RUN_DIR/stack-$PAYMENTS_API_PORT.env"
mkdir -p "$LOG_DIR"

if [ -t 1 ]; then B=$'\e[1m'; G=$'\e[32m'; R=$'\e[31m'; Y=$'\e[33m'; N=$'\e[0m'; else B= G= R= Y= N=; fi
say()  { printf '%s\n' "$*"; }
ok()   { printf '  %s✔%s %-15s %s\n' "$G" "$N" "$1" "$2"; }
bad()  { printf '  %s✘%s %-15s %s\n' "$R" "$N" "$1" "$2" >&2; }
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }

# curl is needed from the first check on; the apt step installs it (with ca-certificates) if missing.
command -v curl >/dev/null 2>&1 || bash infrastructure/local/tooling.sh apt
healthy() { curl -fsS -m 2 "$1" >/dev/null 2>&1; }
# Something (anything) accepts TCP connections on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Ports browsers and Node's fetch refuse to connect to (the Fetch standard's "bad ports", as undici blocks
# them): a part there would start, but the web page, or the Step Functions server calling Timeouts, could
# never reach it ("fetch failed: bad port").
FETCH_BAD_PORTS=" 1 7 9 11 13 15 17 19 20 21 22 23 25 37 42 43 53 69 77 79 87 95 101 102 103 104 109 110 111 113 115 117 119 123 135 137 139 143 161 179 389 427 465 512 513 514 515 526 530 531 532 540 548 554 556 563 587 601 636 989 990 993 995 1719 1720 1723 2049 3659 4045 4190 5060 5061 6000 6566 6665 6666 6667 6668 6669 6679 6697 10080 "
port_unusable() { # prints why PORT cannot be used for an HTTP part, or nothing
  case "$1" in ''|*[!0-9]*) echo "'$1' is not a port number"; return ;; esac
  if [ "$1" -lt 1 ] || [ "$1" -gt 65535 ]; then echo "$1 is not a port number (1-65535)"; return; fi
  case "$FETCH_BAD_PORTS" in *" $1 "*) echo "port $1 is one that browsers and Node's fetch refuse to connect to (a \"bad port\")" ;; esac
}

# ---------------------------------------------------------------- demo against a running stack
if [ "$MODE" = demo ] && healthy "http://127.0.0.1:$PAYMENTS_API_PORT/healthz"; then
  say "The local stack is already running; using it."
  STACK_ALREADY_UP=1
fi

# A person paying in the browser needs minutes; the demo (when it starts the stack) wants to watch a
# deposit expire within a minute. An explicit LOCAL_EXPIRY_SECONDS always wins.
if [ -n "${STACK_ALREADY_UP:-}" ]; then
  RUNNING_EXPIRY=$(sed -n 's/^LOCAL_EXPIRY_SECONDS=//p' "$STACK_ENV" 2>/dev/null || true)
  LOCAL_EXPIRY_SECONDS=${RUNNING_EXPIRY:-${LOCAL_EXPIRY_SECONDS:-900}}
elif [ "$MODE" = demo ]; then
  LOCAL_EXPIRY_SECONDS=${LOCAL_EXPIRY_SECONDS:-20}
else
  LOCAL_EXPIRY_SECONDS=${LOCAL_EXPIRY_SECONDS:-900}
fi
case "$LOCAL_EXPIRY_SECONDS" in ''|*[!0-9]*) echo "LOCAL_EXPIRY_SECONDS must be a whole number of seconds" >&2; exit 2 ;; esac

# ---------------------------------------------------------------- ports
# Every port first, before installing or building, so a clash is reported at once. (MariaDB's port may
# be our own MariaDB, already running: that is reused.)
if [ -z "${STACK_ALREADY_UP:-}" ]; then
  for entry in "PaymentsApi:$PAYMENTS_API_PORT" "Notifications:$NOTIFICATIONS_PORT" "Settlement:$SETTLEMENT_PORT" \
               "Timeouts:$TIMEOUTS_PORT" "ECPay sandbox:$SANDBOX_PORT" "Cognito:$COGNITO_PORT" "SQS (fauxqs):$SQS_PORT" "Step Functions:$STEPFUNCTIONS_PORT"; do
    if unusable=$(port_unusable "${entry##*:}") && [ -n "$unusable" ]; then
      bad "${entry%:*}" "$unusable: choose another port (see ./run.sh --help)"; exit 1
    fi
    if port_in_use "${entry##*:}"; then
      bad "${entry%:*}" "port ${entry##*:} is already in use on 127.0.0.1: stop the other program, or choose another port (see ./run.sh --help)"; exit 1
    fi
  done
  if port_in_use "$MARIADB_PORT" && ! bash infrastructure/local/mariadb.sh status >/dev/null 2>&1; then
    bad "MariaDB" "port $MARIADB_PORT is already in use by another program: stop it, or set MARIADB_PORT"; exit 1
  fi
fi

# ---------------------------------------------------------------- install and build
step "Installing what is missing (apt packages, Node 22, npm packages)"
bash infrastructure/local/tooling.sh all
NODE=$(bash infrastructure/local/tooling.sh node)

CLI_DLL="$ROOT/infrastructure/EcpayEvents.Cli/bin/Release/net10.0/ecpay-events.dll"
cli() { dotnet "$CLI_DLL" "$@"; }

if [ -z "${STACK_ALREADY_UP:-}" ] || [ ! -f "$CLI_DLL" ]; then
  step "Building (Release)"
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
  dotnet build EcpayEvents.Local.slnf -c Release -nologo -v minimal -clp:ErrorsOnly
fi

# ---------------------------------------------------------------- configuration shared by the services
DB_NAME=${DB_NAME:-ecpay_events}
export Database__ConnectionString="Server=127.0.0.1;Port=$MARIADB_PORT;Database=$DB_NAME;User ID=root;Password=${MARIADB_ROOT_PASSWORD:-local-dev-only}"
# ECPay's public stage merchant (documented by ECPay; the sandbox plays ECPay with it).
export Ecpay__MerchantId=3002607 Ecpay__HashKey=pwFHCqoQZGmho4w6 Ecpay__HashIv=EkRm7iFT261dpevs
export Ecpay__BaseUrl="http://127.0.0.1:$SANDBOX_PORT"
export Ecpay__ReturnUrl="http://127.0.0.1:$NOTIFICATIONS_PORT/ecpay/return"
export Ecpay__PaymentInfoUrl="http://127.0.0.1:$NOTIFICATIONS_PORT/ecpay/payment-info"
export PaymentsApi__PublicBaseUrl="http://127.0.0.1:$PAYMENTS_API_PORT"
# Checkout links are signed with this key; a new one each run (links last 15 minutes anyway).
export PaymentsApi__LinkSigningKey=$(head -c 32 /dev/urandom | base64)
export Sqs__ServiceUrl="http://127.0.0.1:$SQS_PORT" Sqs__Region=us-east-1
export Sqs__QueueUrl="http://127.0.0.1:$SQS_PORT/000000000000/payment-results"
export StepFunctions__ServiceUrl="http://127.0.0.1:$STEPFUNCTIONS_PORT"
export StepFunctions__StateMachineArn="arn:aws:states:us-east-1:000000000000:stateMachine:payment-timeout"
export PaymentsApi__Deposit__Expiry__Online=$(printf "%02d:%02d:%02d" $((LOCAL_EXPIRY_SECONDS/3600)) $((LOCAL_EXPIRY_SECONDS/60%60)) $((LOCAL_EXPIRY_SECONDS%60)))
# Local stand-ins do not check signatures; the SDKs still want credentials to sign with.
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
# Production, as deployed: Development would turn on the framework's developer pages (stack traces on a
# 500). The services answer problems without exception details in any environment anyway.
export ASPNETCORE_ENVIRONMENT=Production DOTNET_ENVIRONMENT=Production

# ---------------------------------------------------------------- process supervision
PIDS=()
NAMES=()
STARTED_MARIADB=
cleanup() {
  trap - EXIT INT TERM
  if [ ${#PIDS[@]} -gt 0 ]; then
    step "Stopping"
    for i in "${!PIDS[@]}"; do kill -TERM "${PIDS[$i]}" 2>/dev/null || true; done
    # Each part gets up to ~10 s to stop on TERM; then it is killed.
    for i in "${!PIDS[@]}"; do
      local pid=${PIDS[$i]} waited=0
      while kill -0 "$pid" 2>/dev/null && [ $waited -lt 50 ]; do sleep 0.2; waited=$((waited + 1)); done
      if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        say "  killed ${NAMES[$i]} (did not stop within 10 s)"
      else
        say "  stopped ${NAMES[$i]}"
      fi
      wait "$pid" 2>/dev/null || true
    done
    rm -f "$STACK_ENV" "$RUN_DIR/stack.json"
  fi
  if [ -n "$STARTED_MARIADB" ]; then bash infrastructure/local/mariadb.sh stop >/dev/null 2>&1 && say "  stopped MariaDB"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Readiness probes (each true only when the part really serves).
sqs_ready() { grep -q '"ready":true.*"queueUrl"' "$LOG_DIR/SQS (fauxqs).log" 2>/dev/null && port_in_use "$SQS_PORT"; }
sfn_ready() { healthy "http://127.0.0.1:$STEPFUNCTIONS_PORT/healthz"; }
cognito_ready() { grep -q '"ready":true' "$LOG_DIR/Cognito.log" 2>/dev/null && healthy "http://127.0.0.1:$COGNITO_PORT/health"; }
# The runner prints {"event":"start"} before its first receive; a poll-error means SQS refused it.
event_source_ready() {
  local log="$LOG_DIR/Event source.log"
  grep -q '"event":"start"' "$log" 2>/dev/null || return 1
  ! grep -q '"event":"poll-error"' "$log"
}

# start NAME PORT READY-COMMAND COMMAND...: refuses a port someone else already listens on, runs
# COMMAND in the background (log: .local/run/logs/NAME.log) and waits until READY-COMMAND succeeds,
# the process dies, or 30 s pass. PORT may be "" for a part that listens on none.
start() {
  local name=$1 port=$2 ready=$3; shift 3
  local log="$LOG_DIR/$name.log"
  if [ -n "$port" ] && port_in_use "$port"; then
    bad "$name" "port $port is already in use on 127.0.0.1: stop the other program, or choose another port (see ./run.sh --help)"; exit 1
  fi
  "$@" >"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid"); NAMES+=("$name")
  for _ in $(seq 1 150); do
    if ! kill -0 "$pid" 2>/dev/null; then bad "$name" "exited during start; last lines of $log:"; tail -n 15 "$log" >&2; exit 1; fi
    if $ready; then ok "$name" "${port:+http://127.0.0.1:$port }(log: ${log#$ROOT/})"; return; fi
    sleep 0.2
  done
  bad "$name" "not ready after 30 s; last lines of $log:"; tail -n 15 "$log" >&2; exit 1
}

svc() { # svc NAME PROJECT-DIR ASSEMBLY PORT
  local port=$4
  eval "ready_$port() { healthy http://127.0.0.1:$port/healthz; }"
  start "$1" "$port" "ready_$port" dotnet "$ROOT/$2/bin/Release/net10.0/$3.dll" --urls "http://127.0.0.1:$port"
}

if [ -z "${STACK_ALREADY_UP:-}" ]; then
  step "Starting the local stack"
  if bash infrastructure/local/mariadb.sh status >/dev/null 2>&1; then
    ok "MariaDB" "127.0.0.1:$MARIADB_PORT (already running; database $DB_NAME)"
  else
    if port_in_use "$MARIADB_PORT"; then
      bad "MariaDB" "port $MARIADB_PORT is already in use by another program: stop it, or set MARIADB_PORT"; exit 1
    fi
    STARTED_MARIADB=1
    if ! bash infrastructure/local/mariadb.sh start 2>"$LOG_DIR/mariadb.log"; then
      bad "MariaDB" "did not start; last lines of $LOG_DIR/mariadb.log:"; tail -n 15 "$LOG_DIR/mariadb.log" >&2; exit 1
    fi
    ok "MariaDB" "127.0.0.1:$MARIADB_PORT (database $DB_NAME)"
  fi
  cli db migrate --connection-string "$Database__ConnectionString" | sed 's/^/                    /'

  start "SQS (fauxqs)" "$SQS_PORT" sqs_ready "$NODE" --no-warnings infrastructure/local/sqs-server.mjs --port "$SQS_PORT" --visibility-timeout 30 --max-receive-count 5 --data-dir "$ROOT/.local/sqs-$SQS_PORT"
  QUEUE_URL=$(sed -n 's/.*"queueUrl":"\([^"]*\)".*/\1/p' "$LOG_DIR/SQS (fauxqs).log" | head -n 1)
  export Sqs__QueueUrl="$QUEUE_URL"

  start "Step Functions" "$STEPFUNCTIONS_PORT" sfn_ready "$NODE" --no-warnings infrastructure/local/stepfunctions-server.mjs --port "$STEPFUNCTIONS_PORT" \
    --lambda "ReconcileFunctionArn=http://127.0.0.1:$TIMEOUTS_PORT/events" \
    --retry-interval-override Reconcile=5000 --wait-override WaitForSettlement=10000 \
    --data "$RUN_DIR/stepfunctions.json"

  # Users and the pool live in .local/cognito (kept across runs, like the database); the pool, client
  # and operators group are created once. PaymentsApi trusts the issuer it writes to cognito.json.
  rm -f "$RUN_DIR/cognito.json"
  start "Cognito" "$COGNITO_PORT" cognito_ready "$NODE" --no-warnings infrastructure/local/cognito-server.mjs --port "$COGNITO_PORT" \
    --data "$ROOT/.local/cognito" --write "$RUN_DIR/cognito.json"
  export PaymentsApi__Cognito__Issuer=$(sed -n 's/.*"issuer": "\([^"]*\)".*/\1/p' "$RUN_DIR/cognito.json")
  export PaymentsApi__Cognito__ClientId=$(sed -n 's/.*"clientId": "\([^"]*\)".*/\1/p' "$RUN_DIR/cognito.json")
  export PaymentsApi__Cognito__UserPoolId=$(sed -n 's/.*"userPoolId": "\([^"]*\)".*/\1/p' "$RUN_DIR/cognito.json")
  export PaymentsApi__Cognito__Endpoint="http://127.0.0.1:$COGNITO_PORT"
  # Locally the web page confirms a new account itself (AdminConfirmSignUp, which only cognito-local
  # accepts unsigned); PaymentsApi refuses this setting in production.
  export PaymentsApi__Cognito__LocalConfirm=true

  svc "Settlement"     services/EcpayEvents.Settlement     EcpayEvents.Settlement     "$SETTLEMENT_PORT"
  svc "Notifications"  services/EcpayEvents.Notifications  EcpayEvents.Notifications  "$NOTIFICATIONS_PORT"
  svc "Timeouts"       services/EcpayEvents.Timeouts       EcpayEvents.Timeouts       "$TIMEOUTS_PORT"
  svc "PaymentsApi"    services/EcpayEvents.PaymentsApi    EcpayEvents.PaymentsApi    "$PAYMENTS_API_PORT"
  svc "ECPay sandbox"  infrastructure/EcpayEvents.Sandbox  EcpayEvents.Sandbox        "$SANDBOX_PORT"
  start "Event source" "" event_source_ready dotnet "$CLI_DLL" event-source --sqs-endpoint "$Sqs__ServiceUrl" --queue-url "$QUEUE_URL" \
    --target "http://127.0.0.1:$SETTLEMENT_PORT/events" --wait-seconds 5
  printf 'LOCAL_EXPIRY_SECONDS=%s\n' "$LOCAL_EXPIRY_SECONDS" >"$STACK_ENV"
  # Where everything is, for `ecpay-events` (bin/ecpay-events): it reads this when no option or variable says otherwise.
  DLQ_URL=$(sed -n 's/.*"dlqUrl":"\([^"]*\)".*/\1/p' "$LOG_DIR/SQS (fauxqs).log" | head -n 1)
  cat >"$RUN_DIR/stack.json" <<JSON
{
  "connectionString": "$Database__ConnectionString",
  "stepFunctionsEndpoint": "$StepFunctions__ServiceUrl",
  "stateMachineArn": "$StepFunctions__StateMachineArn",
  "sqsEndpoint": "$Sqs__ServiceUrl",
  "queueUrl": "$QUEUE_URL",
  "deadLetterQueueUrl": "$DLQ_URL",
  "region": "us-east-1",
  "paymentsApi": "http://127.0.0.1:$PAYMENTS_API_PORT",
  "sandbox": "http://127.0.0.1:$SANDBOX_PORT",
  "cognito": "$RUN_DIR/cognito.json",
  "ecpayMerchantId": "$Ecpay__MerchantId",
  "ecpayHashKey": "$Ecpay__HashKey",
  "ecpayHashIv": "$Ecpay__HashIv",
  "ecpayBaseUrl": "$Ecpay__BaseUrl"
}
JSON

  step "Ready"
  say "  Web page:        http://127.0.0.1:$PAYMENTS_API_PORT/"
  say "  PaymentsApi:     http://127.0.0.1:$PAYMENTS_API_PORT"
  say "  ECPay sandbox:   http://127.0.0.1:$SANDBOX_PORT"
  say "  Cognito (local): http://127.0.0.1:$COGNITO_PORT   (pool, client, issuer: ${RUN_DIR#$ROOT/}/cognito.json)"
  say "  Notifications:   http://127.0.0.1:$NOTIFICATIONS_PORT   (ReturnURL / PaymentInfoURL)"
  say "  Step Functions:  http://127.0.0.1:$STEPFUNCTIONS_PORT"
  say "  Operators' tool: bin/ecpay-events (reads ${RUN_DIR#$ROOT/}/stack.json), e.g. bin/ecpay-events payments stuck"
  say "  Logs:            ${LOG_DIR#$ROOT/}/"
  say "  Card deposits stay payable for $LOCAL_EXPIRY_SECONDS s (LOCAL_EXPIRY_SECONDS)."
fi

if [ "$MODE" = demo ]; then
  step "Demo: a card payment, end to end"
  if [ -n "${STACK_ALREADY_UP:-}" ] && [ "$LOCAL_EXPIRY_SECONDS" -gt 120 ]; then
    say "  note: card deposits on the running stack expire after $LOCAL_EXPIRY_SECONDS s, so the expiry part waits that long"
    say "        (Ctrl-C to stop; for a 20 s expiry stop the stack and run ./run.sh demo, which starts its own)."
  fi
  set +e
  cli demo --api "http://127.0.0.1:$PAYMENTS_API_PORT" --sandbox "http://127.0.0.1:$SANDBOX_PORT" --cognito "$RUN_DIR/cognito.json" \
    --stepfunctions "http://127.0.0.1:$STEPFUNCTIONS_PORT" --state-machine-arn "$StepFunctions__StateMachineArn" \
    --max-expiry-wait "$((LOCAL_EXPIRY_SECONDS + 60))"
  exit $?
fi

say ""
say "Press Ctrl-C to stop everything."
# Stop everything as soon as any part exits — or MariaDB stops answering: it runs as a daemon (not a
# child), so it is polled. Ctrl-C reaches the children too, so a child that exits on it is a normal
# stop, not a failure.
trap 'INTERRUPTED=1' INT TERM
set +e
failed=
tick=0
while [ -z "$failed" ]; do
  sleep 1 & wait $! 2>/dev/null
  if [ -n "${INTERRUPTED:-}" ]; then exit 130; fi
  for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      wait "${PIDS[$i]}" 2>/dev/null; code=$?
      sleep 0.3
      if [ -n "${INTERRUPTED:-}" ]; then exit 130; fi
      bad "${NAMES[$i]}" "exited (code $code); see $LOG_DIR/${NAMES[$i]}.log"; failed=1
    fi
  done
  tick=$((tick + 1))
  if [ -z "$failed" ] && [ $((tick % 5)) -eq 0 ] && ! bash infrastructure/local/mariadb.sh status >/dev/null 2>&1; then
    if [ -n "${INTERRUPTED:-}" ]; then exit 130; fi
    bad "MariaDB" "stopped answering on 127.0.0.1:$MARIADB_PORT; see .local/mariadb-$MARIADB_PORT/mysqld.log"; failed=1
  fi
done
exit 1
