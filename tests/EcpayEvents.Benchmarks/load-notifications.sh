#!/usr/bin/env bash
# End-to-end figures for the Notifications service (Native AOT binary) on loopback:
#   (a) start-up time to the first GET /healthz 200, over STARTS starts (+ the first ReturnURL POST after start)
#   (b) RSS after start, after load, and the peak (VmHWM)
#   (c) wrk: POST a valid signed ReturnURL body to /ecpay/return for DURATION -> verify, enqueue to SQS, 1|OK
#   (d) wrk: the same body with a wrong CheckMacValue -> parse + verify + 400, no SQS (the service's own cost)
#   and how many messages landed in the queue.
# It starts its own fauxqs (SQS) and Notifications on free 127.0.0.1 ports and stops everything it
# started on exit. Bounded: every child runs under `timeout`, and a watchdog ends the script after
# MAX_SECONDS (publishing excluded).
#
#   tests/EcpayEvents.Benchmarks/load-notifications.sh
#
# Environment (all optional):
#   NOTIFICATIONS_BIN_DIR  published Notifications folder to reuse (default .local/bench/notifications;
#                          published there with `dotnet publish -c Release -r linux-x64` when missing)
#   REPUBLISH=1            publish again even if the binary exists
#   STARTS=10  THREADS=2  CONNECTIONS=16  DURATION=10s  MAX_SECONDS=300
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD

STARTS=${STARTS:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-16}
DURATION=${DURATION:-10s}
MAX_SECONDS=${MAX_SECONDS:-300}
BIN_DIR=${NOTIFICATIONS_BIN_DIR:-$ROOT/.local/bench/notifications}
BIN="$BIN_DIR/EcpayEvents.Notifications"
CLI_DLL="$ROOT/infrastructure/EcpayEvents.Cli/bin/Release/net10.0/ecpay-events.dll"

log() { printf '[load] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# ---------------------------------------------------------------- tools (idempotent)
if ! command -v wrk >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing wrk (apt)"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk >&2
fi
NODE=$(bash infrastructure/local/tooling.sh node)
bash infrastructure/local/tooling.sh npm

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if [ ! -x "$BIN" ] || [ "${REPUBLISH:-0}" = 1 ]; then
  log "publishing Notifications (Native AOT) to $BIN_DIR"
  flock /tmp/ecpay-build.lock dotnet publish services/EcpayEvents.Notifications -c Release -r linux-x64 -o "$BIN_DIR" -nologo -v minimal -clp:ErrorsOnly >&2
fi
if [ ! -f "$CLI_DLL" ]; then
  log "building the CLI (for the CheckMacValue)"
  flock /tmp/ecpay-build.lock dotnet build infrastructure/EcpayEvents.Cli -c Release -nologo -v minimal -clp:ErrorsOnly >&2
fi

# ---------------------------------------------------------------- cleanup and watchdog
WORK=$(mktemp -d /tmp/ecpay-load.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] && log "logs kept in $WORK" || rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
( trap 'kill $sp 2>/dev/null; exit 0' TERM; sleep "$MAX_SECONDS" & sp=$!; wait $sp
  log "watchdog: $MAX_SECONDS s elapsed, stopping"; kill -TERM $$ 2>/dev/null ) &
PIDS+=($!)

# A port nobody listens on (between 20000 and 39999; the local stack uses 3307, 4566, 4584, 5080-5090).
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    if ! { (exec 3<>"/dev/tcp/127.0.0.1/$p"); } 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free port"
}

# GET /healthz through bash's /dev/tcp (no process spawned per poll): 0 when the answer is 200.
healthz_ok() {
  local line
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3 || { exec 3<&-; return 1; }
  IFS= read -r -t 2 line <&3 || true
  exec 3<&- 3>&-
  [[ "$line" == "HTTP/1.1 200"* ]]
}

