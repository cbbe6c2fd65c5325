#!/usr/bin/env bash
# /login throughput and latency: balancerd against nginx (`return 302`) and
# HAProxy (`http-request redirect`), side by side on this machine, interleaved,
# same wrk settings, and against the plain C library balancerd is built on
# (mhd_login.c: libmicrohttpd with balancerd's daemon flags answering the same
# 302). Prints a Markdown table for BENCHMARKS.md: medians and ranges over the
# rounds, balancerd's req/s over nginx's in the same round, both p99s, and
# each server's CPU time per request (its processes' user + system time over
# the run, divided by the requests answered): on a shared machine req/s and
# p99 swing with the other load, CPU per request much less.
#
# Fair by construction:
# - every server gets THREADS threads or worker processes (nginx
#   worker_processes, HAProxy nbthread, balancerd http.threads, mhd_login's pool);
# - every server and wrk start in a session of their own (setsid): with the
#   kernel's autogroup scheduling (sched_autogroup_enabled) each session
#   shares the CPU as one group, and nginx, which daemonizes, would otherwise
#   get a whole share while a server started from this script shares one
#   with wrk;
# - wrk runs with WRK_THREADS threads pinned to WRK_CPUS, the servers alike on
#   SERVER_CPUS, so the load generator takes the same CPU from each server;
# - ports are free ones (others may benchmark on the same machine at once).
#
# usage: Benchmarks/http/run.sh [seconds per run] [rounds]
#   CONNECTIONS="50 400"  wrk -c values          THREADS=2  per server
#   WRK_THREADS=1  WRK_CPUS=1 (the last CPU)    SERVER_CPUS= (unpinned: every CPU)
#   CONNECTION_MEMORY=16384  balancerd's http.connection_memory, and the C
#                    library's pool alike (libmicrohttpd zeroes it per request)
#   SERVERS="balancerd nginx haproxy libmicrohttpd"  (also: libmicrohttpd-reuseport,
#                    mhd_login.c as THREADS daemons on SO_REUSEPORT sockets)
#   PERF_SERVE=FILE  also `perf record -g` balancerd's serve during its first
#                    run at the last CONNECTIONS value (read: perf report -i FILE)
set -euo pipefail
cd "$(dirname "$0")/../.."
. Benchmarks/common.sh
SECONDS_PER_RUN=${1:-10}
ROUNDS=${2:-3}
CONNECTIONS=${CONNECTIONS:-50 400}
THREADS=${THREADS:-2}
CONNECTION_MEMORY=${CONNECTION_MEMORY:-16384}
WRK_THREADS=${WRK_THREADS:-1}
WRK_CPUS=${WRK_CPUS:-$(($(nproc) - 1))}
SERVER_CPUS=${SERVER_CPUS:-}
SERVERS=${SERVERS:-balancerd nginx haproxy libmicrohttpd}
command -v wrk nginx haproxy >/dev/null || { echo "needs: apt-get install wrk nginx-light haproxy" >&2; exit 1; }
swift build -c release --product balancerd >/dev/null
BIN=.build/release/balancerd
WORK=$(mktemp -d "${TMPDIR:-/tmp}/balancerd-bench-XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; nginx -c "$WORK/nginx.conf" -s stop 2>/dev/null; rm -rf "$WORK"' EXIT
# What every server is started under: a session of its own, on SERVER_CPUS when
# set. (A plain command, not a function: `$!` is then the server's own PID,
# as setsid and taskset exec it.)
on_servers=(setsid)
[ -z "$SERVER_CPUS" ] || on_servers+=(taskset -c "$SERVER_CPUS")
for name in S1 A2 BALANCERD NGINX HAPROXY MHD MHD_REUSEPORT; do free_port "${name}_PORT"; done

# balancerd: serve with one spare agent, mode always, so every login runs the
# balancer; login_cost 0, so the spare never fills up between two polls (at
# the default 0.5 points a login it would, after 160 logins, and every login
# after that would be answered 503: another answer than nginx's 302).
write_pair_config "$WORK" "$S1_PORT" "$A2_PORT" "poll: {interval: 1s, timeout: 500ms, stale_after: 1h}
balancer: {mode: always, spares: [a2], slow_start: 0s, login_cost: 0}
http: {listen: \"127.0.0.1:$BALANCERD_PORT\", threads: $THREADS, connection_memory: $CONNECTION_MEMORY, connection_limit: 2048, connection_timeout: 15s, per_address_limit: 0}"
BALANCERD_HOST_ID=a2 BALANCERD_AGENT_LISTEN=127.0.0.1:$A2_PORT setsid $BIN agent -c "$WORK/balancerd.yaml" --log-level error &
"${on_servers[@]}" $BIN serve -c "$WORK/balancerd.yaml" --log-level error &
balancerd_pid=$!
for _ in $(seq 100); do curl -si "http://127.0.0.1:$BALANCERD_PORT/login" 2>/dev/null | grep -q 'X-Balancer-Target: a2' && break; sleep 0.1; done
curl -si "http://127.0.0.1:$BALANCERD_PORT/login" 2>/dev/null | grep -q 'X-Balancer-Target: a2' \
  || { echo "balancerd on port $BALANCERD_PORT never redirected /login to a2 within 10 s" >&2; exit 1; }

cat > "$WORK/nginx.conf" <<NGINX
worker_processes $THREADS;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server { listen 127.0.0.1:$NGINX_PORT; location /login { return 302 https://a2.localhost/login; } }
}
NGINX
"${on_servers[@]}" nginx -c "$WORK/nginx.conf"

cat > "$WORK/haproxy.cfg" <<HAPROXY
global
  nbthread $THREADS
  maxconn 4096
defaults
  mode http
  timeout client 15s
  timeout connect 5s
  timeout server 15s
frontend login
  bind 127.0.0.1:$HAPROXY_PORT
  http-request redirect location https://a2.localhost/login code 302
HAPROXY
"${on_servers[@]}" haproxy -f "$WORK/haproxy.cfg" -q &
haproxy_pid=$!
cc -O2 -o "$WORK/mhd_login" Benchmarks/http/mhd_login.c -lmicrohttpd
"${on_servers[@]}" "$WORK/mhd_login" "$MHD_PORT" "$THREADS" pool "$CONNECTION_MEMORY" &
mhd_pid=$!
"${on_servers[@]}" "$WORK/mhd_login" "$MHD_REUSEPORT_PORT" "$THREADS" reuseport "$CONNECTION_MEMORY" &
mhd_reuseport_pid=$!
for port in $NGINX_PORT $HAPROXY_PORT $MHD_PORT $MHD_REUSEPORT_PORT; do
  for _ in $(seq 100); do curl -s "http://127.0.0.1:$port/login" -o /dev/null -w '%{http_code}' 2>/dev/null | grep -q 302 && break; sleep 0.1; done
  curl -s "http://127.0.0.1:$port/login" -o /dev/null -w '%{http_code}' 2>/dev/null | grep -q 302 \
    || { echo "nothing answers /login with 302 on port $port after 10 s (nginx: $NGINX_PORT, haproxy: $HAPROXY_PORT, mhd_login: $MHD_PORT, $MHD_REUSEPORT_PORT)" >&2; exit 1; }
done

declare -A ports=([balancerd]=$BALANCERD_PORT [nginx]=$NGINX_PORT [haproxy]=$HAPROXY_PORT [libmicrohttpd]=$MHD_PORT [libmicrohttpd-reuseport]=$MHD_REUSEPORT_PORT)
declare -A pids=([balancerd]=$balancerd_pid [nginx]="$(pgrep -P "$(cat "$WORK/nginx.pid")" | tr '\n' ' ')" [haproxy]=$haproxy_pid [libmicrohttpd]=$mhd_pid [libmicrohttpd-reuseport]=$mhd_reuseport_pid)
# Clock ticks of user + system time of these processes (all their threads).
cpu_ticks() { local total=0 pid; for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo "$total"; }
results="$WORK/results"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average before: $load_before; wrk -t$WRK_THREADS on CPU $WRK_CPUS, servers on ${SERVER_CPUS:-every CPU}, $THREADS threads each, connection memory $CONNECTION_MEMORY bytes" >&2
for connections in $CONNECTIONS; do
  for round in $(seq "$ROUNDS"); do
    for server in $SERVERS; do
      before=$(cpu_ticks ${pids[$server]})
      if [ -n "${PERF_SERVE:-}" ] && [ "$server" = balancerd ] && [ "$round" = 1 ] && [ "$connections" = "${CONNECTIONS##* }" ]; then
        perf record -F 999 -g -p "$balancerd_pid" -o "$PERF_SERVE" -- sleep "$((SECONDS_PER_RUN * 3 / 4))" >/dev/null 2>&1 &
      fi
      out=$(setsid -w taskset -c "$WRK_CPUS" wrk -t"$WRK_THREADS" -c"$connections" -d"${SECONDS_PER_RUN}s" --latency "http://127.0.0.1:${ports[$server]}/login")
      after=$(cpu_ticks ${pids[$server]})
      requests=$(awk '/requests in/ {print $1}' <<<"$out")
      cpu_us=$(awk -v t=$((after - before)) -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t * 1e6 / hz / n}')
      rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
      p50=$(awk '$1=="50%" {print $2}' <<<"$out")
      p99=$(awk '$1=="99%" {print $2}' <<<"$out")
      # Every answer must be the 302: a server answering anything else is not doing the same work.
      if grep -q 'Non-2xx or 3xx' <<<"$out"; then
        echo "$server answered something other than 2xx/3xx during the run (c=$connections, round $round):" >&2
        echo "$out" >&2
        exit 1
      fi
      errors=$(awk '/Socket errors/ {n++} END {print n + 0}' <<<"$out")
      load=$(cut -d' ' -f1 /proc/loadavg)
      echo "$connections $server $round $rps $p50 $p99 $cpu_us $load" >> "$results"
      echo "c=$connections $server round $round: $rps req/s, p50 $p50, p99 $p99, CPU $cpu_us us/request, load $load" >&2
      [ "$errors" = 0 ] || grep -E 'Socket errors' <<<"$out" >&2 || true
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) (before: $load_before)" >&2

python3 - "$results" "$CONNECTIONS" "$SERVERS" <<'PY'
import sys, statistics, re
def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
runs = {}
for line in open(sys.argv[1]):
    c, server, rnd, rps, p50, p99, cpu, load = line.split()
    runs[(int(c), server, int(rnd))] = (float(rps), ms(p50), ms(p99), float(cpu))
connections = [int(c) for c in sys.argv[2].split()]
servers = sys.argv[3].split()
rounds = sorted({r for (_, _, r) in runs})
def spread(values, fmt):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"
print("Medians over the rounds (range in brackets). Ratio: req/s over nginx's in the same round.\n")
print("| connections | server | req/s | ratio to nginx | p50 ms | p99 ms | p99 below nginx's | CPU µs/request |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for c in connections:
    for server in servers:
        rows = [runs[(c, server, r)] for r in rounds]
        line = f"| {c} | {server} | {spread([r[0] for r in rows], '{:,.0f}')} | "
        if "nginx" in servers:
            nginx = [runs[(c, "nginx", r)] for r in rounds]
            line += spread([a[0] / b[0] for a, b in zip(rows, nginx)], "{:.2f}") + " | "
            below = sum(a[2] <= b[2] for a, b in zip(rows, nginx))
        else:
            line += "– | "
            below = None
        line += f"{spread([r[1] for r in rows], '{:.2f}')} | {spread([r[2] for r in rows], '{:.2f}')} | "
        line += (f"{below} of {len(rounds)}" if below is not None else "–") + f" | {spread([r[3] for r in rows], '{:.2f}')} |"
        print(line)
PY
