#!/usr/bin/env bash
# Do two ofrep builds write the same bytes? For refactors that must not change output.
#
#   bash bench/same-output.sh OLD_BINARY NEW_BINARY
#
# Runs the same commands with both binaries (fetch, conform with JUnit and JSON against the
# embedded server and four fault modes, conform --list/--list-steps, watch JSON Lines and human
# against serve --demo, serve's JSON and human logs, error paths) and compares the outputs after
# masking what differs between any two runs of one build: durations, dates, clock times, ports.
# serve's request logs are compared as sorted sets (conform's scenarios run concurrently), and
# watch's lines by type and keys (the demo server's timing is not under test). Everything stays
# on 127.0.0.1. Exits 1 when an output differs, naming it and showing the first lines.
set -u
[ $# -eq 2 ] || { echo "usage: $0 OLD_BINARY NEW_BINARY" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mask() {
  sed -E 's/ *[0-9]+(\.[0-9]+)? ?(ms|s)\b/<T>/g
    s/"(ms|elapsedMs|durationMs|latencyMs|ts)": ?[^,}]+/"\1":<T>/g
    s/(time|timestamp)="[^"]*"/\1="<T>"/g
    s/date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT/date: <D>/g
    s/[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}/<CLK>/g
    s/127\.0\.0\.1:[0-9]+/127.0.0.1:<P>/g'
}

# serve_url LOG: the URL a `serve -o json` started in the background wrote first (5 s at most).
serve_url() {
  for _ in $(seq 50); do
    url=$(grep -o '"url":"[^"]*"' "$1" 2>/dev/null | head -1 | cut -d'"' -f4)
    [ -n "$url" ] && { echo "$url"; return; }
    sleep 0.1
  done
}

capture() {
  local bin=$1 out=$2 pid url fault
  mkdir -p "$out" && cd "$out" || exit 2
  $bin --color never fetch --embedded >fetch-human.out 2>fetch-human.err; echo $? >fetch-human.rc
  $bin --color never -o json fetch --embedded >fetch-json.out 2>fetch-json.err; echo $? >fetch-json.rc
  $bin --color never -v fetch --embedded --flag welcome-banner >fetch-single.out 2>fetch-single.err
  $bin --color never fetch http://127.0.0.1:9 >fetch-refused.out 2>fetch-refused.err; echo $? >fetch-refused.rc
  $bin --color never conform --embedded --junit junit.xml >conform-human.out 2>conform-human.err; echo $? >conform-human.rc
  $bin --color never -o json conform --embedded >conform-json.out 2>conform-json.err; echo $? >conform-json.rc
  $bin --color never conform --list >conform-list.out 2>&1
  $bin conform --list-steps >conform-steps.out 2>&1
  for fault in no-etag stale-304 bad-etag no-cors; do
    $bin serve --port 0 --fault "$fault" -o json >"serve-$fault.log" 2>&1 & pid=$!
    url=$(serve_url "serve-$fault.log")
    $bin --color never conform "$url" --trigger-url "$url/control/change" --junit "junit-$fault.xml" \
      >"conform-$fault.out" 2>"conform-$fault.err"; echo $? >"conform-$fault.rc"
    $bin --color never -o json conform "$url" >"conform-$fault.json" 2>/dev/null
    $bin --color never -o json fetch "$url" >"fetch-$fault.json" 2>"fetch-$fault.err"
    kill "$pid"; wait "$pid" 2>/dev/null
  done
  $bin serve --port 0 --demo=1s -o json >serve-demo.log 2>serve-demo.err & pid=$!
  url=$(serve_url serve-demo.log)
  timeout 10 $bin -o json watch "$url" --max-changes 3 >watch-json.out 2>watch-json.err; echo $? >watch-json.rc
  timeout 10 $bin --color never watch "$url" --max-changes 2 >watch-human.out 2>watch-human.err; echo $? >watch-human.rc
  timeout 10 $bin -o json watch "$url" --deadline 1s --until nope=1 >watch-deadline.out 2>watch-deadline.err; echo $? >watch-deadline.rc
  kill "$pid"; wait "$pid" 2>/dev/null
  timeout 10 $bin -o json watch http://127.0.0.1:9 >watch-refused.out 2>watch-refused.err; echo $? >watch-refused.rc
  $bin serve --fault bogus >serve-bad.out 2>serve-bad.err; echo $? >serve-bad.rc
  for f in *; do mask <"$f" >"$f.masked" && mv "$f.masked" "$f"; done
}

# normalise NAME FILE: what is compared for one output.
normalise() {
  case $1 in
    serve-*.log) sort "$2" ;;
    watch-json.out|watch-deadline.out)
      sed -E 's/"(etag|id|eventId|data|variant|value|lastModified)":("[^"]*"|[^,}]*)/"\1":<V>/g' "$2" | cut -c1-60 | sort -u ;;
    watch-human.*) sed -E 's/[0-9a-f]{16}|event [0-9]+|true|false|"on"|"off"/<V>/g' "$2" | sort -u ;;
    *) cat "$2" ;;
  esac
}

old=$(realpath "$1") new=$(realpath "$2")
capture "$old" "$work/old" >/dev/null 2>&1
capture "$new" "$work/new" >/dev/null 2>&1
status=0
for f in $(ls "$work/old"); do
  if ! diff <(normalise "$f" "$work/old/$f") <(normalise "$f" "$work/new/$f") >"$work/diff"; then
    echo "differs: $f"; head -10 "$work/diff"; status=1
  fi
done
[ "$(ls "$work/old" | wc -l)" = "$(ls "$work/new" | wc -l)" ] || { echo "differs: the set of outputs"; status=1; }
echo "compared $(ls "$work/old" | wc -l) outputs: $([ $status = 0 ] && echo same || echo DIFFERENT)"
exit $status
