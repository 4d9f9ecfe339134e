#!/usr/bin/env bash
# ofrep watch next to the official JavaScript OFREP provider (bench/js/watch.mjs), same servers,
# same run: propagation latency, refetches per burst, memory with 10,000 flags.
# Needs: cargo, python3 (standard library only), node 20 and npm. Everything runs on 127.0.0.1.
# Writes bench/out/watch-{propagation,burst,memory}.json and prints a summary; takes ~3 minutes.
#
#   bench/watch.sh                       all three
#   bench/watch.sh propagation burst     some of them
#   CHANGES=100 bench/watch.sh propagation
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
bin=target/release/ofrep
if [ ! -d bench/js/node_modules ]; then
  npm ci --prefix bench/js --no-audit --no-fund
fi

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), \
$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)"
echo "versions: $(rustc --version), node $(node --version), $("$bin" --version), \
@openfeature/ofrep-web-provider $(node -p "require('./bench/js/node_modules/@openfeature/ofrep-web-provider/package.json').version")"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"

benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(propagation burst memory)
for b in "${benches[@]}"; do
  echo
  echo "== $b"
  case "$b" in
    propagation) timeout 300 python3 bench/watch.py propagation --bin "$bin" --changes "${CHANGES:-200}" ;;
    burst) timeout 300 python3 bench/watch.py burst --bin "$bin" --events "${EVENTS:-100}" --rounds "${ROUNDS:-10}" ;;
    memory) timeout 420 python3 bench/watch.py memory --bin "$bin" --flags "${FLAGS:-10000}" --changes "${MEMORY_CHANGES:-1000}" ;;
    *) echo "unknown benchmark: $b (propagation, burst, memory)" >&2; exit 2 ;;
  esac
done
