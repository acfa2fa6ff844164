#!/usr/bin/env bash
# Load test: runs chatd and the floor baseline one after the other under the
# same scenario (server pinned to CPU 0, chat_load to CPU 1), and prints both
# figures, their ratio and the target. Each server is started fresh for each
# run and stopped afterwards; a trap cleans up on any exit.
#
# Usage: scripts/loadtest.sh [--short] [--runs N] [--port P] [--only chatd|floor] [--list] [scenario...]
#   no scenario: all of them (see --list); --short: one quick fan-out run;
#   --only: run one server (e.g. the floor figures before chatd exists).
# Environment: CHATD (build/chatd), FLOOR (../shared/bench/floor),
#   CHAT_LOAD (build/chat_load), CHATD_EXTRA (extra chatd flags),
#   SERVER_CPU (0), LOAD_CPU (1), RESULTS (a file to append JSON lines to).
set -euo pipefail
cd "$(dirname "$0")/.."

CHATD=${CHATD:-build/chatd}
FLOOR=${FLOOR:-../shared/bench/floor}
CHAT_LOAD=${CHAT_LOAD:-build/chat_load}
# The connect scenarios hold up to 19,900 sockets from a few addresses.
CHATD_EXTRA=${CHATD_EXTRA:---max-conn 20000 --max-conn-per-ip 20000}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT=9300
RUNS=1
SERVERS="chatd floor"
PY=/usr/bin/python3
# Every connection is an fd, in the servers as in chat_load.
ulimit -n "$(ulimit -Hn)"

# name | what to compare | target | chat_load arguments
SCENARIOS=(
  "fanout-32b-w2|deliveries_per_s|ratio>=0.9|fanout --clients 1000 --senders 10 --size 32 --window 2 --duration 10"
  "fanout-32b-w8|deliveries_per_s|ratio>=0.9|fanout --clients 1000 --senders 10 --size 32 --window 8 --duration 10"
  "fanout-1k-w2|deliveries_per_s|ratio>=0.7|fanout --clients 1000 --senders 10 --size 1024 --window 2 --duration 10"
  "fanout-rate50|p99_us|ratio<=1.2|fanout --clients 1000 --senders 10 --size 32 --rate 50 --duration 10"
  "connect-10k-idle|rss_per_conn_bytes|value<=256|connect --clients 10000 --hold 2"
  "connect-2k-join|rss_per_conn_bytes|value<=400|connect --clients 2000 --join --hold 2"
  "connect-19900|held|value>=19900|connect --clients 19900 --hold 5"
)
SHORT="fanout-short|deliveries_per_s|none|fanout --clients 200 --senders 5 --size 32 --window 2 --duration 3"

usage() { sed -n '6,12p' "$0" | sed 's/^# \{0,1\}//'; }

selected=()
while [ $# -gt 0 ]; do
  case "$1" in
    --short) selected=("$SHORT") ;;
    --runs) RUNS=$2; shift ;;
    --port) PORT=$2; shift ;;
    --only) SERVERS=$2; shift ;;
    --list) for s in "${SCENARIOS[@]}"; do echo "${s%%|*}: ${s##*|}"; done; exit 0 ;;
    -h|--help) usage; exit 0 ;;
    *)
      found=
      for s in "${SCENARIOS[@]}"; do [ "${s%%|*}" = "$1" ] && selected+=("$s") && found=1; done
      [ -n "$found" ] || { echo "loadtest: unknown scenario $1 (see --list)" >&2; exit 2; }
      ;;
  esac
  shift
done
[ ${#selected[@]} -gt 0 ] || selected=("${SCENARIOS[@]}")
case "$RUNS" in ''|*[!0-9]*) echo "loadtest: --runs needs a number" >&2; exit 2 ;; esac

bins=("$CHAT_LOAD")
case " $SERVERS " in *" chatd "*) bins+=("$CHATD") ;; esac
case " $SERVERS " in *" floor "*) bins+=("$FLOOR") ;; esac
for bin in "${bins[@]}"; do
  [ -x "$bin" ] || { echo "loadtest: $bin is missing (make build/chatd build/chat_load?)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/loadtest.XXXXXX)
server_pid=
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=
}
trap 'stop_server; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# start_server chatd|floor: starts it pinned, waits until it listens.
start_server() {
  local log="$work/$1.log"
  : >"$log"
  if [ "$1" = chatd ]; then
    # shellcheck disable=SC2086
    taskset -c "$SERVER_CPU" "$CHATD" --host 127.0.0.1 --port "$PORT" --rate 0 $CHATD_EXTRA \
      >"$log" 2>&1 &
  else
    taskset -c "$SERVER_CPU" "$FLOOR" --port "$PORT" --batch >"$log" 2>&1 &
  fi
  server_pid=$!
  for _ in $(seq 100); do
    grep -q "listening" "$log" && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "loadtest: $1 did not start:" >&2
  cat "$log" >&2
  return 1
}

