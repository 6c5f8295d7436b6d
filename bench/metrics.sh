#!/usr/bin/env bash
# Metrics benchmark: scrape latency of a PgWarden agent's /metrics vs prometheus-postgres-exporter
# (Debian, default collectors) on the same primary with 1,000 tables and under pgbench load, and
# pgbench throughput with no scraper / with each scraper polling once a second.
# Writes bench/results/metrics.md and metrics.json.
#
# Usage: bench/metrics.sh [scrapes (default 200)] [pgbench seconds per phase (default 30)] [rounds (default 3)]
# Installs prometheus-postgres-exporter when run as root. Own cluster on 127.0.91.0/24 in a temp dir.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scrapes="${1:-200}"
seconds="${2:-30}"
rounds="${3:-3}"
out="$here/bench/results"
mkdir -p "$out"
exporter=/usr/bin/prometheus-postgres-exporter
if [[ ! -x $exporter ]]; then
  [[ $(id -u) -eq 0 ]] || { echo "install prometheus-postgres-exporter first" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-postgres-exporter >/dev/null
fi
work=$(mktemp -d /tmp/pgwarden-mbench-XXXX)
chmod 755 "$work"
mkdir -p "$work/cluster"
cat >"$work/cluster/cluster.yaml" <<YAML
cluster: mbench
hardware: { ram: 4GB, cpus: 2, storage: ssd }
database: { app_networks: [127.0.0.1/32] }
nodes:
  - { name: pg1, address: 127.0.91.1, port: 5532, api_port: 8008 }
  - { name: pg2, address: 127.0.91.2, port: 5532, api_port: 8008 }
poolers:
  - { name: pgb1, address: 127.0.91.1, port: 6432 }
# Plain text on purpose: this measures the cost of a scrape, side by side with the exporter's plain
# HTTP; bench/tls.sh measures what TLS costs.
tls: disabled
YAML
exporter_pid=""
cleanup() {
  [[ -n $exporter_pid ]] && kill "$exporter_pid" 2>/dev/null || true
  "$here/pgwarden" down --dir "$work/cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$here/pgwarden" up --dir "$work/cluster" >"$work/up.log" 2>&1 || { cat "$work/up.log"; exit 1; }
su_pw=$(grep '^superuser_password:' "$work/cluster/secrets.yaml" | cut -d'"' -f2)
app_pw=$(grep '^app_password:' "$work/cluster/secrets.yaml" | cut -d'"' -f2)
psql_su() { PGPASSWORD="$su_pw" psql -h 127.0.91.1 -p 5532 -U postgres -d bookreader -qAt "$@"; }

echo "== creating 1,000 tables and a pgbench database (scale 10)"
psql_su -c "DO \$\$ BEGIN FOR i IN 1..1000 LOOP
  EXECUTE format('CREATE TABLE IF NOT EXISTS bench_t%s (id int PRIMARY KEY, v text)', i);
  EXECUTE format('INSERT INTO bench_t%s SELECT g, md5(g::text) FROM generate_series(1, 20) g ON CONFLICT DO NOTHING', i);
END LOOP; END \$\$;"
psql_su -c "ANALYZE"
PGPASSWORD="$app_pw" /usr/lib/postgresql/15/bin/pgbench -h 127.0.91.1 -p 5532 -U bookreader_app -d bookreader -i -s 10 -q >/dev/null 2>&1

# The exporter gets its password from the environment, never the command line.
DATA_SOURCE_NAME="postgresql://postgres:${su_pw}@127.0.91.1:5532/bookreader?sslmode=disable" \
  "$exporter" --web.listen-address=127.0.91.1:9187 >"$work/exporter.log" 2>&1 &
exporter_pid=$!
for _ in $(seq 50); do curl -fs -o /dev/null http://127.0.91.1:9187/metrics && break; sleep 0.2; done

pgwarden_url=http://127.0.91.1:8008/metrics
exporter_url=http://127.0.91.1:9187/metrics

pgbench_run() { # -> tps
  PGPASSWORD="$app_pw" /usr/lib/postgresql/15/bin/pgbench -h 127.0.91.1 -p 5532 -U bookreader_app -d bookreader \
    -c 8 -j 2 -T "$seconds" -n 2>/dev/null | grep -oP 'tps = \K[0-9.]+' | head -1
}
poll() { # url: scrape once a second until killed
  while true; do curl -fs -o /dev/null "$1" || true; sleep 1; done
}
latency() { # url -> "median p99 max bytes series" in ms, under load
  local url=$1 f="$work/lat.txt"
  : >"$f"
  for _ in $(seq 5); do curl -fs -o /dev/null "$url"; done
  for _ in $(seq "$scrapes"); do curl -fs -o /dev/null -w '%{time_total}\n' "$url" >>"$f"; sleep 0.05; done
  local n; n=$(wc -l <"$f")
  local med p99 max
  med=$(sort -n "$f" | awk -v n="$n" 'NR==int((n+1)/2){printf "%.1f", $1*1000}')
  p99=$(sort -n "$f" | awk -v n="$n" 'NR==int(n*0.99+0.999){printf "%.1f", $1*1000}')
  max=$(sort -n "$f" | tail -1 | awk '{printf "%.1f", $1*1000}')
  local body; body=$(curl -fs "$url")
  echo "$med $p99 $max $(wc -c <<<"$body") $(grep -vc '^#' <<<"$body")"
}

load_start=$(cut -d' ' -f1 /proc/loadavg)
echo "== scrape latency under pgbench load ($scrapes scrapes each)"
declare -A lat tps
for target in pgwarden exporter; do
  url=$([[ $target == pgwarden ]] && echo "$pgwarden_url" || echo "$exporter_url")
  PGPASSWORD="$app_pw" /usr/lib/postgresql/15/bin/pgbench -h 127.0.91.1 -p 5532 -U bookreader_app -d bookreader \
    -c 8 -j 2 -T $((seconds * 4)) -n >/dev/null 2>&1 &
  load=$!
  sleep 2
  lat[$target]=$(latency "$url")
  kill "$load" 2>/dev/null || true; wait "$load" 2>/dev/null || true
  echo "   $target: median/p99/max ms, bytes, samples = ${lat[$target]}"
done

# Throughput: $rounds interleaved rounds of (no scraper, PgWarden every 1 s, exporter every 1 s), so
# drift of the machine hits every phase alike; the spread of the no-scraper runs is the noise floor.
echo "== pgbench: $rounds rounds of no scraper / scraped by PgWarden / by postgres_exporter once a second ($seconds s each)"
declare -A runs=([none]="" [pgwarden]="" [exporter]="")
for ((round = 1; round <= rounds; round++)); do
  for target in none pgwarden exporter; do
    poller=""
    if [[ $target != none ]]; then
      url=$([[ $target == pgwarden ]] && echo "$pgwarden_url" || echo "$exporter_url")
      poll "$url" & poller=$!
    fi
    t=$(pgbench_run)
    [[ -n $poller ]] && { kill "$poller"; wait "$poller" 2>/dev/null || true; }
    runs[$target]="${runs[$target]} $t"
    echo "   round $round, $target: $t tps"
  done
done
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
minimum() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | head -1; }
maximum() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | tail -1; }
tps_none=$(median "${runs[none]}")
declare -A tps=([pgwarden]=$(median "${runs[pgwarden]}") [exporter]=$(median "${runs[exporter]}"))
none_min=$(minimum "${runs[none]}")
none_max=$(maximum "${runs[none]}")

