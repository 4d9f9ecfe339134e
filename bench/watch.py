#!/usr/bin/env python3
"""Benchmarks of `ofrep watch` next to the official JavaScript OFREP provider (bench/js/watch.mjs).

    python3 bench/watch.py propagation --bin target/release/ofrep [--changes 200]
    python3 bench/watch.py burst       --bin target/release/ofrep [--events 100] [--rounds 5]
    python3 bench/watch.py memory      --bin target/release/ofrep [--flags 10000] [--changes 1000]

Each prints a summary and writes bench/out/watch-<name>.json. Python 3 standard library only;
everything listens on 127.0.0.1. bench/watch.sh runs all three. Every wait is bounded.

Timing: the harness reads each client's stdout in its own thread and stamps every line with
time.perf_counter_ns() as it arrives; a trigger is stamped just before its request is sent. Both
clients are measured the same way, through a pipe to this process.
"""

import argparse
import json
import math
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JS_WATCH = os.path.join(ROOT, "bench", "js", "watch.mjs")
OUT = os.path.join(ROOT, "bench", "out")


def now_ns():
    return time.perf_counter_ns()


# ---------------------------------------------------------------------------------------------
# Processes and their output


class Lines:
    """Reads a process's stdout line by line in a thread; each line is (arrival ns, parsed JSON)."""

    def __init__(self, name, proc, keep=True):
        self.name = name
        self.proc = proc
        self.queue = queue.Queue()
        self.keep = keep
        self.count = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.proc.stdout:
            t = now_ns()
            self.count += 1
            if not self.keep:
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                obj = {"type": "unparsed", "raw": raw[:200]}
            self.queue.put((t, obj))

    def wait_for(self, predicate, timeout):
        """The first line (t, obj) with predicate(obj) within `timeout` seconds, else None.
        Lines that do not match are returned in `skipped`."""
        deadline = time.monotonic() + timeout
        skipped = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, skipped
            try:
                t, obj = self.queue.get(timeout=left)
            except queue.Empty:
                return None, skipped
            if predicate(obj):
                return (t, obj), skipped
            skipped.append((t, obj))

    def drain(self):
        out = []
        while True:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                return out


def spawn(cmd, **kw):
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=kw.pop("stderr", subprocess.DEVNULL), text=True,
        bufsize=1, **kw)


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def start_serve(binary, extra=()):
    """`ofrep serve --port 0 -o json --control`; returns (proc, base URL). Its request log is
    drained (not kept) so the pipe never fills."""
    proc = spawn([binary, "serve", "--port", "0", "-o", "json", "--control", *extra])
    first = proc.stdout.readline()
    try:
        url = json.loads(first)["url"]
    except (ValueError, KeyError):
        stop(proc)
        sys.exit(f"error: ofrep serve did not print its listening line: {first!r}")
    Lines("serve", proc, keep=False)
    return proc, url


def start_watch(binary, url, extra=()):
    proc = spawn([binary, "watch", url, "-o", "json", "--color", "never", *extra])
    lines = Lines("watch", proc)
    got, _ = lines.wait_for(lambda o: o.get("type") == "connection" and o.get("state") == "connected", 10)
    if got is None:
        stop(proc)
        sys.exit("error: ofrep watch did not connect its event stream within 10 s")
    # The refetch watch makes after every connect.
    lines.wait_for(lambda o: o.get("type") in ("change", "unchanged") and o.get("trigger") == "reconnect", 5)
    return proc, lines


def start_js(url, targeting_key="js"):
    proc = spawn(["node", JS_WATCH, url, targeting_key], stderr=None)
    lines = Lines("js", proc)
    ready, skipped = lines.wait_for(lambda o: o.get("type") == "ready", 15)
    if ready is None:
        stop(proc)
        sys.exit("error: the JS provider did not become ready within 15 s")
    # The provider opens its EventSource after the first answer and does not refetch when it
    # connects: a change sent before the stream is open is never seen. Wait for the open.
    if not any(o.get("type") == "open" for _, o in skipped):
        opened, _ = lines.wait_for(lambda o: o.get("type") == "open", 10)
        if opened is None:
            stop(proc)
            sys.exit("error: the JS provider did not open its event stream within 10 s")
    return proc, lines


