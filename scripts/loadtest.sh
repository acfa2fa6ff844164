#!/usr/bin/env bash
# Load test: runs chatd and the floor baseline (build/floor, bench/floor/)
# under the same scenarios (server pinned to CPU 0, chat_load to CPU 1), and
# prints both figures, their ratio and the target. Each server is started
# fresh for each run and stopped afterwards; the servers take turns run by
# run; a trap cleans up on any exit.
#
# Usage: scripts/loadtest.sh [--short] [--runs N] [--port P] [--only "S..."] [--list] [scenario...]
#        scripts/loadtest.sh --peers [--runs N] [--out DIR] [--clients C] [--duration S] [--connections N]
#        scripts/loadtest.sh --cluster [--runs N] [--port P] [--only "S..."] [--clients C]
#                            [--duration S] [scenario...]
#   no scenario: all of them (see --list); --short: one quick fan-out run;
#   --only: the servers to run, of chatd floor yardstick node-ws node-ws-redis
#   python-websockets chatd-cluster chatd-reuse (yardstick: the reference
#   floor binary, $YARDSTICK).
#   --peers: chatd, floor and the peers of bench/peers under the comparison
#   scenarios; writes DIR/compare.md, DIR/compare.svg and DIR/compare.jsonl
#   (DIR: docs/bench); --clients/--duration/--connections shrink it.
#   --cluster: several nodes, one service (issue 13): the cluster-*
#   scenarios (also named alone) on chatd-cluster, chatd and node-ws-redis.
# Environment: CHATD (build/chatd), FLOOR (build/floor), YARDSTICK
#   (../shared/bench/floor), CHAT_LOAD (build/chat_load), CHATD_EXTRA (extra
#   chatd flags), SERVER_CPU (0), LOAD_CPU (1), RESULTS (a file to append JSON
#   lines to), REDIS_NODES (2: node-ws-redis worker processes),
#   CLUSTER_NODES (2: chatd nodes of chatd-cluster and chatd-reuse).
#
# The cluster servers (issue 13, docs/CLUSTER.md). Each run starts a fresh
# redis-server on a free loopback port, in a temporary directory, keeping
# nothing on disk (--save '' --appendonly no), and stops it after:
#   chatd-cluster  CLUSTER_NODES chatd nodes, node 0 on port P and node
#                  k > 0 on P+1+k (P, P+2, P+3...), each `chatd --port PORT
#                  --redis redis://127.0.0.1:R --node-id nodeK --rate 0`, in
#                  a directory of its own; chat_load --ports spreads the
#                  clients over them round-robin, its checks spanning all.
#   chatd-reuse    the same nodes on the one port P with --reuse-port (the
#                  kernel spreads the connections); chat_load --port P.
#   node-ws-redis  the Node ws peer scaled out the usual way: REDIS_NODES
#                  worker processes (node:cluster) on one port, one Redis.
# Every process of a service (nodes, workers, Redis) is pinned to
# SERVER_CPU and named to chat_load's --server-pid, so server_ns_per_delivery
# is the whole service's CPU. The cluster scenarios:
#   cluster-1x1000-2n  1000 clients in one room, 10 senders, window 2, 32 B:
#                      deliveries/s (target: chatd-cluster >= 5x node-ws-redis)
#   cluster-rate50-2n  the same room paced at 50 msg/s in all: p99 latency
# The summary adds each pair's ratio and, with chatd and chatd-cluster both
# run, the Redis hop per event: the extra service CPU per message (the CPU
# per delivery difference times the room's members) and the extra p50.
set -euo pipefail
cd "$(dirname "$0")/.."

CHATD=${CHATD:-build/chatd}
CHATD_ABS=$(realpath -m "$CHATD")
# Named, since chatd runs in a directory of its own (build/san/chatd would
# look for build/static).
STATIC=$(realpath -m static)
FLOOR=${FLOOR:-build/floor}
YARDSTICK=${YARDSTICK:-../shared/bench/floor}
CHAT_LOAD=${CHAT_LOAD:-build/chat_load}
# The connect scenarios hold up to 19,900 sockets from a few addresses.
CHATD_EXTRA=${CHATD_EXTRA:---max-conn 20000 --max-conn-per-ip 20000}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
REDIS_NODES=${REDIS_NODES:-2}
CLUSTER_NODES=${CLUSTER_NODES:-2}
PORT=9300
RUNS=1
SERVERS="chatd floor"
PEERS=
CLUSTER_MODE=
ONLY_SET=
DURATION_SET=
OUT=docs/bench
CLIENTS=1000
DURATION=5
CONNECTIONS=
PY=/usr/bin/python3
# Every connection is an fd, in the servers as in chat_load.
ulimit -n "$(ulimit -Hn)"

