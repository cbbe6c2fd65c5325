#!/usr/bin/env bash
# Polling cost: CPU and resident memory of `balancerd serve` with N peers
# polled every second (agents share one process, on loopback), the time to
# bring every link up from a cold start, and /login latency meanwhile.
# usage: Benchmarks/poll/run.sh [peers...]   (default: 100 1000)
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product balancerd >/dev/null
swift build -c release --product AgentSwarm >/dev/null
BIN=.build/release
ulimit -n 65536 2>/dev/null || true
echo "| peers | links up after | CPU % (20 s, 1 s polls) | RSS MiB | /login p50 ms during start-up |"
echo "| --- | --- | --- | --- | --- |"
for peers in "${@:-100 1000}"; do
  for count in $peers; do
    WORK=$(mktemp -d /tmp/balancerd-poll-XXXXXX)
    echo "0.50 0.50 0.50 1/1 1" > "$WORK/load"
    { echo "s0:bench:access:s0.localhost:127.0.0.1:19999"
      for i in $(seq 1 "$count"); do echo "p$i:bench:access:p$i.localhost:127.0.0.1:$((20000 + i - 1))"; done
    } > "$WORK/hosts.tab"
    spares=$(seq -s, -f 'p%g' 1 "$count")
    cat > "$WORK/balancerd.yaml" <<YAML
host_id: s0
hosts_table: hosts.tab
state_dir: state
socket_dir: run
tls: {insecure: true}
poll: {interval: 1s, timeout: 900ms, stale_after: 3s, history: 900}
balancer: {mode: always, spares: [$spares]}
http: {listen: "127.0.0.1:18090"}
agent: {load_file: load}
YAML
    $BIN/AgentSwarm "$count" 20000 "$WORK/load" > "$WORK/swarm.out" &
    swarm=$!
    for _ in $(seq 300); do grep -q ready "$WORK/swarm.out" 2>/dev/null && break; sleep 0.1; done
    start=$(date +%s.%N)
    $BIN/balancerd serve -c "$WORK/balancerd.yaml" --log-level error &
    serve=$!
    latencies="$WORK/latencies"
    up=""
    for _ in $(seq 600); do
      curl -s -o /dev/null -w '%{time_total}\n' http://127.0.0.1:18090/login >> "$latencies" 2>/dev/null || true
      n=$(curl -s http://127.0.0.1:18090/health 2>/dev/null | python3 -c 'import json,sys; print(sum(p["link"]["state"]=="up" for p in json.load(sys.stdin)["peers"]))' 2>/dev/null || echo 0)
      if [ "$n" = "$count" ]; then up=$(printf "%.2f" "$(echo "$(date +%s.%N) - $start" | bc)"); break; fi
      sleep 0.1
    done
    sleep 5
    ticks() { awk '{print $14 + $15}' "/proc/$serve/stat"; }
    t0=$(ticks); sleep 20; t1=$(ticks)
    hz=$(getconf CLK_TCK)
    cpu=$(echo "scale=1; ($t1 - $t0) * 100 / $hz / 20" | bc)
    rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$serve/status")
    p50=$(sort -n "$latencies" | awk '{a[NR]=$1} END {printf "%.2f", a[int(NR/2)+1] * 1000}')
    echo "| $count | ${up:-never} s | $cpu | $rss | $p50 |"
    kill $serve $swarm; wait $serve $swarm 2>/dev/null || true
    rm -rf "$WORK"
  done
done
