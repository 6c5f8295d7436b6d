#!/usr/bin/env bash
# Failover benchmark, PgWarden and Patroni side by side in the same run: pgbench load plus two
# probes that insert a row every ~20 ms on a new connection — one through PgBouncer, one direct
# (a multi-host connection string with target_session_attrs=read-write) — while a fault hits the
# leader at a random moment within the HA loop period. Per scenario and run: the longest gap
# between two acknowledged writes (direct and through PgBouncer), failed writes, lost acknowledged
# writes, and after a host crash the time until the crashed node streams again once its agent
# starts (its rejoin steps are taken from the agent's log).
#
# Usage: bench/failover.sh [runs per scenario (default 5)] [pgwarden|patroni|all (default all)]
#        bench/failover.sh --netns [runs per mode (default 3)]: host-crash failover across network
#        namespaces with a 3-member etcd (bench/failover-netns.sh; writes bench/results/failover-netns.md)
# Clusters: PgWarden on 127.0.92.0/24 (asynchronous) and 127.0.93.0/24 (synchronous_mode),
# Patroni on 127.0.150.0/24 and 127.0.151.0/24; all in a temporary directory, stopped by PID at the end.
# Writes bench/results/failover.md and failover.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ ${1:-} == --netns ]]; then
  shift
  exec "$here/bench/failover-netns.sh" "$@"
