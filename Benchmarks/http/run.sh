#!/usr/bin/env bash
# /login throughput and latency: balancerd against nginx (`return 302`) and
# HAProxy (`http-request redirect`), side by side on this machine, interleaved,
# same wrk settings, and against the plain C library balancerd is built on
# (mhd_login.c: libmicrohttpd with balancerd's daemon flags answering the same
# 302). Prints a Markdown table for BENCHMARKS.md, with each server's CPU time
# per request (its processes' user + system time over the run, divided by the
# requests answered): on a shared machine req/s and p99 swing with the other
# load, CPU per request much less.
#
# usage: Benchmarks/http/run.sh [seconds per run] [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_RUN=${1:-10}
ROUNDS=${2:-3}
command -v wrk nginx haproxy >/dev/null || { echo "needs: apt-get install wrk nginx-light haproxy" >&2; exit 1; }
swift build -c release --product balancerd >/dev/null
BIN=.build/release/balancerd
WORK=$(mktemp -d /tmp/balancerd-bench-XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; nginx -c "$WORK/nginx.conf" -s stop 2>/dev/null; rm -rf "$WORK"' EXIT

# balancerd: serve with one spare agent, mode always, so every login runs the balancer.
cat > "$WORK/hosts.tab" <<HOSTS
s1:bench:access:s1.localhost:127.0.0.1:17701
a2:bench:access:a2.localhost:127.0.0.1:17702
HOSTS
echo "0.20 0.20 0.20 1/1 1" > "$WORK/load"
cat > "$WORK/balancerd.yaml" <<YAML
host_id: s1
hosts_table: hosts.tab
state_dir: state
socket_dir: run
tls: {insecure: true}
poll: {interval: 1s, timeout: 500ms, stale_after: 1h}
balancer: {mode: always, spares: [a2], slow_start: 0s}
http: {listen: "127.0.0.1:18081", threads: 2, connection_limit: 2048, connection_timeout: 15s, per_address_limit: 0}
agent: {load_file: load, load_limit: 1}
YAML
BALANCERD_HOST_ID=a2 BALANCERD_AGENT_LISTEN=127.0.0.1:17702 $BIN agent -c "$WORK/balancerd.yaml" --log-level error &
$BIN serve -c "$WORK/balancerd.yaml" --log-level error &
balancerd_pid=$!
for _ in $(seq 100); do curl -s http://127.0.0.1:18081/login -o /dev/null -w '%{http_code}' 2>/dev/null | grep -q 302 && curl -si http://127.0.0.1:18081/login | grep -q 'X-Balancer-Target: a2' && break; sleep 0.1; done

cat > "$WORK/nginx.conf" <<NGINX
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server { listen 127.0.0.1:18082; location /login { return 302 https://a2.localhost/login; } }
}
NGINX
nginx -c "$WORK/nginx.conf"

cat > "$WORK/haproxy.cfg" <<HAPROXY
global
  nbthread 2
  maxconn 4096
defaults
  mode http
  timeout client 15s
  timeout connect 5s
  timeout server 15s
frontend login
  bind 127.0.0.1:18083
  http-request redirect location https://a2.localhost/login code 302
HAPROXY
haproxy -f "$WORK/haproxy.cfg" -q &
haproxy_pid=$!
cc -O2 -o "$WORK/mhd_login" Benchmarks/http/mhd_login.c -lmicrohttpd
"$WORK/mhd_login" 18084 &
mhd_pid=$!
sleep 1

declare -A ports=([balancerd]=18081 [nginx]=18082 [haproxy]=18083 [libmicrohttpd]=18084)
declare -A pids=([balancerd]=$balancerd_pid [nginx]="$(pgrep -P "$(cat "$WORK/nginx.pid")" | tr '\n' ' ')" [haproxy]=$haproxy_pid [libmicrohttpd]=$mhd_pid)
# Clock ticks of user + system time of these processes (all their threads).
cpu_ticks() { local total=0 pid; for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo "$total"; }
results="$WORK/results"
for connections in 50 400; do
  for round in $(seq "$ROUNDS"); do
    for server in balancerd nginx haproxy libmicrohttpd; do
      before=$(cpu_ticks ${pids[$server]})
      out=$(wrk -t2 -c"$connections" -d"${SECONDS_PER_RUN}s" --latency "http://127.0.0.1:${ports[$server]}/login")
      after=$(cpu_ticks ${pids[$server]})
      requests=$(awk '/requests in/ {print $1}' <<<"$out")
      cpu_us=$(awk -v t=$((after - before)) -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t * 1e6 / hz / n}')
      rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
      p50=$(awk '$1=="50%" {print $2}' <<<"$out")
      p99=$(awk '$1=="99%" {print $2}' <<<"$out")
      non2xx=$(awk '/Non-2xx/ {print $4}' <<<"$out")
      echo "$connections $server $round $rps $p50 $p99 $cpu_us" >> "$results"
      echo "c=$connections $server round $round: $rps req/s, p50 $p50, p99 $p99, CPU $cpu_us us/request" >&2
    done
  done
done

python3 - "$results" <<'PY'
import sys, statistics, re
def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rows = {}
for line in open(sys.argv[1]):
    c, server, _, rps, p50, p99, cpu = line.split()
    rows.setdefault((int(c), server), []).append((float(rps), ms(p50), ms(p99), float(cpu)))
print("| connections | server | req/s (median) | ratio to nginx | p50 ms | p99 ms | CPU µs/request |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for c in (50, 400):
    nginx = statistics.median(r[0] for r in rows[(c, "nginx")])
    for server in ("balancerd", "libmicrohttpd", "nginx", "haproxy"):
        runs = rows[(c, server)]
        rps = statistics.median(r[0] for r in runs)
        print(f"| {c} | {server} | {rps:,.0f} | {rps / nginx:.2f} | {statistics.median(r[1] for r in runs):.2f} | {statistics.median(r[2] for r in runs):.2f} | {statistics.median(r[3] for r in runs):.2f} |")
PY
