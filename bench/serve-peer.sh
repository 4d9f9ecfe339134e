#!/usr/bin/env bash
# `ofrep serve` against a named peer in the same run: fast-feature 0.0.2 (PyPI; a FastAPI OFREP
# server with ETag/304 on the bulk endpoint, run under uvicorn by bench/peer_fast_feature.py).
# Both serve the same generated flagd file (bench/gen-flags.py): 8 flags, then 10,000 flags;
# the bulk 200 path and the 304 path (If-None-Match = the server's current ETag); runs of the two
# servers alternate, REPEAT times, so the machine's noise falls on both.
# Loopback only (127.0.0.1); each wrk run is bounded by DURATION; the whole script takes ~3 minutes.
#
# Needs: wrk, curl, python3 with venv; the peer is pip-installed into bench/out/peer-venv (once).
# Knobs: DURATION (5s), REPEAT (3), CONNS_SMALL (64, for 8 flags), CONNS_LARGE (8, for 10,000:
# the peer takes ~0.2 s per answer there, so 64 connections would queue past wrk's 10 s timeout).
# Writes bench/out/serve-peer.jsonl and prints a table with the ofrep/peer ratio of medians.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-5s}
repeat=${REPEAT:-3}
conns_small=${CONNS_SMALL:-64}
conns_large=${CONNS_LARGE:-8}
out=bench/out
mkdir -p "$out"
results="$out/serve-peer.jsonl"
: >"$results"

venv=$out/peer-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import fast_feature.ofrep, uvicorn' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'fast-feature==0.0.2' 'fast-feature-ofrep==0.0.2' 'uvicorn==0.54.0'
fi
peer_version=$("$venv/bin/pip" show fast-feature 2>/dev/null | awk '/^Version/ { print $2 }')

cargo build --release --quiet
bin=target/release/ofrep
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT
body='{"context":{"targetingKey":"u"}}'

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_up() { # url
  for _ in $(seq 1 200); do
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d "$body" "$1/ofrep/v1/evaluate/flags" && return 0
    sleep 0.1
  done
  echo "server at $1 did not come up" >&2
  exit 2
}
etag_of() { # url
  curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' -d "$body" \
    "$1/ofrep/v1/evaluate/flags" | tr -d '\r' | awk 'tolower($1)=="etag:" { print $2 }'
}
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }

for n in 8 10000; do
  python3 bench/gen-flags.py "$n" >"$work/flags-$n.json"
  conns=$conns_small
  [ "$n" -gt 100 ] && conns=$conns_large
  ofrep_port=$(free_port)
  "$bin" serve --port "$ofrep_port" -o json --flags "$work/flags-$n.json" >"$work/ofrep.log" 2>&1 &
  ofrep_pid=$!
  pids+=("$ofrep_pid")
  peer_port=$(free_port)
  "$venv/bin/python" bench/peer_fast_feature.py "$work/flags-$n.json" "$peer_port" >"$work/peer.log" 2>&1 &
  peer_pid=$!
  pids+=("$peer_pid")
  declare -A url=([ofrep]="http://127.0.0.1:$ofrep_port" [fast-feature]="http://127.0.0.1:$peer_port")
  declare -A pid=([ofrep]=$ofrep_pid [fast-feature]=$peer_pid)
  for server in ofrep fast-feature; do wait_up "${url[$server]}"; done
  for path in 200 304; do
    declare -A etag=()
    for server in ofrep fast-feature; do
      etag[$server]=""
      [ "$path" = 304 ] && etag[$server]=$(etag_of "${url[$server]}")
      status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        ${etag[$server]:+-H "If-None-Match: ${etag[$server]}"} -d "$body" "${url[$server]}/ofrep/v1/evaluate/flags")
      [ "$status" = "$path" ] || { echo "$server answered $status, expected $path" >&2; exit 1; }
      ETAG=${etag[$server]} wrk -t2 -c"$conns" -d2s --timeout 10s -s bench/bulk.lua \
        "${url[$server]}/ofrep/v1/evaluate/flags" >/dev/null
      [ "$n" -gt 100 ] && sleep 2
    done
    for rep in $(seq 1 "$repeat"); do
      for server in ofrep fast-feature; do
        cpu0=$(cpu_of "${pid[$server]}")
        line=$(ETAG=${etag[$server]} wrk -t2 -c"$conns" -d"$duration" --timeout 10s -s bench/bulk.lua \
          "${url[$server]}/ofrep/v1/evaluate/flags" | grep '^{')
        cpu1=$(cpu_of "${pid[$server]}")
        python3 - "$server" "$n" "$path" "$rep" "$conns" "$duration" "$cpu0" "$cpu1" "$line" "$peer_version" >>"$results" <<'PY'
