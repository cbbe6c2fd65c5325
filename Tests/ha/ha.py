#!/usr/bin/env python3
"""Two `balancerd serve` instances behind one address, moved by keepalived.

Everything runs in network namespaces this script makes and removes: a bridge
in its own namespace (`<prefix>-sw`), and one namespace each for the two
balancer instances with their keepalived (`lb1`, `lb2`), three agents (`b1`,
`b2`, `b3`) and a client (`cl`), all on 10.231.0.0/24, so VRRP never leaves
them. keepalived runs the shipped dist/keepalived/keepalived.conf (only the
address changed). The client asks GET /login through the virtual address
every 20 ms; each try takes a fault to the instance holding the address:

    kill-serve       SIGKILL its balancerd serve (then started again)
    freeze-serve     SIGSTOP its balancerd serve (then SIGCONT)
    stop-keepalived  SIGTERM its keepalived, as systemctl stop (then started again)

and measures the time until a login through the address succeeds again, the
failed logins in between, and the failed logins after that (goal: none).

    python3 Tests/ha/ha.py --tries 10 --report .build/ha-report.md   # make ha
    python3 Tests/ha/ha.py --tries 1                                 # make test

Needs root (namespaces), keepalived and curl (scripts/install-test-deps.sh).
Exits 1 when the address does not move within 10 s, when a login fails once
it has moved, or when the median time exceeds --goal (3 s).
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "faults"))
from faults import run, wait_for  # noqa: E402  (the fault suite's helpers)

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SUBNET = "10.231.0"
VIP = f"{SUBNET}.100"
HTTP_PORT = 8080
INSTANCES = {"lb1": f"{SUBNET}.11", "lb2": f"{SUBNET}.12"}
AGENTS = {"b1": f"{SUBNET}.21", "b2": f"{SUBNET}.22", "b3": f"{SUBNET}.23"}
CLIENT = ("cl", f"{SUBNET}.50")

# Runs in the client's namespace: one /login a line, "<monotonic start> <1|0>".
CLIENT_LOOP = r"""
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
request = b"GET /login HTTP/1.1\r\nHost: login\r\nConnection: close\r\n\r\n"
while True:
    start = time.monotonic()
    ok = 0
    try:
        with socket.create_connection((host, port), timeout=0.3) as s:
            s.settimeout(0.3)
            s.sendall(request)
            ok = 1 if s.recv(64).startswith(b"HTTP/1.1 302") else 0
    except OSError:
        pass
    print(f"{start:.4f} {ok}", flush=True)
    time.sleep(max(0.0, 0.02 - (time.monotonic() - start)))