# name | what to compare | target | chat_load arguments
# A target is chatd's ratio to floor (ratio), chatd's own value (value), its
# ratio to chatd in another scenario of the run (of:NAME), or the memory per
# membership beyond another scenario's (extra:NAME, from rss_per_conn_bytes
# and memberships; without a bound, only printed).
SCENARIOS=(
  "fanout-32b-w2|deliveries_per_s|ratio>=0.9|fanout --clients 1000 --senders 10 --size 32 --window 2 --duration 10"
  "fanout-32b-w8|deliveries_per_s|ratio>=0.9|fanout --clients 1000 --senders 10 --size 32 --window 8 --duration 10"
  "fanout-1k-w2|deliveries_per_s|ratio>=0.7|fanout --clients 1000 --senders 10 --size 1024 --window 2 --duration 10"
  "fanout-rate50|p99_us|ratio<=1.2|fanout --clients 1000 --senders 10 --size 32 --rate 50 --duration 10"
  "connect-10k-idle|rss_per_conn_bytes|value<=256|connect --clients 10000 --hold 2"
  "connect-2k-join|rss_per_conn_bytes|value<=400|connect --clients 2000 --join --hold 2"
  "connect-19900|held|value>=19900|connect --clients 19900 --hold 5"
  # Issue 11: rooms, memberships and resume (protocol v2: chatd only).
  "rooms-1x1000|deliveries_per_s|none|fanout --rooms 1 --clients 1000 --senders 1 --size 32 --window 2 --duration 10"
  "rooms-100x10|deliveries_per_s|of:rooms-1x1000>=0.5|fanout --rooms 100 --clients 1000 --senders 100 --size 32 --window 2 --duration 10"
  "rooms-1x1000-s100|deliveries_per_s|none|fanout --rooms 1 --clients 1000 --senders 100 --size 32 --window 2 --duration 10"
  "conn-rooms-0|rss_per_conn_bytes|none|connect --clients 2000 --hold 2"
  "conn-rooms-1|rss_per_conn_bytes|extra:conn-rooms-0|connect --clients 2000 --rooms-per-conn 1 --rooms 200 --hold 2"
  "conn-rooms-5|rss_per_conn_bytes|extra:conn-rooms-1<=200|connect --clients 2000 --rooms-per-conn 5 --rooms 1000 --hold 2"
  "conn-rooms-32|rss_per_conn_bytes|extra:conn-rooms-1<=200|connect --clients 2000 --rooms-per-conn 32 --rooms 6400 --hold 2"
  "resume-storm|catch_up_s|value<=1|resume --clients 1100 --rooms 100 --drop 1000 --messages 100 --inflight 1000"
)
# Scenarios floor cannot run (it speaks only the v1 subset): n/a for floor.
CHATD_ONLY=" rooms-1x1000 rooms-100x10 rooms-1x1000-s100 conn-rooms-1 conn-rooms-5 conn-rooms-32 resume-storm cluster-1x1000-2n cluster-rate50-2n "
# Issue 13: several nodes, one service (--cluster; see the header). One
# room (so the same-event check runs across the nodes), senders spread over
# the nodes by --ports; drains are long for the peer at window 2. @C and
# @D: --clients (1000) and --duration (10 s here).
CLUSTER=(
  "cluster-1x1000-2n|deliveries_per_s|x:chatd-cluster/node-ws-redis>=5|fanout --rooms 1 --clients @C --senders 10 --size 32 --window 2 --duration @D --drain 15"
  "cluster-rate50-2n|p99_us|none|fanout --rooms 1 --clients @C --senders 10 --size 32 --rate 50 --duration @D --drain 15"
)
CLUSTER_SERVERS="chatd-cluster chatd node-ws-redis"
SHORT="fanout-short|deliveries_per_s|none|fanout --clients 200 --senders 5 --size 32 --window 2 --duration 3"

