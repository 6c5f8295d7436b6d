#!/usr/bin/env bash
# Long soak of the randomized fault test (tests/PgWarden.IntegrationTests/NemesisTests.cs): N
# schedules of S faults each (alternating synchronous and asynchronous mode), every acknowledged
# write checked, a fence probe writing to every node directly. Writes bench/results/nemesis.md:
# one row per schedule (seed, mode, faults injected, the primary after, time to converge, writes
# acknowledged / lost through PgBouncer and directly, two-writer violations, pollers left paused).
# Violations must be 0; a failing schedule's seed replays it:
#   PGWARDEN_NEMESIS_SEED=<seed> dotnet test tests/PgWarden.IntegrationTests --filter NemesisTests
#
# Usage: bench/nemesis.sh [schedules (default 20)] [faults per schedule (default 5)]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
schedules="${1:-20}"
steps="${2:-5}"
out="$here/bench/results"
mkdir -p "$out"
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
"$here/pgwarden" --help >/dev/null
dotnet build "$here/tests/PgWarden.IntegrationTests" -nologo -v q -clp:ErrorsOnly
start=$(date +%s)
set +e
PGWARDEN_NEMESIS_SCHEDULES="$schedules" PGWARDEN_NEMESIS_STEPS="$steps" PGWARDEN_NEMESIS_REPORT="$rows" \
  dotnet test "$here/tests/PgWarden.IntegrationTests" --no-build -nologo --filter "FullyQualifiedName~NemesisTests" \
  --logger "console;verbosity=normal" 2>&1 | grep -E "nemesis schedule|Passed |Failed |Error Message|Total tests" | sed 's/^/  /'
status=${PIPESTATUS[0]}
set -e
violations=$(awk -F'|' 'NF > 9 { v += $9 } END { print v + 0 }' "$rows")
{
  echo "# Nemesis soak"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores: $schedules schedules of $steps faults, $(( $(date +%s) - start )) s; dotnet test exit status $status."
  echo "Two-writer violations in all: **$violations** (must be 0). Lost writes in synchronous mode must be 0;"
  echo "in asynchronous mode they are reported (bounded by maximum_lag_on_failover)."
  echo
  echo "| seed | mode | faults | primary after | converged in | PgBouncer writes acked / lost | direct writes acked / lost | violations | poolers left paused |"
  echo "|---|---|---|---|---|---|---|---|---|"
  cat "$rows"
} > "$out/nemesis.md"
echo "wrote $out/nemesis.md ($violations violations)"
exit "$status"