fi
runs="${1:-5}"
which="${2:-all}"
out="$here/bench/results"
mkdir -p "$out"
work=$(mktemp -d /tmp/pgwarden-fbench-XXXX)
chmod 755 "$work"
"$here/pgwarden" --help >/dev/null
# A private copy of the build: a rebuild of .build/ during the run must not swap the running agents' files.
cp -a "$here/.build/pgwarden" "$work/bin"
pgw="$work/bin/pgwarden"
dotnet build "$here/bench/probe/Probe.csproj" -c Release -o "$work/probe" -nologo -v q >/dev/null
probe="$work/probe/failover-probe"
pgbench=/usr/lib/postgresql/15/bin/pgbench
psql=/usr/lib/postgresql/15/bin/psql

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
clusters=()
patroni_clusters=()
cleanup() {
  for c in "${clusters[@]}"; do "$pgw" down --dir "$c" >/dev/null 2>&1 || true; done
  for c in "${patroni_clusters[@]}"; do patroni_down "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
# The longest gap in seconds between two consecutive acknowledged writes of a probe output file.
# Failures after the last acknowledged write count up to the last attempt (a probe that never succeeds again has no end).
longest_gap() { awk '$1=="ok"||$1=="fail"{ last=$3 } $1=="ok"{ if (prev) { d=$3-prev; if (d>m) m=d } prev=$3 } END{ if (last-prev>m) m=last-prev; printf "%.2f", m/1000}' "$1"; }
# The most frequent failure message of a probe output file (for the report), shortened.
top_failure() { grep '^fail' "$1" | cut -d' ' -f4- | cut -c1-90 | sort | uniq -c | sort -rn | head -1 | sed 's/^ *//' || true; }
failed_writes() { grep -c '^fail' "$1" || true; }
lost_writes() { grep '^lost' "$1" | awk '{print NF-1}'; }
# Every process of a tree, the root first (a host crash takes all of them at once).
tree() { local p=$1; echo "$p"; for c in $(ps -o pid= --ppid "$p"); do tree "$c"; done; }

# ---------------------------------------------------------------- PgWarden
make_cluster() { # subnet extra-yaml -> dir
  local dir="$work/c$1"
  mkdir -p "$dir"
  cat >"$dir/cluster.yaml" <<YAML
cluster: fbench$1
hardware: { ram: 2GB, cpus: 2, storage: ssd }
database: { app_networks: [127.0.0.1/32] }
nodes:
  - { name: pg1, address: 127.0.$1.1, port: 5532, api_port: 8008 }
  - { name: pg2, address: 127.0.$1.2, port: 5532, api_port: 8008 }
  - { name: pg3, address: 127.0.$1.3, port: 5532, api_port: 8008 }
poolers:
  - { name: pgb1, address: 127.0.$1.1, port: 6432 }
$2
YAML
  "$pgw" up --dir "$dir" >"$dir/up.log" 2>&1 || { cat "$dir/up.log"; exit 1; }
  echo "$dir"
}
leader() { "$pgw" status --dir "$1" --json 2>/dev/null | grep -oP '"leader": "\K[^"]+' || true; }
wait_healthy() {
  for _ in $(seq 120); do
    "$pgw" status --dir "$1" >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "cluster $1 did not become healthy" >&2; return 1
}
# Seconds from now until node $2 of cluster $1 streams from the leader (pg_stat_wal_receiver).
wait_streaming() {
  local dir=$1 node=$2 subnet=$3 start; start=$(now_ms)
  local pw; pw=$(grep '^superuser_password:' "$dir/secrets.yaml" | cut -d'"' -f2)
  for _ in $(seq 1200); do
    if [[ $(PGPASSWORD="$pw" PGCONNECT_TIMEOUT=1 "$psql" -h "127.0.$subnet.${node#pg}" -p 5532 -U postgres -d postgres -Atc \
      "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null) == streaming ]]; then
      awk -v a="$start" -v b="$(now_ms)" 'BEGIN{printf "%.2f", (b-a)/1000}'
      return 0
    fi
    sleep 0.1
  done
  echo "n/a"
}

results=()
run_pgwarden() { # scenario dir subnet
  local name=$1 dir=$2 subnet=$3
  local app_pw; app_pw=$(grep '^app_password:' "$dir/secrets.yaml" | cut -d'"' -f2)
  local direct="Host=127.0.$subnet.1,127.0.$subnet.2,127.0.$subnet.3;Port=5532;Username=bookreader_app;Database=bookreader;Target Session Attributes=read-write;Host Recheck Seconds=0"
  local pooled="Host=127.0.$subnet.1;Port=6432;Username=bookreader_app;Database=bookreader"
  for r in $(seq "$runs"); do
    wait_healthy "$dir"
    local l; l=$(leader "$dir")
    PGPASSWORD="$app_pw" "$pgbench" -h 127.0.$subnet.1 -p 6432 -U bookreader_app -d bookreader -i -s 1 -q >/dev/null 2>&1 || true
    PGPASSWORD="$app_pw" "$pgbench" -h 127.0.$subnet.1 -p 6432 -U bookreader_app -d bookreader -c 4 -j 2 -T 40 -n >"$work/pgbench.log" 2>&1 &
    local load=$!
    PGPASSWORD="$app_pw" "$probe" "$pooled" 35 "$work/pooled.txt" probe_pooled &
    local p1=$!
    PGPASSWORD="$app_pw" "$probe" "$direct;Application Name=probe-direct" 35 "$work/direct.txt" probe_direct &
    local p2=$!
    sleep "$(awk -v s=$RANDOM 'BEGIN{srand(s); printf "%.2f", 5 + rand()}')"   # a random moment within the 1 s loop period
    local fault_at; fault_at=$(date +%s)
    local pm; pm=$(head -1 "$dir/nodes/$l/data/postmaster.pid")
    case $name in
      postgres-crash) kill -9 "$pm" ;;
      host-crash|sync-host-crash)
        # agent, fence watchdog, postmaster and every backend at once
        # shellcheck disable=SC2046
        kill -9 $(tree "$(cat "$dir/nodes/$l/agent.pid")") 2>/dev/null || true ;;
      switchover) "$pgw" switchover --dir "$dir" --yes >"$work/switchover.log" 2>&1 || cat "$work/switchover.log" ;;
    esac
    wait "$p1" "$p2" || true
    kill "$load" 2>/dev/null || true; wait "$load" 2>/dev/null || true
    # The run counts only if the fault had its intended outcome (a switchover that was refused or a
    # crash that failed over instead of restarting in place would measure something else).
    local after outcome=ok; after=$(leader "$dir")
    case $name in
      postgres-crash)
        [[ $after == "$l" && $(head -1 "$dir/nodes/$l/data/postmaster.pid" 2>/dev/null) != "$pm" ]] \
          || outcome="FAILED: leader $l -> ${after:-none}, not restarted in place" ;;
      *) [[ -n $after && $after != "$l" ]] || outcome="FAILED: leader stayed ${after:-none}" ;;
    esac
    local rejoin="" steps=""
    if [[ $name == host-crash || $name == sync-host-crash ]]; then
      # The crashed host comes back: its agent starts (`up` starts what is missing) and rejoins.
      local log="$dir/logs/agent-$l.log"
      local lines; lines=$(wc -l <"$log" 2>/dev/null || echo 0)
      "$pgw" up --dir "$dir" >/dev/null 2>&1 &
      local upjob=$!
      rejoin=$(wait_streaming "$dir" "$l" "$subnet")
      wait "$upjob" || true
      steps=$(tail -n +"$((lines + 1))" "$log" | grep -oP '(took [0-9.]+ s|rejoin step [^:]*: [0-9.]+ s)' | paste -sd';' - || true)
    fi
    if [[ $name == postgres-crash ]]; then
      # A second crash of the same primary within 60 s is handled differently (restart, then switch over): space them.
      local rest=$(( fault_at + 62 - $(date +%s) )); ((rest > 0)) && sleep "$rest"
    fi
    local row; row="pgwarden|$name|$r|$(longest_gap "$work/direct.txt")|$(longest_gap "$work/pooled.txt")|$(( $(failed_writes "$work/direct.txt") + $(failed_writes "$work/pooled.txt") ))|$(( $(lost_writes "$work/direct.txt") + $(lost_writes "$work/pooled.txt") ))|${rejoin:-}|$outcome"
    echo "   $row ${steps:+($steps)}"
    echo "      direct failures: $(top_failure "$work/direct.txt"); PgBouncer failures: $(top_failure "$work/pooled.txt")"
    results+=("$row")
  done
}

