#!/usr/bin/env python3
"""Fault suite: real `balancerd agent` processes in network namespaces, one
`balancerd serve` outside, real TLS, and /login under constant load while links
are cut, agents killed or frozen, the daemon killed, reloaded, its hosts table
edited, and its HTTP port flooded with slow or malformed clients.

Each fault is tried --tries times; detection and recovery are reported as
medians. Every /login answer during the run is counted, and the run fails
(exit 1) when one is a 5xx while a spare was eligible, or when a fault is not
detected or not recovered within its deadline.

    python3 Tests/faults/faults.py --tries 10 --report faults.md   # make soak
    python3 Tests/faults/faults.py --tries 2                        # make test

Needs root for namespaces (ip netns, veth) and iptables (the half-open link). Without them it falls back to
agents on 127.0.1.N and to signals instead of cut links, and says so.
"""

import argparse
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HTTP_PORT = 18181
AGENTS = ["b1", "b2", "b3"]


def log(message):
    print(f"faults: {message}", file=sys.stderr, flush=True)


def run(*args, check=True):
    return subprocess.run(args, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, deadline_s, step=0.02):
    """Polls `condition` until it returns something truthy; returns (value, seconds) or (None, None)."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        value = condition()
        if value:
            return value, time.monotonic() - start
        time.sleep(step)
    return None, None


class Network:
    """One namespace per agent, joined to the host by a veth pair (10.201.N.0/24)."""

    def __init__(self, use_netns):
        self.use_netns = use_netns
        self.made = []

    def address(self, index):
        return f"10.201.{index}.2" if self.use_netns else f"127.0.1.{index}"

    def setup(self):
        if not self.use_netns:
            return
        for index, name in enumerate(AGENTS, start=1):
            ns, host_end, ns_end = f"bdf-{name}", f"bdf-h{index}", f"bdf-n{index}"
            run("ip", "netns", "del", ns, check=False)
            run("ip", "link", "del", host_end, check=False)
            run("ip", "netns", "add", ns)
            self.made.append(ns)
            run("ip", "link", "add", host_end, "type", "veth", "peer", "name", ns_end)
            run("ip", "link", "set", ns_end, "netns", ns)
            run("ip", "addr", "add", f"10.201.{index}.1/24", "dev", host_end)
            run("ip", "link", "set", host_end, "up")
            run("ip", "netns", "exec", ns, "ip", "addr", "add", f"10.201.{index}.2/24", "dev", ns_end)
            run("ip", "netns", "exec", ns, "ip", "link", "set", ns_end, "up")
            run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")

    def prefix(self, index):
        return ["ip", "netns", "exec", f"bdf-{AGENTS[index - 1]}"] if self.use_netns else []

    def link_down(self, index):
        run("ip", "link", "set", f"bdf-h{index}", "down")

    def link_up(self, index):
        run("ip", "link", "set", f"bdf-h{index}", "up")
        run("ip", "addr", "replace", f"10.201.{index}.1/24", "dev", f"bdf-h{index}")

    def can_drop(self):
        probe = ["OUTPUT", "-d", "10.201.250.250", "-j", "DROP"]
        if not shutil.which("iptables") or run("iptables", "-I", *probe, check=False).returncode != 0:
            return False
        run("iptables", "-D", *probe, check=False)
        return True

    def drop_packets(self, index):
        # Silently, both ways: the TCP connection stays open on both ends (half-open).
        run("iptables", "-I", "INPUT", "-s", self.address(index), "-j", "DROP")
        run("iptables", "-I", "OUTPUT", "-d", self.address(index), "-j", "DROP")

    def pass_packets(self, index):
        run("iptables", "-D", "INPUT", "-s", self.address(index), "-j", "DROP", check=False)
        run("iptables", "-D", "OUTPUT", "-d", self.address(index), "-j", "DROP", check=False)

    def teardown(self):
        for ns in self.made:
            run("ip", "netns", "del", ns, check=False)
        for index in range(1, len(AGENTS) + 1):
            run("ip", "link", "del", f"bdf-h{index}", check=False)


class Cluster:
    def __init__(self, binary, work, network):
        self.binary, self.work, self.network = binary, work, network
        self.agents = {}
        self.serve = None
        self.logs = {}

    def path(self, name):
        return os.path.join(self.work, name)

    def write_hosts(self, ids):
        lines = ["lb:faults:access:lb.faults.test:127.0.0.1:15663"]
        for index, name in enumerate(AGENTS, start=1):
            if name in ids:
                lines.append(f"{name}:faults:access:{name}.faults.test:{self.network.address(index)}")
        with open(self.path("hosts.tab.new"), "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(self.path("hosts.tab.new"), self.path("hosts.tab"))

    def write_serve_config(self, spares):
        with open(self.path("lb.yaml.new"), "w") as f:
            f.write(f"""host_id: lb