class Control:
    """POST /control/change on one kept-alive connection."""

    def __init__(self, url):
        parts = urlsplit(url)
        self.conn = HTTPConnection(parts.hostname, parts.port, timeout=5)

    def change(self):
        """Sends the built-in next change; returns (perf_counter ns and wall-clock ms, both taken
        just before sending, and the answer)."""
        wall_ms = time.time() * 1000
        t = now_ns()
        self.conn.request("POST", "/control/change", body=b"")
        answer = json.loads(self.conn.getresponse().read())
        return t, wall_ms, answer


# ---------------------------------------------------------------------------------------------
# Statistics


def pct(values, p):
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def summary(values):
    if not values:
        return None
    return {
        "n": len(values),
        "min": min(values),
        "p50": statistics.median(values),
        "p90": pct(values, 90),
        "p99": pct(values, 99),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def fmt(s):
    if s is None:
        return "no samples"
    return (f"p50 {s['p50']:.2f} ms, p99 {s['p99']:.2f} ms "
            f"(min {s['min']:.2f}, p90 {s['p90']:.2f}, max {s['max']:.2f}, n {s['n']})")


def write(name, data):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"watch-{name}.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)}")


# ---------------------------------------------------------------------------------------------
# 1. Propagation


def propagation(args):
    server, url = start_serve(args.bin)
    procs = [server]
    try:
        watch, wl = start_watch(args.bin, url)
        procs.append(watch)
        js, jl = start_js(url)
        procs.append(js)
        control = Control(url)
        rows = []
        missed = {"watch": 0, "js": 0}
        for i in range(args.warmup + args.changes):
            t0, wall0, answer = control.change()
            if not answer.get("changed"):
                sys.exit(f"error: /control/change changed nothing: {answer}")
            event_id = str(answer["eventId"])
            expected = answer["variant"] == "on"
            row = {"i": i, "eventId": event_id, "value": expected}
            got, _ = wl.wait_for(lambda o: o.get("type") == "change" and o.get("eventId") == event_id, 3)
            if got:
                row["watch_ms"] = (got[0] - t0) / 1e6
                row["watch_latencyMs"] = got[1].get("latencyMs")
            else:
                missed["watch"] += 1
            got, skipped = jl.wait_for(lambda o: o.get("type") == "change" and o.get("value") == expected, 3)
            if got:
                row["js_ms"] = (got[0] - t0) / 1e6
                # The provider's own clock: handler time against the trigger's wall-clock time.
                row["js_self_ms"] = got[1]["t"] - wall0
                sse = [t for t, o in skipped if o.get("type") == "sse"]
                refetch = [t for t, o in skipped if o.get("type") == "refetch"]
                if sse:
                    row["js_event_ms"] = (sse[0] - t0) / 1e6
                if refetch:
                    row["js_refetch_done_ms"] = (refetch[-1] - t0) / 1e6
            else:
                missed["js"] += 1
            if i >= args.warmup:
                rows.append(row)
            time.sleep(random.uniform(args.gap_min, args.gap_max))

        def col(key):
            return [r[key] for r in rows if key in r]

        result = {
            "changes": args.changes,
            "warmup": args.warmup,
            "gap_ms": [args.gap_min * 1000, args.gap_max * 1000],
            "missed": missed,
            "watch": summary(col("watch_ms")),
            "watch_self_latencyMs": summary(col("watch_latencyMs")),
            "js": summary(col("js_ms")),
            "js_self": summary(col("js_self_ms")),
            "js_event_arrival": summary(col("js_event_ms")),
            "rows": rows,
        }
        if result["watch"] and result["js"]:
            result["ratio_p50_watch_over_js"] = result["watch"]["p50"] / result["js"]["p50"]
        write("propagation", result)
        print(f"trigger sent -> change visible, {args.changes} changes ({args.warmup} warm-up not counted)")
        print(f"  ofrep watch : {fmt(result['watch'])}")
        print(f"  JS provider : {fmt(result['js'])}")
        print(f"  JS SSE message arrival (for reference): {fmt(result['js_event_arrival'])}")
        print(f"  watch's own latencyMs (event arrival -> refetched answer): {fmt(result['watch_self_latencyMs'])}")
        if "ratio_p50_watch_over_js" in result:
            r = result["ratio_p50_watch_over_js"]
            print(f"  median ratio watch/JS: {r:.3f} (JS median is {1 / r:.1f}x watch's)")
        print(f"  missed (no change within 3 s): {missed}")
        w = result["watch"]
        if w:
            print(f"  targets: p50 < 10 ms: {w['p50'] < 10}; p99 < 25 ms: {w['p99'] < 25}; "
                  f"median <= 1/5 JS: {result.get('ratio_p50_watch_over_js', 1) <= 0.2}")
    finally:
        for p in reversed(procs):
            stop(p)


