# shellcheck shell=bash
# bench/lib/patroni.sh — a Patroni cluster for the failover benchmark, side by side with PgWarden's.
#
# Source it (it only defines functions; it is safe under `set -euo pipefail`):
#
#   patroni_up DIR S TTL LOOP_WAIT RETRY_TIMEOUT [synchronous]
#   patroni_leader DIR                       -> prints pg1|pg2|pg3
#   patroni_conninfo DIR                     -> Npgsql connection string (password: patroni_app_password)
#   patroni_app_password DIR                 -> bookreader_app's password
#   patroni_fault DIR host-crash|postgres-crash|switchover
#   patroni_restart_crashed DIR NODE
#   patroni_wait_streaming DIR NODE TIMEOUT  -> prints the seconds until NODE streams again
#   patroni_wait_healthy DIR TIMEOUT
#   patroni_down DIR
#
# What runs: Debian's Patroni (apt-get install patroni: 3.0.2 on Debian 12) with the `etcd3` DCS
# module against its own one-member etcd (Debian's etcd-server 3.4). Patroni 3.0.2's etcd3 module
# speaks etcd's v3 JSON gateway itself through urllib3 and python3-etcd (a dependency of the patroni
# package); it needs neither python3-etcd3 nor etcd's --enable-v2. PgWarden uses etcd's v3 API too.
#
# Cluster S (a /24 on loopback, 0-255): nodes pg1/pg2/pg3 at 127.0.S.1-3, PostgreSQL port 5532,
# Patroni REST API port 8008, etcd at 127.0.S.10 (client 2479, peer 2480). Under DIR:
#   secrets           root 0600: superuser_password=, replication_password=, app_password=
#   pgpass            root 0600: the superuser's .pgpass for this library's own psql calls
#   subnet            S
#   run/*.pid         PIDs of etcd and of each node's Patroni
#   logs/*.log        etcd's log; each node's Patroni log (PostgreSQL's server log goes there too)
#   etcd/             etcd's data directory
#   bootstrap/        post_init script and its SQL (the app role's SCRAM verifier, never plaintext)
#   pgN/              postgres 0700: patroni.yml (0600, holds the passwords), data/, pgpass, socket
# Processes are started as the `postgres` OS user (Patroni) or root (etcd), each in its own
# session, and stopped by the PIDs recorded here. Passwords never appear on a command line.
# Logs stay in DIR after patroni_down; removing DIR is the caller's job.

PATRONI_PG_BIN="${PATRONI_PG_BIN:-/usr/lib/postgresql/15/bin}"
PATRONI_PG_PORT=5532
PATRONI_API_PORT=8008
PATRONI_ETCD_CLIENT_PORT=2479
PATRONI_ETCD_PEER_PORT=2480
PATRONI_NODES=(pg1 pg2 pg3)
PATRONI_UP_TIMEOUT="${PATRONI_UP_TIMEOUT:-180}"   # seconds patroni_up waits for a healthy cluster

_patroni_err() { echo "patroni.sh: $*" >&2; }

_patroni_int() { [[ ${1:-} =~ ^[0-9]+$ ]]; }

_patroni_now_ms() { date +%s%3N; }

# DIR -> S, from the file patroni_up wrote.
_patroni_subnet() {
  local dir=${1:-}
  if [[ -z $dir || ! -r $dir/subnet ]]; then
    _patroni_err "no Patroni cluster in '${dir}' (no subnet file; was patroni_up run?)"
    return 1
  fi
  cat "$dir/subnet"
}

# NODE (pg1..pg3) -> its index 1..3.
_patroni_node_index() {
  case ${1:-} in
    pg1) echo 1 ;; pg2) echo 2 ;; pg3) echo 3 ;;
    *) _patroni_err "unknown node '${1:-}' (expected pg1, pg2 or pg3)"; return 1 ;;
  esac
}

