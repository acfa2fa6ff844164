#!/usr/bin/env bash
# The cost of the event store, side by side in one run: chatd with
# `--db :memory:`, with a SQLite file (the default), and with `--fsync`,
# taking turns run by run under the same load (server pinned to CPU 0,
# chat_load to CPU 1), each run on a fresh database. Prints every run's
# JSON line, then medians and each mode's ratio to memory.
#
# Usage: scripts/store_compare.sh [--runs N] [--duration S] [--clients N]
#          [--only SCENARIO]
#   (defaults 3 runs, 10 s, 1000 clients, every scenario)
# Environment: CHATD (build/chatd), CHAT_LOAD (build/chat_load), SERVER_CPU
#   (0), LOAD_CPU (1), PORT (9400); BASE_CHATD: another chatd (an older
#   build) run with a file too, as a fourth mode "base", for file / base.
set -euo pipefail
cd "$(dirname "$0")/.."

CHATD=$(realpath -m "${CHATD:-build/chatd}")
CHAT_LOAD=${CHAT_LOAD:-build/chat_load}
STATIC=$(realpath -m static)  # chatd runs in a directory of its own
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT=${PORT:-9400}
RUNS=3
DURATION=10
CLIENTS=1000
PY=/usr/bin/python3
ONLY=
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --clients) CLIENTS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "store_compare: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
for bin in "$CHATD" "$CHAT_LOAD" ${BASE_CHATD:+"$BASE_CHATD"}; do
  [ -x "$bin" ] || { echo "store_compare: $bin is missing (make build/chatd build/chat_load)" >&2; exit 2; }
done
ulimit -n "$(ulimit -Hn)"

half=$((CLIENTS / 2))
# name | metric | chat_load arguments
SCENARIOS=(
  "one-room|deliveries_per_s|fanout --clients $CLIENTS --senders 10 --size 32 --window 2 --duration $DURATION"
  "rooms-of-2|sent_per_s|fanout --rooms $half --clients $CLIENTS --senders $CLIENTS --size 32 --window 1 --duration $DURATION"
  "rate-50|p99_us|fanout --clients $CLIENTS --senders 10 --size 32 --rate 50 --duration $DURATION"
)
MODES=("memory|--db :memory:" "file|" "fsync|--fsync")
BASE_CHATD=${BASE_CHATD:+$(realpath -m "$BASE_CHATD")}
[ -z "$BASE_CHATD" ] || MODES+=("base|")

work=$(mktemp -d /tmp/store_compare.XXXXXX)
pid=
stop() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  pid=
}
trap 'stop; rm -rf "$work"' EXIT

echo "store_compare: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC'), $RUNS run(s)"
rows="$work/rows.jsonl"
for s in "${SCENARIOS[@]}"; do
  IFS='|' read -r name metric args <<<"$s"
  [ -z "$ONLY" ] || [ "$name" = "$ONLY" ] || continue
  for run in $(seq "$RUNS"); do
    for m in "${MODES[@]}"; do
      IFS='|' read -r mode flags <<<"$m"
      rm -rf "$work/db" && mkdir -p "$work/db"
      bin=$CHATD
      [ "$mode" != base ] || bin=$BASE_CHATD
      # shellcheck disable=SC2086
      (cd "$work/db" && exec taskset -c "$SERVER_CPU" "$bin" --host 127.0.0.1 --port "$PORT" \
        --rate 0 --max-conn 20000 --max-conn-per-ip 20000 --static "$STATIC" $flags) >"$work/chatd.log" 2>&1 &
      pid=$!
      for _ in $(seq 100); do grep -q listening "$work/chatd.log" && break; sleep 0.05; done
      # shellcheck disable=SC2086
      line=$(taskset -c "$LOAD_CPU" "$CHAT_LOAD" $args --port "$PORT" --server-pid "$pid" --json \
        2>/dev/null | tail -n 1) || true
      stored=$(curl -s "127.0.0.1:$PORT/metrics" | awk '/^chatd_store_events_stored_total/ {print $2}')
      stop
      [ -n "$line" ] || line='{"ok":false}'
      echo "{\"scenario\":\"$name\",\"mode\":\"$mode\",\"run\":$run,\"metric\":\"$metric\",\"stored\":${stored:-0},\"result\":$line}" >>"$rows"
      echo "  $name $mode run $run: $(echo "$line" | cut -c1-160)..." >&2
    done
  done
done

"$PY" - "$rows" "$DURATION" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
duration = float(sys.argv[2])
print(f"\n{'scenario':11} {'metric':17} {'memory':>12} {'file':>12} {'fsync':>12} {'file/mem':>9} {'fsync/mem':>9}  stored/s (file, fsync)  checks")
for name in dict.fromkeys(r["scenario"] for r in rows):
    rs = [r for r in rows if r["scenario"] == name]
    metric = rs[0]["metric"]
    def med(mode, key=None):
        vals = [(r["stored"] if key else r["result"].get(metric)) for r in rs if r["mode"] == mode]
        vals = [v for v in vals if isinstance(v, (int, float))]
        return statistics.median(vals) if vals else None
    m, f, s, b = med("memory"), med("file"), med("fsync"), med("base")
    ratio = lambda x: f"{x / m:.2f}" if x is not None and m else "n/a"
    stored = [med(mode, "stored") for mode in ("file", "fsync")]
    per_s = ", ".join("n/a" if v is None else f"{v / duration:,.0f}" for v in stored)
    ok = "ok" if all(r["result"].get("ok") for r in rs) else "FAILED"
    fmt = lambda v: "n/a" if v is None else f"{v:,.0f}"
    print(f"{name:11} {metric:17} {fmt(m):>12} {fmt(f):>12} {fmt(s):>12} {ratio(f):>9} {ratio(s):>9}  {per_s:22}  {ok}")
    if b is not None:
        print(f"{'':11} base (BASE_CHATD, file) {fmt(b):>8}: base / memory {ratio(b)}, file / base {f / b if b else 0:.2f}")
EOF