# ---------------------------------------------------------------- Patroni
run_patroni() { # label dir subnet scenario
  local label=$1 dir=$2 subnet=$3 name=$4
  local app_pw; app_pw=$(patroni_app_password "$dir")
  local direct; direct=$(patroni_conninfo "$dir")
  for r in $(seq "$runs"); do
    patroni_wait_healthy "$dir" 120
    local l; l=$(patroni_leader "$dir")
    PGPASSWORD="$app_pw" "$pgbench" -h 127.0.$subnet.${l#pg} -p 5532 -U bookreader_app -d bookreader -i -s 1 -q >/dev/null 2>&1 || true
    PGPASSWORD="$app_pw" "$pgbench" -h 127.0.$subnet.${l#pg} -p 5532 -U bookreader_app -d bookreader -c 4 -j 2 -T 40 -n >"$work/pgbench.log" 2>&1 &
    local load=$!
    PGPASSWORD="$app_pw" "$probe" "$direct;Application Name=probe-direct" 35 "$work/direct.txt" probe_direct &
    local p=$!
    sleep "$(awk -v s=$RANDOM 'BEGIN{srand(s); printf "%.2f", 5 + rand()}')"
    patroni_fault "$dir" "$name"
    wait "$p" || true
    kill "$load" 2>/dev/null || true; wait "$load" 2>/dev/null || true
    local rejoin=""
    if [[ $name == host-crash ]]; then
      patroni_restart_crashed "$dir" "$l"
      rejoin=$(patroni_wait_streaming "$dir" "$l" 600 || echo "n/a")
    fi
    local after outcome=ok; after=$(patroni_leader "$dir")
    case $name in
      postgres-crash) [[ $after == "$l" ]] || outcome="FAILED: leader $l -> ${after:-none}" ;;
      *) [[ -n $after && $after != "$l" ]] || outcome="FAILED: leader stayed ${after:-none}" ;;
    esac
    local row; row="$label|$name|$r|$(longest_gap "$work/direct.txt")||$(failed_writes "$work/direct.txt")|$(lost_writes "$work/direct.txt")|$rejoin|$outcome"
    echo "   $row"
    echo "      direct failures: $(top_failure "$work/direct.txt")"
    results+=("$row")
  done
}

if [[ $which == all || $which == pgwarden ]]; then
  echo "== PgWarden, asynchronous (shipped defaults)"
  clusters+=("$work/c92")   # registered before it starts, so cleanup stops it whatever happens
  async=$(make_cluster 92 "")
  pgw_ttl=$("$pgw" status --dir "$async" --json 2>/dev/null | grep -oP '"ttl": \K[0-9]+' | head -1)
  up_async=$(grep -oP 'is up: .*\(\K[0-9.]+(?= s\))' "$async/up.log" || echo "?")
  run_pgwarden host-crash "$async" 92
  run_pgwarden postgres-crash "$async" 92
  run_pgwarden switchover "$async" 92
  "$pgw" down --dir "$async" >/dev/null 2>&1 || true
  echo "== PgWarden, synchronous_mode"
  clusters+=("$work/c93")
  sync=$(make_cluster 93 "dcs: { synchronous_mode: true }")
  up_sync=$(grep -oP 'is up: .*\(\K[0-9.]+(?= s\))' "$sync/up.log" || echo "?")
  run_pgwarden sync-host-crash "$sync" 93
  "$pgw" down --dir "$sync" >/dev/null 2>&1 || true
fi
if [[ $which == all || $which == patroni ]]; then
  # shellcheck source=lib/patroni.sh
  source "$here/bench/lib/patroni.sh"
  for setting in "ttl10 10 2 5 150" "defaults 30 10 10 151"; do
    read -r label ttl loop retry subnet <<<"$setting"
    echo "== Patroni, ttl $ttl / loop_wait $loop / retry_timeout $retry"
    patroni_clusters+=("$work/p$subnet")
    patroni_up "$work/p$subnet" "$subnet" "$ttl" "$loop" "$retry"
    for s in host-crash postgres-crash switchover; do run_patroni "patroni-$label" "$work/p$subnet" "$subnet" "$s"; done
    patroni_down "$work/p$subnet"
  done
fi