hosts_table: hosts.tab
state_dir: lb-state
socket_dir: lb-run
tls: {{ca: certs/ca.pem, cert: certs/lb.pem, key: certs/lb.key}}
links: {{connect_timeout: 1s, request_timeout: 1s, keepalive: 500ms, max_attempts: 100000,
        backoff_initial: 100ms, backoff_max: 500ms}}
poll: {{interval: 500ms, timeout: 400ms, stale_after: 1500ms}}
balancer: {{mode: always, spares: [{", ".join(spares)}], slow_start: 1s}}
http: {{listen: "127.0.0.1:{HTTP_PORT}", connection_timeout: 5s}}
agent: {{sessions_dir: sessions}}
""")
        os.replace(self.path("lb.yaml.new"), self.path("lb.yaml"))

    def reconfigure(self, ids):
        """Hosts table and spares reduced to `ids`, then SIGHUP: the reload an operator does."""
        self.write_hosts(ids)
        self.write_serve_config(ids)
        self.serve.send_signal(signal.SIGHUP)

    def setup(self):
        self.write_hosts(AGENTS)
        self.write_serve_config(AGENTS)
        run(self.binary, "certs", "init", "--dir", self.path("certs"))
        # A sessions folder that exists: a missing one makes userload unknown, and nobody eligible.
        os.makedirs(self.path("sessions"), exist_ok=True)
        run(self.binary, "certs", "issue", "lb", "-c", self.path("lb.yaml"))
        for index, name in enumerate(AGENTS, start=1):
            with open(self.path(f"{name}.load"), "w") as f:
                f.write(f"{0.2 * index:.2f} 0.50 0.50 1/100 1\n")
            with open(self.path(f"{name}.yaml"), "w") as f:
                f.write(f"""host_id: {name}
hosts_table: hosts.tab
state_dir: {name}-state
socket_dir: {name}-run
tls: {{ca: certs/ca.pem, cert: certs/{name}.pem, key: certs/{name}.key}}
agent: {{listen: "{self.network.address(index)}:5663", load_file: {name}.load, load_limit: 2.0, sessions_dir: sessions}}
""")
            run(self.binary, "certs", "issue", name, "-c", self.path(f"{name}.yaml"))

    def start_agent(self, name):
        index = AGENTS.index(name) + 1
        log_file = open(self.path(f"{name}.log"), "a")
        self.agents[name] = subprocess.Popen(
            self.network.prefix(index) + [self.binary, "agent", "-c", self.path(f"{name}.yaml")],
            stdout=log_file, stderr=log_file)

    def kill_agent(self, name, sig=signal.SIGKILL):
        process = self.agents[name]
        process.send_signal(sig)
        if sig == signal.SIGKILL:
            process.wait()

    def start_serve(self):
        log_file = open(self.path("lb.log"), "a")
        self.serve = subprocess.Popen([self.binary, "serve", "-c", self.path("lb.yaml")], stdout=log_file, stderr=log_file)

    def stop(self):
        for process in list(self.agents.values()) + [self.serve]:
            if process and process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.kill()
                process.wait()


def get(path, timeout=2.0, source="127.0.0.1"):
    connection = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=timeout, source_address=(source, 0))
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def health():
    try:
        status, _, body = get("/health")
        return json.loads(body) if status in (200, 503) else None
    except (OSError, http.client.HTTPException, ValueError):
        return None


def peer(snapshot, name):
    if not snapshot:
        return None
    return next((p for p in snapshot["peers"] if p["id"] == name), None)


class LoginLoad(threading.Thread):
    """Asks /login without pause over a keep-alive connection from 127.0.0.2 and
    counts every answer by status and target, with the time it took."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.statuses, self.targets, self.latencies, self.refused = {}, {}, [], 0
            self.events = []  # (monotonic time, status, target)

    def run(self):
        connection = None
        while not self.stopping.is_set():
            start = time.monotonic()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=5, source_address=("127.0.0.2", 0))
                connection.request("GET", "/login")
                response = connection.getresponse()
                response.read()
                status, target = response.status, response.getheader("X-Balancer-Target")
                with self.lock:
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                    self.targets[target] = self.targets.get(target, 0) + 1
                    self.latencies.append(time.monotonic() - start)
                    self.events.append((start, status, target))
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.refused += 1
                if connection:
                    connection.close()
                connection = None
                time.sleep(0.01)
            time.sleep(0.002)

    def snapshot(self):
        with self.lock:
            return dict(self.statuses), dict(self.targets), list(self.latencies), self.refused, list(self.events)


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


