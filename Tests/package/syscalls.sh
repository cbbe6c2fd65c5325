#!/usr/bin/env bash
# Checks the units' seccomp and socket-family sandbox against what balancerd
# really does, without systemd (it is not PID 1 in a container, so the units
# cannot be started here): runs an agent and a serve of BINARY (default: the
# binary `make deb` stages, else the debug build) under strace on 127.0.0.1 with mutual TLS, drives
# every path (/login, /status, /metrics, the control socket, a relay socket
# line, SIGHUP, SIGUSR1, SIGTERM), and compares
#   - every system call made with the SystemCallFilter= lines of its unit
#     (dist/balancerd.service for serve, dist/balancerd-agent.service for
#     the agent; expanded with systemd-analyze syscall-filter), and
#   - every socket() family with the unit's RestrictAddressFamilies=, and
#   - mmap/mprotect with MemoryDenyWriteExecute=.
# A call or family outside them fails the check unless it is in REFUSED_OK,
# with the reason balancerd keeps working when it is refused.
# Run by `make package-test`; skipped with a reason without systemd-analyze.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
default="$root/.build-deb/deb/root/usr/bin/balancerd"   # what `make deb` ships
[ -x "$default" ] || default="$root/.build/debug/balancerd"  # what `make build` makes
binary="$(readlink -f "${1:-$default}")"

# Refused by the unit, and harmless when refused:
declare -A REFUSED_OK=(
    # glibc's getaddrinfo(AI_ADDRCONFIG) asks netlink which address families are
    # configured; when the socket is refused it assumes both (check_pf.c).
    [AF_NETLINK]="glibc getaddrinfo(AI_ADDRCONFIG) probe, falls back to IPv4 and IPv6"
)

if ! command -v systemd-analyze >/dev/null; then
    echo "syscalls: skipped: systemd-analyze is not installed"
    exit 0
fi
[ -x "$binary" ] || { echo "syscalls: $binary is not an executable (make deb first)" >&2; exit 1; }
# shellcheck source=../../scripts/apt-packages.sh
. "$root/scripts/apt-packages.sh"
install_missing strace curl python3 iproute2

work="$(mktemp -d)"
pids=()
cleanup() {
    local pid
    # strace waits on its tracee through a SIGTERM: stop the daemon under it first.
    for pid in "${pids[@]}"; do pkill -TERM -P "$pid" 2>/dev/null || true; kill -TERM "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

free_port p1
free_port p2
free_port http
cd "$work"
printf 't1:test:access:t1.balancerd.test:127.0.0.1:%s\nt2:test:access:t2.balancerd.test:127.0.0.1:%s\n' "$p1" "$p2" > hosts.tab
echo "0.20 0.20 0.20 1/100 1000" > loadavg
# A sessions folder that exists: a missing one makes userload unknown and no spare eligible.
mkdir -p sessions
for id in t1 t2; do
    port=$p1; [ $id = t2 ] && port=$p2
    cat > $id.yaml <<EOF
host_id: $id
hosts_table: hosts.tab
state_dir: $work/state
socket_dir: $work/run
tls: {ca: ca.pem, cert: $id.pem, key: $id.key}
balancer: {mode: always, spares: [t2], slow_start: 0s}
poll: {interval: 500ms, timeout: 400ms, stale_after: 3s}
http: {listen: "127.0.0.1:$http"}
agent: {listen: "127.0.0.1:$port", load_file: $work/loadavg, sessions_dir: $work/sessions}
EOF
done
"$binary" certs init --dir . >/dev/null && "$binary" certs issue t1 -c t1.yaml >/dev/null &&
    "$binary" certs issue t2 -c t1.yaml >/dev/null || { echo "syscalls: certs failed" >&2; exit 1; }

strace -f -qq -o "$work/agent.trace" "$binary" agent -c t2.yaml > agent.log 2>&1 &
pids+=($!)
strace -f -qq -o "$work/serve.trace" "$binary" serve -c t1.yaml > serve.log 2>&1 &
pids+=($!)
# strace's pid is not the daemon's: find the daemon as strace's child.
serve_pid=""
# Under strace -f on a busy 2-core machine a start can take long: wait up to a minute.
deadline=$((SECONDS + 60))
until [ -n "$serve_pid" ] || [ $SECONDS -ge $deadline ]; do
    serve_pid="$(pgrep -P "${pids[1]}" -f "serve -c t1.yaml")" || sleep 0.1
done
code=""
until [ "$code" = 302 ] || [ $SECONDS -ge $deadline ]; do
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/login")" || true
    [ "$code" = 302 ] || sleep 0.2
done
if [ "$code" = 302 ] && [ -n "$serve_pid" ]; then pass "under strace: /login answers 302 (serve pid $serve_pid)"; else
    fail "under strace: /login never answered 302 (last: $code)"; tail -n 20 serve.log agent.log; exit 1; fi
curl -s -o /dev/null "http://127.0.0.1:$http/status" && curl -s -o /dev/null "http://127.0.0.1:$http/metrics" &&
    curl -s -o /dev/null "http://127.0.0.1:$http/decisions"
"$binary" ctl -c t1.yaml drain t2 syscall-check >/dev/null && "$binary" ctl -c t1.yaml undrain t2 >/dev/null
reply="$(python3 - "$work/run/t2" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"ping\n")
print(s.recv(100).decode().strip())
EOF
)"
[ "$reply" = t2 ] && pass "relay socket: ping answered by t2" || fail "relay socket: ping answered '$reply'"
kill -HUP "$serve_pid"
"$binary" ctl -c t1.yaml status >/dev/null || fail "ctl status after SIGHUP"
kill -USR1 "$serve_pid"
"$binary" ctl -c t1.yaml status >/dev/null || fail "ctl status after SIGUSR1"
kill -TERM "$serve_pid"
wait "${pids[1]}"
kill -TERM "$(pgrep -P "${pids[0]}" -f "agent -c t2.yaml")"
wait "${pids[0]}"
pids=()