# The comparison (--peers): name | metrics | chat_load arguments; @C, @D,
# @N, @J stand for the clients, the duration, and the idle and joined
# connection counts. Joined connections are 1,000 (the fan-out room's size),
# not 2,000: every join is an event to every member, and Python websockets
# needs minutes for the 2,000 joins' 2 M deliveries. The drain is long
# because the peers lag far behind at window 8.
COMPARE=(
  "fanout-32b-w2|deliveries_per_s|fanout --clients @C --senders 10 --size 32 --window 2 --duration @D --drain 15"
  "fanout-32b-w8|deliveries_per_s|fanout --clients @C --senders 10 --size 32 --window 8 --duration @D --drain 15"
  "fanout-1k-w2|deliveries_per_s|fanout --clients @C --senders 10 --size 1024 --window 2 --duration @D --drain 15"
  "fanout-rate50|p99_us|fanout --clients @C --senders 10 --size 32 --rate 50 --duration @D --drain 15"
  "connect-idle|rss_per_conn_bytes,handshakes_per_s|connect --clients @N --hold 1"
  "connect-join|rss_per_conn_bytes|connect --clients @J --join --hold 1"
)

usage() { sed -n '8,49p' "$0" | sed 's/^# \{0,1\}//'; }

selected=()
while [ $# -gt 0 ]; do
  case "$1" in
    --short) selected=("$SHORT") ;;
    --runs) RUNS=$2; shift ;;
    --port) PORT=$2; shift ;;
    --only) SERVERS=$2; ONLY_SET=1; shift ;;
    --peers) PEERS=1 ;;
    --cluster) CLUSTER_MODE=1 ;;
    --out) OUT=$2; shift ;;
    --clients) CLIENTS=$2; shift ;;
    --duration) DURATION=$2; DURATION_SET=1; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --list) for s in "${SCENARIOS[@]}" "${CLUSTER[@]}"; do echo "${s%%|*}: ${s##*|}"; done; exit 0 ;;
    -h|--help) usage; exit 0 ;;
    *)
      found=
      for s in "${SCENARIOS[@]}"; do [ "${s%%|*}" = "$1" ] && selected+=("$s") && found=1; done
      for s in "${CLUSTER[@]}"; do
        [ "${s%%|*}" = "$1" ] && selected+=("$s") && found=1 && CLUSTER_MODE=1
      done
      [ -n "$found" ] || { echo "loadtest: unknown scenario $1 (see --list)" >&2; exit 2; }
      ;;
  esac
  shift