class Suite:
    def __init__(self, cluster, network, load, tries):
        self.cluster, self.network, self.load, self.tries = cluster, network, load, tries
        self.rows = []
        self.failures = []

    def all_eligible(self, names=AGENTS):
        snapshot = health()
        return snapshot and all((peer(snapshot, n) or {}).get("eligible") for n in names)

    def record(self, fault, how, detect, recover, lost, notes):
        self.rows.append((fault, how, detect, recover, lost, notes))
        log(f"{fault}: detect {detect} recover {recover} lost {lost} {notes}")

    def watch_b1_going_down(self, started, deadline):
        """Seconds from `started` until b1 is not eligible, and until its link is not shown up (None: never)."""
        excluded = shown_down = None
        while time.monotonic() - started < deadline and (excluded is None or shown_down is None):
            b1 = peer(health(), "b1") or {}
            now = time.monotonic() - started
            if excluded is None and b1.get("eligible") is False:
                excluded = now
            if shown_down is None and b1.get("link", {}).get("state") not in (None, "up"):
                shown_down = now
            time.sleep(0.02)
        return excluded, shown_down

    def five_hundreds(self, events, since):
        return sum(1 for t, status, _ in events if t >= since and 500 <= status < 600)

    def cut_and_restore(self, fault, how, cut, restore, detect_deadline=15, recover_deadline=30):
        """Cuts b1 `tries` times: how long until it is excluded from /login and shown
        down, how long until it is back, and what /login answered meanwhile."""
        detections, downs, recoveries, sent_to_dead, errors = [], [], [], [], 0
        for attempt in range(self.tries):
            if not wait_for(self.all_eligible, 30)[0]:
                self.failures.append(f"{fault}: not every spare eligible before try {attempt + 1}")
                return
            started = time.monotonic()
            cut()
            excluded, shown_down = self.watch_b1_going_down(started, detect_deadline)
            if excluded is None or shown_down is None:
                self.failures.append(f"{fault}: b1 not excluded or not shown down within {detect_deadline} s (try {attempt + 1})")
                restore()
                continue
            detections.append(excluded)
            downs.append(shown_down)
            # Logins sent to b1 after the cut and before it was excluded reached a dead server.
            _, _, _, _, events = self.load.snapshot()
            sent_to_dead.append(sum(1 for t, s, target in events if started <= t <= started + excluded and target == "b1"))
            restored = time.monotonic()
            restore()
            _, back = wait_for(lambda: (peer(health(), "b1") or {}).get("eligible") is True, recover_deadline)
            if back is None:
                self.failures.append(f"{fault}: b1 not back within {recover_deadline} s (try {attempt + 1})")
                continue
            recoveries.append(back)
            errors += self.five_hundreds(self.load.snapshot()[4], started)
        if errors:
            self.failures.append(f"{fault}: {errors} /login answers were 5xx while b2 and b3 were eligible")
        self.record(fault, how, median_s(detections, downs), f"eligible again after {fmt(median(recoveries))}",
                    f"{errors} 5xx; {sum(sent_to_dead)} logins sent to b1 before exclusion (median {median(sent_to_dead)} a try)",
                    f"{len(recoveries)}/{self.tries} recovered")

    def daemon_restart(self):
        """SIGKILL of serve and a restart: time until /login redirects again, until every spare is eligible."""
        first_redirect, all_back, unavailable = [], [], []
        for attempt in range(self.tries):
            wait_for(self.all_eligible, 30)
            self.cluster.serve.kill()
            self.cluster.serve.wait()
            started = time.monotonic()
            self.cluster.start_serve()
            _, redirect = wait_for(lambda: safe_status("/login") == 302, 30, step=0.01)
            _, everything = wait_for(self.all_eligible, 30)
            if redirect is None or everything is None:
                self.failures.append(f"daemon restart: not serving again within 30 s (try {attempt + 1})")
                continue
            first_redirect.append(redirect)
            all_back.append(everything)
            events = self.load.snapshot()[4]
            unavailable.append(sum(1 for t, s, _ in events if t >= started and s == 503))
        self.record("daemon SIGKILL + restart", "kill -9 serve, start it again", "—",
                    f"first 302 after {fmt(median(first_redirect))}, all 3 spares after {fmt(median(all_back))}",
                    "nothing: drains and delayed messages are on disk (CrashTests)",
                    f"503 with Retry-After while no spare was sampled yet: median {median(unavailable)} a restart")

    def reload_under_load(self):
        started = time.monotonic()
        for _ in range(self.tries * 5):
            self.cluster.serve.send_signal(signal.SIGHUP)
            time.sleep(0.2)
        wait_for(self.all_eligible, 10)
        statuses, _, _, _, events = self.load.snapshot()
        bad = sum(1 for t, s, _ in events if t >= started and s != 302)
        total = sum(1 for t, _, _ in events if t >= started)
        links = [(peer(health(), n) or {}).get("link", {}).get("attempts") for n in AGENTS]
        if bad:
            self.failures.append(f"reload under load: {bad} of {total} /login answers were not 302")
        self.record("SIGHUP reload under load", f"{self.tries * 5} reloads, 200 ms apart", "—", "—",
                    f"{bad} of {total} logins not 302", f"link attempts after: {links}")

    def reload_churn(self, cycles):
        """Many reloads that remove and re-add b3 (its link torn down and made anew each time):
        the daemon's memory after them, against before (a leaked link would show here)."""
        def rss_kib():
            with open(f"/proc/{self.cluster.serve.pid}/status") as f:
                return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
        wait_for(self.all_eligible, 30)
        self.load.reset()
        # Warm up: the first cycles allocate what stays (caches, pools).
        for cycle in range(cycles + 20):
            if cycle == 20:
                before = rss_kib()
            self.cluster.reconfigure(AGENTS if cycle % 2 else ["b1", "b2"])
            time.sleep(0.05)
        self.cluster.reconfigure(AGENTS)
        _, back = wait_for(self.all_eligible, 30)
        after = rss_kib()
        statuses, _, _, refused, _ = self.load.snapshot()
        bad = sum(v for k, v in statuses.items() if k != 302)
        if back is None or bad:
            self.failures.append(f"reload churn: {bad} non-302 answers, all eligible again: {back is not None}")
        self.record(f"{cycles} reloads adding and removing a peer", "hosts table toggled, HUP every 50 ms", "—",
                    f"all 3 eligible {fmt(back)} after the last", f"{bad} of {sum(statuses.values())} logins not 302",
                    f"RSS {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB after ({(after - before) / cycles:+.1f} KiB a reload)")

    def hosts_edit(self):
        removed, added, errors = [], [], 0
        for attempt in range(self.tries):
            wait_for(self.all_eligible, 30)
            started = time.monotonic()
            self.cluster.reconfigure(["b1", "b2"])
            _, gone = wait_for(lambda: (s := health()) and peer(s, "b3") is None, 10)
            self.cluster.reconfigure(AGENTS)
            _, back = wait_for(self.all_eligible, 30)
            if gone is None or back is None:
                self.failures.append(f"hosts table edit: b3 not removed or not back (try {attempt + 1})")
                continue
            removed.append(gone)
            added.append(back)
            errors += self.five_hundreds(self.load.snapshot()[4], started)
        if errors:
            self.failures.append(f"hosts table edit: {errors} 5xx")
        self.record("hosts table edited while running", "b3 removed + HUP, then added back + HUP",
                    f"removed after {fmt(median(removed))}", f"added and eligible after {fmt(median(added))}",
                    f"{errors} 5xx", f"{len(added)}/{self.tries}")

    def slow_clients(self, slowhttptest):
        """slowloris (-H) and slow body (-B) from 127.0.0.1 while /login is measured from 127.0.0.2."""
        for mode, name in (("-H", "slowloris: 1,000 connections sending a header line every 3 s"),
                           ("-B", "slow body: 1,000 POSTs sending a body chunk every 3 s")):
            if not slowhttptest:
                self.record(name, "slowhttptest", "—", "—", "not run", "slowhttptest not installed")
                continue
            self.load.reset()
            attack = subprocess.Popen([slowhttptest, mode, "-c", "1000", "-r", "500", "-i", "3", "-l", "20", "-s", "8192",
                                       "-u", f"http://127.0.0.1:{HTTP_PORT}/login", "-p", "3"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(18)
            held = count_connections(HTTP_PORT)
            attack.wait(timeout=60)
            statuses, _, latencies, refused, _ = self.load.snapshot()
            ok = statuses.get(302, 0)
            failed = sum(v for k, v in statuses.items() if k != 302) + refused
            if failed:
                self.failures.append(f"{name}: {failed} /login requests failed")
            self.record(name, "slowhttptest " + mode, "—", "—", f"{failed} of {ok + failed} logins failed",
                        f"/login p50 {ms(percentile(latencies, 0.5))}, p99 {ms(percentile(latencies, 0.99))}; "
                        f"attacker connections the daemon held at 18 s: {held} (per_address_limit 2048)")

    def connection_flood(self):
        """10,000 connections at once, from one address and then from 40, holding them idle."""
        for sources, label in ((["127.0.0.3"], "10,000 idle connections from one address"),
                               ([f"127.0.10.{i}" for i in range(1, 41)], "10,000 idle connections from 40 addresses")):
            self.load.reset()
            sockets, failed_connects = [], 0
            for i in range(10_000):
                s = socket.socket()
                s.setblocking(False)
                try:
                    s.bind((sources[i % len(sources)], 0))
                    s.connect_ex(("127.0.0.1", HTTP_PORT))
                    sockets.append(s)
                except OSError:
                    failed_connects += 1
                    s.close()
            time.sleep(1)
            held = count_connections(HTTP_PORT)
            probe_ok = sum(1 for _ in range(20) if safe_status("/login", source="127.0.0.4") == 302)
            for s in sockets:
                s.close()
            closed = time.monotonic()
            _, recovered = wait_for(lambda: all(safe_status("/login", source="127.0.0.4") == 302 for _ in range(20)), 30, step=0.1)
            statuses, _, latencies, refused, _ = self.load.snapshot()
            self.record(label, "non-blocking connect, nothing sent; held 1 s, then closed", "—",
                        f"20/20 fresh clients answered {fmt(recovered)} after the flood closed",
                        f"{refused} failures on the established keep-alive load connection; {failed_connects} connects failed",
                        f"established connections on the port: {held}; fresh /login during the flood: {probe_ok}/20; "
                        f"load p99 {ms(percentile(latencies, 0.99))}")
            if recovered is None:
                self.failures.append(f"{label}: /login did not answer 20/20 within 30 s after the flood closed")

    def malformed_requests(self):
        cases = {
            "no version": b"GET /login\r\n\r\n",
            "bad method": b"G\x00T /login HTTP/1.1\r\nHost: x\r\n\r\n",
            "header without colon": b"GET /login HTTP/1.1\r\nHost x\r\n\r\n",
            "NUL in header": b"GET /login HTTP/1.1\r\nHost: a\x00b\r\n\r\n",
            "100 KiB header": b"GET /login HTTP/1.1\r\nX: " + b"a" * 100_000 + b"\r\n\r\n",
            "2,000 headers": b"GET /login HTTP/1.1\r\n" + b"".join(b"X%d: y\r\n" % i for i in range(2000)) + b"\r\n",
            "100 KiB URL": b"GET /login?" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            "bad chunk size": b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "conflicting lengths": b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcde",
            "HTTP/9.9": b"GET /login HTTP/9.9\r\nHost: x\r\n\r\n",
            "absolute URI": b"GET http://evil.example/login HTTP/1.1\r\nHost: evil.example\r\n\r\n",
            "random bytes": bytes(range(256)) * 8,
            "bare LF lines": b"GET /login HTTP/1.1\nHost: x\n\n",
            "obs-fold header": b"GET /login HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
        }
        answers = {}
        for name, payload in cases.items():
            s = socket.create_connection(("127.0.0.1", HTTP_PORT), timeout=5, source_address=("127.0.0.6", 0))
            try:
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
                reply = s.recv(200)
            except OSError as error:
                reply = f"({error.__class__.__name__})".encode()
            finally:
                s.close()
            first = reply.split(b"\r\n", 1)[0].decode("latin-1") or "(closed)"
            answers[name] = first
            if b"evil.example" in reply:
                self.failures.append(f"malformed request '{name}' put evil.example in the answer")
            if safe_status("/login") != 302:
                self.failures.append(f"/login stopped answering after malformed request '{name}'")
        self.record("malformed request lines and headers", f"{len(cases)} kinds, one connection each", "—", "—",
                    "none: /login answered 302 after every one",
                    "; ".join(f"{k}: {v}" for k, v in answers.items()))


def safe_status(path, source="127.0.0.1"):
    try:
        return get(path, timeout=2, source=source)[0]
    except (OSError, http.client.HTTPException):
        return None


def count_connections(port):
    out = run("ss", "-Htn", "state", "established", f"( sport = :{port} )", check=False).stdout
    return len([line for line in out.splitlines() if line.strip()])


def median(values):
    return statistics.median(values) if values else None


def fmt(seconds):
    return "—" if seconds is None else f"{seconds:.2f} s"


def ms(seconds):
    return "—" if seconds != seconds else f"{seconds * 1000:.1f} ms"


def median_s(first, second=None):
    text = f"excluded after {fmt(median(first))}"
    if second is not None:
        text += f", shown down after {fmt(median(second))}"
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tries", type=int, default=2, help="times each fault is tried (medians over these)")
    parser.add_argument("--bin", default=".build/debug/balancerd", help="the balancerd binary")
    parser.add_argument("--report", help="write the results as a Markdown table to this file")
    parser.add_argument("--no-netns", action="store_true", help="do not use network namespaces even when root")
    parser.add_argument("--skip-http", action="store_true", help="skip the slow-client, flood and malformed-request faults")
    args = parser.parse_args()

    binary = os.path.abspath(args.bin)
    use_netns = not args.no_netns and os.geteuid() == 0 and shutil.which("ip") \
        and run("ip", "netns", "add", "bdf-probe", check=False).returncode == 0
    if use_netns:
        run("ip", "netns", "del", "bdf-probe", check=False)
    else:
        log("network namespaces unavailable (need root and ip): agents on 127.0.1.N, links cut with SIGSTOP instead")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    work = tempfile.mkdtemp(prefix="balancerd-faults-")
    network = Network(use_netns)
    cluster = Cluster(binary, work, network)
    load = LoginLoad()
    suite = Suite(cluster, network, load, args.tries)
    started = time.monotonic()
    try:
        network.setup()
        cluster.setup()
        for name in AGENTS:
            cluster.start_agent(name)
        cluster.start_serve()
        if not wait_for(suite.all_eligible, 60)[0]:
            raise SystemExit(f"faults: the cluster never came up; logs in {work}")
        load.start()

        if use_netns:
            suite.cut_and_restore("veth down", "ip link set down on the host end of b1's veth",
                                  lambda: network.link_down(1), lambda: network.link_up(1))
        if use_netns and network.can_drop():
            suite.cut_and_restore("all packets dropped (half-open link)", "iptables DROP both ways for b1's address",
                                  lambda: network.drop_packets(1), lambda: network.pass_packets(1))
        elif use_netns:
            log("iptables cannot add rules here: the half-open-link fault is skipped")
        suite.cut_and_restore("agent frozen", "SIGSTOP b1's agent, then SIGCONT",
                              lambda: cluster.kill_agent("b1", signal.SIGSTOP), lambda: cluster.kill_agent("b1", signal.SIGCONT))
        suite.cut_and_restore("agent killed and restarted", "SIGKILL b1's agent, then start it again",
                              lambda: cluster.kill_agent("b1"), lambda: cluster.start_agent("b1"))
        suite.reload_under_load()
        suite.hosts_edit()
        suite.reload_churn(100 * args.tries)
        suite.daemon_restart()
        if not args.skip_http:
            suite.malformed_requests()
            suite.slow_clients(shutil.which("slowhttptest"))
            suite.connection_flood()
        if cluster.serve.poll() is not None:
            suite.failures.append(f"balancerd serve exited with {cluster.serve.returncode}")
    finally:
        load.stopping.set()
        cluster.stop()
        network.teardown()

    elapsed = time.monotonic() - started
    header = (f"Run: `python3 Tests/faults/faults.py --tries {args.tries}` · {'namespaces + veth' if use_netns else 'loopback + signals'}"
              f" · {elapsed:.0f} s · {time.strftime('%Y-%m-%d')}\n\n"
              "| fault | how | detection (median) | recovery (median) | lost | notes |\n| --- | --- | --- | --- | --- | --- |\n")
    table = header + "".join(f"| {' | '.join(str(c) for c in row)} |\n" for row in suite.rows)
    print(table)
    if args.report:
        with open(args.report, "w") as f:
            f.write(table)
    if suite.failures:
        for failure in suite.failures:
            log("FAILED: " + failure)
        log(f"logs kept in {work}")
        sys.exit(1)
    shutil.rmtree(work, ignore_errors=True)
    log(f"all faults handled ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
