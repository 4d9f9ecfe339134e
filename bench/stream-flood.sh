#!/usr/bin/env bash
# Peak RSS of `ofrep watch` and `ofrep conform` under a hostile event stream (issue 11): a flood
# of small events for as long as the run lasts, and a burst of a million events at once, for two
# builds in the same run (BEFORE and AFTER). The server is a Python asyncio server on 127.0.0.1
# that writes as fast as the socket takes it (await drain: it is held back only by the client).
# Peak RSS is VmHWM from /proc/<pid>/status; a run that passes LIMIT_MIB is killed and reported
# as "> LIMIT_MIB". Needs python3 (standard library only).
#
#   BEFORE=/path/to/old/ofrep AFTER=target/release/ofrep bench/stream-flood.sh
#   SECONDS_PER_RUN=10 LIMIT_MIB=1536 bench/stream-flood.sh
#
# Without BEFORE/AFTER it builds this tree (release) as AFTER and runs it alone.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${AFTER:-}" ]; then
  cargo build --release --quiet
  AFTER="${CARGO_TARGET_DIR:-target}/release/ofrep"
fi

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), \
$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"

exec python3 - "${SECONDS_PER_RUN:-10}" "${LIMIT_MIB:-1536}" ${BEFORE:+"before=$BEFORE"} "after=$AFTER" <<'PY'
import asyncio, os, subprocess, sys, tempfile, threading, time

seconds, limit_mib = float(sys.argv[1]), int(sys.argv[2])
builds = [arg.split("=", 1) for arg in sys.argv[3:]]

EVENT = b'data: {"type":"refetchEvaluation"}\n\n'
FLOOD = b'data: {"type":"configurationChanged"}\n\n' * 1600  # ~64 KiB per write

class Server:
    """POST /ofrep/v1/evaluate/flags answers a flag and eventStreams; GET /events floods."""

    def __init__(self, mode):
        self.mode, self.written, self.port = mode, 0, None
        self.ready = threading.Event()
        threading.Thread(target=lambda: asyncio.run(self.main()), daemon=True).start()
        self.ready.wait(10)

    async def main(self):
        server = await asyncio.start_server(self.client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        async with server:
            await server.serve_forever()

    async def client(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = next((int(l.split(":", 1)[1]) for l in lines
                               if l.lower().startswith("content-length:")), 0)
                if length:
                    await reader.readexactly(length)
                if lines[0].startswith("POST"):
                    body = ('{"flags":[{"key":"f","value":true,"variant":"on","reason":"STATIC"}],'
                            '"eventStreams":[{"type":"sse","url":"http://127.0.0.1:%d/events"}]}'
                            % self.port).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b'ETag: "v1"\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
                    await writer.drain()
                    continue
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n")
                if self.mode == "flood":
                    while True:
                        writer.write(FLOOD)
                        self.written += len(FLOOD)
                        await writer.drain()
                else:
                    burst = EVENT * 1_000_000
                    for at in range(0, len(burst), 65536):
                        writer.write(burst[at:at + 65536])
                        self.written += min(65536, len(burst) - at)
                        await writer.drain()
                    await asyncio.sleep(3600)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            writer.close()

def kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

def measure(name, binary, command, mode):
    server = Server(mode)
    url = f"http://127.0.0.1:{server.port}"
    feature = None
    if command == "watch":
        args = [binary, "watch", url, "--color", "never"]
    else:
        feature = tempfile.NamedTemporaryFile("w", suffix=".feature", delete=False)
        feature.write("Feature: flood\n  @must @id:sse-utf8\n  Scenario: a long look\n"
                      "    Given I connect to the advertised event stream\n"
                      f"    When I wait {int(seconds * 1000)} milliseconds\n"
                      "    Then the stream passes check sse-utf8\n")
        feature.close()
        args = [binary, "conform", url, "--no-builtin", "--scenarios", feature.name,
                "--color", "never"]
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start, peak, killed = time.monotonic(), 0, None
    while time.monotonic() - start < seconds and child.poll() is None:
        peak = max(peak, kib(child.pid, "VmHWM:"), kib(child.pid, "VmRSS:"))
        if peak > limit_mib * 1024:
            killed = time.monotonic() - start
            break
        time.sleep(0.02)
    peak = max(peak, kib(child.pid, "VmHWM:"))
    elapsed = time.monotonic() - start
    child.kill()
    child.wait()
    if feature:
        os.unlink(feature.name)
    shown = (f"> {limit_mib} MiB (killed after {killed:.1f} s)" if killed
             else f"{peak / 1024:.1f} MiB")
    print(f"| {command} | {mode} | {name} | {shown} | {server.written / 1e6:.0f} MB in {elapsed:.1f} s |",
          flush=True)

print(f"\nper run: {seconds:g} s; flood = 64 KiB writes of small events for the whole run; "
      "burst = 1,000,000 refetchEvaluation events (35 MB) at once, then silence\n")
print("| command | stream | build | peak RSS | written by the server (accepted by the client) |")
print("|---|---|---|---|---|")
for command in ("watch", "conform"):
    for mode in ("flood", "burst"):
        for name, binary in builds:
            measure(name, binary, command, mode)
PY
