#!/usr/bin/env bash
# fetch vs curl: the wall time of `ofrep fetch -o json` against the reference server, next to curl
# sending the same request to the same server, in the same hyperfine run.
# Needs: hyperfine and curl (Debian: apt-get install hyperfine curl). Writes bench/out/fetch.json.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-200}
out=bench/out
mkdir -p "$out"

cargo build --release --quiet
bin=target/release/ofrep

# Start the reference server on a free port and read its address from the JSON listening line.
log=$(mktemp)
"$bin" serve --port 0 -o json >"$log" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  grep -q listening "$log" && break
  sleep 0.05
done
url=$(grep -m1 listening "$log" | sed -E 's/.*"url":"([^"]+)".*/\1/')
echo "server: $url"

body='{"context":{"targetingKey":"user-1"}}'
hyperfine --warmup 20 --runs "$runs" -N --export-json "$out/fetch.json" \
  -n curl "curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -H 'Accept: application/json' -d '$body' $url/ofrep/v1/evaluate/flags" \
  -n "ofrep fetch" "$bin fetch $url -o json --targeting-key user-1"

python3 - "$out/fetch.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
curl, ofrep = results["curl"]["median"], results["ofrep fetch"]["median"]
print(f"median: curl {curl*1000:.2f} ms, ofrep fetch {ofrep*1000:.2f} ms, ratio {ofrep/curl:.2f}x (target <= 1.5x)")
PY
