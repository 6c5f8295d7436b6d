#!/usr/bin/env bash
# Host-crash failover across network namespaces with a 3-member etcd (issue 12, item 1), run as
# `bench/failover.sh --netns [runs per mode (default 3)]`. The bed is bench/lib/netns.sh: each node,
# PgBouncer and etcd member in a namespace of its own on 198.18.NET.0/24, clients in the root
# namespace. Per run: pgbench through PgBouncer plus two probes inserting a row every ~20 ms on a new
# connection (one through PgBouncer, one direct: multi-host, target_session_attrs=read-write), then
# a host crash of the leader at a random moment: SIGKILL of its agent, fence watchdog, postmaster and
# every backend and of the etcd member of the same host, and its links down (packets to it vanish,
# as they do when a machine dies, instead of being refused as on loopback). Then the host comes back
# (links up, etcd member and agent started) and the time until it streams again is measured.
# Asynchronous (shipped defaults) and synchronous_mode, one bed each. Needs root.
# Writes bench/results/failover-netns.md and failover-netns.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-3}"
out="$here/bench/results"
mkdir -p "$out"
[[ $(id -u) -eq 0 ]] || { echo "failover-netns.sh: needs root (ip netns, iptables)" >&2; exit 2; }
work=$(mktemp -d /tmp/pgwarden-fnetns-XXXX)
chmod 755 "$work"
"$here/pgwarden" --help >/dev/null
cp -a "$here/.build/pgwarden" "$work/bin"
pgw="$work/bin/pgwarden"
dotnet build "$here/bench/probe/Probe.csproj" -c Release -o "$work/probe" -nologo -v q >/dev/null
probe="$work/probe/failover-probe"
bed="$here/bench/lib/netns.sh"
pgbench=/usr/lib/postgresql/15/bin/pgbench
psql=/usr/lib/postgresql/15/bin/psql
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

