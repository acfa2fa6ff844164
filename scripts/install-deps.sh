#!/usr/bin/env bash
# Installs what building, testing and benchmarking chatd need, from Debian's
# (or Ubuntu's) packages and, for the browser tests, the npm registry.
# Idempotent and quiet when everything is already there; uses sudo when not root.
# Usage: scripts/install-deps.sh [--check] [--peers]
#   --check: only report, exit 1 if missing
#   --peers: also what `make bench-compare` needs: the peer servers of
#            bench/peers (Node ws and ioredis from npm, redis-server), gnuplot
set -euo pipefail
cd "$(dirname "$0")/.."

check=
peers=
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    --peers) peers=1 ;;
    *) echo "usage: scripts/install-deps.sh [--check] [--peers]" >&2; exit 2 ;;
  esac
done

packages=(
  g++ make pkg-config git
  libsimdjson-dev libsqlite3-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
  clang-14 libclang-rt-14-dev clang-format
  python3 python3-websockets python3-pytest
  chromium fonts-noto-color-emoji
  nginx-light openssl systemd
  libhiredis-dev redis-server
)
# python3-websockets (above) is the Python peer; the Node peers come from npm.
[ -z "$peers" ] || packages+=(redis-server gnuplot-nox)
npm_dirs=(tests/browser tests/integration/node)
[ -z "$peers" ] || npm_dirs+=(bench/peers/node)

missing=()
# Node may come from another source (NodeSource bundles npm): ask for the
# commands, and only fall back to Debian's packages when they are absent.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ -n "$check" ]; then
  for dir in "${npm_dirs[@]}"; do
    [ -d "$dir/node_modules" ] || missing+=("npm:$dir")
  done
  [ ${#missing[@]} -eq 0 ] || { echo "missing: ${missing[*]}"; exit 1; }
  exit 0
fi

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The npm packages (the tests' playwright-core and ws; the peers' ws and
# ioredis), pinned by their lock files; re-installed when the lock file
# changed since the last install.
for dir in "${npm_dirs[@]}"; do
  [ -f "$dir/package-lock.json" ] || continue
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "install-deps: npm ci in $dir" >&2
    (cd "$dir" && npm ci --silent --no-audit --no-fund) >&2
  fi
done