# ---------------------------------------------------------------------------------------------
# 2. Burst: a purpose-built OFREP server that sends N events in one write and counts refetches


class BurstServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), BurstHandler)
        self.lock = threading.Lock()
        self.version = 1
        self.streams = []  # wfile of every open event stream
        self.requests = []  # (ns, targetingKey, query, If-None-Match, status)
        self.closing = threading.Event()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def etag(self):
        return f'"v{self.version}"'

    def burst(self, n, one_write=True):
        """Changes the configuration once, then sends n refetchEvaluation events to every open
        stream: in one write, or in n back-to-back writes. Returns (ns before writing, ns the
        writes took, streams)."""
        with self.lock:
            self.version += 1
            data = json.dumps({"type": "refetchEvaluation", "etag": self.etag()})
            base = self.version * 1000
            frames = [f"id: {base + k}\ndata: {data}\n\n".encode() for k in range(n)]
            t = now_ns()
            for wfile in list(self.streams):
                try:
                    if one_write:
                        wfile.write(b"".join(frames))
                        wfile.flush()
                    else:
                        for frame in frames:
                            wfile.write(frame)
                            wfile.flush()
                except OSError:
                    self.streams.remove(wfile)
            return t, now_ns() - t, len(self.streams)


class BurstHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b"{}"
        if path != "/ofrep/v1/evaluate/flags":
            self.send_error(404)
            return
        try:
            key = (json.loads(body).get("context") or {}).get("targetingKey")
        except ValueError:
            key = None
        srv = self.server
        with srv.lock:
            etag = srv.etag()
            version = srv.version
        inm = self.headers.get("If-None-Match")
        status = 304 if inm == etag else 200
        with srv.lock:
            srv.requests.append((now_ns(), key, query, inm, status))
        if status == 304:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        answer = json.dumps({
            "flags": [{"key": "burst-version", "value": version, "variant": f"v{version}", "reason": "STATIC"}],
            "eventStreams": [{"type": "sse", "endpoint": {"requestUri": "/ofrep/v1/events"}, "inactivityDelaySec": 120}],
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def do_GET(self):
        if self.path.partition("?")[0] != "/ofrep/v1/events":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b": connected\n\n")
        self.wfile.flush()
        with self.server.lock:
            self.server.streams.append(self.wfile)
        # Hold the connection open until the server closes (bounded by the harness's run).
        self.server.closing.wait(600)
        self.close_connection = True


def burst(args):
    srv = BurstServer()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    procs = []
    try:
        watch, wl = start_watch(args.bin, srv.url, ["--targeting-key", "watch"])
        procs.append(watch)
        js, jl = start_js(srv.url, "js")
        procs.append(js)
        # Both streams open before the first burst.
        deadline = time.monotonic() + 10
        while len(srv.streams) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        if len(srv.streams) < 2:
            sys.exit(f"error: only {len(srv.streams)} event streams opened")
        time.sleep(0.5)
        rounds = []
        for mode in ("one-write", "separate-writes"):
            for r in range(args.rounds):
                wl.drain()
                jl.drain()
                with srv.lock:
                    before = len(srv.requests)
                t0, write_ns, streams = srv.burst(args.events, one_write=(mode == "one-write"))
                # Settle: until no request for 1 s (bounded at 6 s).
                deadline = time.monotonic() + 6
                last_count, last_change = before, time.monotonic()
                while time.monotonic() < deadline:
                    time.sleep(0.1)
                    with srv.lock:
                        n = len(srv.requests)
                    if n != last_count:
                        last_count, last_change = n, time.monotonic()
                    elif time.monotonic() - last_change >= 1.0:
                        break
                with srv.lock:
                    reqs = srv.requests[before:]
                w_lines = [o for _, o in wl.drain()]
                j_lines = [o for _, o in jl.drain()]
                row = {
                    "mode": mode,
                    "round": r,
                    "streams": streams,
                    "write_ms": round(write_ns / 1e6, 3),
                    "watch_refetches": sum(1 for q in reqs if q[1] == "watch"),
                    "watch_refetch_status": [q[4] for q in reqs if q[1] == "watch"],
                    "watch_refetch_ms": [round((q[0] - t0) / 1e6, 2) for q in reqs if q[1] == "watch"],
                    "js_refetches": sum(1 for q in reqs if q[1] == "js"),
                    "js_refetch_status": [q[4] for q in reqs if q[1] == "js"],
                    "js_refetch_ms": [round((q[0] - t0) / 1e6, 2) for q in reqs if q[1] == "js"],
                    "watch_events_seen": sum(1 for o in w_lines if o.get("type") == "event"),
                    "watch_changes": sum(1 for o in w_lines if o.get("type") == "change"),
                    "js_events_seen": sum(1 for o in j_lines if o.get("type") == "sse"),
                    "js_changes": sum(1 for o in j_lines if o.get("type") == "change"),
                }
                rounds.append(row)
                print(f"  {mode:15} round {r} (written in {row['write_ms']:.2f} ms): watch {row['watch_refetches']} refetches "
                      f"{row['watch_refetch_status']} at {row['watch_refetch_ms']} ms, "
                      f"{row['watch_events_seen']} events seen; "
                      f"JS {row['js_refetches']} refetches {row['js_refetch_status']} at "
                      f"{row['js_refetch_ms']} ms, {row['js_events_seen']} events seen")
        result = {
            "events": args.events,
            "rounds": rounds,
            "watch_max_refetches": max(r["watch_refetches"] for r in rounds),
            "js_max_refetches": max(r["js_refetches"] for r in rounds),
            "watch_median_refetches": statistics.median(r["watch_refetches"] for r in rounds),
            "js_median_refetches": statistics.median(r["js_refetches"] for r in rounds),
        }
        write("burst", result)
        print(f"refetches per burst of {args.events} events: watch max {result['watch_max_refetches']} "
              f"(target <= 2: {result['watch_max_refetches'] <= 2}), JS max {result['js_max_refetches']}")
    finally:
        for p in reversed(procs):
            stop(p)
        srv.closing.set()
        srv.shutdown()


# ---------------------------------------------------------------------------------------------
# 3. Memory


def flag_file(n):
    """A flagd file with n flags of every value type; the first is the boolean the built-in change
    toggles."""
    flags = {}
    for i in range(n):
        kind = i % 4
        if kind == 0:
            variants, default = {"on": True, "off": False}, "off"
        elif kind == 1:
            variants, default = {"a": f"text-{i}-a", "b": f"text-{i}-b"}, "a"
        elif kind == 2:
            variants, default = {"low": i, "high": i * 10}, "low"
        else:
            variants, default = {"x": {"id": i, "tags": ["t1", "t2"]}, "y": {"id": -i, "tags": []}}, "x"
        flags[f"flag-{i:05d}"] = {"state": "ENABLED", "variants": variants, "defaultVariant": default,
                                  "metadata": {"owner": f"team-{i % 17}"}}
    return {"flags": flags}


def rss(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value, _unit = line.split()
                out[name.rstrip(":")] = int(value) / 1024  # MiB
    return out


def memory(args):
    tmp = tempfile.mkdtemp(prefix="ofrep-bench-")
    path = os.path.join(tmp, "flags.json")
    with open(path, "w") as f:
        json.dump(flag_file(args.flags), f)
    print(f"flag file: {args.flags} flags, {os.path.getsize(path) / 1e6:.2f} MB")
    server, url = start_serve(args.bin, ["--flags", path])
    procs = [server]
    try:
        watch, wl = start_watch(args.bin, url)
        procs.append(watch)
        control = Control(url)
        samples = [{"change": 0, **rss(watch.pid)}]
        latencies, missed = [], []
        started = time.monotonic()
        for i in range(1, args.changes + 1):
            _t0, _wall0, answer = control.change()
            event_id = str(answer.get("eventId"))
            got, skipped = wl.wait_for(lambda o: o.get("type") == "change" and o.get("eventId") == event_id, 5)
            if got:
                latencies.append(got[1].get("latencyMs"))
            else:
                missed.append({"change": i, "eventId": event_id, "answer": answer,
                               "lines": [{k: v for k, v in o.items() if k not in ("changes", "flags")}
                                         for _, o in skipped]})
            samples.append({"change": i, **rss(watch.pid)})
        elapsed = time.monotonic() - started
        peak = rss(watch.pid)["VmHWM"]
        after = [s["VmRSS"] for s in samples if s["change"] >= 10]
        pick = {k: samples[k] for k in (0, 1, 10, args.changes // 2, args.changes) if k < len(samples)}
        result = {
            "flags": args.flags,
            "changes": args.changes,
            "missed": missed,
            "elapsed_s": elapsed,
            "peak_rss_mib": peak,
            "rss_after_change_10_min_mib": min(after),
            "rss_after_change_10_max_mib": max(after),
            "selected_samples": pick,
            "watch_latencyMs": summary([x for x in latencies if x is not None]),
            "samples": samples,
        }
        write("memory", result)
        print(f"{args.changes} changes in {elapsed:.1f} s, {len(missed)} missed (no change line with "
              f"the change's eventId within 5 s){': ' + json.dumps(missed) if missed else ''}")
        for k, s in pick.items():
            print(f"  after change {k:5}: VmRSS {s['VmRSS']:.1f} MiB, VmHWM {s['VmHWM']:.1f} MiB")
        print(f"  VmRSS from change 10 on: min {min(after):.1f} MiB, max {max(after):.1f} MiB")
        print(f"  peak RSS (VmHWM) of ofrep watch: {peak:.1f} MiB (target < 30 MB: {peak * 1.048576 < 30})")
        print(f"  watch's own latencyMs with {args.flags} flags: {fmt(result['watch_latencyMs'])}")
    finally:
        for p in reversed(procs):
            stop(p)
        os.remove(path)
        os.rmdir(tmp)


def main():
    # `timeout` sends SIGTERM: unwind so every `finally` stops the servers and clients it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(124))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="bench", required=True)
    p = sub.add_parser("propagation")
    p.add_argument("--changes", type=int, default=200)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--gap-min", type=float, default=0.05)
    p.add_argument("--gap-max", type=float, default=0.1)
    b = sub.add_parser("burst")
    b.add_argument("--events", type=int, default=100)
    b.add_argument("--rounds", type=int, default=10)
    m = sub.add_parser("memory")
    m.add_argument("--flags", type=int, default=10000)
    m.add_argument("--changes", type=int, default=1000)
    for s in (p, b, m):
        s.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "ofrep"))
    args = parser.parse_args()
    {"propagation": propagation, "burst": burst, "memory": memory}[args.bench](args)


if __name__ == "__main__":
    main()
