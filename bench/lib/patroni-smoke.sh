#!/usr/bin/env bash
# Smoke test of bench/lib/patroni.sh: one run of each fault against a Patroni cluster, measured with
# bench/probe (a write every ~20 ms on a new connection, multi-host connection string with
# Target Session Attributes=read-write). Prints a markdown table; bench/results/patroni-smoke.md
# records what it printed.
#
# Usage: bench/lib/patroni-smoke.sh [TUNED_SUBNET (150)] [DEFAULTS_SUBNET (151)]
#   cluster 127.0.TUNED.0/24:    ttl 10, loop_wait 2, retry_timeout 5 -> host-crash, postgres-crash, switchover
#   cluster 127.0.DEFAULTS.0/24: ttl 30, loop_wait 10, retry_timeout 10 (Patroni's defaults) -> host-crash
# One cluster at a time. PROBE=/path/to/failover-probe skips the build. KEEP=1 keeps the work
# directory (probe outputs, Patroni logs) under /tmp.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=bench/lib/patroni.sh
source "$here/bench/lib/patroni.sh"
tuned=${1:-150}
defaults=${2:-151}
work=$(mktemp -d /tmp/patroni-smoke-XXXX)
chmod 755 "$work"
clusters=()
cleanup() {
  local c
  for c in "${clusters[@]}"; do patroni_down "$c" || true; done
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

probe=${PROBE:-}
if [[ -z $probe ]]; then
  dotnet build "$here/bench/probe/Probe.csproj" -c Release -o "$work/probe" -nologo -v q >/dev/null
  probe="$work/probe/failover-probe"
fi

rows=()
run() { # DIR SCENARIO PROBE_SECONDS LOOP_WAIT LABEL
  local dir=$1 scenario=$2 seconds=$3 loop_wait=$4 label=$5 out
  out="$work/probe-$label-$scenario.txt"
  patroni_wait_healthy "$dir" 120
  local leader; leader=$(patroni_leader "$dir")
  PGPASSWORD="$(patroni_app_password "$dir")" "$probe" "$(patroni_conninfo "$dir")" "$seconds" "$out" &
  local p=$!
  # ~5 s in, at a random moment within the HA loop period (as bench/failover.sh does for PgWarden).
  local delay; delay=$(awk -v s=$RANDOM -v lw="$loop_wait" 'BEGIN{srand(s); printf "%.2f", 5 + rand()*lw}')
  sleep "$delay"
  local t0; t0=$(date +%s%3N)
  patroni_fault "$dir" "$scenario"
  local fault_ms=$(( $(date +%s%3N) - t0 ))
  wait "$p"
  local gap failed lost acked
  gap=$(awk '$1=="ok"{ if (prev) { d=$3-prev; if (d>m) m=d } prev=$3 } END{printf "%.2f", m/1000}' "$out")
  failed=$(grep -c '^fail' "$out" || true)
  lost=$(grep '^lost' "$out" | awk '{print NF-1}')
  acked=$(grep -c '^ok' "$out" || true)
  local newleader; newleader=$(patroni_leader "$dir")
  local rejoin="-"
  if [[ $scenario == host-crash ]]; then
    patroni_restart_crashed "$dir" "$leader"
    rejoin=$(patroni_wait_streaming "$dir" "$leader" 180)
  fi
  patroni_wait_healthy "$dir" 180
  echo "$label $scenario: fault at +${delay} s on $leader (call took ${fault_ms} ms), new leader $newleader, unavailable ${gap} s, failed $failed, lost $lost of $acked acknowledged, rejoin ${rejoin} s" >&2
  rows+=("| $label | $scenario | $gap | $failed | $lost | $acked | $leader → $newleader | $rejoin |")
}

c="$work/c$tuned"; clusters+=("$c")
t0=$(date +%s)
patroni_up "$c" "$tuned" 10 2 5
echo "cluster ttl 10 / loop_wait 2 / retry_timeout 5 up in $(( $(date +%s) - t0 )) s" >&2
run "$c" host-crash 40 2 "ttl10/lw2/rt5"
run "$c" postgres-crash 40 2 "ttl10/lw2/rt5"
run "$c" switchover 40 2 "ttl10/lw2/rt5"
patroni_down "$c"

c="$work/c$defaults"; clusters+=("$c")
t0=$(date +%s)
patroni_up "$c" "$defaults" 30 10 10
echo "cluster ttl 30 / loop_wait 10 / retry_timeout 10 up in $(( $(date +%s) - t0 )) s" >&2
# 60 s: with ttl 30 the leader key can outlive the crash by up to 30 s, past a 40 s probe.
run "$c" host-crash 60 10 "defaults ttl30/lw10/rt10"
patroni_down "$c"

echo "| Patroni settings | scenario | unavailable s (longest gap between acknowledged writes) | failed writes | lost acknowledged writes | acknowledged | leader | rejoin s |"
echo "|---|---|---:|---:|---:|---:|---|---:|"
printf '%s\n' "${rows[@]}"
