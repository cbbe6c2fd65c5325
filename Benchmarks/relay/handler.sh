#!/usr/bin/env bash
# Requests per second through relay → link → agent → application handler → back
# (agent.handler: examples/handler/store-handler.py answering `echo:x`), against
# the same requests answered by the agent itself (`ping`), side by side in the
# same run: the ratio is what the handler hop costs. Three rounds, interleaved.
# Also one client sending `critical:store:<n>` (durable: stored, sent with its
# id, fsynced by the handler, removed). Free ports, a temporary folder.
set -euo pipefail
. "$(dirname "$0")/setup.sh"
python3 examples/handler/store-handler.py --socket "$WORK/handler.sock" --store "$WORK/store.txt" 2>/dev/null &
for _ in $(seq 100); do [ -S "$WORK/handler.sock" ] && break; sleep 0.05; done
start_relay_pair BALANCERD_AGENT_HANDLER="$WORK/handler.sock"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$WORK/run/a2" <<'PY'
import socket, statistics, sys, threading, time
path = sys.argv[1]
def connect():
    for _ in range(400):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(path)
            s.sendall(b"echo:up\n")
            if s.recv(100).startswith(b"up"):
                return s
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("relay → agent → handler never answered")
def client(make, count, out):
    s = connect(); f = s.makefile("rb")
    for i in range(count):
        line = make(i)
        s.sendall(line); reply = f.readline()
        if reply in (b"con_lost\n", b"unknown_cmd\n"):
            raise SystemExit(f"{line!r} answered {reply!r}")
        out.append(1)
def rate(make, clients, per):
    done = []; threads = [threading.Thread(target=client, args=(make, per, done)) for _ in range(clients)]
    t = time.perf_counter(); [x.start() for x in threads]; [x.join() for x in threads]
    return len(done) / (time.perf_counter() - t)
ping = lambda i: b"ping\n"
echo = lambda i: b"echo:x\n"
rows = {}
for round in range(3):
    for clients, per in ((1, 5000), (64, 200)):
        rows.setdefault(clients, []).append((rate(ping, clients, per), rate(echo, clients, per)))
print("| clients | agent answers (`ping`) req/s | through the handler (`echo:x`) req/s | handler / agent | rounds |")
print("| --- | --- | --- | --- | --- |")
for clients, runs in rows.items():
    ratios = [e / p for p, e in runs]
    print(f"| {clients} | {statistics.median(p for p, _ in runs):,.0f} | {statistics.median(e for _, e in runs):,.0f} | "
          f"{statistics.median(ratios):.2f} (range {min(ratios):.2f}–{max(ratios):.2f}) | 3 |")
critical = rate(lambda i: b"critical:store:%d\n" % i, 1, 1000)
print(f"\none client, `critical:store:<n>` through the handler (stored, sent with its id, fsynced, removed): {critical:,.0f} messages/s")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
