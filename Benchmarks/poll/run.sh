#!/usr/bin/env bash
# Polling cost at scale: `balancerd serve` with N plain-TCP peers on loopback,
# polled every second. The agents run in AgentSwarm processes of at most
# 5,000 each (the script spawns them), so the agent side is never the
# bottleneck and no process meets the per-process open-files limit.
#
# Reports, per size: the time from exec until every link is up (cold start,
# COLD_STARTS times against the same agents, each time given),
# the daemon's own CPU (utime+stime from /proc/PID/stat over 20 s of steady
# polling, as % of one core, so other load on the machine does not count):
# first polling alone, then again while the idle /login probe (50 a second)
# runs, as the CPU column "polling alone / with the probe";
# resident memory (now and peak), and /login p50/p99 while the links come up
# (the probes of every cold start pooled, their number given) against the
# same probe once they are all up; then the bytes and time of
# /status, /health?summary, /health?peer=ID and /health; the stop after SIGTERM.
#
# usage: Benchmarks/poll/run.sh [peers...]          (default: 1000 10000)
#   SERVE_BIN=path   the balancerd binary to measure (default: a release build)
#   STEADY_SECONDS=20    length of the CPU window
#   UP_WAIT_SECONDS=300  how long to wait for every link to be up (then "never (N up)")
#   BENCH_PREFIX=name    prefix of the work folders in /tmp (default balancerd)
#   COLD_STARTS=3        cold starts of serve against the same agents (the /login
#                        probes while coming up are pooled over all of them)
#   LINKS_UP_FROM=kernel while the links come up, count established TCP connections
#                        to the agents (ss), and only once all are, ask
#                        /health?summary every 0.25 s until all are up; the come-up
#                        probe runs until then (the default).
#                        LINKS_UP_FROM=summary asks /health?summary every 0.25 s
#                        from the start: at 10,000 peers a
#                        summary takes tens of ms on an HTTP thread, and a /login
#                        behind it on that thread waits, so the come-up p99 then
#                        measures the benchmark's own monitoring as much as the links
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${SERVE_BIN:-}" ]; then
  swift build -c release --product balancerd >/dev/null
  SERVE_BIN=.build/release/balancerd
fi
swift build -c release --product AgentSwarm >/dev/null
SWARM_BIN=.build/release/AgentSwarm
STEADY=${STEADY_SECONDS:-20}
UP_WAIT=${UP_WAIT_SECONDS:-300}
COLD_STARTS=${COLD_STARTS:-3}
LINKS_UP_FROM=${LINKS_UP_FROM:-kernel}
PER_SWARM=5000
hz=$(getconf CLK_TCK)

