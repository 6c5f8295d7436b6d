#!/usr/bin/env bash
# Backup benchmark on a pgbench database: `pgwarden backup logical` vs the runbook's `pg_dump | gzip`,
# `pgwarden backup physical` vs `pg_basebackup -Ft -z` (and the best stock commands), PITR restore time,
# wal-push cost per real 16 MB segment, and whether archiving keeps up with pgbench at full write rate.
# Each comparison runs both sides back to back on the same data, `rounds` times (the table shows the
# median). Runs everything twice: on the data as pgbench loads it (blank filler, ~55:1 compressible)
# and after `filler = md5(aid)` (realistic). Writes bench/results/backup.md and backup.json.
#
# Usage: bench/backup.sh [scale (default 100)] [pgbench seconds for the archiving test (default 60)] [rounds (default 2)]
# BASELINE_PGWARDEN=/path/to/pgwarden also times that build's wal-push and `backup logical` on the same data.
# Own cluster on 127.0.92.0/24 in a temp dir.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scale="${1:-100}"
seconds="${2:-60}"
rounds="${3:-2}"
baseline="${BASELINE_PGWARDEN:-}"
out="$here/bench/results"
mkdir -p "$out"
pgw="$here/pgwarden"
bin=/usr/lib/postgresql/15/bin
"$pgw" --help >/dev/null
pgwbin="$here/.build/pgwarden/pgwarden"

work=$(mktemp -d /tmp/pgwarden-bbench-XXXX)
chmod 755 "$work"
mkdir -p "$work/cluster" "$work/out"
chown postgres "$work/out"
cat >"$work/cluster/cluster.yaml" <<YAML
cluster: bbench
hardware: { ram: 4GB, cpus: 2, storage: ssd }
database: { app_networks: [127.0.0.1/32] }
nodes:
  - { name: pg1, address: 127.0.92.1, port: 5532, api_port: 8008 }
backup:
  repository: { type: fs, path: $work/repo }