rss_kb() { ps -o rss= -p "$1" | tr -d ' '; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

# ---------------------------------------------------------------- fauxqs
SQS_PORT=$(free_port)
timeout "$MAX_SECONDS" "$NODE" infrastructure/local/sqs-server.mjs --port "$SQS_PORT" --queue bench-results >"$WORK/sqs.out" 2>"$WORK/sqs.err" &
PIDS+=($!)
for _ in $(seq 200); do grep -q '"ready"' "$WORK/sqs.out" 2>/dev/null && break; sleep 0.05; done
grep -q '"ready"' "$WORK/sqs.out" || die "fauxqs did not start: $(cat "$WORK/sqs.err")"
QUEUE_URL=$("$NODE" -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).queueUrl)' "$WORK/sqs.out")
log "fauxqs on 127.0.0.1:$SQS_PORT, queue $QUEUE_URL"

queue_count() {
  "$NODE" -e '
    const [endpoint, queueUrl] = process.argv.slice(1);
    fetch(endpoint, { method: "POST", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.GetQueueAttributes",
      authorization: "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0" },
      body: JSON.stringify({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }) })
      .then(r => r.json()).then(j => console.log(+j.Attributes.ApproximateNumberOfMessages + +j.Attributes.ApproximateNumberOfMessagesNotVisible));
  ' "http://127.0.0.1:$SQS_PORT" "$QUEUE_URL"
}

# ---------------------------------------------------------------- the Notifications process
export Ecpay__MerchantId=3002607 Ecpay__HashKey=pwFHCqoQZGmho4w6 Ecpay__HashIv=EkRm7iFT261dpevs
export Sqs__ServiceUrl="http://127.0.0.1:$SQS_PORT" Sqs__QueueUrl="$QUEUE_URL" Sqs__Region=us-east-1
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export ASPNETCORE_ENVIRONMENT=Production DOTNET_ENVIRONMENT=Production
APP_PID=
start_app() { # port logfile; sets APP_PID (the `timeout` wrapper; app_pid gives the service itself)
  timeout "$MAX_SECONDS" "$BIN" --urls="http://127.0.0.1:$1" >"$2" 2>&1 &
  APP_PID=$!
  PIDS+=("$APP_PID")
}
app_pid() { pgrep -P "$APP_PID" -n; }
stop_app() {
  kill "$APP_PID" 2>/dev/null || true
  wait "$APP_PID" 2>/dev/null || true
}

# ---------------------------------------------------------------- a signed ReturnURL body
UNSIGNED='MerchantID=3002607&MerchantTradeNo=Bench20250101A&StoreID=&RtnCode=1&RtnMsg=%E4%BA%A4%E6%98%93%E6%88%90%E5%8A%9F&TradeNo=2501011200001234&TradeAmt=500&PaymentDate=2025%2F01%2F01+12%3A05%3A09&PaymentType=Credit_CreditCard&PaymentTypeChargeFee=12.5&TradeDate=2025%2F01%2F01+12%3A00%3A00&SimulatePaid=0&CustomField1=%E5%84%B2%E5%80%BC+500&CustomField2=&CustomField3=&CustomField4='
MAC=$(printf '%s' "$UNSIGNED" | dotnet "$CLI_DLL" mac compute --hash-key "$Ecpay__HashKey" --hash-iv "$Ecpay__HashIv" | tail -n 1)
[[ "$MAC" =~ ^[0-9A-F]{64}$ ]] || die "unexpected CheckMacValue '$MAC'"
BODY="$UNSIGNED&CheckMacValue=$MAC"
BAD_BODY="$UNSIGNED&CheckMacValue=$(printf '0%.0s' $(seq 64))"
lua_script() { # body -> wrk script that POSTs it and prints one parseable line when done
  cat <<EOF
wrk.method = "POST"
wrk.body = "$1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
function done(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format("RESULT requests=%d seconds=%.2f rps=%.0f non2xx=%d errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f mean_ms=%.2f\n",
    summary.requests, s, summary.requests / s, summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000))
end
EOF
}
lua_script "$BODY" >"$WORK/ok.lua"
lua_script "$BAD_BODY" >"$WORK/badmac.lua"