# ---------------------------------------------------------------- report
column() { # system scenario column -> "median max" (numeric values of runs whose outcome was ok)
  printf '%s\n' "${results[@]}" | awk -F'|' -v sys="$1" -v s="$2" -v c="$3" '$1==sys && $2==s && $9=="ok" && $c ~ /^[0-9.]+$/ {print $c}' \
    | sort -n | awk '{a[NR]=$1} END{ if (NR==0) printf "— —"; else printf "%s %s", a[int((NR+1)/2)], a[NR]}'
}
{
  echo "# Failover benchmark"
  echo
  echo "Generated by \`bench/failover.sh $runs $which\` on $(date -u +%Y-%m-%d) — $(nproc) CPUs (load average at start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg))."
  [[ -n ${up_async:-} ]] && echo "Cold \`pgwarden up\` of a new 3-node cluster with one PgBouncer, until it serves (as \`up\` reports it): ${up_async} s (asynchronous), ${up_sync:-?} s (synchronous_mode)."
  echo "PgWarden at its shipped defaults (ttl ${pgw_ttl:-?} s, loop_wait 1 s); Patroni $(dpkg-query -W -f='${Version}' patroni 2>/dev/null || echo '(not installed)') with etcd, at ttl 10 / loop_wait 2 / retry_timeout 5 and at its documented defaults (30 / 10 / 10)."
  echo "Load: pgbench (4 clients, tpcb-like) plus two probes inserting a row every ~20 ms on a new connection: one direct (multi-host, target_session_attrs=read-write, Npgsql's host-state cache off: Host Recheck Seconds=0, as libpq has none), one through PgBouncer (PgWarden only)."
  echo "Gap = the longest time between two acknowledged probe writes around the fault (a write waiting in PgBouncer counts). Lost = acknowledged probe writes missing afterwards."
  echo "host-crash = SIGKILL of the leader's agent, its fence watchdog, postmaster and every backend at once; rejoin = from the crashed node's agent start until it streams again."
  echo
  echo "| system | scenario | runs with the intended outcome / runs | gap direct median / max s | gap via PgBouncer median / max s | failed writes (max) | lost (max) | rejoin median / max s |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  for sys in pgwarden patroni-ttl10 patroni-defaults; do
    for s in host-crash postgres-crash switchover sync-host-crash; do
      n=$(printf '%s\n' "${results[@]}" | awk -F'|' -v sys="$sys" -v s="$s" '$1==sys && $2==s' | wc -l)
      ((n > 0)) || continue
      ok=$(printf '%s\n' "${results[@]}" | awk -F'|' -v sys="$sys" -v s="$s" '$1==sys && $2==s && $9=="ok"' | wc -l)
      read -r dmed dmax <<<"$(column "$sys" "$s" 4)"
      read -r pmed pmax <<<"$(column "$sys" "$s" 5)"
      read -r _ fmax <<<"$(column "$sys" "$s" 6)"
      read -r _ lmax <<<"$(column "$sys" "$s" 7)"
      read -r rmed rmax <<<"$(column "$sys" "$s" 8)"
      echo "| $sys | $s | $ok / $n | $dmed / $dmax | $pmed / $pmax | $fmax | $lmax | $rmed / $rmax |"
    done
  done
  echo
  echo "Ratio PgWarden / Patroni (ttl 10) of the median direct gap:"
  echo
  for s in host-crash postgres-crash switchover; do
    read -r a _ <<<"$(column pgwarden "$s" 4)"
    read -r b _ <<<"$(column patroni-ttl10 "$s" 4)"
    if [[ $a =~ ^[0-9.]+$ && $b =~ ^[0-9.]+$ ]]; then
      echo "- $s: $(awk -v a="$a" -v b="$b" 'BEGIN{ printf "%.2f", (b > 0 ? a/b : 0) }')"
    fi
  done
  echo
  echo "All runs (medians and maxima above count only runs whose outcome was ok):"
  echo
  echo "| system | scenario | run | gap direct s | gap PgBouncer s | failed | lost | rejoin s | outcome |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
  for r in "${results[@]}"; do echo "| ${r//|/ | } |"; done
} >"$out/failover.md"
{
  echo "{\"runs\": $runs, \"results\": ["
  first=1
  for r in "${results[@]}"; do
    IFS='|' read -r a b c d e f g h i <<<"$r"
    [[ $first -eq 1 ]] || echo ","
    first=0
    printf '{"system":"%s","scenario":"%s","run":%s,"gap_direct_s":"%s","gap_pgbouncer_s":"%s","failed_writes":"%s","lost":"%s","rejoin_s":"%s","outcome":"%s"}' "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i"
  done
  echo "]}"
} >"$out/failover.json"
cat "$out/failover.md"
