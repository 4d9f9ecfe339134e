#!/usr/bin/env bash
# conform: wall time of the default suite against the reference server, how it grows with 10 and
# 100 user scenarios, and CPU time per scenario. Everything on 127.0.0.1.
# Needs: hyperfine and /usr/bin/time (Debian: apt-get install hyperfine time).
# Writes bench/out/conform.json and prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}
out=bench/out
mkdir -p "$out"

cargo build --release --quiet
bin=$PWD/target/release/ofrep

log=$(mktemp)
work=$(mktemp -d)
"$bin" serve --port 0 --control -o json >"$log" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$log" "$work"' EXIT
for _ in $(seq 1 100); do grep -q listening "$log" && break; sleep 0.05; done
url=$(grep -m1 listening "$log" | sed -E 's/.*"url":"([^"]+)".*/\1/')
echo "server: $url"

# N user scenarios: each a bulk request, a conditional request and two assertions.
make_scenarios() {
  local dir=$1 count=$2
  mkdir -p "$dir"
  for i in $(seq 1 "$count"); do
    cat >"$dir/user-$i.feature" <<FEATURE
Feature: User scenario $i
  @must @id:bulk-304-on-match
  Scenario: revalidation $i
    Given the context is "{\"targetingKey\": \"bench-$i\"}"
    And I request a bulk evaluation
    And I remember the ETag as etag
    When I request a bulk evaluation with If-None-Match "{etag}"
    Then the status is 304
    And the response has no body
FEATURE
  done
}
make_scenarios "$work/s10" 10
make_scenarios "$work/s100" 100

trigger="--trigger-url $url/control/change"
hyperfine --warmup 2 --runs "$runs" -N --export-json "$out/conform.json" \
  -n "default suite" "$bin conform $url $trigger -o json" \
  -n "default + 10 user" "$bin conform $url $trigger -o json --scenarios $work/s10" \
  -n "default + 100 user" "$bin conform $url $trigger -o json --scenarios $work/s100"

echo
echo "CPU time (user+sys) of the conform process per scenario:"
for spec in "default suite::" "default + 10 user::--scenarios $work/s10" "default + 100 user::--scenarios $work/s100"; do
  name=${spec%%::*}
  extra=${spec#*::}
  # shellcheck disable=SC2086
  count=$("$bin" conform "$url" $trigger -o json $extra | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["results"]))')
  # shellcheck disable=SC2086
  cpu=$( { /usr/bin/time -f "%U %S" "$bin" conform "$url" $trigger -o json $extra >/dev/null; } 2>&1 | tail -1)
  python3 - "$name" "$count" $cpu <<'PY'
import sys
name, count, user, system = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print(f"  {name:20} {count:4} scenarios  cpu {1000*(user+system):7.1f} ms  = {1000*(user+system)/count:5.2f} ms/scenario")
PY
done

python3 - "$out/conform.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
base = results["default suite"]["median"]
for name, r in results.items():
    print(f"median {name:20} {r['median']*1000:8.1f} ms  ({r['median']/base:.2f}x the default suite)")
PY