# A PID that exists and is not a zombie.
_patroni_alive() {
  local pid=${1:-} state
  _patroni_int "$pid" || return 1
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

# DIR NAME -> the recorded PID if that process is still alive (nothing otherwise).
_patroni_pid() {
  local f="$1/run/$2.pid" pid
  [[ -r $f ]] || return 0
  pid=$(head -n1 "$f")
  if _patroni_alive "$pid"; then echo "$pid"; fi
  return 0
}

# DIR NODE -> the postmaster's PID if one runs for NODE's data directory (nothing otherwise). The
# PID in postmaster.pid only counts if it is a postgres process whose working directory is that data
# directory, so a recycled PID is never taken for the postmaster.
_patroni_postmaster_pid() {
  local data="$1/$2/data" pid exe cwd
  [[ -r $data/postmaster.pid ]] || return 0
  pid=$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)
  _patroni_alive "$pid" || return 0
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
  if [[ $exe == "$PATRONI_PG_BIN/postgres" && $cwd == "$(readlink -f "$data")" ]]; then echo "$pid"; fi
  return 0
}

# Direct children of the given PIDs.
_patroni_children() {
  local p
  for p in "$@"; do ps -o pid= --ppid "$p" 2>/dev/null || true; done | tr -d ' '
}

# Waits until none of the PIDs is alive; returns 1 after TIMEOUT seconds. Usage: TIMEOUT PID...
_patroni_wait_gone() {
  local timeout=$1 p deadline
  shift
  deadline=$(( $(_patroni_now_ms) + timeout * 1000 ))
  while :; do
    local any=0
    for p in "$@"; do if _patroni_alive "$p"; then any=1; fi; done
    [[ $any -eq 0 ]] && return 0
    (( $(_patroni_now_ms) < deadline )) || return 1
    sleep 0.1
  done
}

# Starts a command in its own session with stdin from /dev/null and output appended to LOG, and
# writes its PID to PIDFILE (written by the process itself just before it execs the command, so the
# PID is right even where setsid has to fork). Usage: PIDFILE LOG CWD COMMAND...
_patroni_spawn() {
  local pidfile=$1 log=$2 cwd=$3
  shift 3
  rm -f "$pidfile"
  (
    cd "$cwd" || exit 1
    # shellcheck disable=SC2016  # $$ and $0 belong to the inner sh
    exec setsid /bin/sh -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidfile" "$@" \
      </dev/null >>"$log" 2>&1
  ) &
  local deadline=$(( $(_patroni_now_ms) + 5000 ))
  until [[ -s $pidfile ]]; do
    if (( $(_patroni_now_ms) > deadline )); then
      _patroni_err "could not start $1 (no PID file $pidfile after 5 s; see $log)"
      return 1
    fi
    sleep 0.05
  done
}

