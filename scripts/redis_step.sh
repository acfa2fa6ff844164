#!/usr/bin/env bash
# The Redis side of one event in a chatd cluster, alone: the publish step of
# docs/CLUSTER.md ("number, append, publish": INCR the room's counter, RPUSH
# the payload to its log capped by LTRIM, PUBLISH it) as one Lua script run
# by EVALSHA, with SUBS subscribers on the room's channel (the nodes'
# subscription connections). It is a stand-in written from that design, not
# the broker's own script: it says what Redis costs per event and how many
# events per second one Redis core takes, before the broker exists.
#
# Usage: scripts/redis_step.sh            (wrap it: flock /tmp/bench.lock ...)
# Environment: STEPS (200000 script runs), CLIENTS (10 connections running
#   them, one in flight each), SUBS (2), RETAIN (1000 log entries kept),
#   SERVER_CPU (0: redis-server), LOAD_CPU (1: redis-benchmark, subscribers).
# Prints one line per figure, then one JSON line.
set -euo pipefail

STEPS=${STEPS:-200000}
CLIENTS=${CLIENTS:-10}
SUBS=${SUBS:-2}
RETAIN=${RETAIN:-1000}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
for n in "$STEPS" "$CLIENTS" "$SUBS" "$RETAIN"; do
  case "$n" in ''|*[!0-9]*|0) echo "redis_step: STEPS, CLIENTS, SUBS, RETAIN need a positive number" >&2; exit 2 ;; esac
done
for tool in redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "redis_step: $tool is missing (scripts/install-deps.sh)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/redis_step.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
taskset -c "$SERVER_CPU" redis-server --bind 127.0.0.1 --port "$port" --dir "$work" \
  --save "" --appendonly no >"$work/redis.log" 2>&1 &
redis_pid=$!
pids+=("$redis_pid")
up=
for _ in $(seq 100); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && up=1 && break
  sleep 0.05
done
[ -n "$up" ] || { echo "redis_step: redis-server did not start:" >&2; cat "$work/redis.log" >&2; exit 1; }

room='chatd:{r0}'
for _ in $(seq "$SUBS"); do
  taskset -c "$LOAD_CPU" redis-cli -p "$port" subscribe "$room" >/dev/null &
  pids+=("$!")
done
# Every subscriber is in before the first event (PUBSUB NUMSUB counts them).
for _ in $(seq 100); do
  [ "$(redis-cli -p "$port" pubsub numsub "$room" | tail -1)" = "$SUBS" ] && break
  sleep 0.05
done

# KEYS[1] the room's key prefix; ARGV: the epoch to set if none, the event
# body, the log's cap. Returns {id, epoch}, as the design's script does.
lua='local e = redis.call("GET", KEYS[1] .. ":epoch")
if not e then
  e = ARGV[1]
  redis.call("SET", KEYS[1] .. ":epoch", e)
  redis.call("SET", KEYS[1] .. ":seq", 0)
end
local id = redis.call("INCR", KEYS[1] .. ":seq")
local payload = e .. " " .. id .. " " .. ARGV[2]
redis.call("RPUSH", KEYS[1] .. ":log", payload)
redis.call("LTRIM", KEYS[1] .. ":log", -tonumber(ARGV[3]), -1)
redis.call("PUBLISH", KEYS[1], payload)
return {id, e}'
sha=$(redis-cli -p "$port" script load "$lua")
# A 32-byte message as chatd would send it (the id appended by the node).
body='{"type":"msg","room":"r0","nick":"u1","msg":"0123456789abcdef0123456789abcdef","ts":1796134395911}'

cpu_ticks() { awk '{print $14 + $15}' "/proc/$redis_pid/stat"; }
t0=$(cpu_ticks)
csv=$(taskset -c "$LOAD_CPU" redis-benchmark -p "$port" -n "$STEPS" -c "$CLIENTS" -P 1 --csv \
  evalsha "$sha" 1 "$room" ep1 "$body" "$RETAIN" | tail -1)
t1=$(cpu_ticks)
last_id=$(redis-cli -p "$port" get "$room:seq")
log_len=$(redis-cli -p "$port" llen "$room:log")
head=$(redis-cli -p "$port" lindex "$room:log" -1)

STEPS=$STEPS CLIENTS=$CLIENTS SUBS=$SUBS RETAIN=$RETAIN TICKS=$((t1 - t0)) HZ=$(getconf CLK_TCK) \
  LAST_ID=$last_id LOG_LEN=$log_len HEAD=$head CSV=$csv /usr/bin/python3 - <<'EOF'
import json, os
e = os.environ
# redis-benchmark --csv: "test","rps","avg_latency_ms","min","p50","p95","p99","max",
# the test being the command line, quotes unescaped: take the numbers from the end.
row = e["CSV"].strip().strip('"').split('","')[-7:]
rps, p50, p99, mx = float(row[0]), float(row[3]), float(row[5]), float(row[6])
steps = int(e["STEPS"])
cpu_ns = int(e["TICKS"]) * 1e9 / int(e["HZ"]) / steps
ok = int(e["LAST_ID"]) == steps and int(e["LOG_LEN"]) == min(steps, int(e["RETAIN"])) \
    and e["HEAD"].startswith(f"ep1 {steps} {{")
print(f"redis_step: {steps} steps from {e['CLIENTS']} connections, {e['SUBS']} subscribers")
print(f"  steps/s      {rps:,.0f}")
print(f"  latency ms   p50 {p50}  p99 {p99}  max {mx}")
print(f"  redis CPU    {cpu_ns / 1e3:.1f} us per step")
print(f"  checks       last id {e['LAST_ID']}, log {e['LOG_LEN']} entries{'' if ok else ', FAILED'}")
print(json.dumps({"steps": steps, "clients": int(e["CLIENTS"]), "subscribers": int(e["SUBS"]),
                  "steps_per_s": rps, "p50_ms": p50, "p99_ms": p99, "max_ms": mx,
                  "redis_cpu_ns_per_step": round(cpu_ns), "last_id": int(e["LAST_ID"]),
                  "log_len": int(e["LOG_LEN"]), "ok": ok}))
raise SystemExit(0 if ok else 1)
EOF