YAML
sampler=""
load=""
cleanup() {
  [[ -n $sampler ]] && kill "$sampler" 2>/dev/null || true
  [[ -n $load ]] && kill "$load" 2>/dev/null || true
  if [[ -f $work/restore/postmaster.pid ]]; then
    su postgres -c "$bin/pg_ctl -D $work/restore -m immediate stop" >/dev/null 2>&1 || true
  fi
  "$pgw" down --dir "$work/cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== starting a one-node cluster (load average $load_before)"
"$pgw" up --dir "$work/cluster" >"$work/up.log" 2>&1 || { cat "$work/up.log"; exit 1; }
su_pw=$(grep '^superuser_password:' "$work/cluster/secrets.yaml" | cut -d'"' -f2)
data="$work/cluster/nodes/pg1/data"
sock="$work/cluster/nodes/pg1/run"
passfile="$work/cluster/nodes/pg1/replication.pgpass"
psql_su() { PGPASSWORD="$su_pw" "$bin/psql" -h 127.0.92.1 -p 5532 -U postgres -d bookreader -qAtX "$@"; }
as_pg() { su postgres -s /bin/bash -c "set -euo pipefail; $1"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
median() { sort -n | awk '{a[NR]=$1} END{ if (NR%2) printf "%.2f", a[(NR+1)/2]; else printf "%.2f", (a[NR/2]+a[NR/2+1])/2 }'; }
ready() { find "$data/pg_wal/archive_status" -name '*.ready' | wc -l; }
latest() { # type field -> that field of the newest backup of the type
  "$pgwbin" backup list --dir "$work/cluster" --json | python3 -c "import json,sys; b=[x for x in json.load(sys.stdin)['data']['backups'] if x['type']=='$1' and x.get('status', 'complete')=='complete']; print(b[-1]['$2'])"
}
wait_archived() { # until no .ready file is left (max 300 s)
  for _ in $(seq 300); do [[ $(ready) -eq 0 ]] && return 0; sleep 1; done
  echo "archiving did not catch up within 300 s" >&2; return 1
}

echo "== loading pgbench scale $scale (archiving every segment as it goes)"
t=$(now)
max_ready_load=0
PGPASSWORD="$su_pw" "$bin/pgbench" -h 127.0.92.1 -p 5532 -U postgres -d bookreader -i -s "$scale" -q >"$work/init.log" 2>&1 &
init=$!
while kill -0 "$init" 2>/dev/null; do r=$(ready); ((r > max_ready_load)) && max_ready_load=$r; sleep 1; done
wait "$init"
load_s=$(since "$t")
wait_archived
db_size=$(psql_su -c "SELECT pg_database_size('bookreader')")
echo "   loaded in $load_s s, database $((db_size / 1048576)) MB; most .ready files waiting during the load: $max_ready_load"

declare -A fig
runs() { # key command... : runs the command $rounds times, records each wall time, sets fig[key] to the median
  local key=$1; shift
  local times=()
  for r in $(seq "$rounds"); do
    local s; s=$(now)
    "$@"
    times+=("$(since "$s")")
  done
  fig[$key]=$(printf '%s\n' "${times[@]}" | median)
  fig[${key}_runs]=$(IFS=,; echo "${times[*]}")
  echo "   $key: ${fig[$key]} s (runs: ${fig[${key}_runs]})"
}
runs_ab() { # keyA fnA keyB fnB: alternating B, A, B, A … so both see the same machine load; medians into fig[]
  local ka=$1 fa=$2 kb=$3 fb=$4 ta=() tb=() s
  for r in $(seq "$rounds"); do
    s=$(now); "$fb"; tb+=("$(since "$s")")
    s=$(now); "$fa"; ta+=("$(since "$s")")
  done
  fig[$ka]=$(printf '%s\n' "${ta[@]}" | median); fig[${ka}_runs]=$(IFS=,; echo "${ta[*]}")
  fig[$kb]=$(printf '%s\n' "${tb[@]}" | median); fig[${kb}_runs]=$(IFS=,; echo "${tb[*]}")
  echo "   $ka: ${fig[$ka]} s (runs: ${fig[${ka}_runs]}); $kb: ${fig[$kb]} s (runs: ${fig[${kb}_runs]})"
}
gzip_dump() { rm -f "$work/out/dump.sql.gz"; as_pg "$bin/pg_dump -h $sock -p 5532 bookreader | gzip > $work/out/dump.sql.gz"; }
fd_dump() { rm -rf "$work/out/fd"; as_pg "$bin/pg_dump -h $sock -p 5532 -Fd -j 2 -Z 1 -f $work/out/fd bookreader"; }
raw_dump() { as_pg "$bin/pg_dump -h $sock -p 5532 bookreader > /dev/null"; }
pgw_logical() { "$pgwbin" backup logical --dir "$work/cluster" "$@" >"$work/logical.log" 2>&1 || { cat "$work/logical.log"; exit 1; }; }
pgw_logical_unsliced() { pgw_logical --slice-mb 0; }
pgw_logical_base() { "$baseline" backup logical --dir "$work/cluster" >"$work/logical-base.log" 2>&1 || { cat "$work/logical-base.log"; exit 1; }; }
copy_floor() { # the rows of pgbench_accounts read by 2 connections (two halves by page range) into /dev/null: no dump is faster
  local half; half=$(psql_su -c "SELECT pg_relation_size('pgbench_accounts') / 8192 / 2")
  as_pg "$bin/psql -h $sock -p 5532 -d bookreader -Xqc \"COPY (SELECT * FROM pgbench_accounts WHERE ctid < '($half,0)') TO STDOUT\" > /dev/null &
    $bin/psql -h $sock -p 5532 -d bookreader -Xqc \"COPY (SELECT * FROM pgbench_accounts WHERE ctid >= '($half,0)') TO STDOUT\" > /dev/null; wait"
}
restore_logical() { # newest logical backup into a new database, then drop it
  local db="bench_restore_$RANDOM"
  "$pgwbin" restore-logical latest --db "$db" --dir "$work/cluster" >"$work/restore-logical.log" 2>&1 || { cat "$work/restore-logical.log"; exit 1; }
  psql_su -c "DROP DATABASE $db"
}
bb() { rm -rf "$work/out/bb"; as_pg "PGPASSFILE=$passfile $bin/pg_basebackup -h 127.0.92.1 -p 5532 -U replicator --checkpoint=fast -D $work/out/bb -Ft $1"; }
bb_gzip() { bb -z; }
bb_zstd() { bb --compress=server-zstd:workers=2; }
bb_raw() { as_pg "PGPASSFILE=$passfile $bin/pg_basebackup -h 127.0.92.1 -p 5532 -U replicator --checkpoint=fast -D - -Ft -X fetch > /dev/null"; }
pgw_physical() { "$pgwbin" backup physical --dir "$work/cluster" >"$work/physical.log" 2>&1 || { cat "$work/physical.log"; exit 1; }; }

compare() { # variant
  local v=$1
  echo "== [$v] logical: runbook pg_dump | gzip, pg_dump -Fd -j 2 -Z 1, pgwarden backup logical ($rounds rounds, back to back)"
  runs "${v}_gzip_s" gzip_dump
  fig[${v}_gzip_bytes]=$(stat -c %s "$work/out/dump.sql.gz")
  runs "${v}_fd_s" fd_dump
  fig[${v}_fd_bytes]=$(du -sb "$work/out/fd" | cut -f1)
  rm -rf "$work/out/fd" "$work/out/dump.sql.gz"
  if [[ -n $baseline ]]; then
    runs_ab "${v}_logical_s" pgw_logical "${v}_logical_base_s" pgw_logical_base
  else
    runs "${v}_logical_s" pgw_logical; fig[${v}_logical_base_s]=null; fig[${v}_logical_base_s_runs]=""
  fi
  fig[${v}_logical_bytes]=$(latest logical stored_size)
  fig[${v}_dump_text_bytes]=$(latest logical size)
  runs "${v}_restore_logical_s" restore_logical
  runs "${v}_pgdump_only_s" raw_dump
  runs "${v}_copy_floor_s" copy_floor
  runs "${v}_unsliced_s" pgw_logical_unsliced
  echo "== [$v] physical: pg_basebackup -Ft -z, server-zstd:workers=2, pgwarden backup physical"
  runs "${v}_bbz_s" bb_gzip
  fig[${v}_bbz_bytes]=$(du -sb "$work/out/bb" | cut -f1)
  runs "${v}_bbzstd_s" bb_zstd
  fig[${v}_bbzstd_bytes]=$(du -sb "$work/out/bb" | cut -f1)
  rm -rf "$work/out/bb"
  runs "${v}_physical_s" pgw_physical
  fig[${v}_physical_bytes]=$(latest physical stored_size)
  fig[${v}_tar_bytes]=$(latest physical size)
  runs "${v}_bb_only_s" bb_raw
}

compare loaded

echo "== filling pgbench_accounts.filler with md5 text (realistic data), VACUUM FULL, CHECKPOINT"
t=$(now)
seg_from=$(psql_su -c "SELECT pg_walfile_name(pg_current_wal_lsn())")
psql_su -c "UPDATE pgbench_accounts SET filler = md5(aid::text)" -c "VACUUM FULL pgbench_accounts" -c "CHECKPOINT"
seg_to=$(psql_su -c "SELECT pg_walfile_name(pg_current_wal_lsn())")
wait_archived
db_size_md5=$(psql_su -c "SELECT pg_database_size('bookreader')")
echo "   done in $(since "$t") s, database $((db_size_md5 / 1048576)) MB"
compare md5

echo "== restore: PITR to a moment after the newest physical backup"
PGPASSWORD="$su_pw" "$bin/pgbench" -h 127.0.92.1 -p 5532 -U postgres -d bookreader -c 4 -j 2 -T 10 -n >/dev/null 2>&1
target=$(psql_su -c "SELECT now()")
sleep 1
PGPASSWORD="$su_pw" "$bin/pgbench" -h 127.0.92.1 -p 5532 -U postgres -d bookreader -c 4 -j 2 -T 5 -n >/dev/null 2>&1
psql_su -c "SELECT pg_switch_wal()" >/dev/null
wait_archived
t=$(now)
"$pgwbin" restore --dir "$work/cluster" --to "$work/restore" --target-time "$target" >"$work/restore-output.log" 2>&1 || { cat "$work/restore-output.log"; exit 1; }
fig[restore_s]=$(since "$t")
echo "   restore to $target: ${fig[restore_s]} s ($(tail -1 "$work/restore-output.log"))"
rm -rf "$work/restore"

echo "== wal-push per real segment: 40 segments written by the md5 UPDATE / VACUUM FULL, pushed again into an empty repository"
mkdir -p "$work/segs" "$work/scratch"
chown postgres "$work/segs" "$work/scratch"
sed "s#path: $work/repo#path: $work/scratch/repo#" "$work/cluster/cluster.yaml" >"$work/scratch/cluster.yaml"
walkeys=$(find "$work/repo" -path '*/wal/0*.zst' -name '????????????????????????.zst' | sort |
  awk -F/ -v a="$seg_from" -v b="$seg_to" '{n=substr($NF,1,24)} n>a && n<b' | awk '{l[NR]=$0} END{s=int((NR-40)/2); if (s<0) s=0; for (i=s+1; i<=s+40 && i<=NR; i++) print l[i]}')
for k in $walkeys; do
  n=$(basename "$k" .zst)
  "$pgwbin" wal-fetch --config "$work/cluster/cluster.yaml" --data-dir "$data" "$n" "$work/segs/$n"
done
nseg=$(echo "$walkeys" | wc -l)
push_times() { # binary -> one wall time (s) per segment
  rm -rf "$work/scratch/repo"
  for f in "$work"/segs/0*; do
    local s; s=$(now)
    # As PostgreSQL runs archive_command: the server user, in the data directory.
    (cd "$data" && setpriv --reuid=postgres --regid=postgres --clear-groups "$1" wal-push --config "$work/scratch/cluster.yaml" "$f")
    since "$s"; echo
  done
}
push_times "$pgwbin" >"$work/push.txt"
fig[push_median_s]=$(median <"$work/push.txt")
fig[push_p90_s]=$(sort -n "$work/push.txt" | awk '{a[NR]=$1} END{printf "%.3f", a[int(NR*0.9+0.999)]}')
fig[push_ratio]=$(du -sb "$work/segs" "$work/scratch/repo" | awk 'NR==1{a=$1} NR==2{printf "%.1f", a/$1}')
echo "   $nseg segments: median ${fig[push_median_s]} s, p90 ${fig[push_p90_s]} s, compression ${fig[push_ratio]}:1"
fig[push_base_median_s]=null
if [[ -n $baseline ]]; then
  push_times "$baseline" >"$work/push-base.txt"
  fig[push_base_median_s]=$(median <"$work/push-base.txt")
  echo "   baseline build ($baseline): median ${fig[push_base_median_s]} s"
fi

echo "== archiving under pgbench at full write rate ($seconds s, 8 clients), sampled every second"
sample() {
  while true; do
    echo "$(date +%s.%N) $(ready) $(psql_su -F ' ' -c "SELECT archived_count, failed_count, pg_current_wal_lsn() - '0/0' FROM pg_stat_archiver")"
    sleep 1
  done
}
sample >"$work/archiver.txt" &
sampler=$!
PGPASSWORD="$su_pw" "$bin/pgbench" -h 127.0.92.1 -p 5532 -U postgres -d bookreader -c 8 -j 2 -T "$seconds" -n >"$work/pgbench.log" 2>&1
t=$(now)
wait_archived
fig[drain_s]=$(since "$t")
kill "$sampler"; wait "$sampler" 2>/dev/null || true; sampler=""
fig[tps]=$(grep -oP 'tps = \K[0-9.]+' "$work/pgbench.log" | head -1)
read -r fig[wal_mb_s] fig[archived] fig[failed] fig[max_ready] fig[ready_first_half] fig[ready_second_half] < <(awk -v n="$seconds" '
  NR==1 { t0=$1; a0=$3; f0=$4; l0=$5 }
  NR<=n { t1=$1; a1=$3; f1=$4; l1=$5; if ($2>m) m=$2; if (NR<=n/2) h1+=$2; else h2+=$2 }
  END { printf "%.1f %d %d %d %.1f %.1f\n", (l1-l0)/1048576/(t1-t0), a1-a0, f1-f0, m, h1/(n/2), h2/(n-n/2) }' "$work/archiver.txt")
echo "   ${fig[tps]} tps, WAL ${fig[wal_mb_s]} MB/s, ${fig[archived]} segments archived, ${fig[failed]} failures;"
echo "   .ready files: max ${fig[max_ready]}, mean ${fig[ready_first_half]} (first half) / ${fig[ready_second_half]} (second half); drained ${fig[drain_s]} s after pgbench"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

x() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", a/b}'; }
mb() { awk -v a="$1" 'BEGIN{printf "%.1f", a/1048576}'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN{print (v>=t) ? "met" : "not met"}'; }
{
  echo "# Backup benchmark"
  echo
  echo "Generated by \`bench/backup.sh $scale $seconds $rounds\` on $(date -u +%Y-%m-%d) — $(nproc) CPUs shared with other work"
  echo "(load average $load_before before, $load_after after). One-node cluster, pgbench scale $scale in the"
  echo "app database; fs repository on the same disk. Times are the median of $rounds back-to-back runs (all runs in backup.json)."
  echo "\"loaded\": as \`pgbench -i\` writes it ($((db_size / 1048576)) MB, blank filler); \"md5\": after \`filler = md5(aid)\` + VACUUM FULL ($((db_size_md5 / 1048576)) MB)."
  echo
  echo "| logical | loaded: time | size | md5: time | size |"
  echo "|---|---:|---:|---:|---:|"
  echo "| runbook \`pg_dump DB \| gzip\` | ${fig[loaded_gzip_s]} s | $(mb "${fig[loaded_gzip_bytes]}") MB | ${fig[md5_gzip_s]} s | $(mb "${fig[md5_gzip_bytes]}") MB |"
  echo "| \`pg_dump -Fd -j 2 -Z 1\` (best stock) | ${fig[loaded_fd_s]} s | $(mb "${fig[loaded_fd_bytes]}") MB | ${fig[md5_fd_s]} s | $(mb "${fig[md5_fd_bytes]}") MB |"
  echo "| **\`pgwarden backup logical\`** | **${fig[loaded_logical_s]} s** | **$(mb "${fig[loaded_logical_bytes]}") MB** | **${fig[md5_logical_s]} s** | **$(mb "${fig[md5_logical_bytes]}") MB** |"
  echo "| (\`pg_dump\` alone to /dev/null) | ${fig[loaded_pgdump_only_s]} s | | ${fig[md5_pgdump_only_s]} s | |"
  echo "| (the big table's rows alone: 2 parallel \`COPY\` halves to /dev/null) | ${fig[loaded_copy_floor_s]} s | | ${fig[md5_copy_floor_s]} s | |"
  echo "| \`pgwarden backup logical --slice-mb 0\` (no slices: \`pg_dump -Fd -j 2\` only) | ${fig[loaded_unsliced_s]} s | | ${fig[md5_unsliced_s]} s | |"
  [[ -n $baseline ]] && echo "| (\`backup logical\` of the baseline build, same data, runs alternating with pgwarden's) | ${fig[loaded_logical_base_s]} s | | ${fig[md5_logical_base_s]} s | |"
  echo "| \`pgwarden restore-logical\` of that backup (new database, indexes rebuilt) | ${fig[loaded_restore_logical_s]} s | | ${fig[md5_restore_logical_s]} s | |"
  echo "| speed-up vs runbook | $(x "${fig[loaded_gzip_s]}" "${fig[loaded_logical_s]}")× | | $(x "${fig[md5_gzip_s]}" "${fig[md5_logical_s]}")× | |"
  echo
  echo "| physical | loaded: time | size (ratio) | md5: time | size (ratio) |"
  echo "|---|---:|---:|---:|---:|"
  echo "| \`pg_basebackup -Ft -z\` | ${fig[loaded_bbz_s]} s | $(mb "${fig[loaded_bbz_bytes]}") MB ($(x "${fig[loaded_tar_bytes]}" "${fig[loaded_bbz_bytes]}"):1) | ${fig[md5_bbz_s]} s | $(mb "${fig[md5_bbz_bytes]}") MB ($(x "${fig[md5_tar_bytes]}" "${fig[md5_bbz_bytes]}"):1) |"
  echo "| \`--compress=server-zstd:workers=2\` (best stock) | ${fig[loaded_bbzstd_s]} s | $(mb "${fig[loaded_bbzstd_bytes]}") MB ($(x "${fig[loaded_tar_bytes]}" "${fig[loaded_bbzstd_bytes]}"):1) | ${fig[md5_bbzstd_s]} s | $(mb "${fig[md5_bbzstd_bytes]}") MB ($(x "${fig[md5_tar_bytes]}" "${fig[md5_bbzstd_bytes]}"):1) |"
  echo "| **\`pgwarden backup physical\`** | **${fig[loaded_physical_s]} s** | **$(mb "${fig[loaded_physical_bytes]}") MB ($(x "${fig[loaded_tar_bytes]}" "${fig[loaded_physical_bytes]}"):1)** | **${fig[md5_physical_s]} s** | **$(mb "${fig[md5_physical_bytes]}") MB ($(x "${fig[md5_tar_bytes]}" "${fig[md5_physical_bytes]}"):1)** |"
  echo "| (uncompressed \`pg_basebackup -X fetch\` to /dev/null) | ${fig[loaded_bb_only_s]} s | $(mb "${fig[loaded_tar_bytes]}") MB tar | ${fig[md5_bb_only_s]} s | $(mb "${fig[md5_tar_bytes]}") MB tar |"
  echo "| speed-up vs \`-z\` | $(x "${fig[loaded_bbz_s]}" "${fig[loaded_physical_s]}")× | | $(x "${fig[md5_bbz_s]}" "${fig[md5_physical_s]}")× | |"
  echo
  echo "pgwarden's physical time includes switching the WAL segment and waiting until the backup's WAL is archived."
  echo
  echo "| other | figure |"
  echo "|---|---:|"
  echo "| \`pgwarden restore --target-time\` (newest physical backup + WAL, md5 data) | ${fig[restore_s]} s |"
  echo "| wal-push of a real 16 MB segment (median / p90 of $nseg, as the postgres user) | ${fig[push_median_s]} s / ${fig[push_p90_s]} s |"
  [[ -n $baseline ]] && echo "| wal-push, baseline build, same segments (median) | ${fig[push_base_median_s]} s |"
  echo "| WAL compression by wal-push | ${fig[push_ratio]}:1 |"
  echo "| pgbench ($seconds s, 8 clients, tpcb-like) | ${fig[tps]} tps, ${fig[wal_mb_s]} MB/s of WAL |"
  echo "| segments archived meanwhile / failures | ${fig[archived]} / ${fig[failed]} |"
  echo "| .ready files waiting: max / mean 1st half / mean 2nd half | ${fig[max_ready]} / ${fig[ready_first_half]} / ${fig[ready_second_half]} |"
  echo "| backlog drained after pgbench stopped | ${fig[drain_s]} s |"
  echo "| most .ready files waiting while \`pgbench -i -s $scale\` loaded ($load_s s) | $max_ready_load |"
  echo
  echo "Targets: logical ≥ 3× faster than the runbook with no larger output — loaded: $(verdict "$(x "${fig[loaded_gzip_s]}" "${fig[loaded_logical_s]}")" 3), md5: $(verdict "$(x "${fig[md5_gzip_s]}" "${fig[md5_logical_s]}")" 3);"
  echo "physical ≥ 2× faster than \`-z\` — loaded: $(verdict "$(x "${fig[loaded_bbz_s]}" "${fig[loaded_physical_s]}")" 2), md5: $(verdict "$(x "${fig[md5_bbz_s]}" "${fig[md5_physical_s]}")" 2)."
} >"$out/backup.md"
{
  echo "{\"scale\": $scale, \"pgbench_seconds\": $seconds, \"rounds\": $rounds, \"database_bytes\": {\"loaded\": $db_size, \"md5\": $db_size_md5},"
  echo " \"load_average_before\": \"$load_before\", \"load_average_after\": \"$load_after\","
  echo " \"pgbench_init_s\": $load_s, \"max_ready_during_init\": $max_ready_load,"
  for v in loaded md5; do
    echo " \"$v\": {"
    for k in gzip fd logical pgdump_only copy_floor unsliced logical_base restore_logical bbz bbzstd physical bb_only; do
      echo "   \"${k}_s\": ${fig[${v}_${k}_s]}, \"${k}_runs_s\": [${fig[${v}_${k}_s_runs]}],"
    done
    echo "   \"gzip_bytes\": ${fig[${v}_gzip_bytes]}, \"fd_bytes\": ${fig[${v}_fd_bytes]}, \"logical_stored_bytes\": ${fig[${v}_logical_bytes]}, \"dump_text_bytes\": ${fig[${v}_dump_text_bytes]},"
    echo "   \"bbz_bytes\": ${fig[${v}_bbz_bytes]}, \"bbzstd_bytes\": ${fig[${v}_bbzstd_bytes]}, \"physical_stored_bytes\": ${fig[${v}_physical_bytes]}, \"tar_bytes\": ${fig[${v}_tar_bytes]}},"
  done
  echo " \"restore_s\": ${fig[restore_s]},"
  echo " \"wal_push\": {\"segments\": $nseg, \"median_s\": ${fig[push_median_s]}, \"p90_s\": ${fig[push_p90_s]}, \"baseline_median_s\": ${fig[push_base_median_s]}, \"compression_ratio\": ${fig[push_ratio]}, \"times_s\": [$(paste -sd, "$work/push.txt")]},"
  echo " \"archiving\": {\"tps\": ${fig[tps]}, \"wal_mb_s\": ${fig[wal_mb_s]}, \"archived\": ${fig[archived]}, \"failed\": ${fig[failed]}, \"max_ready\": ${fig[max_ready]},"
  echo "   \"mean_ready_first_half\": ${fig[ready_first_half]}, \"mean_ready_second_half\": ${fig[ready_second_half]}, \"drain_s\": ${fig[drain_s]},"
  echo "   \"ready_per_second\": [$(awk '{print $2}' "$work/archiver.txt" | paste -sd,)]}}"
} >"$out/backup.json"
python3 -m json.tool "$out/backup.json" >/dev/null || echo "warning: backup.json is not valid JSON" >&2
cat "$out/backup.md"
