#!/usr/bin/env python3
"""Fan-out client for bench/serve-fanout.sh: opens many SSE streams to one `ofrep serve`, triggers
changes, and records for every stream the time from the trigger to the event's arrival.

Streams are spread over --procs worker processes, each an asyncio loop with raw sockets (no HTTP
library, so the client costs as little per event as Python allows). Times come from
CLOCK_REALTIME, which all processes and the kernel share. Two arrival times per event: the
kernel's receive stamp on the segment (SO_TIMESTAMPNS), the headline number, which a busy client
cannot inflate; and the moment the worker's loop read it (`client_read`), which adds the Python
client's own queueing when it has 10,000 sockets to read.

Triggers: `file` rewrites the flag file the way an editor saves it (write a temporary file, then
rename it over the old one; the clock starts just before the rename); `control` POSTs
/control/change (the clock starts just before the request is sent). Every phase, loop and wait
is bounded in time. Prints one JSON document on stdout.
"""
import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import socket
import statistics
import struct
import sys
import time
import urllib.request

ID_LINE = re.compile(rb"^id: (\d+)\r?$")


# SO_TIMESTAMPNS (linux/asm-generic/socket.h): the kernel stamps each received segment with
# CLOCK_REALTIME, and recvmsg on a TCP socket hands the stamp back (tcp_recv_timestamp). It tells
# when the event reached this machine's socket, however late a busy client gets round to reading.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TIMESPEC = struct.Struct("qq")


class SseStream:
    """One GET /ofrep/v1/events on a raw non-blocking socket. For every event it records
    (id, kernel arrival time, client read time), both CLOCK_REALTIME seconds."""

    def __init__(self, sock):
        self.sock = sock
        self.head = b""
        self.status = None
        self.tail = b""
        self.events = []  # [(id, kernel_s, read_s)]
        self.closed = False
        self.on_headers = None
        self.unstamped = 0  # events whose segment came without a kernel stamp (read time used)

    def readable(self):
        try:
            data, ancillary, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(TIMESPEC.size))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancillary = b"", []
        read_at = time.time()
        kernel_at = None
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= TIMESPEC.size:
                sec, nsec = TIMESPEC.unpack_from(payload)
                kernel_at = sec + nsec / 1e9
        if not data:
            self.close()
            return
        if kernel_at is None:
            kernel_at = read_at
            self.unstamped += data.count(b"\nid: ") + data.startswith(b"id: ")
        if self.status is None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            self.status = int(self.head.split(b" ", 2)[1])
            data, self.head = self.head[end + 4:], b""
            self.on_headers()
        # The body is chunked; chunk-size lines never look like `id: N`, so a line scan is enough.
        lines = (self.tail + data).split(b"\n")
        self.tail = lines.pop()
        for line in lines:
            m = ID_LINE.match(line)
            if m:
                self.events.append((int(m.group(1)), kernel_at, read_at))

    def close(self):
        if not self.closed:
            self.closed = True
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            if self.status is None:
                self.on_headers()


