#!/usr/bin/env bash
# Bulk evaluation throughput of `ofrep serve`: requests/s and latency p50/p90/p99 under wrk, for
# the built-in demo set and generated flagd files of 6 and 10,000 flags, each on the 200 path (no
# If-None-Match) and the 304 path (If-None-Match = the current ETag, as a polling client sends),
# plus the 200 path on one connection (latency without queueing).
# Loopback only (127.0.0.1); each wrk run is bounded by DURATION; the whole script takes ~6 minutes.
#
# Needs: wrk, curl, python3 (Debian: apt-get install wrk curl python3).
# Knobs: DURATION (default 10s), THREADS (2), CONNS (64), SMALL_N (6), FLAGS_N (10000), REPEAT
# (3: each case runs REPEAT times, interleaved with nothing else; the table gives the median and
# the range), BIN (an ofrep binary to measure instead of this checkout's release build, e.g. an
# older commit's). wrk waits up to 10 s for an answer (--timeout), so slow answers count in the
# percentiles instead of as errors.
# Writes bench/out/serve-throughput.jsonl (one JSON object per case) and prints a table.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10s}
threads=${THREADS:-2}
conns=${CONNS:-64}
flags_n=${FLAGS_N:-10000}
small_n=${SMALL_N:-6}
repeat=${REPEAT:-3}
out=bench/out
mkdir -p "$out"
results="$out/serve-throughput.jsonl"
: >"$results"

[ -n "${BIN:-}" ] || cargo build --release --quiet
bin=${BIN:-target/release/ofrep}
work=$(mktemp -d)
server=
stop_server() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  server=
}
trap 'stop_server; rm -rf "$work"' EXIT

body='{"context":{"targetingKey":"u"}}'

# Starts the server (extra arguments passed on) and sets $url from its JSON listening line. The
# request log (one JSON line per request, as shipped) goes to a file: it is part of the cost.
start_server() {
  "$bin" serve --port 0 -o json "$@" >"$work/server.log" 2>"$work/server.err" &
  server=$!
  for _ in $(seq 1 200); do
    grep -q '"listening"' "$work/server.log" 2>/dev/null && break
    sleep 0.05
  done
  url=$(grep -m1 '"listening"' "$work/server.log" | sed -E 's/.*"url":"([^"]+)".*/\1/')
  case "$url" in http://127.0.0.1:*) ;; *) echo "server did not start on loopback" >&2; exit 2 ;; esac
}

# CPU seconds (user + system) the server has used so far.
server_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$server/stat"
}

run_case() { # name etag [connections threads]
  local name=$1 etag=$2 conns=${3:-$conns} threads=${4:-$threads} status cpu0 cpu1 line
  status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    ${etag:+-H "If-None-Match: $etag"} -d "$body" "$url/ofrep/v1/evaluate/flags")
  # Warm up (connections, allocator), then measure.
  ETAG=$etag wrk -t"$threads" -c"$conns" -d2s --timeout 10s -s bench/bulk.lua "$url/ofrep/v1/evaluate/flags" >/dev/null
  for rep in $(seq 1 "$repeat"); do
    cpu0=$(server_cpu)
    line=$(ETAG=$etag wrk -t"$threads" -c"$conns" -d"$duration" --timeout 10s -s bench/bulk.lua \
      "$url/ofrep/v1/evaluate/flags" | grep '^{')
    cpu1=$(server_cpu)
    python3 - "$name" "$status" "$cpu0" "$cpu1" "$line" "$threads" "$conns" "$duration" "$rep" \
      >>"$results" <<'PY'
import json, os, sys
name, status, cpu0, cpu1, line, threads, conns, duration, rep = sys.argv[1:]
r = json.loads(line)
r.update(case=name, rep=int(rep), status=int(status), server_cpu_s=round(float(cpu1) - float(cpu0), 2),
         wrk=f"-t{threads} -c{conns} -d{duration}", loadavg_1m_after=os.getloadavg()[0])
r["server_cpu_us_per_req"] = round(r["server_cpu_s"] * 1e6 / max(r["requests"], 1), 1)
print(json.dumps(r))
PY
    tail -n1 "$results"
  done
}

etag_of() {
  curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' -d "$body" \
    "$url/ofrep/v1/evaluate/flags" | tr -d '\r' | awk 'tolower($1)=="etag:" { print $2 }'
}

echo "# demo set (built in)"
start_server
demo_n=$(curl -s -X POST -H 'Content-Type: application/json' -d "$body" "$url/ofrep/v1/evaluate/flags" \
  | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["flags"]))')
run_case "demo ($demo_n flags), 200" ""
run_case "demo ($demo_n flags), 304" "$(etag_of)"
run_case "demo ($demo_n flags), 200, 1 connection" "" 1 1
stop_server

for n in "$small_n" "$flags_n"; do
  python3 bench/gen-flags.py "$n" >"$work/flags-$n.json"
  echo "# $n flags (bench/gen-flags.py)"
  start_server --flags "$work/flags-$n.json"
  run_case "$n flags, 200" ""
  run_case "$n flags, 304" "$(etag_of)"
  run_case "$n flags, 200, 1 connection" "" 1 1
  stop_server
done

python3 - "$results" "$repeat" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
cases = {}
for r in rows:
    cases.setdefault(r["case"], []).append(r)
def cell(rs, key, fmt):
    values = [r[key] for r in rs]
    med = statistics.median(values)
    if len(values) == 1:
        return format(med, fmt)
    return f"{format(med, fmt)} ({format(min(values), fmt)}–{format(max(values), fmt)})"
print()
print(f"median of {sys.argv[2]} runs (min–max)")
print()
print("| case | status | wrk | req/s | p50 ms | p99 ms | max ms | server CPU µs/req | errors |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|")
for name, rs in cases.items():
    errors = sum(r["non_2xx_3xx"] + r["socket_errors"] for r in rs)
    print(f"| {name} | {rs[0]['status']} | {rs[0]['wrk']} | {cell(rs, 'rps', ',.0f')} | "
          f"{cell(rs, 'p50_ms', '.2f')} | {cell(rs, 'p99_ms', '.2f')} | {cell(rs, 'max_ms', '.1f')} | "
          f"{cell(rs, 'server_cpu_us_per_req', '.1f')} | {errors} |")
PY