# first_free_block COUNT: a first port with COUNT ports after it that nothing
# listens on, below the ephemeral range (so outgoing connections never take them).
first_free_block() {
  local count=$1 listening base
  listening=$(ss -Htln | awk '{n = split($4, a, ":"); print a[n]}' | sort -n)
  while :; do
    base=$((10000 + RANDOM % (32000 - 10000 - count)))
    if ! awk -v lo="$base" -v hi="$((base + count))" '$1 >= lo && $1 < hi {found = 1} END {exit !found}' <<<"$listening"; then
      echo "$base"; return
    fi
  done
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
percentile() { sort -n "$1" | awk -v p="$2" '{a[NR] = $1} END {if (NR == 0) {print "n/a"; exit} i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; printf "%.2f", a[i]}'; }
links_up() {
  curl -s --max-time 5 "http://127.0.0.1:$1/health?summary" 2>/dev/null \
    | python3 -c 'import json,sys; d = json.load(sys.stdin); print(d["link_states"].get("up", 0) if "link_states" in d else sum(p["link"]["state"] == "up" for p in d["peers"]))' 2>/dev/null || echo 0
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| peers | links up after s | CPU % of a core (${STEADY} s): polling alone / with the /login probe | RSS MiB (peak) | /login p50 / p99 ms while coming up | idle p50 / p99 ms | load avg |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for count in "${@:-1000 10000}"; do
  WORK=$(mktemp -d "/tmp/${BENCH_PREFIX:-balancerd}-poll-XXXXXX")
  pids=()
  cleanup() { [ -s "$WORK/serve.err" ] && { echo "  serve said:" >&2; tail -5 "$WORK/serve.err" >&2; }; for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
  trap cleanup EXIT
  echo "0.50 0.50 0.50 1/1 1" > "$WORK/load"; mkdir "$WORK/sessions"
  base=$(first_free_block "$count")
  # Below the ephemeral range (the links' own ports come from it once they
  # dial, before HTTP binds) and outside the agents' block.
  http=$(first_free_block 1)
  while [ "$http" -ge "$base" ] && [ "$http" -lt "$((base + count))" ]; do http=$(first_free_block 1); done
  { echo "s0:bench:access:s0.localhost:127.0.0.1:$http"
    for i in $(seq 1 "$count"); do echo "p$i:bench:access:p$i.localhost:127.0.0.1:$((base + i - 1))"; done
  } > "$WORK/hosts.tab"
  # Relay sockets too when they fit (as in production); else one open file per peer, not two.
  relay_line=""
  if [ $((count * 2 + 1024)) -gt "$(ulimit -Hn)" ]; then relay_line="relay_sockets: false"; fi
  spares=$(seq -s, -f 'p%g' 1 "$count")
  cat > "$WORK/balancerd.yaml" <<YAML
host_id: s0
hosts_table: hosts.tab
state_dir: state
socket_dir: run
tls: {insecure: true}
$relay_line
poll: {interval: 1s, timeout: 900ms, stale_after: 3s, history: 900}
balancer: {mode: always, spares: [$spares]}
http: {listen: "127.0.0.1:$http"}
agent: {load_file: load, sessions_dir: sessions}
YAML
  swarms=0
  for ((first = 1; first <= count; first += PER_SWARM)); do
    size=$(( count - first + 1 < PER_SWARM ? count - first + 1 : PER_SWARM ))
    "$SWARM_BIN" "$size" "$((base + first - 1))" "$WORK/load" "$first" > "$WORK/swarm$first.out" &
    pids+=($!); swarms=$((swarms + 1))
  done
  for _ in $(seq 600); do
    [ "$(cat "$WORK"/swarm*.out 2>/dev/null | grep -c ready)" = "$swarms" ] && break; sleep 0.1
  done
  # Cold starts against the same agents: each run's /login latencies while
  # its links come up are pooled (one come-up at 10,000 lasts a few seconds,
  # about 200 probes: too few for a p99); the last serve stays for the rest.
  ups=()
  for run in $(seq "$COLD_STARTS"); do
    rm -f "$WORK/stop-coming-up"
    python3 Benchmarks/poll/login_probe.py "$http" "$WORK/coming-up.$run.ms" "$WORK/stop-coming-up" &
    pids+=($!)
    start=$(date +%s.%N)
    "$SERVE_BIN" serve -c "$WORK/balancerd.yaml" --log-level error 2> "$WORK/serve.err" &
    serve=$!; pids+=($serve)
    up=""
    give_up=$(( $(date +%s) + UP_WAIT ))
    if [ "$LINKS_UP_FROM" = kernel ]; then
      while [ "$(date +%s)" -lt "$give_up" ]; do
        kill -0 "$serve" 2>/dev/null || { echo "serve exited:" >&2; tail -3 "$WORK/serve.err" >&2; exit 1; }
        established=$(ss -Htn state established "( dport >= :$base and dport < :$((base + count)) )" | wc -l)
        [ "$established" -ge "$count" ] && break
        sleep 0.25
      done
      echo "  cold start $run: every connection established after $(printf %.1f "$(echo "$(date +%s.%N) - $start" | bc)") s" >&2
    fi
    while [ "$(date +%s)" -lt "$give_up" ]; do
      kill -0 "$serve" 2>/dev/null || { echo "serve exited:" >&2; tail -3 "$WORK/serve.err" >&2; exit 1; }
      if [ "$(links_up "$http")" = "$count" ]; then up=$(echo "$(date +%s.%N) - $start" | bc); break; fi
      sleep 0.25
    done
    touch "$WORK/stop-coming-up"
    if [ -n "$up" ]; then ups+=("$(printf %.1f "$up")"); else ups+=("never ($(links_up "$http") up)"); fi
    [ "$run" = "$COLD_STARTS" ] && break
    kill -TERM "$serve"
    for _ in $(seq 300); do kill -0 "$serve" 2>/dev/null || break; sleep 0.05; done
    # Until every agent has seen its connection close: the next cold start begins from none.
    for _ in $(seq 120); do
      [ "$(ss -Htn state established "( dport >= :$base and dport < :$((base + count)) )" | wc -l)" = 0 ] && break
      sleep 0.25
    done
  done
  cat "$WORK"/coming-up.*.ms > "$WORK/coming-up.ms"
  sleep 5
  t0=$(cpu_ticks "$serve"); sleep "$STEADY"; t1=$(cpu_ticks "$serve")
  alone=$(echo "scale=1; ($t1 - $t0) * 100 / $hz / $STEADY" | bc)
  python3 Benchmarks/poll/login_probe.py "$http" "$WORK/idle.ms" "$WORK/stop-idle" &
  pids+=($!)
  t0=$(cpu_ticks "$serve"); sleep "$STEADY"; t1=$(cpu_ticks "$serve")
  touch "$WORK/stop-idle"
  cpu="$alone / $(echo "scale=1; ($t1 - $t0) * 100 / $hz / $STEADY" | bc)"
  rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$serve/status")
  peak=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$serve/status")
  up=$(IFS=/; echo "${ups[*]}" | sed 's|/| / |g')
  printf '| %s | %s | %s | %s (%s) | %s / %s | %s / %s | %s |\n' "$count" "$up" "$cpu" "$rss" "$peak" \
    "$(percentile "$WORK/coming-up.ms" 50)" "$(percentile "$WORK/coming-up.ms" 99) ($(wc -l < "$WORK/coming-up.ms") probes)" \
    "$(percentile "$WORK/idle.ms" 50)" "$(percentile "$WORK/idle.ms" 99)" "$(cut -d' ' -f1 /proc/loadavg)"
  # The operator's view at this size: bytes and milliseconds (best of 3) of each page.
  for path in "/status" "/status?q=p1&page=2" "/health?summary" "/health?peer=p1" "/health"; do
    best=$(for _ in 1 2 3; do curl -s -o /dev/null -w '%{size_download} %{time_total}\n' "http://127.0.0.1:$http$path"; done | sort -k2 -n | head -1)
    echo "  GET $path: $(awk '{printf "%.0f KiB in %.1f ms", $1 / 1024, $2 * 1000}' <<<"$best")" >&2
  done
  # A bounded stop: SIGTERM, then how long until the process is gone.
  stop_began=$(date +%s.%N); kill -TERM "$serve"
  for _ in $(seq 300); do kill -0 "$serve" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$serve" 2>/dev/null && echo "  serve still running 15 s after SIGTERM" >&2
  echo "  stop after SIGTERM: $(printf %.2f "$(echo "$(date +%s.%N) - $stop_began" | bc)") s" >&2
  cleanup; trap - EXIT
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
done