# Prints the last lines of every log under DIR/logs to stderr.
_patroni_dump_logs() {
  local f
  for f in "$1"/logs/*.log; do
    [[ -e $f ]] || continue
    echo "---- last 25 lines of $f" >&2
    tail -n 25 "$f" >&2 || true
  done
}

# psql as the superuser against NODE, one value per line. Password from DIR/pgpass (PGPASSFILE).
# Usage: DIR NODE SQL
_patroni_psql() {
  local dir=$1 node=$2 sql=$3 s i
  s=$(_patroni_subnet "$dir") || return 1
  i=$(_patroni_node_index "$node") || return 1
  PGPASSFILE="$dir/pgpass" PGCONNECT_TIMEOUT=2 PGAPPNAME=patroni.sh \
    "$PATRONI_PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -h "127.0.$s.$i" -p "$PATRONI_PG_PORT" \
    -U postgres -d postgres -c "$sql"
}

# GET a Patroni REST path from the first node that answers. Usage: DIR PATH
_patroni_api_get() {
  local dir=$1 path=$2 s i
  s=$(_patroni_subnet "$dir") || return 1
  for i in 1 2 3; do
    if curl -fsS --max-time 2 "http://127.0.$s.$i:$PATRONI_API_PORT$path" 2>/dev/null; then return 0; fi
  done
  _patroni_err "no Patroni REST API answered $path on 127.0.$s.1-3:$PATRONI_API_PORT"
  return 1
}

# A random password: 32 hex digits (safe in YAML, .pgpass and connection strings).
_patroni_gen_password() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# A SCRAM-SHA-256 verifier for the password read from stdin, as PostgreSQL stores it (4096
# iterations), so CREATE ROLE never carries the plaintext.
_patroni_scram_verifier() {
  /usr/bin/python3 -c '
import base64, hashlib, hmac, os, sys
pw = sys.stdin.readline().rstrip("\n").encode()
salt, it = os.urandom(16), 4096
salted = hashlib.pbkdf2_hmac("sha256", pw, salt, it)
ck = hmac.new(salted, b"Client Key", "sha256").digest()
sk = hmac.new(salted, b"Server Key", "sha256").digest()
b = lambda x: base64.b64encode(x).decode()
print("SCRAM-SHA-256$%d:%s$%s:%s" % (it, b(salt), b(hashlib.sha256(ck).digest()), b(sk)))'
}

_patroni_secret() { # DIR KEY
  local v
  v=$(sed -n "s/^$2=//p" "$1/secrets" 2>/dev/null) || true
  if [[ -z $v ]]; then _patroni_err "no $2 in $1/secrets"; return 1; fi
  echo "$v"
}

patroni_app_password() { # DIR
  _patroni_secret "${1:?usage: patroni_app_password DIR}" app_password
}

patroni_conninfo() { # DIR
  local s
  s=$(_patroni_subnet "${1:?usage: patroni_conninfo DIR}") || return 1
  echo "Host=127.0.$s.1,127.0.$s.2,127.0.$s.3;Port=$PATRONI_PG_PORT;Username=bookreader_app;Database=bookreader;Target Session Attributes=read-write;Host Recheck Seconds=0"
}

# Writes pgN/patroni.yml. Usage: DIR S NODE TTL LOOP_WAIT RETRY_TIMEOUT SYNC(true|false)
_patroni_write_yaml() {
  local dir=$1 s=$2 node=$3 ttl=$4 loop_wait=$5 retry_timeout=$6 sync=$7 i su repl
  i=$(_patroni_node_index "$node") || return 1
  su=$(_patroni_secret "$dir" superuser_password) || return 1
  repl=$(_patroni_secret "$dir" replication_password) || return 1
  local nd="$dir/$node" addr="127.0.$s.$i"
  (
    umask 077
    cat >"$nd/patroni.yml" <<YAML
# Patroni $(patroni --version 2>/dev/null | awk '{print $2}') configuration for $node, written by bench/lib/patroni.sh.
# Every key below is Patroni's setting of the same path (docs: "YAML Configuration Settings").
scope: patroni-$s                 # scope: the cluster's name; DCS keys live under /service/patroni-$s/
name: $node                       # name: this member's name (pg1/pg2/pg3)
restapi:
  listen: $addr:$PATRONI_API_PORT           # restapi.listen: address:port the REST API binds
  connect_address: $addr:$PATRONI_API_PORT  # restapi.connect_address: what other members and patronictl use
etcd3:                            # etcd3: the DCS is etcd through its v3 API (gRPC JSON gateway)
  hosts: 127.0.$s.10:$PATRONI_ETCD_CLIENT_PORT   # etcd3.hosts: this cluster's own etcd
  protocol: http                  # etcd3.protocol
bootstrap:
  dcs:                            # bootstrap.dcs: initial dynamic configuration, stored in the DCS /config key
    ttl: $ttl                       # ttl: leader lease (leader key TTL), seconds; Patroni default 30
    loop_wait: $loop_wait                  # loop_wait: seconds between HA loop runs; default 10
    retry_timeout: $retry_timeout              # retry_timeout: DCS and PostgreSQL retry budget, seconds; default 10
    maximum_lag_on_failover: 1048576   # maximum_lag_on_failover: bytes a replica may lag and still be promoted (default)
    synchronous_mode: $sync          # synchronous_mode: promote only a synchronous standby (default false)
    postgresql:
      use_slots: true               # postgresql.use_slots: a physical replication slot per member (default true)
      use_pg_rewind: true           # postgresql.use_pg_rewind: rewind a crashed old primary instead of failing to rejoin
      parameters:                   # postgresql.parameters: cluster-wide GUCs (Patroni itself sets wal_level, hot_standby, wal_log_hints, max_wal_senders ...)
        password_encryption: scram-sha-256
  initdb:                         # bootstrap.initdb: options for initdb on the node that bootstraps
    - encoding: UTF8
    - locale: C.UTF-8
    - auth-host: scram-sha-256
    - auth-local: scram-sha-256
  post_init: $dir/bootstrap/post_init.sh   # bootstrap.post_init: runs once after initdb (bookreader + bookreader_app)
postgresql:
  listen: $addr:$PATRONI_PG_PORT          # postgresql.listen -> listen_addresses and port
  connect_address: $addr:$PATRONI_PG_PORT # postgresql.connect_address: how members and clients reach this node
  data_dir: $nd/data              # postgresql.data_dir
  bin_dir: $PATRONI_PG_BIN  # postgresql.bin_dir: PostgreSQL 15's binaries
  pgpass: $nd/pgpass               # postgresql.pgpass: Patroni's own .pgpass (default /tmp/pgpass0 is shared by all nodes)
  basebackup:                     # postgresql.basebackup: pg_basebackup options when cloning a replica
    - checkpoint: fast              # without it the source's spread checkpoint makes a clone take ~90 s
  authentication:                 # postgresql.authentication: the roles Patroni creates at bootstrap and uses
    superuser:
      username: postgres
      password: '$su'
    replication:
      username: replicator
      password: '$repl'
  parameters:                     # postgresql.parameters (local): this node only
    unix_socket_directories: '$nd'   # a socket per node: all three use port $PATRONI_PG_PORT
  pg_hba:                         # postgresql.pg_hba: written to pg_hba.conf on every node
    - local all all scram-sha-256
    - host all all 127.0.0.0/8 scram-sha-256
    - host replication replicator 127.0.0.0/8 scram-sha-256
YAML
  ) || return 1
  chown postgres:postgres "$nd/patroni.yml"
}

# Starts NODE's Patroni as the postgres user. Usage: DIR NODE
_patroni_start_node() {
  local dir=$1 node=$2 pid
  pid=$(_patroni_pid "$dir" "$node")
  if [[ -n $pid ]]; then _patroni_err "$node's Patroni is already running (PID $pid)"; return 1; fi
  _patroni_spawn "$dir/run/$node.pid" "$dir/logs/$node.log" "$dir/$node" \
    env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$dir/$node" \
    setpriv --reuid=postgres --regid=postgres --init-groups -- /usr/bin/patroni "$dir/$node/patroni.yml"
}

# patroni_up DIR S TTL LOOP_WAIT RETRY_TIMEOUT [synchronous]
patroni_up() {
  local usage="usage: patroni_up DIR S TTL LOOP_WAIT RETRY_TIMEOUT [synchronous]"
  local dir=${1:-} s=${2:-} ttl=${3:-} loop_wait=${4:-} retry_timeout=${5:-} mode=${6:-} sync=false
  if [[ -z $dir ]] || ! _patroni_int "$s" || (( s > 255 )) || ! _patroni_int "$ttl" \
     || ! _patroni_int "$loop_wait" || ! _patroni_int "$retry_timeout"; then
    _patroni_err "$usage"; return 2
  fi
  case $mode in
    '') ;; synchronous) sync=true ;;
    *) _patroni_err "$usage (6th argument: 'synchronous' or nothing, got '$mode')"; return 2 ;;
  esac
  local cmd
  for cmd in patroni etcd setpriv curl jq ss "$PATRONI_PG_BIN/postgres" "$PATRONI_PG_BIN/psql" /usr/bin/python3; do
    if ! command -v "$cmd" >/dev/null 2>&1; then
      _patroni_err "$cmd not found (apt-get install -y patroni etcd-server curl jq postgresql-15)"; return 1
    fi
  done
  if ! id postgres >/dev/null 2>&1; then _patroni_err "no 'postgres' OS user"; return 1; fi
  if ! /usr/bin/python3 -c 'import etcd, urllib3, psycopg2' 2>/dev/null; then
    _patroni_err "Patroni's etcd3 DCS needs python3-etcd, python3-urllib3, python3-psycopg2 (apt-get install -y patroni)"; return 1
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  if [[ -e $dir/subnet || -e $dir/pg1 ]]; then
    _patroni_err "$dir already holds a Patroni cluster; patroni_down it and use an empty directory"; return 1
  fi
  # Every address:port this cluster binds must be free (other clusters may run on other subnets).
  local a busy=""
  for a in "127.0.$s.1:$PATRONI_PG_PORT" "127.0.$s.2:$PATRONI_PG_PORT" "127.0.$s.3:$PATRONI_PG_PORT" \
           "127.0.$s.1:$PATRONI_API_PORT" "127.0.$s.2:$PATRONI_API_PORT" "127.0.$s.3:$PATRONI_API_PORT" \
           "127.0.$s.10:$PATRONI_ETCD_CLIENT_PORT" "127.0.$s.10:$PATRONI_ETCD_PEER_PORT"; do
    if [[ -n $(ss -Hltn "src $a" 2>/dev/null) ]]; then busy+=" $a"; fi
  done
  if [[ -n $busy ]]; then _patroni_err "already listening on$busy (subnet $s is in use)"; return 1; fi

  chmod 755 "$dir"
  if ! runuser -u postgres -- test -x "$dir"; then
    _patroni_err "the postgres user cannot reach $dir (a parent directory is not searchable)"; return 1
  fi
  mkdir -p "$dir/run" "$dir/logs" "$dir/etcd" "$dir/bootstrap"
  chmod 700 "$dir/etcd"
  echo "$s" >"$dir/subnet"

  # Secrets: generated here, root-only; Patroni gets its copy in each node's 0600 YAML.
  local su repl app
  su=$(_patroni_gen_password); repl=$(_patroni_gen_password); app=$(_patroni_gen_password)
  ( umask 077
    printf 'superuser_password=%s\nreplication_password=%s\napp_password=%s\n' "$su" "$repl" "$app" >"$dir/secrets"
    printf '127.0.%s.%s:%s:*:postgres:%s\n' "$s" 1 "$PATRONI_PG_PORT" "$su" "$s" 2 "$PATRONI_PG_PORT" "$su" \
      "$s" 3 "$PATRONI_PG_PORT" "$su" >"$dir/pgpass" ) || return 1

  # post_init (bootstrap.post_init): Patroni calls it once, as postgres, on the node that ran initdb,
  # with the superuser's connection URL as $1 and its password in the PGPASSFILE it sets.
  local verifier
  verifier=$(printf '%s\n' "$app" | _patroni_scram_verifier) || { _patroni_err "could not compute a SCRAM verifier"; return 1; }
  ( umask 077
    cat >"$dir/bootstrap/app.sql" <<SQL
CREATE ROLE bookreader_app LOGIN PASSWORD '$verifier';
CREATE DATABASE bookreader;
\\connect bookreader
-- PostgreSQL 15 revoked CREATE on public from PUBLIC: the probe creates its table there.
GRANT USAGE, CREATE ON SCHEMA public TO bookreader_app;
SQL
  ) || return 1
  cat >"$dir/bootstrap/post_init.sh" <<SH
#!/bin/sh
# Patroni bootstrap.post_init for bench/lib/patroni.sh: \$1 is the superuser's connection URL.
exec "$PATRONI_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "\$1" -f "$dir/bootstrap/app.sql"
SH
  chmod 755 "$dir/bootstrap" "$dir/bootstrap/post_init.sh"
  chown postgres:postgres "$dir/bootstrap/app.sql"

  local node
  for node in "${PATRONI_NODES[@]}"; do
    mkdir -p "$dir/$node"
    chown postgres:postgres "$dir/$node"
    chmod 700 "$dir/$node"
    _patroni_write_yaml "$dir" "$s" "$node" "$ttl" "$loop_wait" "$retry_timeout" "$sync" || return 1
  done

  # etcd: one member, on this cluster's own address; ETCD_* variables of the caller are dropped.
  local eurl="http://127.0.$s.10:$PATRONI_ETCD_CLIENT_PORT" purl="http://127.0.$s.10:$PATRONI_ETCD_PEER_PORT"
  _patroni_spawn "$dir/run/etcd.pid" "$dir/logs/etcd.log" "$dir" \
    env -i PATH=/usr/bin:/bin etcd --name "patroni-$s" --data-dir "$dir/etcd" \
      --listen-client-urls "$eurl" --advertise-client-urls "$eurl" \
      --listen-peer-urls "$purl" --initial-advertise-peer-urls "$purl" \
      --initial-cluster "patroni-$s=$purl" --initial-cluster-state new \
      --initial-cluster-token "patroni-$s" || { patroni_down "$dir" >/dev/null 2>&1 || true; return 1; }
  local deadline=$(( $(_patroni_now_ms) + 30000 ))
  until curl -fsS --max-time 1 "$eurl/health" 2>/dev/null | grep -q '"health":"true"'; do
    if (( $(_patroni_now_ms) > deadline )) || [[ -z $(_patroni_pid "$dir" etcd) ]]; then
      _patroni_err "etcd at $eurl did not become healthy"; _patroni_dump_logs "$dir"
      patroni_down "$dir" >/dev/null 2>&1 || true; return 1
    fi
    sleep 0.2
  done

  # pg1 first, so it is the one that runs initdb; then the two replicas clone from it.
  _patroni_start_node "$dir" pg1 || { patroni_down "$dir" >/dev/null 2>&1 || true; return 1; }
  deadline=$(( $(_patroni_now_ms) + PATRONI_UP_TIMEOUT * 1000 ))
  until [[ $(patroni_leader "$dir" 2>/dev/null || true) == pg1 ]] \
        && [[ $(_patroni_psql "$dir" pg1 "SELECT pg_is_in_recovery()" 2>/dev/null || true) == f ]]; do
    if (( $(_patroni_now_ms) > deadline )) || [[ -z $(_patroni_pid "$dir" pg1) ]]; then
      _patroni_err "pg1 did not bootstrap and lead within ${PATRONI_UP_TIMEOUT} s"; _patroni_dump_logs "$dir"
      patroni_down "$dir" >/dev/null 2>&1 || true; return 1
    fi
    sleep 0.5
  done
  if ! _patroni_start_node "$dir" pg2 || ! _patroni_start_node "$dir" pg3; then
    patroni_down "$dir" >/dev/null 2>&1 || true; return 1
  fi
  local left=$(( (deadline - $(_patroni_now_ms)) / 1000 ))
  (( left > 10 )) || left=10
  if ! patroni_wait_healthy "$dir" "$left"; then
    _patroni_err "the cluster in $dir did not become healthy (stopping it; logs stay in $dir/logs)"
    patroni_down "$dir" >/dev/null 2>&1 || true
    return 1
  fi
}

# patroni_leader DIR: the member holding the leader key, as Patroni's REST API /cluster reports it.
patroni_leader() {
  local dir=${1:?usage: patroni_leader DIR} json leader
  json=$(_patroni_api_get "$dir" /cluster) || return 1
  leader=$(jq -r '[.members[] | select(.role == "leader" or .role == "standby_leader") | .name] | first // empty' <<<"$json") || true
  if [[ -z $leader ]]; then _patroni_err "the cluster in $dir has no leader right now"; return 1; fi
  echo "$leader"
}

# One check of "a leader whose PostgreSQL is a primary, and two replicas streaming". Prints the
# reason when not healthy.
_patroni_health() {
  local dir=$1 leader node st
  leader=$(patroni_leader "$dir" 2>/dev/null) || { echo "no leader"; return 1; }
  st=$(_patroni_psql "$dir" "$leader" "SELECT pg_is_in_recovery()" 2>/dev/null || true)
  if [[ $st != f ]]; then echo "leader $leader is not a running primary"; return 1; fi
  for node in "${PATRONI_NODES[@]}"; do
    [[ $node == "$leader" ]] && continue
    st=$(_patroni_psql "$dir" "$node" "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null || true)
    if [[ $st != streaming ]]; then echo "$node is not streaming (${st:-no WAL receiver / not reachable})"; return 1; fi
  done
}

# patroni_wait_healthy DIR TIMEOUT: one leader and two streaming replicas.
patroni_wait_healthy() {
  local dir=${1:-} timeout=${2:-} why
  if [[ -z $dir ]] || ! _patroni_int "$timeout"; then _patroni_err "usage: patroni_wait_healthy DIR TIMEOUT"; return 2; fi
  _patroni_subnet "$dir" >/dev/null || return 1
  local deadline=$(( $(_patroni_now_ms) + timeout * 1000 ))
  while :; do
    why=$(_patroni_health "$dir") && return 0
    if (( $(_patroni_now_ms) > deadline )); then
      _patroni_err "cluster in $dir not healthy after $timeout s: $why"; _patroni_dump_logs "$dir"; return 1
    fi
    sleep 0.5
  done
}

# patroni_fault DIR host-crash|postgres-crash|switchover
patroni_fault() {
  local dir=${1:-} scenario=${2:-} leader ppid pm
  if [[ -z $dir || -z $scenario ]]; then _patroni_err "usage: patroni_fault DIR host-crash|postgres-crash|switchover"; return 2; fi
  leader=$(patroni_leader "$dir") || return 1
  case $scenario in
    host-crash)
      # The leader's host dies: Patroni, its children, the postmaster and all its children, at once.
      ppid=$(_patroni_pid "$dir" "$leader")
      pm=$(_patroni_postmaster_pid "$dir" "$leader")
      if [[ -z $ppid ]]; then _patroni_err "leader $leader's Patroni is not running"; return 1; fi
      if [[ -z $pm ]]; then _patroni_err "leader $leader's postmaster is not running"; return 1; fi
      local kids=()
      mapfile -t kids < <(_patroni_children "$ppid" "$pm")
      kill -KILL "$ppid" "$pm" "${kids[@]}" 2>/dev/null || true
      ;;
    postgres-crash)
      pm=$(_patroni_postmaster_pid "$dir" "$leader")
      if [[ -z $pm ]]; then _patroni_err "leader $leader's postmaster is not running"; return 1; fi
      kill -KILL "$pm"
      ;;
    switchover)
      # Patroni's POST /switchover without scheduled_at is "now" (what `patronictl switchover
      # --scheduled now --force` sends); no candidate: Patroni picks the healthiest replica (in
      # synchronous_mode the synchronous standby). The call returns once the new leader holds the key.
      local s i body code
      s=$(_patroni_subnet "$dir") || return 1
      i=$(_patroni_node_index "$leader") || return 1
      body=$(mktemp)
      code=$(curl -sS --max-time 60 -o "$body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -d "{\"leader\": \"$leader\"}" "http://127.0.$s.$i:$PATRONI_API_PORT/switchover" 2>&1) || true
      if [[ $code != 200 ]]; then
        _patroni_err "switchover from $leader failed (HTTP $code): $(cat "$body")"; rm -f "$body"; return 1
      fi
      rm -f "$body"
      ;;
    *) _patroni_err "unknown scenario '$scenario' (host-crash, postgres-crash or switchover)"; return 2 ;;
  esac
}

# patroni_restart_crashed DIR NODE: the crashed host is back, its Patroni starts again.
patroni_restart_crashed() {
  local dir=${1:-} node=${2:-} pid pm
  if [[ -z $dir || -z $node ]]; then _patroni_err "usage: patroni_restart_crashed DIR NODE"; return 2; fi
  _patroni_node_index "$node" >/dev/null || return 1
  _patroni_subnet "$dir" >/dev/null || return 1
  pid=$(_patroni_pid "$dir" "$node"); pm=$(_patroni_postmaster_pid "$dir" "$node")
  # Give a just-killed process tree a moment to disappear.
  if [[ -n $pid$pm ]] && ! _patroni_wait_gone 5 "$pid" "$pm"; then
    _patroni_err "$node is still running (Patroni PID ${pid:-none}, postmaster PID ${pm:-none}); nothing to restart"
    return 1
  fi
  _patroni_start_node "$dir" "$node"
}

# patroni_wait_streaming DIR NODE TIMEOUT: prints the seconds until NODE's pg_stat_wal_receiver
# says streaming.
patroni_wait_streaming() {
  local dir=${1:-} node=${2:-} timeout=${3:-} st
  if [[ -z $dir || -z $node ]] || ! _patroni_int "$timeout"; then
    _patroni_err "usage: patroni_wait_streaming DIR NODE TIMEOUT"; return 2
  fi
  _patroni_node_index "$node" >/dev/null || return 1
  _patroni_subnet "$dir" >/dev/null || return 1
  local start; start=$(_patroni_now_ms)
  while :; do
    st=$(_patroni_psql "$dir" "$node" "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null || true)
    if [[ $st == streaming ]]; then
      awk -v ms=$(( $(_patroni_now_ms) - start )) 'BEGIN { printf "%.2f\n", ms / 1000 }'
      return 0
    fi
    if (( $(_patroni_now_ms) - start > timeout * 1000 )); then
      _patroni_err "$node not streaming after $timeout s (wal receiver: ${st:-none / not reachable})"
      tail -n 40 "$dir/logs/$node.log" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.2
  done
}

# patroni_down DIR: stops every process patroni_up started, by PID; safe to call twice or from a trap.
patroni_down() {
  local dir=${1:-} node pid pm pids=() left=() kids=()
  if [[ -z $dir ]]; then _patroni_err "usage: patroni_down DIR"; return 2; fi
  [[ -d $dir ]] || return 0
  # Patroni stops its PostgreSQL on SIGTERM (fast shutdown) and exits.
  for node in "${PATRONI_NODES[@]}"; do
    pid=$(_patroni_pid "$dir" "$node")
    if [[ -n $pid ]]; then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); fi
  done
  if (( ${#pids[@]} )) && ! _patroni_wait_gone 30 "${pids[@]}"; then
    for pid in "${pids[@]}"; do
      if _patroni_alive "$pid"; then
        mapfile -t kids < <(_patroni_children "$pid")
        kill -KILL "$pid" "${kids[@]}" 2>/dev/null || true
      fi
    done
    _patroni_wait_gone 5 "${pids[@]}" || true
  fi
  # A postmaster left behind (its Patroni was SIGKILLed): fast shutdown, then SIGKILL with its children.
  pids=()
  for node in "${PATRONI_NODES[@]}"; do
    pm=$(_patroni_postmaster_pid "$dir" "$node")
    if [[ -n $pm ]]; then kill -INT "$pm" 2>/dev/null || true; pids+=("$pm"); fi
  done
  if (( ${#pids[@]} )) && ! _patroni_wait_gone 15 "${pids[@]}"; then
    for pm in "${pids[@]}"; do
      if _patroni_alive "$pm"; then
        mapfile -t kids < <(_patroni_children "$pm")
        kill -KILL "$pm" "${kids[@]}" 2>/dev/null || true
      fi
    done
    _patroni_wait_gone 5 "${pids[@]}" || true
  fi
  pid=$(_patroni_pid "$dir" etcd)
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    _patroni_wait_gone 10 "$pid" || { kill -KILL "$pid" 2>/dev/null || true; _patroni_wait_gone 5 "$pid" || true; }
  fi
  for node in "${PATRONI_NODES[@]}" etcd; do
    pid=$(_patroni_pid "$dir" "$node")
    if [[ -n $pid ]]; then left+=("$node:$pid"); fi
  done
  for node in "${PATRONI_NODES[@]}"; do
    pm=$(_patroni_postmaster_pid "$dir" "$node")
    if [[ -n $pm ]]; then left+=("$node-postmaster:$pm"); fi
  done
  if (( ${#left[@]} )); then _patroni_err "still running after patroni_down: ${left[*]}"; return 1; fi
  return 0
}