beds=()
cleanup() {
  for b in "${beds[@]}"; do "$bed" down ${b/:/ } >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
longest_gap() { awk '$1=="ok"||$1=="fail"{ last=$3 } $1=="ok"{ if (prev) { d=$3-prev; if (d>m) m=d } prev=$3 } END{ if (last-prev>m) m=last-prev; printf "%.2f", m/1000}' "$1"; }
top_failure() { grep '^fail' "$1" | cut -d' ' -f4- | cut -c1-90 | sort | uniq -c | sort -rn | head -1 | sed 's/^ *//' || true; }
failed_writes() { grep -c '^fail' "$1" || true; }
lost_writes() { grep '^lost' "$1" | awk '{print NF-1}'; }
leader() { "$pgw" status --config "$1/cluster.yaml" --json 2>/dev/null | grep -oP '"leader": "\K[^"]+' || true; }
wait_healthy() {
  for _ in $(seq 120); do
    "$pgw" status --config "$1/cluster.yaml" >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "cluster $1 did not become healthy" >&2; return 1
}
# Seconds from now until node $2 streams (asked through its Unix socket: the superuser is not admitted over TCP from clients).
wait_streaming() {
  local dir=$1 node=$2 start; start=$(now_ms)
  for _ in $(seq 1200); do
    if [[ $(PGCONNECT_TIMEOUT=1 "$psql" -h "$dir/nodes/$node/run" -p 5432 -U postgres -d postgres -Atc \
      "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null) == streaming ]]; then
      awk -v a="$start" -v b="$(now_ms)" 'BEGIN{printf "%.2f", (b-a)/1000}'
      return 0
    fi
    sleep 0.1
  done
  echo "n/a"
}
# The etcd member (e1..e3) that is etcd's raft leader.
etcd_leader() {
  local net=$1 json
  json=$(ETCDCTL_API=3 etcdctl --endpoints "http://198.18.$net.11:2379,http://198.18.$net.12:2379,http://198.18.$net.13:2379" \
    --dial-timeout 2s --command-timeout 3s endpoint status -w json 2>/dev/null) || { echo "?"; return; }
  python3 -c '
import json,sys
s=json.loads(sys.argv[1]); lead=[e["Status"]["leader"] for e in s if e["Status"]["leader"]][0]
print(next(("e"+e["Endpoint"].split(".")[3][1]) for e in s if e["Status"]["header"]["member_id"]==lead))' "$json" 2>/dev/null || echo "?"
}

results=()
run_mode() { # mode(async|sync) id net
  local mode=$1 id=$2 net=$3 dir="$work/$1"
  mkdir -p "$dir"
  beds+=("$dir:$id")
  "$bed" up "$dir" "$id" "$net" "$([[ $mode == sync ]] && echo true || echo false)" "$pgw"
  local t0; t0=$(now_ms)
  wait_healthy "$dir"
  local cold; cold=$(awk -v a="$t0" -v b="$(now_ms)" 'BEGIN{printf "%.1f", (b-a)/1000}')
  echo "== $mode: 3 nodes, 2 PgBouncers, 3 etcd members in namespaces on 198.18.$net.0/24; healthy $cold s after the processes started"
  local app_pw; app_pw=$(grep '^app_password:' "$dir/secrets.yaml" | cut -d'"' -f2)
  local direct="Host=198.18.$net.1,198.18.$net.2,198.18.$net.3;Port=5432;Username=bookreader_app;Database=bookreader;Target Session Attributes=read-write;Host Recheck Seconds=0"
  local pooled="Host=198.18.$net.21;Port=6432;Username=bookreader_app;Database=bookreader"
  for r in $(seq "$runs"); do
    wait_healthy "$dir"
    local l; l=$(leader "$dir")
    PGPASSWORD="$app_pw" "$pgbench" -h 198.18.$net.21 -p 6432 -U bookreader_app -d bookreader -i -s 1 -q >/dev/null 2>&1 || true
    PGPASSWORD="$app_pw" "$pgbench" -h 198.18.$net.21 -p 6432 -U bookreader_app -d bookreader -c 4 -j 2 -T 40 -n >"$work/pgbench.log" 2>&1 &
    local load=$!
    PGPASSWORD="$app_pw" "$probe" "$pooled" 35 "$work/pooled.txt" probe_pooled &
    local p1=$!
    PGPASSWORD="$app_pw" "$probe" "$direct;Application Name=probe-direct" 35 "$work/direct.txt" probe_direct &
    local p2=$!
    sleep "$(awk -v s=$RANDOM 'BEGIN{srand(s); printf "%.2f", 5 + rand()}')"   # a random moment within the 1 s loop period
    local el; el=$(etcd_leader "$net")
    "$bed" kill-host "$dir" "$id" "n${l#pg}"
    wait "$p1" "$p2" || true
    kill "$load" 2>/dev/null || true; wait "$load" 2>/dev/null || true
    local after outcome=ok; after=$(leader "$dir")
    [[ -n $after && $after != "$l" ]] || outcome="FAILED: leader stayed ${after:-none}"
    local log="$dir/logs/agent-$l.log" lines; lines=$(wc -l <"$log" 2>/dev/null || echo 0)
    "$bed" start-host "$dir" "$id" "n${l#pg}"
    local rejoin; rejoin=$(wait_streaming "$dir" "$l")
    local steps; steps=$(tail -n +"$((lines + 1))" "$log" | grep -oP '(took [0-9.]+ s|rejoin step [^:]*: [0-9.]+ s)' | paste -sd';' - || true)
    local on_host=no; [[ $el == "e${l#pg}" ]] && on_host=yes; [[ $el == "?" ]] && on_host="?"
    local row; row="$mode|$r|$l→$after|$on_host|$(longest_gap "$work/direct.txt")|$(longest_gap "$work/pooled.txt")|$(( $(failed_writes "$work/direct.txt") + $(failed_writes "$work/pooled.txt") ))|$(( $(lost_writes "$work/direct.txt") + $(lost_writes "$work/pooled.txt") ))|$rejoin|$outcome"
    echo "   $row ${steps:+($steps)}"
    echo "      direct failures: $(top_failure "$work/direct.txt"); PgBouncer failures: $(top_failure "$work/pooled.txt")"
    results+=("$row")
  done
  "$bed" down "$dir" "$id"
  colds+=("$mode $cold s")
}

colds=()
base=$(( $$ % 100000 ))
run_mode async "$base" $(( 1 + base % 250 ))
run_mode sync "$(( base + 1 ))" $(( 1 + (base + 1) % 250 ))

column() { # mode column -> "median max" of runs whose outcome was ok
  printf '%s\n' "${results[@]}" | awk -F'|' -v m="$1" -v c="$2" '$1==m && $10=="ok" && $c ~ /^[0-9.]+$/ {print $c}' \
    | sort -n | awk '{a[NR]=$1} END{ if (NR==0) printf "— —"; else printf "%s %s", a[int((NR+1)/2)], a[NR]}'
}
{
  echo "# Failover across network namespaces, 3-member etcd"
  echo
  echo "Generated by \`bench/failover.sh --netns $runs\` on $(date -u +%Y-%m-%d) — $(nproc) CPUs (load average at start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg))."
  echo "Bed: bench/lib/netns.sh — pg1..pg3 (PostgreSQL + agent), pgb1/pgb2 (PgBouncer + pooler) and etcd members e1..e3 each in a network namespace of its own, on a bridge in a dedicated namespace; the clients run in the root namespace. PgWarden at its shipped defaults (ttl 5 s, loop_wait 1 s). From cold start of the processes to a healthy cluster: ${colds[*]}."
  echo "Load: pgbench (4 clients, tpcb-like) through PgBouncer plus two probes inserting a row every ~20 ms on a new connection: one direct (multi-host, target_session_attrs=read-write, Host Recheck Seconds=0, 2 s connect timeout), one through PgBouncer."
  echo "host-crash = SIGKILL of the leader's agent, fence watchdog, postmaster and backends *and of the etcd member of the same host*, with the host's links set down (packets vanish: a connection attempt to it waits for its timeout, unlike loopback where it is refused). \"etcd leader on the host\" = the crashed host's etcd member was etcd's raft leader, so etcd elected a new one first. Rejoin = from links up and the host's etcd member and agent started until the node streams again."
  echo
  echo "| mode | runs with a new leader / runs | gap direct median / max s | gap via PgBouncer median / max s | failed writes (max) | lost (max) | rejoin median / max s |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for m in async sync; do
    n=$(printf '%s\n' "${results[@]}" | awk -F'|' -v m="$m" '$1==m' | wc -l)
    ((n > 0)) || continue
    ok=$(printf '%s\n' "${results[@]}" | awk -F'|' -v m="$m" '$1==m && $10=="ok"' | wc -l)
    read -r dmed dmax <<<"$(column "$m" 5)"
    read -r pmed pmax <<<"$(column "$m" 6)"
    read -r _ fmax <<<"$(column "$m" 7)"
    read -r _ lmax <<<"$(column "$m" 8)"
    read -r rmed rmax <<<"$(column "$m" 9)"
    echo "| $m | $ok / $n | $dmed / $dmax | $pmed / $pmax | $fmax | $lmax | $rmed / $rmax |"
  done
  echo
  echo "On loopback (bench/results/failover.md, same defaults) host-crash gave a direct gap of 4.77 / 4.99 s (async) and 5.88 / 6.43 s (sync), median / max."
  echo
  echo "All runs:"
  echo
  echo "| mode | run | leader | etcd leader on the host | gap direct s | gap PgBouncer s | failed | lost | rejoin s | outcome |"
  echo "|---|---:|---|---|---:|---:|---:|---:|---:|---|"
  for r in "${results[@]}"; do echo "| ${r//|/ | } |"; done
} >"$out/failover-netns.md"
{
  echo "{\"runs\": $runs, \"results\": ["
  first=1
  for r in "${results[@]}"; do
    IFS='|' read -r a b c d e f g h i j <<<"$r"
    [[ $first -eq 1 ]] || echo ","
    first=0
    printf '{"mode":"%s","run":%s,"leader":"%s","etcd_leader_on_host":"%s","gap_direct_s":"%s","gap_pgbouncer_s":"%s","failed_writes":"%s","lost":"%s","rejoin_s":"%s","outcome":"%s"}' "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i" "$j"
  done
  echo "]}"
} >"$out/failover-netns.json"
cat "$out/failover-netns.md"