load_end=$(cut -d' ' -f1 /proc/loadavg)
read -r pw_med pw_p99 pw_max pw_bytes pw_series <<<"${lat[pgwarden]}"
read -r ex_med ex_p99 ex_max ex_bytes ex_series <<<"${lat[exporter]}"
pct() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%+.1f%%", (a-b)/b*100}'; }
{
  echo "# Metrics benchmark"
  echo
  echo "Generated by \`bench/metrics.sh $scrapes $seconds $rounds\` on $(date -u +%Y-%m-%d) — $(nproc) CPUs. Primary with 1,000 extra tables"
  echo "plus pgbench scale 10; scrape latency measured with curl, $scrapes sequential scrapes each, while pgbench (8 clients, tpcb-like) runs."
  echo "postgres_exporter: Debian prometheus-postgres-exporter $(dpkg-query -W -f='${Version}' prometheus-postgres-exporter), default collectors."
  echo "1-minute load average: $load_start before the measurements, $load_end after (the CPUs are shared)."
  echo
  echo "| scraper | median ms | p99 ms | max ms | response bytes | samples |"
  echo "|---|---:|---:|---:|---:|---:|"
  echo "| PgWarden agent /metrics | $pw_med | $pw_p99 | $pw_max | $pw_bytes | $pw_series |"
  echo "| prometheus-postgres-exporter | $ex_med | $ex_p99 | $ex_max | $ex_bytes | $ex_series |"
  echo
  echo "| pgbench ($seconds s, 8 clients; median of $rounds interleaved rounds) | tps | vs no scraper | every run |"
  echo "|---|---:|---:|---|"
  echo "| no scraper | $tps_none | — |${runs[none]} |"
  echo "| PgWarden scraped every 1 s | ${tps[pgwarden]} | $(pct "${tps[pgwarden]}" "$tps_none") |${runs[pgwarden]} |"
  echo "| postgres_exporter scraped every 1 s | ${tps[exporter]} | $(pct "${tps[exporter]}" "$tps_none") |${runs[exporter]} |"
  echo
  echo "Noise floor: the no-scraper runs alone spread from $none_min to $none_max tps ($(pct "$none_min" "$none_max") between them)."
  verdict=$(awk -v p="${tps[pgwarden]}" -v lo="$none_min" 'BEGIN{print (p >= lo ? "within" : "below")}')
  echo "PgWarden's median is $verdict that range."
  echo
  echo "PgWarden's families cover the runbook's queries (sizes, connections, waiting, cache hit, index usage, lag, vacuum"
  echo "times, archiver, slots) with the largest 20 tables and top/unused 20 indexes; the exporter's defaults differ in scope."
  echo "PgWarden measures pg_database_size() every 30 s in the background and publishes the latest value; the exporter"
  echo "measures it on every scrape."
} >"$out/metrics.md"
cat >"$out/metrics.json" <<JSON
{"scrapes": $scrapes, "pgbench_seconds": $seconds, "rounds": $rounds, "pgbench_tps_runs": {"none": [$(tr -s ' ' ',' <<<"${runs[none]# }")], "pgwarden": [$(tr -s ' ' ',' <<<"${runs[pgwarden]# }")], "exporter": [$(tr -s ' ' ',' <<<"${runs[exporter]# }")]},
 "pgwarden": {"median_ms": $pw_med, "p99_ms": $pw_p99, "max_ms": $pw_max, "bytes": $pw_bytes, "samples": $pw_series, "pgbench_tps_scraped_1s": ${tps[pgwarden]}},
 "postgres_exporter": {"median_ms": $ex_med, "p99_ms": $ex_p99, "max_ms": $ex_max, "bytes": $ex_bytes, "samples": $ex_series, "pgbench_tps_scraped_1s": ${tps[exporter]}},
 "pgbench_tps_no_scraper": $tps_none}
JSON
cat "$out/metrics.md"
