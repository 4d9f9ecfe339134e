#!/usr/bin/env bash
# Fan-out of `ofrep serve`: STREAMS open event streams (default 10,000) to one server, then EDITS
# flag-file edits and EDITS `POST /control/change` triggers; for every stream the time from the
# trigger to the event's arrival at the client's socket (kernel receive stamp), as p50/p99/max over all streams and rounds, and over the last
# stream of each round. The server's peak memory is VmHWM from /proc/PID/status.
# Targets (issue 3): p99 under 200 ms, server memory under 200 MB.
# Loopback only (127.0.0.1); every wait is bounded and the whole run is killed after 8 minutes.
#
# Needs: python3 (standard library only), curl.
# Knobs: STREAMS (10000), PROCS (client processes, 4), EDITS (per trigger kind, 10), BIN (an
# ofrep binary to measure instead of this checkout's release build, e.g. an older commit's).
# Writes bench/out/serve-fanout.json and prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
streams=${STREAMS:-10000}
procs=${PROCS:-4}
edits=${EDITS:-10}
out=bench/out
mkdir -p "$out"

# Each stream is one socket in the server and one in the client.
need=$((streams + 1000))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$need" ]; then
  echo "the hard open-files limit $(ulimit -Hn) is below $need; lower STREAMS or raise it" >&2
  exit 2
fi
ulimit -n "$need"

[ -n "${BIN:-}" ] || cargo build --release --quiet
bin=${BIN:-target/release/ofrep}
work=$(mktemp -d)
server=
trap 'if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

# A small flag file (the edit's cost should be the notification, not a parse of a large file).
python3 bench/gen-flags.py 8 >"$work/flags.json"
"$bin" serve --port 0 -o json --control --flags "$work/flags.json" >"$work/server.log" 2>"$work/server.err" &
server=$!
for _ in $(seq 1 200); do
  grep -q '"listening"' "$work/server.log" 2>/dev/null && break
  sleep 0.05
done
url=$(grep -m1 '"listening"' "$work/server.log" | sed -E 's/.*"url":"([^"]+)".*/\1/')
case "$url" in http://127.0.0.1:*) ;; *) echo "server did not start on loopback" >&2; exit 2 ;; esac
echo "server: $url (pid $server), $streams streams over $procs client processes" >&2

timeout 480 python3 bench/fanout.py --url "$url" --server-pid "$server" --streams "$streams" \
  --procs "$procs" --edits "$edits" --flags-file "$work/flags.json" >"$out/serve-fanout.json"

python3 - "$out/serve-fanout.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
m = r["server_memory_kib"]
print(f"streams open {r['streams_open']}/{r['streams_requested']} (failed {r['streams_failed']}, "
      f"connected in {r['connect_seconds']} s), events per stream {r['events_per_stream']}, "
      f"closed by server {r['streams_closed_by_server']}, events without kernel stamp "
      f"{r['events_without_kernel_stamp']}")
print(f"server RSS: before {m['before_connect']['VmRSS']/1024:.1f} MiB, with streams "
      f"{m['streams_open']['VmRSS']/1024:.1f} MiB, peak (VmHWM) {m['end']['VmHWM']/1024:.1f} MiB "
      f"-> target < 200 MB: {'met' if m['end']['VmHWM']*1024 < 200e6 else 'NOT met'}")
for kind, o in r["overall"].items():
    a, l, c = o["all_streams_all_rounds"], o["last_stream_per_round"], o["client_read_all_streams_all_rounds"]
    print(f"{kind}: arrival, all streams x rounds (n={a['n']}): p50 {a['p50_ms']} ms, p99 {a['p99_ms']} ms, "
          f"max {a['max_ms']} ms; last stream per round: median {l['p50_ms']} ms, max {l['max_ms']} ms"
          f" -> p99 < 200 ms: {'met' if a['p99_ms'] < 200 else 'NOT met'}")
    print(f"{kind}: client read (Python loop), all streams x rounds: p50 {c['p50_ms']} ms, "
          f"p99 {c['p99_ms']} ms, max {c['max_ms']} ms")
    print(f"{kind}: CPU per round (median): server {o['median_server_cpu_ms_per_round']} ms, "
          f"client workers {o['median_client_cpu_ms_per_round']} ms")
PY
grep -c '"type":"request"' "$work/server.log" | sed 's/^/server request log lines: /' >&2
grep -v '"type":"request"' "$work/server.log" | grep -v '"listening"' | head -5 >&2 || true