async def worker_main(conn, host, port, count, connect_timeout):
    loop = asyncio.get_running_loop()
    request = (f"GET /ofrep/v1/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
               f"Accept: text/event-stream\r\n\r\n").encode()
    streams = []
    answered = asyncio.Event()
    answers = 0

    def on_headers():
        nonlocal answers
        answers += 1
        if answers == count:
            answered.set()

    gate = asyncio.Semaphore(100)  # connections in flight, so the listen backlog never overflows

    async def open_one():
        async with gate:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            try:
                await asyncio.wait_for(loop.sock_connect(sock, (host, port)), timeout=connect_timeout)
                await loop.sock_sendall(sock, request)
            except (OSError, asyncio.TimeoutError):
                sock.close()
                on_headers()
                return
            stream = SseStream(sock)
            stream.on_headers = on_headers
            streams.append(stream)
            loop.add_reader(sock.fileno(), stream.readable)

    started = time.monotonic()
    await asyncio.gather(*(open_one() for _ in range(count)))
    try:
        await asyncio.wait_for(answered.wait(), timeout=max(1.0, connect_timeout - (time.monotonic() - started)))
    except asyncio.TimeoutError:
        pass
    ok = sum(1 for s in streams if s.status == 200 and not s.closed)
    conn.send(("ready", ok, count - ok, time.monotonic() - started))

    commands = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: commands.put_nowait(conn.recv()))
    while True:
        command = await commands.get()
        if command[0] == "collect":  # ("collect", k, deadline): the k-th event (1-based) of each stream
            _, k, deadline = command
            while time.time() < deadline:
                if all(len(s.events) >= k or s.closed for s in streams if s.status == 200):
                    break
                await asyncio.sleep(0.002)
            conn.send([(s.events[k - 1] if len(s.events) >= k else None)
                       for s in streams if s.status == 200])
        elif command[0] == "counts":
            conn.send(([len(s.events) for s in streams if s.status == 200],
                       sum(1 for s in streams if s.status == 200 and s.closed),
                       sum(s.unstamped for s in streams)))
        else:
            break


def worker(conn, host, port, count, connect_timeout):
    asyncio.run(worker_main(conn, host, port, count, connect_timeout))


def memory_kib(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])
    return fields