# run_one server args...: prints chat_load's JSON line for one run.
run_one() {
  local server=$1
  shift
  start_server "$server" || { echo '{"ok":false}'; return; }
  local out rc=0
  out=$(taskset -c "$LOAD_CPU" "$CHAT_LOAD" "$@" --port "$PORT" --server-pid "$server_pid" \
    --json 2>"$work/load.err") || rc=$?
  stop_server
  [ -s "$work/load.err" ] && sed 's/^/  chat_load: /' "$work/load.err" >&2
  [ "$rc" -le 1 ] && [ -n "$out" ] || out='{"ok":false}'
  echo "${out##*$'\n'}"
}

echo "loadtest: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$RUNS run(s) per figure, server on CPU $SERVER_CPU, chat_load on CPU $LOAD_CPU"
summary="$work/summary.jsonl"
for s in "${selected[@]}"; do
  IFS='|' read -r name metric target args <<<"$s"
  # Interleaved (chatd, floor, chatd, floor...): a drift in the machine's
  # load over the run hits both servers alike instead of one of them.
  for run in $(seq "$RUNS"); do
    for server in $SERVERS; do
      # shellcheck disable=SC2086
      line=$(run_one "$server" $args)
      echo "{\"scenario\":\"$name\",\"server\":\"$server\",\"run\":$run,\"metric\":\"$metric\",\"target\":\"$target\",\"args\":\"$args\",\"result\":$line}" >>"$summary"
      echo "  $name $server run $run: $line"
    done
  done
done
[ -n "${RESULTS:-}" ] && cat "$summary" >>"$RESULTS"

# Medians per scenario and server, the ratio, and the verdict.
"$PY" - "$summary" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
order = []
for r in rows:
    if r["scenario"] not in order:
        order.append(r["scenario"])
failed = False
print(f"\n{'scenario':18} {'metric':20} {'chatd':>12} {'floor':>12} {'ratio':>7}  target        verdict")
for name in order:
    rs = [r for r in rows if r["scenario"] == name]
    metric, target = rs[0]["metric"], rs[0]["target"]
    def med(server):
        vals = [r["result"].get(metric) for r in rs if r["server"] == server]
        vals = [v for v in vals if isinstance(v, (int, float))]
        return statistics.median(vals) if vals else None
    c, f = med("chatd"), med("floor")
    checks_ok = all(r["result"].get("ok") for r in rs if r["server"] == "chatd")
    ratio = c / f if c is not None and f else None
    verdict = "-"
    if target != "none" and c is not None:
        kind, bound = target.split(">=") if ">=" in target else target.split("<=")
        subject = ratio if kind == "ratio" else c
        ge = ">=" in target
        if subject is not None:
            met = subject >= float(bound) if ge else subject <= float(bound)
            verdict = "met" if met else "MISSED"
    if not checks_ok:
        verdict += " (chatd checks FAILED)"
    if verdict != "-" and verdict != "met":
        failed = True
    fmt = lambda v: "n/a" if v is None else f"{v:.4g}" if v < 1e4 else f"{v:,.0f}"
    print(f"{name:18} {metric:20} {fmt(c):>12} {fmt(f):>12} {fmt(ratio):>7}  {target:13} {verdict}")
    # Fan-out runs also carry the server's CPU per delivery (chat_load reads
    # /proc/PID/stat): the cost behind a rate, whichever side is the limit.
    def med_of(server, key):
        vals = [r["result"].get(key) for r in rs if r["server"] == server]
        vals = [v for v in vals if isinstance(v, (int, float)) and v > 0]
        return statistics.median(vals) if vals else None
    cn, fn = med_of("chatd", "server_ns_per_delivery"), med_of("floor", "server_ns_per_delivery")
    if cn is not None or fn is not None:
        nr = cn / fn if cn is not None and fn else None
        print(f"{'':18} {'server_ns_per_deliv':20} {fmt(cn):>12} {fmt(fn):>12} {fmt(nr):>7}")
sys.exit(1 if failed else 0)
EOF
