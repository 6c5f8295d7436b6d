#!/usr/bin/env bash
# Installs what the tests need, builds, runs every test suite, and ends with one line
# "N passed, N failed" (totals of all suites). Exit code 0 only if every test passed.
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

results="$here/TestResults"
rm -rf "$results"
total_passed=0
total_failed=0
for project in tests/PgWarden.Core.Tests tests/PgWarden.Dcs.Tests tests/PgWarden.IntegrationTests; do
  name=$(basename "$project")
  echo "test.sh: running $name"
  start=$(date +%s)
  dotnet test "$project" --no-build -nologo --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
    --logger "console;verbosity=normal" 2>&1 | grep -E '^\s+(Passed|Failed|Skipped) |Error Message|Assert|^\s+at PgWarden|Total tests|Passed!|Failed!' | grep -vE '^\s+Passed ' | sed 's/^/  /'
  trx="$results/$name.trx"
  if [[ -f "$trx" ]]; then
    counters=$(grep -o '<Counters [^>]*>' "$trx")
    passed=$(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")
    failed=$(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")
    errors=$(sed -E 's/.* error="([0-9]+)".*/\1/' <<<"$counters")
    failed=$((failed + errors))
  else
    passed=0
    failed=1
  fi
  if ((failed > 0)) && [[ -f "$trx" ]]; then
    echo "test.sh: first failure of $name in full (the rest is in $trx):"
    awk '/outcome="Failed"/ { failed = 1 } failed && /<Message>/ { show = 1 } show { print } show && /<\/Message>/ { exit }' "$trx" |
      sed -e 's/.*<Message>//' -e 's/<\/Message>.*//' -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&#xD;//g' -e 's/&#xA;/\n/g' -e 's/&amp;/\&/g' |
      head -n 120 | sed 's/^/    /'
  fi
  echo "test.sh: $name: $passed passed, $failed failed ($(( $(date +%s) - start )) s)"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
done

echo "$total_passed passed, $total_failed failed"
[[ $total_failed -eq 0 ]]
