#!/usr/bin/env bash
# Requests per second through a relay socket (<socket_dir>/<peer>) of a running
# `balancerd serve`, one client one-at-a-time and 64 clients at once, over a
# plain-TCP link to an agent on loopback. Compare with LinkBenchmark's plain
# rows (the same requests on the link directly, in process). Free ports.
set -euo pipefail
. "$(dirname "$0")/setup.sh"
start_relay_pair
python3 - "$WORK/run/a2" <<'PY'
import socket, sys, threading, time
path = sys.argv[1]
def connect():
    for _ in range(200):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(path)
            s.sendall(b"ping\n")
            if s.recv(100).startswith(b"a2"):
                return s
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("relay never answered")
def client(count, out):
    s = connect(); f = s.makefile("rb")
    lat = []
    for _ in range(count):
        t = time.perf_counter(); s.sendall(b"load\n"); f.readline(); lat.append(time.perf_counter() - t)
    out.extend(lat)
print("| clients | requests/s | p50 µs | p99 µs |")
print("| --- | --- | --- | --- |")
for clients, per in ((1, 20000), (64, 1000)):
    lat = []; threads = [threading.Thread(target=client, args=(per, lat)) for _ in range(clients)]
    t = time.perf_counter(); [x.start() for x in threads]; [x.join() for x in threads]; took = time.perf_counter() - t
    lat.sort()
    print(f"| {clients} | {len(lat) / took:,.0f} | {lat[len(lat) // 2] * 1e6:.0f} | {lat[int(len(lat) * 0.99)] * 1e6:.0f} |")
PY
