#!/usr/bin/env bash
# TLS cost through PgBouncer: pgbench select-only and tpcb-like (and select-only with a new
# connection per transaction, -C, where the TLS handshake is paid every time) through PgBouncer,
# and, to split the cost, select-only and tpcb-like straight to PostgreSQL (one TLS leg, no pooler),
# with TLS (the default: client TLS to PgBouncer, verify-full from PgBouncer to PostgreSQL) and in
# plain text (tls: disabled), in the same run: two identical clusters side by side (TLS on
# 127.0.191.0/24, plain on 127.0.192.0/24), runs interleaved TLS/plain pair by pair (the order
# alternating), so that the shared machine's drift hits both modes alike. Per workload: medians of
# each mode and the median of the per-pair losses, loss = (plain - tls) / plain.
#
# Usage: bench/tls.sh [rounds (default 3)] [seconds per run (default 20)] [clients (default 16)]
# Runs its clusters in a temporary directory and removes them afterwards.
# Writes bench/results/tls.md and tls.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${1:-3}"
duration="${2:-20}"
clients="${3:-16}"
out="$here/bench/results"
mkdir -p "$out"
work=$(mktemp -d /tmp/pgwarden-tlsbench-XXXX)
chmod 755 "$work"
"$here/pgwarden" --help >/dev/null
cp -a "$here/.build/pgwarden" "$work/bin"   # a rebuild of .build/ during the run must not swap the agents' files
pgw="$work/bin/pgwarden"
pgbench=/usr/lib/postgresql/15/bin/pgbench
psql=/usr/lib/postgresql/15/bin/psql
declare -A dirs=([tls]="$work/tls" [plain]="$work/plain") hosts=([tls]=127.0.191.1 [plain]=127.0.192.1)

cfg() { # mode: tls | plain
  local net; net=$([[ $1 == tls ]] && echo 191 || echo 192)
  cat <<YAML
cluster: tlsbench-$1
hardware: { ram: 2GB, cpus: 2, storage: ssd }
postgres: { max_connections: 100 }
database: { app_networks: [127.0.0.1/32] }
nodes:
  - { name: pg1, address: 127.0.$net.1, port: 5532, api_port: 8008 }
  - { name: pg2, address: 127.0.$net.2, port: 5532, api_port: 8008 }
poolers:
  - { name: pgb1, address: 127.0.$net.1, port: 6432 }
YAML
  [[ $1 == plain ]] && echo "tls: disabled"
  return 0
}
cleanup() {
  for m in tls plain; do "$pgw" down --dir "${dirs[$m]}" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

client_env() { # mode -> libpq environment for pgbench/psql
  if [[ $1 == tls ]]; then echo "PGSSLMODE=verify-full PGSSLROOTCERT=${dirs[tls]}/tls/ca.crt"; else echo "PGSSLMODE=disable"; fi
}
su_sql() { # mode sql: superuser through the primary's socket (peer, mapped OS user)
  "$psql" -h "${dirs[$1]}/nodes/pg1/run" -p 5532 -U postgres -d bookreader -qAt -c "$2"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for m in tls plain; do
  mkdir -p "${dirs[$m]}"; cfg "$m" >"${dirs[$m]}/cluster.yaml"
  echo "== up ($m)"
  "$pgw" up --dir "${dirs[$m]}" >"$work/up-$m.log" 2>&1 || { cat "$work/up-$m.log"; exit 1; }
  pw=$(grep '^app_password:' "${dirs[$m]}/secrets.yaml" | cut -d'"' -f2)
  echo "== pgbench -i -s 10 ($m, through the primary)"
  env PGPASSWORD="$pw" PGUSER=bookreader_app $(client_env "$m") "$pgbench" -h "${hosts[$m]}" -p 5532 -d bookreader -i -s 10 -q >/dev/null 2>&1
  su_sql "$m" "CHECKPOINT" >/dev/null
done
# Sanity: with TLS on, a plain-text client is refused by PgBouncer.
tls_pw=$(grep '^app_password:' "${dirs[tls]}/secrets.yaml" | cut -d'"' -f2)
if env PGPASSWORD="$tls_pw" PGUSER=bookreader_app PGSSLMODE=disable "$psql" -h "${hosts[tls]}" -p 6432 -d bookreader -qAt -c 'SELECT 1' >/dev/null 2>&1; then
  echo "PgBouncer accepted a plain-text client with TLS on" >&2; exit 1
fi

rows=()
run() { # mode workload
  local mode=$1 workload=$2 log="$work/run.log" seconds=$duration port=6432
  [[ $workload == *-direct ]] && port=5532
  local args=(-h "${hosts[$mode]}" -p "$port" -d bookreader -c "$clients" -j 2 -n)
  case $workload in
    select-only|select-only-direct) args+=(-S) ;;
    select-only-C) args+=(-S -C); seconds=$(( (duration + 1) / 2 )) ;;
  esac
  args+=(-T "$seconds")
  local pw; pw=$(grep '^app_password:' "${dirs[$mode]}/secrets.yaml" | cut -d'"' -f2)
  env PGPASSWORD="$pw" PGUSER=bookreader_app $(client_env "$mode") timeout $((seconds + 60)) "$pgbench" "${args[@]}" >"$log" 2>&1 || { cat "$log"; exit 1; }
  local tps; tps=$(grep -oP 'tps = \K[0-9.]+' "$log" | head -1)
  # What the primary saw: the app's connections (PgBouncer's, or pgbench's own) encrypted or not.
  local ssl; ssl=$(su_sql "$mode" "SELECT coalesce(bool_and(s.ssl)::text, 'none') FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = 'bookreader_app'")
  printf '   round %s  %-5s %-14s %10s tps  (server connections ssl: %s, load %s)\n' "$round" "$mode" "$workload" "$tps" "$ssl" "$(cut -d' ' -f1 /proc/loadavg)"
  rows+=("$round|$mode|$workload|$tps|$ssl")
}
for round in $(seq "$rounds"); do
  for workload in select-only tpcb-like select-only-C select-only-direct tpcb-like-direct; do
    if (( round % 2 == 1 )); then order=(tls plain); else order=(plain tls); fi
    for mode in "${order[@]}"; do run "$mode" "$workload"; done
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