# What a unit allows: its SystemCallFilter= lines in order (allow list, ~ removals, single calls added back).
expand() {
    local g
    systemd-analyze syscall-filter --no-pager "$1" | sed -n '2,$p' | grep -vE '^\s*#|^\s*$' | awk '{print $1}' |
        while read -r g; do case "$g" in @*) expand "$g" ;; *) echo "$g" ;; esac; done
}
# calls NAME: the calls of a set (@name), or the call itself.
calls() { case "$1" in @*) expand "$1" ;; *) echo "$1" ;; esac; }
# check_unit UNIT TRACE: every call and socket family in TRACE against UNIT's sandbox.
check_unit() {
    local unit="$root/dist/$1" trace="$2" value set call family families
    : > allowed
    while read -r value; do
        if [[ "$value" == "~"* ]]; then
            for set in ${value#\~}; do calls "$set"; done | sort -u > removed
            sort -u allowed | comm -23 - removed > allowed.new && mv allowed.new allowed
        else
            for set in $value; do calls "$set"; done >> allowed
        fi
    done < <(sed -n 's/^SystemCallFilter=//p' "$unit")
    sort -u -o allowed allowed
    grep -oE '^[0-9]+ +[a-z_0-9]+\(' "$trace" | awk '{print $2}' | tr -d '(' | sort -u > used
    echo "-- $1: $(wc -l < used) system calls made by $(basename "$trace" .trace); $(wc -l < allowed) allowed by its SystemCallFilter="
    for call in $(comm -23 used allowed); do
        if [ -n "${REFUSED_OK[$call]:-}" ]; then pass "$call refused by the unit: ${REFUSED_OK[$call]}"
        else fail "$call is made but the unit's SystemCallFilter= refuses it"; fi
    done
    families="$(sed -n 's/^RestrictAddressFamilies=//p' "$unit")"
    for family in $(grep -oE 'socket\(AF_[A-Z0-9]+' "$trace" | cut -c8- | sort -u); do
        if [[ " $families " == *" $family "* ]]; then pass "socket family $family allowed"
        elif [ -n "${REFUSED_OK[$family]:-}" ]; then pass "socket family $family refused by the unit: ${REFUSED_OK[$family]}"
        else fail "socket family $family is used but RestrictAddressFamilies= refuses it"; fi
    done
    if grep -q '^MemoryDenyWriteExecute=yes' "$unit"; then
        if grep -E 'mprotect\(.*PROT_EXEC|mmap\(.*(PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE)' "$trace" | head -3 | grep .; then
            fail "MemoryDenyWriteExecute=yes, but memory is made executable after it was writable (above)"
        else
            pass "MemoryDenyWriteExecute=yes: no writable and executable memory, no mprotect to PROT_EXEC"
        fi
    fi
}
check_unit balancerd.service serve.trace
check_unit balancerd-agent.service agent.trace
echo "syscalls: $passed passed, $failed failed"
[ $failed -eq 0 ]