def cpu_seconds(pid):
    """User + system CPU seconds a process has used (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def summary_ms(values):
    if not values:
        return None
    return {"n": len(values), "p50_ms": round(pct(values, 50) * 1e3, 2),
            "p99_ms": round(pct(values, 99) * 1e3, 2), "max_ms": round(max(values) * 1e3, 2),
            "mean_ms": round(statistics.fmean(values) * 1e3, 2)}


def flip_file(path, round_no):
    """Rewrite the flag file with the default variant of its first flag flipped, editor style."""
    with open(path) as f:
        doc = json.load(f)
    first = next(iter(doc["flags"].values()))
    variants = list(first["variants"])
    first["defaultVariant"] = variants[round_no % len(variants)]
    doc.setdefault("metadata", {})["benchRound"] = round_no
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    started = time.time()
    os.replace(tmp, path)
    return started


def post_change(base):
    request = urllib.request.Request(f"{base}/control/change", data=b"", method="POST")
    started = time.time()
    with urllib.request.urlopen(request, timeout=5) as answer:
        answer.read()
    return started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--edits", type=int, default=10, help="triggers per kind")
    parser.add_argument("--flags-file", help="the file the server watches (for `file` triggers)")
    parser.add_argument("--triggers", default="file,control")
    parser.add_argument("--connect-timeout", type=float, default=120.0)
    parser.add_argument("--event-timeout", type=float, default=10.0)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between triggers")
    args = parser.parse_args()

    host, port = args.url.removeprefix("http://").rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost"):
        sys.exit("loopback only")
    port = int(port)
    memory = {"before_connect": memory_kib(args.server_pid)}

    ctx = mp.get_context("fork")
    pipes, procs = [], []
    share = [args.streams // args.procs + (1 if i < args.streams % args.procs else 0)
             for i in range(args.procs)]
    for n in share:
        mine, theirs = ctx.Pipe()
        p = ctx.Process(target=worker, args=(theirs, host, port, n, args.connect_timeout), daemon=True)
        p.start()
        pipes.append(mine)
        procs.append(p)

    open_ok = open_failed = 0
    connect_s = 0.0
    for pipe in pipes:
        if not pipe.poll(args.connect_timeout + 10):
            sys.exit("a worker did not report its streams in time")
        _, ok, failed, seconds = pipe.recv()
        open_ok += ok
        open_failed += failed
        connect_s = max(connect_s, seconds)
    time.sleep(1.0)  # let the server settle after the connection burst
    memory["streams_open"] = memory_kib(args.server_pid)

    rounds = []
    k = 0
    for kind in [t for t in args.triggers.split(",") if t]:
        for i in range(args.edits):
            k += 1
            server_cpu0 = cpu_seconds(args.server_pid)
            client_cpu0 = sum(cpu_seconds(p.pid) for p in procs)
            if kind == "file":
                started = flip_file(args.flags_file, k)
            else:
                started = post_change(args.url)
            deadline = time.time() + args.event_timeout
            arrivals = []
            for pipe in pipes:
                pipe.send(("collect", k, deadline))
            for pipe in pipes:
                if not pipe.poll(args.event_timeout + 10):
                    sys.exit("a worker did not answer in time")
                arrivals.extend(pipe.recv())
            server_cpu = cpu_seconds(args.server_pid) - server_cpu0
            client_cpu = sum(cpu_seconds(p.pid) for p in procs) - client_cpu0
            got = [a for a in arrivals if a is not None]
            ids = sorted({a[0] for a in got})
            latencies = [kernel - started for _, kernel, _ in got]
            read_latencies = [read - started for _, _, read in got]
            rounds.append({"trigger": kind, "round": k, "event_ids": ids,
                           "received": len(got), "missing": len(arrivals) - len(got),
                           **(summary_ms(latencies) or {}),
                           "client_read": summary_ms(read_latencies),
                           # CPU used from the trigger until every event was in: the server's
                           # whole fan-out, and the client workers' reading (clock ticks, 10 ms).
                           "server_cpu_ms": round(server_cpu * 1e3), "client_cpu_ms": round(client_cpu * 1e3),
                           "_latencies": latencies, "_read": read_latencies})
            print(f"{kind} #{i + 1}: {len(got)}/{len(arrivals)} streams, arrival p50 "
                  f"{rounds[-1].get('p50_ms')} ms, p99 {rounds[-1].get('p99_ms')} ms, "
                  f"max {rounds[-1].get('max_ms')} ms (client read p99 "
                  f"{(rounds[-1]['client_read'] or {}).get('p99_ms')} ms), CPU server "
                  f"{rounds[-1]['server_cpu_ms']} ms client {rounds[-1]['client_cpu_ms']} ms, ids {ids}", file=sys.stderr)
            time.sleep(args.pause)

    time.sleep(0.5)  # any extra (duplicate) event would arrive now
    counts, closed, unstamped = [], 0, 0
    for pipe in pipes:
        pipe.send(("counts",))
    for pipe in pipes:
        if pipe.poll(10):
            mine, gone, plain = pipe.recv()
            counts.extend(mine)
            closed += gone
            unstamped += plain
    memory["end"] = memory_kib(args.server_pid)
    for pipe in pipes:
        pipe.send(("stop",))
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()

    by_kind = {}
    for r in rounds:
        by_kind.setdefault(r["trigger"], []).append(r)
    overall = {}
    for kind, rs in by_kind.items():
        every = [x for r in rs for x in r["_latencies"]]
        last = [max(r["_latencies"]) for r in rs if r["_latencies"]]  # edit -> event on the last stream
        overall[kind] = {
            "all_streams_all_rounds": summary_ms(every),
            "client_read_all_streams_all_rounds": summary_ms([x for r in rs for x in r["_read"]]),
            "last_stream_per_round": summary_ms(last),
            "median_server_cpu_ms_per_round": statistics.median(r["server_cpu_ms"] for r in rs),
            "median_client_cpu_ms_per_round": statistics.median(r["client_cpu_ms"] for r in rs),
            "median_of_round_p99_ms": round(statistics.median(r["p99_ms"] for r in rs if "p99_ms" in r), 2),
        }
    for r in rounds:
        del r["_latencies"], r["_read"]
    print(json.dumps({
        "streams_requested": args.streams, "streams_open": open_ok, "streams_failed": open_failed,
        "connect_seconds": round(connect_s, 2), "client_procs": args.procs,
        "events_per_stream": {"expected": k, "min": min(counts, default=None),
                              "max": max(counts, default=None)},
        "streams_closed_by_server": closed,
        "events_without_kernel_stamp": unstamped,
        "server_memory_kib": memory, "overall": overall, "rounds": rounds,
    }, indent=1))


if __name__ == "__main__":
    main()