"""


def log(message):
    print(f"ha: {message}", file=sys.stderr, flush=True)


class Namespaces:
    """A bridge in `<prefix>-sw`; every node a namespace with eth0 on it."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.nodes = [*INSTANCES, *AGENTS, CLIENT[0]]

    def name(self, node):
        return f"{self.prefix}-{node}"

    def exec(self, node):
        return ["ip", "netns", "exec", self.name(node)]

    def setup(self):
        self.teardown()
        switch = self.name("sw")
        run("ip", "netns", "add", switch)
        run("ip", "-n", switch, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", switch, "link", "set", "br0", "up")
        addresses = {**INSTANCES, **AGENTS, CLIENT[0]: CLIENT[1]}
        for node in self.nodes:
            ns = self.name(node)
            run("ip", "netns", "add", ns)
            run("ip", "-n", switch, "link", "add", f"v-{node}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            run("ip", "-n", switch, "link", "set", f"v-{node}", "master", "br0", "up")
            run("ip", "-n", ns, "addr", "add", f"{addresses[node]}/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")

    def holds_address(self, node):
        return f"{VIP}/" in run("ip", "-n", self.name(node), "-4", "addr", "show", "dev", "eth0", check=False).stdout

    def teardown(self):
        for node in [*self.nodes, "sw"]:
            run("ip", "netns", "del", self.name(node), check=False)


class Site:
    """The processes: two serve + keepalived, three agents, the client loop."""

    def __init__(self, binary, work, namespaces):
        self.binary, self.work, self.ns = binary, work, namespaces
        self.serves, self.keepaliveds, self.agents = {}, {}, {}
        self.keepalived_logs = {}
        self.results = []  # (monotonic start, ok)
        self.client = None

    def path(self, name):
        return os.path.join(self.work, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)

    def setup(self):
        lines = [f"{i}:ha:access:{i}.ha.test:{a}" for i, a in {**INSTANCES, **AGENTS}.items()]
        self.write("hosts.tab", "\n".join(lines) + "\n")
        os.makedirs(self.path("sessions"), exist_ok=True)
        ids = ", ".join(INSTANCES)
        spares = ", ".join(AGENTS)
        for node, address in INSTANCES.items():
            self.write(f"{node}.yaml", f"""host_id: {node}
hosts_table: hosts.tab
state_dir: {node}-state
socket_dir: {node}-run
tls: {{ca: certs/ca.pem, cert: certs/{node}.pem, key: certs/{node}.key}}
links: {{connect_timeout: 1s, request_timeout: 1s, keepalive: 500ms, max_attempts: 100000, backoff_initial: 100ms, backoff_max: 500ms}}
poll: {{interval: 500ms, timeout: 400ms, stale_after: 1500ms}}
balancer: {{mode: always, spares: [{spares}], instances: [{ids}], slow_start: 0s}}
http: {{listen: "0.0.0.0:{HTTP_PORT}"}}
agent: {{listen: "{address}:5663", sessions_dir: sessions}}
""")
        for index, (node, address) in enumerate(AGENTS.items(), start=1):
            self.write(f"{node}.load", f"{0.2 * index:.2f} 0.50 0.50 1/100 1\n")
            self.write(f"{node}.yaml", f"""host_id: {node}
hosts_table: hosts.tab
state_dir: {node}-state
socket_dir: {node}-run
tls: {{ca: certs/ca.pem, cert: certs/{node}.pem, key: certs/{node}.key}}
agent: {{listen: "{address}:5663", load_file: {node}.load, load_limit: 2.0, sessions_dir: sessions}}
""")
        run(self.binary, "certs", "init", "--dir", self.path("certs"))
        for node in [*INSTANCES, *AGENTS]:
            run(self.binary, "certs", "issue", node, "-c", self.path(f"{node}.yaml"))
        # The shipped example, with this network's address.
        with open(os.path.join(ROOT, "dist", "keepalived", "keepalived.conf")) as f:
            example = f.read()
        if "192.0.2.10/24" not in example or f"127.0.0.1:{HTTP_PORT}/health/ready" not in example:
            raise SystemExit("dist/keepalived/keepalived.conf no longer has the address and check this test adapts")
        self.write("keepalived.conf", example.replace("192.0.2.10/24", f"{VIP}/24"))

    def spawn(self, node, name, argv):
        output = open(self.path(name), "a")
        return subprocess.Popen(self.ns.exec(node) + argv, stdout=output, stderr=output, stdin=subprocess.DEVNULL)

    def start_agent(self, node):
        self.agents[node] = self.spawn(node, f"{node}.log", [self.binary, "agent", "-c", self.path(f"{node}.yaml")])

    def start_serve(self, node):
        self.serves[node] = self.spawn(node, f"{node}.log", [self.binary, "serve", "-c", self.path(f"{node}.yaml")])

    def start_keepalived(self, node):
        # A fresh log per start: its lines say what this keepalived decided.
        count = sum(1 for name in os.listdir(self.work) if name.startswith(f"keepalived-{node}."))
        name = f"keepalived-{node}.{count}.log"
        self.keepalived_logs[node] = self.path(name)
        self.keepaliveds[node] = self.spawn(node, name, [
            "keepalived", "--dont-fork", "--log-console", "--log-detail", "--vrrp",
            f"--use-file={self.path('keepalived.conf')}", f"--pid={self.path(f'k-{node}.pid')}",
            f"--vrrp_pid={self.path(f'k-{node}-vrrp.pid')}", f"--checkers_pid={self.path(f'k-{node}-checkers.pid')}"])

    def start_client(self):
        self.client = subprocess.Popen(
            self.ns.exec(CLIENT[0]) + [sys.executable, "-u", "-c", CLIENT_LOOP, VIP, str(HTTP_PORT)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

        def read():
            for line in self.client.stdout:
                start, ok = line.split()
                self.results.append((float(start), ok == "1"))

        threading.Thread(target=read, daemon=True).start()

    def ready(self, node):
        probe = ["curl", "--silent", "--fail", "--max-time", "0.5", "--output", "/dev/null",
                 f"http://127.0.0.1:{HTTP_PORT}/health/ready"]
        return run(*(self.ns.exec(node) + probe), check=False).returncode == 0

    def keepalived_priority(self, node):
        """This keepalived's effective priority from its log (100 until a check changes it), None before it runs its check."""
        try:
            with open(self.keepalived_logs[node]) as f:
                text = f.read()
        except OSError:
            return None
        if "balancerd_ready" not in text:
            return None
        priority = 100
        for line in text.splitlines():
            if "effective priority from" in line:
                priority = int(line.rsplit(" ", 1)[1])
        return priority

    def steady(self):
        """One holder of the address, both instances ready at full priority, the last logins all good."""
        holders = [n for n in INSTANCES if self.ns.holds_address(n)]
        recent = self.results[-10:]
        return (len(holders) == 1 and all(self.ready(n) for n in INSTANCES)
                and all(self.keepalived_priority(n) == 100 for n in INSTANCES)
                and len(recent) == 10 and all(ok for _, ok in recent) and holders[0])

    def stop(self):
        processes = [self.client, *self.keepaliveds.values(), *self.serves.values(), *self.agents.values()]
        for process in processes:
            if process and process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
        for process in processes:
            if process:
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


class Scenarios:
    NAMES = ["kill-serve", "freeze-serve", "stop-keepalived"]

    def __init__(self, site):
        self.site = site
        self.rows, self.failures = [], []

    def fault(self, name, node):
        site = self.site
        if name == "kill-serve":
            site.serves[node].kill()
            site.serves[node].wait()
        elif name == "freeze-serve":
            site.serves[node].send_signal(signal.SIGSTOP)
        else:
            site.keepaliveds[node].terminate()
            site.keepaliveds[node].wait()

    def restore(self, name, node):
        site = self.site
        if name == "kill-serve":
            site.start_serve(node)
        elif name == "freeze-serve":
            site.serves[node].send_signal(signal.SIGCONT)
        else:
            site.start_keepalived(node)

    def one(self, name):
        site = self.site
        holder, _ = wait_for(site.steady, 30, step=0.1)
        if not holder:
            self.failures.append(f"{name}: the site never settled (one holder, both ready, logins good)")
            return None
        other = next(n for n in INSTANCES if n != holder)
        started = time.monotonic()
        self.fault(name, holder)
        moved, _ = wait_for(lambda: site.ns.holds_address(other), 10)
        moved_at = time.monotonic()
        if not moved:
            self.failures.append(f"{name}: the address did not move from {holder} to {other} within 10 s")
            self.restore(name, holder)
            return None
        time.sleep(2)  # logins keep going: any failure in these 2 s is one after the move
        # A login the old instance was already answering can still succeed just
        # after the fault: the time counts to the first success after the last
        # failure before the move. Logins started after the move must all succeed.
        last_failure = max((t for t, ok in site.results if started < t < moved_at and not ok), default=started)
        recovered = next((t for t, ok in site.results if ok and t > last_failure), None)
        if recovered is None:
            self.failures.append(f"{name}: no login succeeded through the address after it moved to {other}")
            self.restore(name, holder)
            return None
        between = sum(1 for t, ok in site.results if started < t < moved_at and not ok)
        after = sum(1 for t, ok in site.results if t > moved_at and not ok)
        self.restore(name, holder)
        log(f"{name} on {holder}: logins again after {recovered - started:.2f} s, {between} failed in between, {after} after")
        return recovered - started, between, after

    def run(self, tries, goal):
        for name in self.NAMES:
            outcomes = [o for o in (self.one(name) for _ in range(tries)) if o]
            if not outcomes:
                self.rows.append([name, f"0/{tries}", "-", "-", "-", "-"])
                continue
            times = [o[0] for o in outcomes]
            between = [o[1] for o in outcomes]
            after = sum(o[2] for o in outcomes)
            median = statistics.median(times)
            self.rows.append([
                name, f"{len(outcomes)}/{tries}", f"{median:.2f} s", f"{min(times):.2f}–{max(times):.2f} s",
                f"{statistics.median(between):g} (max {max(between)})", str(after)])
            if after:
                self.failures.append(f"{name}: {after} logins failed after the address had moved")
            if median > goal:
                self.failures.append(f"{name}: median {median:.2f} s is over the goal of {goal} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tries", type=int, default=1, help="tries per scenario (make test: 1; make ha: 10)")
    parser.add_argument("--goal", type=float, default=3.0, help="the largest median time, seconds (default 3)")
    parser.add_argument("--prefix", default="bdha", help="prefix of the namespaces and the work folder (default bdha)")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "balancerd"))
    parser.add_argument("--report", help="also write the table (Markdown) to this file")
    args = parser.parse_args()
    missing = [tool for tool in ["keepalived", "curl", "ip"] if not shutil.which(tool)]
    if os.geteuid() != 0 or missing:
        raise SystemExit(f"ha: needs root and {', '.join(missing) or 'nothing else'} (scripts/install-test-deps.sh)")
    probe = f"{args.prefix}-probe"
    made = run("ip", "netns", "add", probe, check=False)
    if made.returncode != 0:
        # A container without CAP_SYS_ADMIN: nothing here can be measured; say so loudly.
        log(f"SKIPPED: cannot make a network namespace here ({made.stderr.strip()}); run it where root can")
        return
    run("ip", "netns", "del", probe, check=False)

    started = time.monotonic()
    work = tempfile.mkdtemp(prefix=f"{args.prefix}-")
    os.chmod(work, 0o755)
    namespaces = Namespaces(args.prefix)
    site = Site(args.binary, work, namespaces)
    scenarios = Scenarios(site)
    try:
        namespaces.setup()
        site.setup()
        for node in AGENTS:
            site.start_agent(node)
        for node in INSTANCES:
            site.start_serve(node)
            site.start_keepalived(node)
        site.start_client()
        scenarios.run(args.tries, args.goal)
    finally:
        site.stop()
        namespaces.teardown()

    elapsed = time.monotonic() - started
    table = (f"Run: `python3 Tests/ha/ha.py --tries {args.tries}` · {elapsed:.0f} s · {time.strftime('%Y-%m-%d')}\n\n"
             "| fault on the instance holding the address | moved | logins again after (median) | range | failed logins in between (median) | failed after the move |\n"
             "| --- | --- | --- | --- | --- | --- |\n"
             + "".join(f"| {' | '.join(row)} |\n" for row in scenarios.rows))
    print(table)
    if args.report:
        with open(args.report, "w") as f:
            f.write(table)
    if scenarios.failures:
        for failure in scenarios.failures:
            log("FAILED: " + failure)
        log(f"logs kept in {work}")
        sys.exit(1)
    shutil.rmtree(work, ignore_errors=True)
    log(f"the address moved every time ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
