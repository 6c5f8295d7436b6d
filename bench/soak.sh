#!/usr/bin/env bash
# False-failover soak: a PgWarden cluster at its shipped HA defaults (ttl 5 s, loop_wait 1 s) under
# everything that slows an agent down at once, counting leader changes — which must stay 0:
#   - pgbench (tpcb-like, 8 clients, no rate limit) through PgBouncer, the whole time;
#   - physical backups, one after another (`pgwarden backup physical`);
#   - a disk writer that writes 256 MB with fsync in a loop in the cluster's directory (where etcd's
#     data directory is), so etcd's and PostgreSQL's fsyncs queue behind it;
#   - one busy loop per CPU, so the agents compete for every time slice.
# Leader changes are counted three ways: the leader `status --json` names (sampled every second), the
# promotions in the agents' logs, and fence or demote events in the agents' logs.
#
# Usage: bench/soak.sh [minutes (default 30)]
# Cluster on 127.0.94.0/24 in a temporary directory, stopped by PID (via `pgwarden down`) at the end.
# Writes bench/results/soak.md and soak.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
minutes="${1:-30}"
[[ $minutes =~ ^[0-9]+$ && $minutes -ge 1 ]] || { echo "usage: bench/soak.sh [minutes >= 1]" >&2; exit 2; }
out="$here/bench/results"
mkdir -p "$out"
work=$(mktemp -d /tmp/pgwarden-soak-XXXX)
chmod 755 "$work"
"$here/pgwarden" --help >/dev/null
# A private copy of the build: a rebuild of .build/ during the run must not swap the running agents' files.
cp -a "$here/.build/pgwarden" "$work/bin"
pgw="$work/bin/pgwarden"
pgbench=/usr/lib/postgresql/15/bin/pgbench
dir="$work/c94"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$pgw" down --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$dir"
cat >"$dir/cluster.yaml" <<YAML
cluster: soak94
hardware: { ram: 2GB, cpus: 2, storage: ssd }
database: { app_networks: [127.0.0.1/32] }
nodes:
  - { name: pg1, address: 127.0.94.1, port: 5532, api_port: 8008 }
  - { name: pg2, address: 127.0.94.2, port: 5532, api_port: 8008 }
  - { name: pg3, address: 127.0.94.3, port: 5532, api_port: 8008 }
poolers:
  - { name: pgb1, address: 127.0.94.1, port: 6432 }
backup:
  repository: { type: fs, path: backups }
YAML
echo "soak: starting the cluster"
"$pgw" up --dir "$dir" >"$work/up.log" 2>&1 || { cat "$work/up.log"; exit 1; }
leader() { "$pgw" status --dir "$dir" --json 2>/dev/null | grep -oP '"leader": "\K[^"]+' || true; }
app_pw=$(grep '^app_password:' "$dir/secrets.yaml" | cut -d'"' -f2)
export PGPASSWORD="$app_pw"
"$pgbench" -i -s 10 -q -h 127.0.94.1 -p 6432 -U bookreader_app bookreader >"$work/pgbench-init.log" 2>&1 \
  || { cat "$work/pgbench-init.log"; exit 1; }
first=$(leader)
seconds=$((minutes * 60))
count_in_logs() { cat "$dir"/logs/agent-pg*.log | grep -cE "$1" || true; }
fence_pattern='fenced|demoted|the leader lease was lost|watchdog .*kill'
promotions_before=$(count_in_logs promoted)
fences_before=$(count_in_logs "$fence_pattern")
echo "soak: $minutes min, leader $first; load starts"

"$pgbench" -n -c 8 -j 2 -T "$seconds" -P 60 -h 127.0.94.1 -p 6432 -U bookreader_app bookreader >"$work/pgbench.log" 2>&1 &
pids+=($!)
( backups=0; failed=0
  while :; do
    if "$pgw" backup physical --dir "$dir" >"$work/backup-last.log" 2>&1; then backups=$((backups + 1)); else failed=$((failed + 1)); fi
    echo "$backups $failed" >"$work/backups.count"
    sleep 5
  done ) &
pids+=($!)
( while :; do dd if=/dev/zero of="$dir/soak-disk-writer" bs=1M count=256 conv=fsync status=none; rm -f "$dir/soak-disk-writer"; done ) &
pids+=($!)
for _ in $(seq "$(nproc)"); do ( while :; do :; done ) & pids+=($!); done

changes=0 samples=0 unknown=0 previous=$first
end=$(( $(date +%s) + seconds ))
while (( $(date +%s) < end )); do
  sleep 1
  now=$(leader)
  samples=$((samples + 1))
  if [[ -z $now ]]; then unknown=$((unknown + 1)); continue; fi
  if [[ $now != "$previous" ]]; then changes=$((changes + 1)); echo "soak: leader changed $previous -> $now at $(date -u +%H:%M:%S)"; previous=$now; fi
done
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
pids=()
rm -f "$dir/soak-disk-writer"

promotions=$(( $(count_in_logs promoted) - promotions_before ))
fences=$(( $(count_in_logs "$fence_pattern") - fences_before ))
tps=$(grep -oP 'tps = \K[0-9.]+' "$work/pgbench.log" | head -1 || true)
# pgbench's clients abort on their first error; a soak whose load stopped early proves nothing.
aborted=$(grep -c 'aborted\|error' "$work/pgbench.log" || true)
read -r backups backups_failed <"$work/backups.count" || { backups=0; backups_failed=0; }
last=$(leader)
when=$(date -u '+%Y-%m-%d %H:%M UTC')
verdict=$([[ $changes -eq 0 && $promotions -eq 0 && $fences -eq 0 && -n $tps && $aborted -eq 0 && $backups -gt 0 && $backups_failed -eq 0 ]] && echo pass || echo FAIL)
{
  echo "# False-failover soak"
  echo
  echo "$when, $(nproc) cores, \`bench/soak.sh $minutes\`: PgWarden at its shipped defaults (ttl 5 s, loop_wait 1 s)."
  echo "Load for $minutes min: pgbench tpcb-like 8 clients unthrottled through PgBouncer, physical backups back to back,"
  echo "a disk writer (256 MB with fsync, in a loop, beside etcd's data), one busy loop per CPU."
  echo
  echo "| leader changes (\`status\` sampled back to back) | promotions in agent logs | fence/demote events | status unreadable | pgbench tps (errors) | physical backups (failed) | verdict |"
  echo "|---|---|---|---|---|---|---|"
  echo "| $changes ($first → ${last:-?}, $samples samples) | $promotions | $fences | $unknown | ${tps:-?} ($aborted) | $backups ($backups_failed) | $verdict |"
} >"$out/soak.md"
cat >"$out/soak.json" <<JSON
{"when": "$when", "minutes": $minutes, "leader_changes": $changes, "promotions": $promotions, "fence_events": $fences, "status_unreadable": $unknown, "samples": $samples, "pgbench_tps": ${tps:-null}, "pgbench_errors": $aborted, "physical_backups": $backups, "physical_backups_failed": $backups_failed, "verdict": "$verdict"}
JSON
cat "$out/soak.md"
[[ $verdict == pass ]]