median() { sort -n | awk '{a[NR]=$1} END{ if (NR%2) printf "%.1f", a[(NR+1)/2]; else printf "%.1f", (a[NR/2]+a[NR/2+1])/2 }'; }
tps_of() { printf '%s\n' "${rows[@]}" | awk -F'|' -v m="$1" -v w="$2" '$2==m && $3==w {print $4}'; }
pair_losses() { paste -d' ' <(tps_of plain "$1") <(tps_of tls "$1") | awk '{printf "%.1f\n", ($1-$2)/$1*100}'; }
md="$out/tls.md"
json="$out/tls.json"
{
  echo "# TLS cost through PgBouncer"
  echo
  echo "Generated by \`bench/tls.sh $rounds $duration $clients\` on $(date -u +%Y-%m-%d) — $(nproc) CPUs shared by two clusters (PostgreSQL ×2 + PgBouncer each, one idle while the other runs) and pgbench"
  echo "(load average $load_start before, $load_end after). pgbench scale 10, $clients clients, \`-j 2\`, $duration s per run"
  echo "($(( (duration + 1) / 2 )) s with \`-C\`), through PgBouncer (pool_mode = transaction). TLS: client → PgBouncer with"
  echo "\`sslmode=verify-full\` against the cluster CA (ECDSA P-256 certificates), PgBouncer → PostgreSQL with"
  echo "\`server_tls_sslmode = verify-full\`; plain: an identical cluster with \`tls: disabled\`. The *direct* rows connect pgbench"
  echo "straight to PostgreSQL (one TLS leg, no pooler), to split the cost. Both clusters run side by side"
  echo "(primary + replica + PgBouncer each); runs alternate TLS / plain pair by pair, $rounds rounds, the order flipping each round."
  echo "Loss per pair = (plain − TLS) / plain of the two adjacent runs; the table gives the median pair loss."
  echo
  echo "| workload | plain tps (median) | TLS tps (median) | TLS loss (median of pairs) | pair losses | runs plain | runs TLS |"
  echo "|---|---:|---:|---:|---|---|---|"
  for w in select-only tpcb-like select-only-C select-only-direct tpcb-like-direct; do
    p=$(tps_of plain "$w" | median); t=$(tps_of tls "$w" | median)
    loss="$(pair_losses "$w" | median) %"
    label=$w; [[ $w == select-only-C ]] && label="select-only \`-C\` (new connection per transaction)"
    [[ $w == *-direct ]] && label="${w%-direct}, straight to PostgreSQL (no PgBouncer)"
    echo "| $label | $p | $t | $loss | $(pair_losses "$w" | paste -sd' ') | $(tps_of plain "$w" | paste -sd' ') | $(tps_of tls "$w" | paste -sd' ') |"
  done
  echo
  echo "Server connections seen encrypted on the primary (\`pg_stat_ssl\`): TLS runs $(printf '%s\n' "${rows[@]}" | awk -F'|' '$2=="tls"{print $5}' | sort -u | paste -sd,),"
  echo "plain runs $(printf '%s\n' "${rows[@]}" | awk -F'|' '$2=="plain"{print $5}' | sort -u | paste -sd,). Target: ≤ 10 % tps loss (select-only and tpcb-like through PgBouncer)."
} >"$md"
{
  echo "{\"rounds\": $rounds, \"duration_s\": $duration, \"clients\": $clients, \"load_before\": \"$load_start\", \"load_after\": \"$load_end\", \"runs\": ["
  first=1
  for r in "${rows[@]}"; do
    IFS='|' read -r a b c d e <<<"$r"
    [[ $first -eq 1 ]] || echo ","
    first=0
    printf '{"round":%s,"mode":"%s","workload":"%s","tps":%s,"server_ssl":"%s"}' "$a" "$b" "$c" "$d" "$e"
  done
  echo "]}"
} >"$json"
cat "$md"