import json, os, sys
server, n, path, rep, conns, duration, cpu0, cpu1, line, peer_version = sys.argv[1:]
r = json.loads(line)
r.update(server=server if server == "ofrep" else f"{server} {peer_version}", flags=int(n),
         status=int(path), rep=int(rep), wrk=f"-t2 -c{conns} -d{duration}",
         server_cpu_s=round(float(cpu1) - float(cpu0), 2), loadavg_1m_after=os.getloadavg()[0])
r["server_cpu_us_per_req"] = round(r["server_cpu_s"] * 1e6 / max(r["requests"], 1), 1)
print(json.dumps(r))
PY
        tail -n1 "$results"
        # A slow server may still be working through requests wrk gave up on; let it drain.
        [ "$n" -gt 100 ] && sleep 2
      done
    done
  done
  kill "$ofrep_pid" "$peer_pid" 2>/dev/null || true
  wait "$ofrep_pid" "$peer_pid" 2>/dev/null || true
done

python3 - "$results" "$repeat" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
groups = {}
for r in rows:
    groups.setdefault((r["flags"], r["status"], r["server"]), []).append(r)
med = lambda rs, k: statistics.median(r[k] for r in rs)
print()
print(f"median of {sys.argv[2]} runs; ratio = ofrep / peer (req/s) or peer / ofrep (latency, CPU): > 1 favours ofrep")
print()
print("| flags | path | server | wrk | req/s | p50 ms | p99 ms | CPU µs/req | bytes/answer | errors |")
print("|---:|---|---|---|---:|---:|---:|---:|---:|---:|")
keys = sorted({(f, s) for f, s, _ in groups})
for f, s in keys:
    servers = [k for k in groups if k[:2] == (f, s)]
    servers.sort(key=lambda k: k[2] != "ofrep")
    for k in servers:
        rs = groups[k]
        errors = sum(r["non_2xx_3xx"] + r["socket_errors"] for r in rs)
        size = statistics.median(r["bytes"] / max(r["requests"], 1) for r in rs)
        print(f"| {f} | {s} | {k[2]} | {rs[0]['wrk']} | {med(rs, 'rps'):,.0f} | {med(rs, 'p50_ms'):.2f} | "
              f"{med(rs, 'p99_ms'):.2f} | {med(rs, 'server_cpu_us_per_req'):,.0f} | {size:,.0f} | {errors} |")
    if len(servers) == 2:
        a, b = groups[servers[0]], groups[servers[1]]
        ratio = lambda x, y: f"{x / y:.1f}x" if x > 0 and y > 0 else "n/a"
        print(f"| {f} | {s} | **ratio** | | **{ratio(med(a, 'rps'), med(b, 'rps'))}** | "
              f"{ratio(med(b, 'p50_ms'), med(a, 'p50_ms'))} | {ratio(med(b, 'p99_ms'), med(a, 'p99_ms'))} | "
              f"{ratio(med(b, 'server_cpu_us_per_req'), med(a, 'server_cpu_us_per_req'))} | | |")
PY