# ---------------------------------------------------------------- (a) start-up
log "(a) $STARTS starts to the first /healthz 200"
STARTUP_MS=(); FIRST_POST_MS=(); START_RSS=()
for i in $(seq "$STARTS"); do
  port=$(free_port)
  t0=$(date +%s%N)
  start_app "$port" "$WORK/start-$i.log"
  until healthz_ok "$port"; do
    kill -0 "$APP_PID" 2>/dev/null || die "Notifications exited: $(tail -5 "$WORK/start-$i.log")"
    [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 10000 ] || die "no /healthz 200 within 10 s"
    sleep 0.002
  done
  t1=$(date +%s%N)
  STARTUP_MS+=("$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 1e6 }')")
  START_RSS+=("$(rss_kb "$(app_pid)")")
  # First ReturnURL after start: pays for the SQS client and the first enqueue (a Lambda cold path).
  answer=$(curl -sS -m 10 -o "$WORK/first.body" -w '%{http_code} %{time_total}' -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "$BODY" "http://127.0.0.1:$port/ecpay/return")
  [ "${answer%% *}" = 200 ] && [ "$(cat "$WORK/first.body")" = "1|OK" ] || die "first POST answered $answer $(cat "$WORK/first.body"); log: $(tail -3 "$WORK/start-$i.log")"
  FIRST_POST_MS+=("$(awk -v s="${answer#* }" 'BEGIN { printf "%.1f", s * 1000 }')")
  stop_app
done
stats() { # values... -> "min / median / mean / max"
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1; sum += $1 } END {
    med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.1f / %.1f / %.1f / %.1f", v[1], med, sum / NR, v[NR] }'
}
START_RSS_MB=(); for kb in "${START_RSS[@]}"; do START_RSS_MB+=("$(mb "$kb")"); done

# ---------------------------------------------------------------- (b)+(c)+(d) one process under load
port=$(free_port)
start_app "$port" "$WORK/load.log"
until healthz_ok "$port"; do kill -0 "$APP_PID" 2>/dev/null || die "Notifications exited"; sleep 0.01; done
SVC_PID=$(app_pid)
RSS_IDLE=$(rss_kb "$SVC_PID")
QUEUE_BEFORE=$(queue_count)
CPU_BEFORE=$(cpu_ticks "$SVC_PID")

log "(c) wrk -t$THREADS -c$CONNECTIONS -d$DURATION: valid signed ReturnURL -> verify, enqueue, 1|OK"
timeout 120 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 5s --latency -s "$WORK/ok.lua" "http://127.0.0.1:$port/ecpay/return" >"$WORK/wrk-ok.txt"
CPU_AFTER=$(cpu_ticks "$SVC_PID")
RSS_AFTER=$(rss_kb "$SVC_PID")
sleep 1
QUEUE_AFTER=$(queue_count)

log "(d) wrk -t$THREADS -c$CONNECTIONS -d$DURATION: wrong CheckMacValue -> 400, nothing enqueued"
CPU_BEFORE_BAD=$(cpu_ticks "$SVC_PID")
timeout 120 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 5s --latency -s "$WORK/badmac.lua" "http://127.0.0.1:$port/ecpay/return" >"$WORK/wrk-bad.txt"
CPU_AFTER_BAD=$(cpu_ticks "$SVC_PID")
RSS_AFTER_BAD=$(rss_kb "$SVC_PID")
HWM=$(hwm_kb "$SVC_PID")
QUEUE_FINAL=$(queue_count)
stop_app

field() { grep '^RESULT' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }
OK_REQ=$(field "$WORK/wrk-ok.txt" requests); OK_NON2XX=$(field "$WORK/wrk-ok.txt" non2xx)
BAD_NON2XX=$(field "$WORK/wrk-bad.txt" non2xx); BAD_REQ=$(field "$WORK/wrk-bad.txt" requests)
CLK=$(getconf CLK_TCK)
SECS=$(field "$WORK/wrk-ok.txt" seconds)
CPU_PCT=$(awk -v t=$((CPU_AFTER - CPU_BEFORE)) -v c="$CLK" -v s="$SECS" 'BEGIN { printf "%.0f", 100 * t / c / s }')
CPU_US_PER_REQ=$(awk -v t=$((CPU_AFTER - CPU_BEFORE)) -v c="$CLK" -v n="$OK_REQ" 'BEGIN { printf "%.0f", 1e6 * t / c / n }')
CPU_PCT_BAD=$(awk -v t=$((CPU_AFTER_BAD - CPU_BEFORE_BAD)) -v c="$CLK" -v s="$(field "$WORK/wrk-bad.txt" seconds)" 'BEGIN { printf "%.0f", 100 * t / c / s }')
CPU_US_PER_REQ_BAD=$(awk -v t=$((CPU_AFTER_BAD - CPU_BEFORE_BAD)) -v c="$CLK" -v n="$BAD_REQ" 'BEGIN { printf "%.0f", 1e6 * t / c / n }')
ENQUEUED=$((QUEUE_AFTER - QUEUE_BEFORE))
row() { # file label
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$2" "$(field "$1" requests)" "$(field "$1" rps)" \
    "$(field "$1" p50_ms)" "$(field "$1" p90_ms)" "$(field "$1" p99_ms)" "$(field "$1" max_ms)" "$(field "$1" non2xx)" \
    "$(( $(field "$1" errors_connect) + $(field "$1" errors_read) + $(field "$1" errors_write) + $(field "$1" errors_timeout) ))"
}

# ---------------------------------------------------------------- report (Markdown)
cat <<EOF

### Notifications (Native AOT) on 127.0.0.1 — $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), shared; load average before: $(cut -d' ' -f1-3 /proc/loadavg).
Binary: $(du -h "$BIN" | cut -f1) ($BIN). wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), fauxqs (Node $("$NODE" --version)) as SQS.

**(a) Start-up, $STARTS starts** (min / median / mean / max)

| Measure | ms |
|---|---|
| process start → first \`GET /healthz\` 200 | $(stats "${STARTUP_MS[@]}") |
| then first \`POST /ecpay/return\` (SQS client + first enqueue), curl time_total | $(stats "${FIRST_POST_MS[@]}") |

**(b) Memory (RSS)**

| When | MB |
|---|---|
| right after the first /healthz 200, $STARTS starts (min / median / mean / max) | $(stats "${START_RSS_MB[@]}") |
| load process, idle after start | $(mb "$RSS_IDLE") |
| after (c) valid-post load | $(mb "$RSS_AFTER") |
| after (d) bad-MAC load | $(mb "$RSS_AFTER_BAD") |
| peak (VmHWM) | $(mb "$HWM") |

**(c)/(d) wrk -t$THREADS -c$CONNECTIONS -d$DURATION, one POST body of $(printf '%s' "$BODY" | wc -c) bytes** (latency ms)

| Run | requests | req/s | p50 | p90 | p99 | max | non-2xx | socket errors |
|---|---|---|---|---|---|---|---|---|
$(row "$WORK/wrk-ok.txt" "(c) valid ReturnURL → verify + SQS SendMessage + \`1\|OK\`")
$(row "$WORK/wrk-bad.txt" "(d) wrong CheckMacValue → 400 (no SQS)")

- Queue: $ENQUEUED messages landed during (c) for $OK_REQ requests with $OK_NON2XX non-2xx (wrk does not count requests still in flight when it stops); $((QUEUE_FINAL - QUEUE_AFTER)) more during (d) (expected 0). $STARTS more came from the first POSTs in (a).
- Notifications CPU (user+system, /proc/<pid>/stat): (c) ${CPU_PCT}% of one core, ≈ ${CPU_US_PER_REQ} µs per request; (d) ${CPU_PCT_BAD}% of one core, ≈ ${CPU_US_PER_REQ_BAD} µs per request (wrk, fauxqs and other users share the $(nproc) cores).
- (d) non-2xx: $BAD_NON2XX of $BAD_REQ (all are expected to be 400).
EOF
[ "$OK_NON2XX" = 0 ] || log "warning: $OK_NON2XX non-2xx answers in (c)"
[ "$ENQUEUED" -ge "$((OK_REQ - OK_NON2XX))" ] || log "warning: fewer messages in the queue ($ENQUEUED) than 200 answers ($((OK_REQ - OK_NON2XX)))"