done
if [ -n "$CLUSTER_MODE" ]; then
  [ ${#selected[@]} -gt 0 ] || selected=("${CLUSTER[@]}")
  [ -n "$ONLY_SET" ] || SERVERS=$CLUSTER_SERVERS
  [ -n "$DURATION_SET" ] || DURATION=10
  for i in "${!selected[@]}"; do
    s=${selected[$i]//@C/$CLIENTS}
    selected[$i]=${s//@D/$DURATION}
  done
fi
[ ${#selected[@]} -gt 0 ] || selected=("${SCENARIOS[@]}")
for n in "$RUNS" "$CLIENTS" "${CONNECTIONS:-0}"; do
  case "$n" in ''|*[!0-9]*) echo "loadtest: --runs, --clients, --connections need a number" >&2; exit 2 ;; esac
done
if [ -n "$PEERS" ]; then
  [ "$SERVERS" != "chatd floor" ] || SERVERS="chatd floor node-ws node-ws-redis python-websockets"
  selected=()
  for s in "${COMPARE[@]}"; do
    s=${s//@C/$CLIENTS}
    s=${s//@D/$DURATION}
    s=${s//@N/${CONNECTIONS:-10000}}
    selected+=("${s//@J/${CONNECTIONS:-1000}}")
  done
fi

need=("$CHAT_LOAD")
for server in $SERVERS; do
  case "$server" in
    chatd) need+=("$CHATD") ;;
    floor) need+=("$FLOOR") ;;
    yardstick) need+=("$YARDSTICK") ;;
    chatd-cluster|chatd-reuse)
      need+=("$CHATD")
      command -v redis-server >/dev/null ||
        { echo "loadtest: $server needs redis-server (scripts/install-deps.sh)" >&2; exit 2; } ;;
    node-ws|node-ws-redis)
      [ -d bench/peers/node/node_modules/ws ] ||
        { echo "loadtest: $server needs scripts/install-deps.sh --peers" >&2; exit 2; }
      [ "$server" = node-ws ] || command -v redis-server >/dev/null ||
        { echo "loadtest: node-ws-redis needs redis-server (scripts/install-deps.sh --peers)" >&2; exit 2; } ;;
    python-websockets)
      "$PY" -c 'import websockets' 2>/dev/null ||
        { echo "loadtest: python-websockets needs python3-websockets (scripts/install-deps.sh)" >&2; exit 2; } ;;
    *) echo "loadtest: unknown server $server" >&2; exit 2 ;;
  esac
done
for bin in "${need[@]}"; do
  [ -x "$bin" ] || { echo "loadtest: $bin is missing (make build/chatd build/chat_load build/floor?)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/loadtest.XXXXXX)
server_pid=
redis_pid=
node_pids=()      # the cluster's nodes beyond server_pid
service_pids=     # every process of the running service, for --server-pid
service_ports=    # chatd-cluster: the nodes' ports, for --ports
# stop_pid PID: SIGTERM, a bounded wait, then SIGKILL.
stop_pid() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
stop_server() {
  local pid
  for pid in "${node_pids[@]}"; do stop_pid "$pid"; done
  stop_pid "$server_pid"
  stop_pid "$redis_pid"
  server_pid=
  redis_pid=
  node_pids=()
  service_pids=
  service_ports=
}
trap 'stop_server; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# wait_listening NAME LOG PID: waits (bounded) for "listening" in LOG.
wait_listening() {
  for _ in $(seq 200); do
    grep -q "listening" "$2" && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.05
  done
  echo "loadtest: $1 did not start:" >&2
  cat "$2" >&2
  return 1
}

# free_port: a loopback port nothing listens on now (the kernel's pick).
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_redis PORT: a fresh redis-server pinned to SERVER_CPU on PORT, in a
# directory of its own, keeping nothing on disk; waits (bounded) for PONG.
start_redis() {
  rm -rf "$work/redis" && mkdir -p "$work/redis"
  taskset -c "$SERVER_CPU" redis-server --bind 127.0.0.1 --port "$1" --dir "$work/redis" \
    --save "" --appendonly no >"$work/redis.log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 100); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
    kill -0 "$redis_pid" 2>/dev/null || break  # exited: the port was taken meanwhile?
    sleep 0.05
  done
  echo "loadtest: redis-server did not start:" >&2
  cat "$work/redis.log" >&2
  return 1
}

# start_fresh_redis: start_redis on a free port (in redis_port), picked again
# if a client's ephemeral port took it between the pick and the bind.
start_fresh_redis() {
  for _ in 1 2 3 4 5; do
    redis_port=$(free_port)
    start_redis "$redis_port" 2>"$work/redis-start.err" && return 0
    grep -q "Address already in use" "$work/redis.log" || break
  done
  cat "$work/redis-start.err" >&2
  return 1
}

# wait_healthy NAME PORT [TIMES]: waits (bounded) for TIMES (1) answers
# /healthz 200 in a row (a cluster node answers 503 until its Redis
# connection is ready; on a shared port each answer is some node's).
wait_healthy() {
  local line ok=0
  for _ in $(seq 200); do
    if exec 3<>"/dev/tcp/127.0.0.1/$2"; then
      printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
      read -r line <&3 || line=
      exec 3<&-
      if [[ "$line" == *" 200 "* ]]; then
        ok=$((ok + 1))
        [ "$ok" -lt "${3:-1}" ] || return 0
        continue
      fi
    fi 2>/dev/null
    ok=0
    sleep 0.05
  done
  echo "loadtest: $1 on port $2 never answered /healthz 200" >&2
  return 1
}

# start_nodes NAME: CLUSTER_NODES chatd nodes on one fresh Redis: on ports
# PORT, PORT+2, PORT+3... (chatd-cluster) or all on PORT with --reuse-port
# (chatd-reuse); waits until every one listens and is healthy.
start_nodes() {
  local redis_port k port pid log ports=() reuse=()
  start_fresh_redis || return 1
  [ "$1" = chatd-cluster ] || reuse=(--reuse-port)
  service_pids=$redis_pid
  for k in $(seq 0 $((CLUSTER_NODES - 1))); do
    port=$PORT
    [ "$1" = chatd-reuse ] || [ "$k" -eq 0 ] || port=$((PORT + 1 + k))
    log="$work/$1.node$k.log"
    : >"$log"
    # No --db: the room logs live in Redis; each node in a directory of its own.
    rm -rf "$work/node$k" && mkdir -p "$work/node$k"
    # shellcheck disable=SC2086
    (cd "$work/node$k" && exec taskset -c "$SERVER_CPU" "$CHATD_ABS" --host 127.0.0.1 \
      --port "$port" --rate 0 --static "$STATIC" --redis "redis://127.0.0.1:$redis_port" \
      --node-id "node$k" "${reuse[@]}" $CHATD_EXTRA) >"$log" 2>&1 &
    pid=$!
    if [ "$k" -eq 0 ]; then server_pid=$pid; else node_pids+=("$pid"); fi
    service_pids+=",$pid"
    ports+=("$port")
    wait_listening "$1 node$k" "$log" "$pid" || return 1
  done
  if [ "$1" = chatd-reuse ]; then
    wait_healthy "$1" "$PORT" $((CLUSTER_NODES * 8)) || return 1
  else
    for port in "${ports[@]}"; do wait_healthy "$1" "$port" || return 1; done
  fi
  # With --reuse-port the kernel picks the node: chat_load sees one port.
  [ "$1" = chatd-reuse ] || service_ports=$(IFS=,; echo "${ports[*]}")
}


# start_server NAME: starts it pinned to SERVER_CPU, waits until it listens.
start_server() {
  local log="$work/$1.log" pin=(taskset -c "$SERVER_CPU")
  : >"$log"
  case "$1" in
    chatd-cluster|chatd-reuse) start_nodes "$1"; return ;;
    chatd)
      # Each run starts with an empty database of its own (the default --db
      # is chatd.db in the working directory), never the repository's.
      rm -rf "$work/db" && mkdir -p "$work/db"
      # shellcheck disable=SC2086
      (cd "$work/db" && exec "${pin[@]}" "$CHATD_ABS" --host 127.0.0.1 --port "$PORT" --rate 0 \
        --static "$STATIC" $CHATD_EXTRA) >"$log" 2>&1 & ;;
    floor) "${pin[@]}" "$FLOOR" --port "$PORT" >"$log" 2>&1 & ;;
    yardstick) "${pin[@]}" "$YARDSTICK" --port "$PORT" --batch >"$log" 2>&1 & ;;
    node-ws) "${pin[@]}" node bench/peers/node/chat-ws.js --port "$PORT" >"$log" 2>&1 & ;;
    python-websockets)
      "${pin[@]}" "$PY" bench/peers/python/chat_websockets.py --port "$PORT" >"$log" 2>&1 & ;;
    node-ws-redis)
      # A fresh Redis per run on a free port, keeping nothing on disk (a
      # fixed port could be a client socket's ephemeral port just then).
      local redis_port
      start_fresh_redis || return 1
      "${pin[@]}" node bench/peers/node/chat-ws-redis.js --port "$PORT" \
        --redis-port "$redis_port" --nodes "$REDIS_NODES" >"$log" 2>&1 & ;;
  esac
  server_pid=$!
  wait_listening "$1" "$log" "$server_pid"
}

