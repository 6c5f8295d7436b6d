#!/usr/bin/env bash
# A multi-host PgWarden test bed in Linux network namespaces (issue 12, item 1). Used by
# tests/PgWarden.IntegrationTests (NetnsBed) and bench/failover-netns.sh; one implementation for both.
#
#   netns.sh up    DIR ID NET [synchronous_mode true|false] [PGWARDEN-BINARY]
#   netns.sh down  DIR ID                 stop every process by PID, delete the namespaces
#   netns.sh cut   DIR ID HOST PEER...    cut HOST's links to each PEER (both directions)
#   netns.sh isolate DIR ID HOST          cut HOST from everything (etcd, nodes, poolers, clients)
#   netns.sh heal  DIR ID                 remove every cut (flushes the bed's own namespaces only)
#   netns.sh kill-host DIR ID HOST        SIGKILL everything of database host HOST (agent tree,
#                                          its etcd member) and take its links down: a host crash
#   netns.sh start-host DIR ID HOST       links up, start its etcd member and agent again
#   netns.sh exec  DIR ID HOST CMD...     run CMD inside HOST's namespace
#
# Layout (NET = the third octet, addresses only from 198.18.0.0/15):
#   namespace pgwn-ID-sw  : the switch, bridge br0; one veth per host plus one to the root namespace
#   pgwn-ID-n1..n3        : PostgreSQL + agent of pg1..pg3      198.18.NET.1 .. .3  (5432, API 8008)
#   pgwn-ID-e1..e3        : etcd member of host 1..3            198.18.NET.11 .. .13 (2379 client, 2380 peer)
#   pgwn-ID-p1, p2        : PgBouncer + pooler pgb1, pgb2       198.18.NET.21, .22 (6432)
#   root namespace        : the test process / clients          198.18.NET.254 on veth pgwnID
# Host names for cut/isolate: n1..n3, e1..e3, p1, p2, client (the root namespace's address).
# Every process started is recorded in DIR/pids/*.pid; nothing else is ever signalled, and only
# namespaces named pgwn-ID-* and the root veth pgwnID (created here) are ever deleted.
set -euo pipefail

cmd=${1:?usage: netns.sh up|down|cut|isolate|heal|kill-host|start-host|exec DIR ID ...}
dir=${2:?cluster directory}
id=${3:?bed id (digits)}
shift 3
[[ $id =~ ^[0-9]{1,8}$ ]] || { echo "netns.sh: the bed id must be digits" >&2; exit 2; }

ns() { echo "pgwn-$id-$1"; }
hosts=(n1 n2 n3 e1 e2 e3 p1 p2)
state="$dir/netns.env"
# shellcheck source=/dev/null
[[ -f $state ]] && source "$state"
addr() { # host -> address
  case $1 in
    n?) echo "198.18.$NET.${1#n}" ;;
    e?) echo "198.18.$NET.1${1#e}" ;;
    p?) echo "198.18.$NET.2${1#p}" ;;
    client) echo "198.18.$NET.254" ;;
    *) echo "netns.sh: unknown host '$1' (n1..n3, e1..e3, p1, p2, client)" >&2; exit 2 ;;
  esac
}
in_ns() { local h=$1; shift; ip netns exec "$(ns "$h")" "$@"; }
ipt() { local h=$1; shift; in_ns "$h" iptables -w "$@"; }

