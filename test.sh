#!/usr/bin/env bash
# Runs every test project, after installing what is missing (idempotent):
# Debian packages (MariaDB, Chromium), Node 22 and the npm packages into git-ignored folders,
# NuGet packages. Ends with the test runner's pass/fail summary; exit code 0 only if all passed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

step() { printf '\n== %s\n' "$*"; }

step "tooling (apt packages, Node 22, npm packages)"
bash infrastructure/local/tooling.sh all

step "local MariaDB (127.0.0.1:${MARIADB_PORT:-3307})"
bash infrastructure/local/mariadb.sh start

step "restore and build"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build EcpayEvents.sln -c Debug -nologo -v minimal -clp:ErrorsOnly

step "tests"
# Test projects run as separate processes (Microsoft.Testing.Platform); each makes its own
# databases, queues and ports, so they can run side by side.
dotnet test --solution EcpayEvents.sln --no-build -c Debug --max-parallel-test-modules 2 "$@"
