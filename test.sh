#!/usr/bin/env bash
# Installs what the tests need, builds, runs every test suite, and ends with one line
# "N passed, N failed" (totals of all suites). Exit code 0 only if every test passed.
# A suite whose test host crashes, hangs, aborts, finds fewer tests than it is known to have, or
# reports counters that do not add up counts as failed: a green line must mean the tests ran.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

packages=(postgresql-15 postgresql-contrib pgbouncer etcd-server etcd-client iproute2 util-linux iptables)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "test.sh: missing packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "test.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
fi

echo "test.sh: building"
if ! ./pgwarden --help >/dev/null; then
  echo "test.sh: building the pgwarden tool failed"
  echo "0 passed, 1 failed"
  exit 1
fi
if ! dotnet build PgWarden.sln -nologo -v q -clp:ErrorsOnly; then
  echo "test.sh: building the test projects failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# suite, the fewest tests it is known to have (raise it when tests are added), overall time limit.
suites=(
  "tests/PgWarden.Core.Tests 784 10m"
  "tests/PgWarden.Agent.Tests 95 10m"
  "tests/PgWarden.Dcs.Tests 29 10m"
  "tests/PgWarden.IntegrationTests 132 60m"
)
results="$here/TestResults"
rm -rf "$results"
total_passed=0
total_failed=0
# Reads one attribute of the TRX <Counters> element; prints nothing when absent or not a number.
counter() { grep -o "<Counters [^>]*>" "$1" | grep -oE " $2=\"[0-9]+\"" | grep -oE '[0-9]+'; }
for entry in "${suites[@]}"; do
  read -r project minimum limit <<<"$entry"
  name=$(basename "$project")
  trx="$results/$name.trx"
  echo "test.sh: running $name"
  start=$(date +%s)
  timeout --kill-after=30s "$limit" dotnet test "$project" --no-build -nologo --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
    --blame-hang-timeout 10m --logger "console;verbosity=normal" 2>&1 |
    grep -E '^\s+(Passed|Failed|Skipped) |Error Message|Assert|^\s+at PgWarden|Total tests|Passed!|Failed!|[Aa]borted|crash|hang' | grep -vE '^\s+Passed ' | sed 's/^/  /'
  status=${PIPESTATUS[0]}
  problems=()
  passed=0
  failed=0
  if [[ ! -f $trx ]]; then
    problems+=("no test results were written (exit status $status)")
  else
    total=$(counter "$trx" total); passed=$(counter "$trx" passed); failed=$(counter "$trx" failed)
    errors=$(counter "$trx" error); skipped=$(counter "$trx" notExecuted)
    if [[ -z $total || -z $passed || -z $failed || -z $errors || -z $skipped ]]; then
      problems+=("the result counters could not be read from $trx")
      passed=${passed:-0}; failed=${failed:-0}
    else
      failed=$((failed + errors))
      ((total != passed + failed + skipped)) && problems+=("counters do not add up: total $total != $passed passed + $failed failed + $skipped skipped")
      ((total < minimum)) && problems+=("only $total tests found, fewer than the $minimum this suite is known to have")
    fi
    summary=$(grep -oE '<ResultSummary outcome="[A-Za-z]+"' "$trx" | grep -oE '"[A-Za-z]+"' | tr -d '"')
    [[ $summary == Completed || $summary == Failed ]] || problems+=("the run ended as \"${summary:-unknown}\"")
    grep -q 'test run was aborted\|Test host process crashed' "$trx" && problems+=("the test host crashed or the run was aborted")
  fi
  if ((status == 124 || status == 137)); then
    problems+=("the suite did not finish within $limit and was stopped")
  elif ((status != 0 && failed == 0)); then
    problems+=("dotnet test exited with status $status although no test failed (the test host crashed or the run aborted)")
  fi
  if ((failed > 0)) && [[ -f $trx ]]; then
    echo "test.sh: first failure of $name in full (the rest is in $trx):"
    awk '/outcome="Failed"/ { failed = 1 } failed && /<Message>/ { show = 1 } show { print } show && /<\/Message>/ { exit }' "$trx" |
      sed -e 's/.*<Message>//' -e 's/<\/Message>.*//' -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&#xD;//g' -e 's/&#xA;/\n/g' -e 's/&amp;/\&/g' |
      head -n 120 | sed 's/^/    /'
  fi
  for problem in "${problems[@]}"; do
    echo "test.sh: $name: FAILED: $problem"
  done
  ((${#problems[@]})) && failed=$((failed + 1))
  echo "test.sh: $name: $passed passed, $failed failed ($(( $(date +%s) - start )) s)"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
done

echo "$total_passed passed, $total_failed failed"
[[ $total_failed -eq 0 ]]