start_etcd() { # e<k>
  local h=$1 k=${1#e} a; a=$(addr "$1")
  local cluster
  cluster="e1=http://$(addr e1):2380,e2=http://$(addr e2):2380,e3=http://$(addr e3):2380"
  mkdir -p "$dir/etcd/$h"; chown postgres: "$dir/etcd" "$dir/etcd/$h"; chmod 700 "$dir/etcd/$h"
  local st=new; [[ -d $dir/etcd/$h/member ]] && st=existing
  # As the unprivileged postgres user; setpriv execs, so $! is etcd itself. --pre-vote as `pgwarden install`
  # writes it: without it a member healed from a cut comes back with a higher term and deposes the
  # leader, and the agents lose etcd for 2-3 s after every heal.
  ip netns exec "$(ns "$h")" setpriv --reuid postgres --regid postgres --init-groups -- \
    env -u ETCD_NAME etcd --name "$h" --data-dir "$dir/etcd/$h" \
      --listen-client-urls "http://$a:2379" --advertise-client-urls "http://$a:2379" \
      --listen-peer-urls "http://$a:2380" --initial-advertise-peer-urls "http://$a:2380" \
      --initial-cluster "$cluster" --initial-cluster-state "$st" --initial-cluster-token "pgwn-$id" \
      --pre-vote --logger zap --log-outputs stderr </dev/null >>"$dir/logs/etcd-$h.log" 2>&1 &
  echo $! >"$dir/pids/etcd-$h.pid"
  : "$k"
}
start_daemon() { # host name args...
  local h=$1 name=$2; shift 2
  ip netns exec "$(ns "$h")" setsid "$PGW" "$@" </dev/null >>"$dir/logs/$name.log" 2>&1 &
  echo $! >"$dir/pids/$name.pid"
}
start_agent() { start_daemon "$1" "agent-pg${1#n}" agent --config "$dir/cluster.yaml" --node "pg${1#n}"; }
start_pooler() { start_daemon "$1" "pooler-pgb${1#p}" pooler --config "$dir/cluster.yaml" --name "pgb${1#p}"; }

alive() { [[ -r /proc/$1/cmdline ]] && [[ -n $(tr -d '\0' </proc/$1/cmdline 2>/dev/null) ]]; }
# Every process of a tree, the root first.
tree() { local p=$1; echo "$p"; for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree "$c"; done; }
pid_of() { [[ -f $1 ]] && head -1 "$1" | tr -dc 0-9 || true; }

case $cmd in
up)
  NET=${1:?third octet of 198.18.NET.0/24}; sync=${2:-false}; PGW=${3:-pgwarden}
  [[ $NET =~ ^[0-9]{1,3}$ && $NET -ge 1 && $NET -le 254 ]] || { echo "netns.sh: NET must be 1..254" >&2; exit 2; }
  mkdir -p "$dir/pids" "$dir/logs"; chmod 755 "$dir"
  printf 'NET=%s\nPGW=%q\n' "$NET" "$PGW" >"$state"
  if ip -o addr show | grep -q " 198\.18\.$NET\."; then
    echo "netns.sh: 198.18.$NET.0/24 is already in use in the root namespace" >&2; exit 1
  fi
  ip netns add "$(ns sw)"
  ip -n "$(ns sw)" link add br0 type bridge
  ip -n "$(ns sw)" link set br0 up
  ip -n "$(ns sw)" link set lo up
  for h in "${hosts[@]}"; do
    ip netns add "$(ns "$h")"
    ip -n "$(ns sw)" link add "v$h" type veth peer name eth0 netns "$(ns "$h")"
    ip -n "$(ns sw)" link set "v$h" master br0 up
    ip -n "$(ns "$h")" addr add "$(addr "$h")/24" dev eth0
    ip -n "$(ns "$h")" link set eth0 up
    ip -n "$(ns "$h")" link set lo up
  done
  # The root namespace's leg: the test process and the bench's clients reach every host through it.
  ip link add "pgwn$id" type veth peer name vclient netns "$(ns sw)"
  ip -n "$(ns sw)" link set vclient master br0 up
  ip addr add "$(addr client)/24" dev "pgwn$id"
  ip link set "pgwn$id" up
  cat >"$dir/cluster.yaml" <<YAML
cluster: netns$id
hardware: { ram: 1GB, cpus: 2, storage: ssd }
postgres:
  max_connections: 100
database:
  app_networks: [$(addr client)/32]
nodes:
  - { name: pg1, address: $(addr n1), port: 5432, api_port: 8008 }
  - { name: pg2, address: $(addr n2), port: 5432, api_port: 8008 }
  - { name: pg3, address: $(addr n3), port: 5432, api_port: 8008 }
poolers:
  - { name: pgb1, address: $(addr p1), port: 6432 }
  - { name: pgb2, address: $(addr p2), port: 6432 }
