#!/usr/bin/env bash
# Peak memory of `ofrep fetch` (human and -o json) and `watch` on one large bulk answer (and,
# with CONFORM=1, of one whole `conform` run), before and after, in the same run: a purpose-built server answers every POST with the same ~60 MB body (200,000
# flags with metadata), and `/usr/bin/time -v` reports each run's maximum resident set size.
#
# BEFORE is a release binary of the build to compare with, e.g.
#   git worktree add /tmp/before-844363f 844363f
#   (cd /tmp/before-844363f && CARGO_TARGET_DIR=/tmp/target-before cargo build --release --locked)
#   BEFORE=/tmp/target-before/release/ofrep bench/large-answer.sh
# AFTER defaults to this tree's release build. RUNS (default 5) runs of each, interleaved.
# Needs: python3, GNU time (/usr/bin/time). Writes bench/out/large-answer.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
flags=${FLAGS:-200000}
out=bench/out
mkdir -p "$out"
after=${AFTER:-${CARGO_TARGET_DIR:-target}/release/ofrep}
before=${BEFORE:?set BEFORE to the release binary of the build to compare with}
[ -n "${AFTER:-}" ] || cargo build --release --quiet --locked

port_file=$(mktemp)
python3 - "$flags" "$port_file" <<'PY' &
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

n, port_file = int(sys.argv[1]), sys.argv[2]
kinds = ["STATIC", "TARGETING_MATCH", "DEFAULT", "SPLIT"]
items = []
for i in range(n):
    meta = {
        "owner": f"team-{i % 97}",
        "description": f"Generated flag number {i} for the large-answer benchmark, with some words",
        "ticket": f"FF-{i}",
        "createdAt": 1700000000 + i,
        "rollout": (i % 100) / 100,
        "tags": ["generated", "benchmark", f"group-{i % 13}"],
    }
    if i % 50 == 49:
        items.append({"key": f"flag-{i:06d}", "errorCode": "TARGETING_KEY_MISSING",
                      "errorDetails": "no targeting key", "metadata": meta})
        continue
    value = [True, f"text-{i}-a", i, {"color": "blue", "size": i % 7}][i % 4]
    items.append({"key": f"flag-{i:06d}", "value": value, "reason": kinds[i % 4],
                  "variant": "on" if i % 2 else "off", "metadata": meta})
body = json.dumps({"flags": items, "metadata": {"flagSetId": "large", "version": "1"}},
                  separators=(",", ":")).encode()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path = self.path.split("?")[0]
        if path != "/ofrep/v1/evaluate/flags":
            # A single-flag (or any other) request: what a real server would answer.
            key = path.rsplit("/", 1)[-1]
            error = json.dumps({"key": key, "errorCode": "FLAG_NOT_FOUND"}).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(error)))
            self.end_headers()
            self.wfile.write(error)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("ETag", '"large-1"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w") as f:
    f.write(f"{server.server_address[1]} {len(body)}\n")
server.serve_forever()
PY
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$port_file"' EXIT
for _ in $(seq 1 600); do [ -s "$port_file" ] && break; sleep 0.1; done
read -r port size <"$port_file"
url="http://127.0.0.1:$port"
echo "server: $url, body $size bytes ($flags flags)"

# One line per run: build, mode, max RSS in KiB, wall seconds.
tsv="$out/large-answer.tsv"
printf 'build\tmode\tmax_rss_kib\twall_s\n' >"$tsv"
measure() { # build-name mode binary command args...
  local name=$1 mode=$2 bin=$3 command=$4
  shift 4
  local log
  log=$(mktemp)
  /usr/bin/time -v "$bin" --color never "$command" "$url" "$@" >/dev/null 2>"$log" || true
  local rss wall
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{print ($1*60)+$2}')
  rm -f "$log"
  printf '%s\t%s\t%s\t%s\n' "$name" "$mode" "$rss" "$wall" >>"$tsv"
}
for _ in $(seq 1 "$runs"); do
  for mode in human json; do
    args=()
    [ "$mode" = json ] && args=(-o json)
    measure before "$mode" "$before" fetch "${args[@]}"
    measure after "$mode" "$after" fetch "${args[@]}"
  done
  # watch: the first answer, then polls of the same answer until the deadline (exit 1).
  for build in before after; do
    bin=$before
    [ "$build" = after ] && bin=$after
    measure "$build" watch "$bin" watch --deadline 3s --poll-interval 1s --until never=1
  done
done
# conform: the whole built-in suite once per build (slow: every scenario fetches the answer).
if [ -n "${CONFORM:-}" ]; then
  measure before conform "$before" conform --timeout 30s
  measure after conform "$after" conform --timeout 30s
fi

python3 - "$tsv" "$size" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
size = int(sys.argv[2])
def med(build, mode, field):
    return statistics.median(float(r[field]) for r in rows if r["build"] == build and r["mode"] == mode)
print(f"body: {size / 1e6:.1f} MB ({size / 2**20:.1f} MiB)")
modes = [m for m in ("human", "json", "watch", "conform") if any(r["mode"] == m for r in rows)]
for mode in modes:
    b, a = med("before", mode, "max_rss_kib") * 1024, med("after", mode, "max_rss_kib") * 1024
    bw, aw = med("before", mode, "wall_s"), med("after", mode, "wall_s")
    name = {"human": "fetch", "json": "fetch -o json", "watch": "watch", "conform": "conform"}[mode]
    print(f"{name:13}: peak RSS before {b / 2**20:7.1f} MiB ({b / size:4.1f}x body), "
          f"after {a / 2**20:7.1f} MiB ({a / size:4.1f}x body), after/before {a / b:.2f}; "
          f"wall before {bw:.2f} s, after {aw:.2f} s")
PY