# run_one server args...: prints chat_load's JSON line for one run.
run_one() {
  local server=$1
  shift
  start_server "$server" || { echo '{"ok":false}'; return; }
  # A service of several processes has them all named (nodes, workers,
  # Redis) and summed. Outside --cluster node-ws-redis is named not at all,
  # as before: its figures there stay comparable with earlier runs.
  local pid_arg=(--server-pid "${service_pids:-$server_pid}") port_arg=(--port "$PORT")
  if [ "$server" = node-ws-redis ]; then
    pid_arg=()
    [ -z "$CLUSTER_MODE" ] ||
      pid_arg=(--server-pid "$server_pid,$redis_pid$(pgrep -P "$server_pid" | sed 's/^/,/' | tr -d '\n')")
  fi
  [ -z "$service_ports" ] || port_arg=(--ports "$service_ports")
  local out rc=0
  out=$(taskset -c "$LOAD_CPU" "$CHAT_LOAD" "$@" "${port_arg[@]}" "${pid_arg[@]}" \
    --json 2>"$work/load.err") || rc=$?
  stop_server
  [ -s "$work/load.err" ] && sed 's/^/  chat_load: /' "$work/load.err" >&2
  [ "$rc" -le 1 ] && [ -n "$out" ] || out='{"ok":false}'
  echo "${out##*$'\n'}"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
date0=$(date -u '+%Y-%m-%d %H:%M UTC')
echo "loadtest: $(nproc) cores, $(uname -r), load average $load0," \
  "$RUNS run(s) per figure, server on CPU $SERVER_CPU, chat_load on CPU $LOAD_CPU${CLUSTER_MODE:+, $CLUSTER_NODES chatd nodes, $REDIS_NODES node-ws-redis workers}"
summary="$work/summary.jsonl"
nservers=$(wc -w <<<"$SERVERS")
total=$((${#selected[@]} * RUNS * nservers))
step=0
t_start=$(date +%s)
si=0
for s in "${selected[@]}"; do
  si=$((si + 1))
  if [ -n "$PEERS" ]; then
    IFS='|' read -r name metric args <<<"$s"
    target=none
  else
    IFS='|' read -r name metric target args <<<"$s"
  fi
  # Run by run, the servers take turns, so a slow spell of the machine
  # falls on all of them rather than on one.
  for run in $(seq "$RUNS"); do
    for server in $SERVERS; do
      [ "$server" = floor ] && [[ "$CHATD_ONLY" == *" $name "* ]] && continue
      step=$((step + 1))
      elapsed=$(($(date +%s) - t_start))
      eta=
      [ "$step" -le 1 ] || eta=", ETA $(((elapsed * (total - step + 1) / (step - 1) + 59) / 60)) min"
      echo "loadtest: [$step/$total] $name ($si/${#selected[@]}) $server run $run/$RUNS, ${elapsed}s elapsed$eta" >&2
      # shellcheck disable=SC2086
      line=$(run_one "$server" $args)
      echo "{\"scenario\":\"$name\",\"server\":\"$server\",\"run\":$run,\"metric\":\"$metric\",\"target\":\"$target\",\"args\":\"$args\",\"result\":$line}" >>"$summary"
      echo "  $name $server run $run: $line"
    done
  done
done
[ -n "${RESULTS:-}" ] && cat "$summary" >>"$RESULTS"

if [ -n "$PEERS" ]; then
  mkdir -p "$OUT"
  cp "$summary" "$OUT/compare.jsonl"
  LOAD0=$load0 DATE0=$date0 REDIS_NODES=$REDIS_NODES \
    "$PY" scripts/bench_report.py "$OUT/compare.jsonl" "$OUT/compare.md" "$OUT/compare.svg" \
    "scripts/loadtest.sh --peers --runs $RUNS --clients $CLIENTS --duration $DURATION${CONNECTIONS:+ --connections $CONNECTIONS}"
  exit $?
fi

# Medians per scenario and server, the ratio (chatd to floor; with other
# servers, the first to the second) and chatd's verdict.
CLUSTER_MODE=$CLUSTER_MODE "$PY" - "$summary" $SERVERS <<'EOF'
import json, os, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
servers = sys.argv[2:]
a, b = ("chatd", "floor") if {"chatd", "floor"} <= set(servers) else (servers + servers)[:2]
order = []
for r in rows:
    if r["scenario"] not in order:
        order.append(r["scenario"])
failed = False
fmt = lambda v: "n/a" if v is None else f"{v:.4g}" if v < 1e4 else f"{v:,.0f}"
print(f"\n{'scenario':18} {'metric':20} " + " ".join(f"{s:>12}" for s in servers) +
      f" {'ratio':>7}  target        verdict")
for name in order:
    rs = [r for r in rows if r["scenario"] == name]
    metric, target = rs[0]["metric"], rs[0]["target"]
    def med(server):
        vals = [r["result"].get(metric) for r in rs if r["server"] == server]
        vals = [v for v in vals if isinstance(v, (int, float))]
        return statistics.median(vals) if vals else None
    meds = {s: med(s) for s in servers}
    c = meds.get("chatd")
    ratio = meds[a] / meds[b] if meds[a] is not None and meds[b] else None
    verdict = "-"
    if target.startswith("x:"):
        # One server's median against another's: x:A/B>=K.
        pair, bound = target[2:].split(">=")
        num, den = pair.split("/")
        if meds.get(num) is not None and meds.get(den):
            verdict = "met" if meds[num] / meds[den] >= float(bound) else "MISSED"
        else:
            verdict = f"n/a (no {num if meds.get(num) is None else den})"
    elif target != "none" and c is not None:
        bounded = ">=" in target or "<=" in target
        kind, bound = target.split(">=") if ">=" in target else target.split("<=") if bounded else (target, None)
        subject = (c / meds["floor"] if meds.get("floor") else None) if kind == "ratio" else c
        if ":" in kind:
            # Against another scenario of this run, on chatd's medians.
            how, ref = kind.split(":", 1)
            rr = [r["result"] for r in rows if r["scenario"] == ref and r["server"] == "chatd"]
            vals = [r.get(metric) for r in rr if isinstance(r.get(metric), (int, float))]
            base = statistics.median(vals) if vals else None
            subject = ratio = None
            if base and how == "of":
                subject = ratio = c / base
            elif base is not None and how == "extra":
                res = [r["result"] for r in rs if r["server"] == "chatd"]
                conns = res[0].get("connections", 0)
                extra = res[0].get("memberships", 0) - rr[0].get("memberships", 0)
                if extra > 0:
                    subject = ratio = (c - base) * conns / extra
                    print(f"  {name}: {subject:.0f} B per membership beyond {ref}")
        ge = ">=" in target
        if subject is not None and bounded:
            met = subject >= float(bound) if ge else subject <= float(bound)
            verdict = "met" if met else "MISSED"
    bad = sorted({r["server"] for r in rs if not r["result"].get("ok")})
    if verdict.startswith("MISSED") or bad:
        failed = True
    if bad:
        verdict += f" ({', '.join(bad)} checks FAILED)"
    print(f"{name:18} {metric:20} " + " ".join(f"{fmt(meds[s]):>12}" for s in servers) +
          f" {fmt(ratio):>7}  {target:13} {verdict}")
    # Fan-out runs also carry the server's CPU per delivery (chat_load reads
    # /proc/PID/stat): the cost behind a rate, whichever side is the limit.
    def med_of(server, key):
        vals = [r["result"].get(key) for r in rs if r["server"] == server]
        vals = [v for v in vals if isinstance(v, (int, float)) and v > 0]
        return statistics.median(vals) if vals else None
    if os.environ.get("CLUSTER_MODE"):
        # Several nodes: every pair's ratio, each service's CPU per delivery
        # (all its processes), and the Redis hop chatd-cluster pays per event.
        ran = [s for s in servers if meds.get(s) is not None]
        for i, x in enumerate(ran):
            for y in ran[i + 1:]:
                if meds[y]:
                    print(f"{'':18} {x + ' / ' + y:33} {meds[x] / meds[y]:>12.3g}")
        ns = {s: med_of(s, "server_ns_per_delivery") for s in servers}
        print(f"{'':18} {'server_ns_per_deliv':20} " + " ".join(f"{fmt(ns[s]):>12}" for s in servers))
        one, many = "chatd", "chatd-cluster"
        members = rs[0]["result"].get("clients", 0)
        if ns.get(one) and ns.get(many) and members:
            extra_us = (ns[many] - ns[one]) * members / 1e3
            p50 = {s: med_of(s, "p50_us") for s in (one, many)}
            extra_p50 = f", p50 {p50[many] - p50[one]:+.0f} us" if None not in p50.values() else ""
            print(f"{'':18} Redis hop per event: {extra_us:+.1f} us of service CPU{extra_p50}")
        continue
    cn, fn = med_of("chatd", "server_ns_per_delivery"), med_of("floor", "server_ns_per_delivery")
    if cn is not None or fn is not None:
        nr = cn / fn if cn is not None and fn else None
        print(f"{'':18} {'server_ns_per_deliv':20} {fmt(cn):>12} {fmt(fn):>12} {fmt(nr):>7}")
sys.exit(1 if failed else 0)
EOF
