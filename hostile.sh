#!/usr/bin/env bash
# The hostile-input report: the forgery, bad-input and fault suites in their full variants, then
# their tables. `./test.sh` runs the same suites in short variants on every run.
#   ./hostile.sh            full: 10,000 bad requests per endpoint, the 105 s fault run (about 6 min)
#   ./hostile.sh --short    the variants ./test.sh runs (about 2 min)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if [ "${1:-}" != "--short" ]; then
  export BAD_INPUT_REQUESTS=${BAD_INPUT_REQUESTS:-10000} ECPAY_EVENTS_FAULTS=${ECPAY_EVENTS_FAULTS:-full}
fi

bash infrastructure/local/tooling.sh all
bash infrastructure/local/mariadb.sh start
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build EcpayEvents.sln -c Debug -nologo -v minimal -clp:ErrorsOnly

settlement=tests/EcpayEvents.Settlement.Tests/bin/Debug/net10.0/EcpayEvents.Settlement.Tests
api=tests/EcpayEvents.PaymentsApi.Tests/bin/Debug/net10.0/EcpayEvents.PaymentsApi.Tests
status=0
"$settlement" -class '*ForgerySuiteTests' -class '*NotificationsBadInputSuiteTests' || status=1
"$api" -class '*BadInputSuiteTests' || status=1
"$settlement" -class '*FaultSuiteTests' || status=1

printf '\n== Forgery suite\n';   cat "$(dirname "$settlement")/forgery-suite.txt"
printf '\n== Bad-input suite\n'; cat TestResults/bad-input/payments-api.txt TestResults/bad-input/notifications.txt
printf '\n== Fault suite\n';     cat "$(ls -t .local/fault-suite/*.md | head -n 1)"
exit $status
