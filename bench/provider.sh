#!/usr/bin/env bash
# conform --provider: wall time of the default provider suite against `ofrep watch` (release build)
# and against the official JavaScript web provider (bench/js/provider.mjs), side by side, and
# whether the verdicts were the same in every run. Everything on 127.0.0.1.
# Needs: cargo, python3 (standard library only), node 20 and npm; hyperfine if installed, else a
# loop timed with `date +%s.%N`.
# Writes bench/out/provider.json (every run: wall time, exit code, verdict per id) and prints a
# summary; takes RUNS × ~35 s (RUNS=5 by default).
#
#   bench/provider.sh
#   RUNS=10 bench/provider.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
out=bench/out
mkdir -p "$out"

cargo build --release --locked --quiet
target=${CARGO_TARGET_DIR:-target}
case $target in /*) ;; *) target=$PWD/$target ;; esac
bin=$target/release/ofrep
if [ ! -d bench/js/node_modules ]; then
  npm ci --prefix bench/js --no-audit --no-fund
fi

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), \
$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)"
echo "versions: $("$bin" --version), node $(node --version), \
@openfeature/ofrep-web-provider $(node -p "require('./bench/js/node_modules/@openfeature/ofrep-web-provider/package.json').version"), \
@openfeature/web-sdk $(node -p "require('./bench/js/node_modules/@openfeature/web-sdk/package.json').version"), \
eventsource $(node -p "require('./bench/js/node_modules/eventsource/package.json').version")"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "runs: $runs each"

names=("ofrep watch" "JS web provider")
cmds=("$bin watch {url}" "node bench/js/provider.mjs")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if command -v hyperfine >/dev/null; then
  # -i: the JS provider fails a MUST check, so its runs exit 1.
  hyperfine --runs "$runs" -i -N --export-json "$work/hyperfine.json" \
    -n "${names[0]}" "$bin conform --provider '${cmds[0]}' -o json" \
    -n "${names[1]}" "$bin conform --provider '${cmds[1]}' -o json"
fi

# One loop in any case: it records every run's verdicts (hyperfine keeps no output), and its wall
# times are the numbers reported when hyperfine is absent.
for i in 0 1; do
  for run in $(seq 1 "$runs"); do
    start=$(date +%s.%N)
    code=0
    "$bin" conform --provider "${cmds[$i]}" -o json >"$work/$i-$run.json" 2>"$work/$i-$run.err" || code=$?
    end=$(date +%s.%N)
    echo "$start $end $code" >"$work/$i-$run.time"
    printf '  %-16s run %2d: %6.2f s, exit %d\n' "${names[$i]}" "$run" "$(awk "BEGIN {print $end - $start}")" "$code"
  done
done

python3 - "$work" "$runs" "$out/provider.json" "${names[@]}" <<'PY'
import json, os, statistics, sys
work, runs, dest, names = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
hyper = {}
if os.path.exists(f"{work}/hyperfine.json"):
    hyper = {r["command"]: r for r in json.load(open(f"{work}/hyperfine.json"))["results"]}
report = {}
for i, name in enumerate(names):
    rows = []
    for run in range(1, runs + 1):
        start, end, code = open(f"{work}/{i}-{run}.time").read().split()
        doc = json.load(open(f"{work}/{i}-{run}.json"))
        rows.append({
            "wallS": float(end) - float(start),
            "exit": int(code),
            "summary": doc["summary"],
            "verdicts": {r["id"]: r["status"] for r in doc["results"]},
            # what a verdict other than pass said, so a verdict seen in one run only can be read
            "notPassed": [
                {k: r.get(k) for k in ("id", "status", "message", "evidence")}
                for r in doc["results"] if r["status"] != "pass"
            ],
        })
    walls = [r["wallS"] for r in rows]
    report[name] = {
        "medianS": statistics.median(walls),
        "minS": min(walls),
        "maxS": max(walls),
        "hyperfineMedianS": hyper.get(name, {}).get("median"),
        "runs": rows,
    }
json.dump(report, open(dest, "w"), indent=1)

print()
print(f"{'':18}{'median':>9}{'min':>9}{'max':>9}  first run's summary")
for name, r in report.items():
    distinct = {json.dumps(run["verdicts"], sort_keys=True) for run in r["runs"]}
    exits = "/".join(sorted({str(run["exit"]) for run in r["runs"]}))
    s = r["runs"][0]["summary"]
    same = "same verdicts in every run" if len(distinct) == 1 else f"verdicts differ: {len(distinct)} sets"
    median = r["hyperfineMedianS"] or r["medianS"]
    print(f"{name:18}{median:8.2f}s{r['minS']:8.2f}s{r['maxS']:8.2f}s  "
          f"{s['passed']} passed, {s['failed']} failed, {s['warned']} warned, {s['skipped']} skipped; "
          f"exit {exits}; {same}")
a, b = (report[n] for n in names)
print(f"\n{names[1]} / {names[0]}: {(b['hyperfineMedianS'] or b['medianS']) / (a['hyperfineMedianS'] or a['medianS']):.2f}x")
ids = list(a["runs"][0]["verdicts"])
print(f"\n{'id':30}{names[0]:>18}{names[1]:>18}")
for id_ in ids:
    cells = []
    for r in (a, b):
        seen = sorted({run["verdicts"].get(id_, "-") for run in r["runs"]})
        cells.append("/".join(seen))
    print(f"{id_:30}{cells[0]:>18}{cells[1]:>18}")
print(f"\nwritten: {dest}")
PY