dcs:
  embedded: false
  endpoints: [http://$(addr e1):2379, http://$(addr e2):2379, http://$(addr e3):2379]
  synchronous_mode: $sync
tls: disabled   # TLS has its own tests (TlsTests); this bed is about partitions
YAML
  if [[ ! -f $dir/secrets.yaml ]]; then
    umask 077
    {
      echo "# PgWarden cluster secrets. Keep this file private (mode 0600)."
      for k in superuser_password replication_password app_password pooler_admin_password; do echo "$k: \"$(openssl rand -hex 16)\""; done
      echo "api_token: \"$(openssl rand -hex 20)\""
    } >"$dir/secrets.yaml"
    umask 022
  fi
  for h in e1 e2 e3; do start_etcd "$h"; done
  for h in n1 n2 n3; do start_agent "$h"; done
  for h in p1 p2; do start_pooler "$h"; done
  ;;
down)
  [[ -f $state ]] || exit 0
  # Agents and poolers first (they stop their PostgreSQL / PgBouncer cleanly), then etcd.
  for f in "$dir"/pids/agent-*.pid "$dir"/pids/pooler-*.pid; do
    p=$(pid_of "$f"); [[ -n $p ]] && alive "$p" && kill -TERM "$p" 2>/dev/null || true
  done
  for _ in $(seq 100); do
    left=0
    for f in "$dir"/pids/agent-*.pid "$dir"/pids/pooler-*.pid; do p=$(pid_of "$f"); [[ -n $p ]] && alive "$p" && left=1; done
    ((left == 0)) && break
    sleep 0.2
  done
  # Whatever is left, by the PIDs recorded (ours or written by the processes we started).
  for f in "$dir"/pids/*.pid "$dir"/nodes/*/agent.pid "$dir"/nodes/*/data/postmaster.pid "$dir"/poolers/*/pooler.pid "$dir"/poolers/*/run/pgbouncer.pid; do
    p=$(pid_of "$f")
    if [[ -n $p ]] && alive "$p" && grep -qaE 'pgwarden|postgres|pgbouncer|etcd' "/proc/$p/cmdline"; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  sleep 0.3
  for h in "${hosts[@]}" sw; do ip netns del "$(ns "$h")" 2>/dev/null || true; done
  ip link del "pgwn$id" 2>/dev/null || true
  ;;
cut)
  h=${1:?host}; shift
  for peer in "$@"; do
    a=$(addr "$peer")
    ipt "$h" -A OUTPUT -d "$a" -j DROP
    ipt "$h" -A INPUT -s "$a" -j DROP
  done
  ;;
isolate)
  h=${1:?host}
  ipt "$h" -A OUTPUT -o eth0 -j DROP
  ipt "$h" -A INPUT -i eth0 -j DROP
  ;;
heal)
  for h in "${hosts[@]}"; do ipt "$h" -F INPUT; ipt "$h" -F OUTPUT; done
  ;;
kill-host)
  h=${1:?host n1..n3}; k=${h#n}
  pids=()
  ap=$(pid_of "$dir/nodes/pg$k/agent.pid"); [[ -n $ap ]] && alive "$ap" && mapfile -t -O 0 pids < <(tree "$ap")
  pm=$(pid_of "$dir/nodes/pg$k/data/postmaster.pid"); [[ -n $pm ]] && alive "$pm" && mapfile -t -O "${#pids[@]}" pids < <(tree "$pm")
  ep=$(pid_of "$dir/pids/etcd-e$k.pid"); [[ -n $ep ]] && alive "$ep" && pids+=("$ep")
  ((${#pids[@]})) && kill -KILL "${pids[@]}" 2>/dev/null || true
  ip -n "$(ns "$h")" link set eth0 down
  ip -n "$(ns "e$k")" link set eth0 down
  ;;
start-host)
  h=${1:?host n1..n3}; k=${h#n}
  ip -n "$(ns "$h")" link set eth0 up
  ip -n "$(ns "e$k")" link set eth0 up
  start_etcd "e$k"
  start_agent "$h"
  ;;
exec)
  h=${1:?host}; shift
  in_ns "$h" "$@"
  ;;
*) echo "netns.sh: unknown command '$cmd'" >&2; exit 2 ;;
esac
