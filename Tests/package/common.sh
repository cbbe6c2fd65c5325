# Sourced by the package tests: counted results, and free loopback ports.
passed=0
failed=0
say() { printf '%s\n' "$*"; }
pass() { passed=$((passed + 1)); say "ok   $*"; }
fail() { failed=$((failed + 1)); say "FAIL $*"; }

# free_port VAR: sets VAR to a TCP port no socket holds and that no earlier
# call handed out. It sets a variable rather than printing, so the ports it
# gave stay remembered (a $(…) call would forget them in its subshell).
# Ports come from below the kernel's ephemeral range (ip_local_port_range), so
# no outgoing connection of another program can take one before it is bound;
# ports any TCP socket holds now (listening or connected) are skipped.
free_port() {
    local port low
    [ -n "${taken_ports+x}" ] || taken_ports="$(ss -Htan | awk '{print $4}')"
    low="$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
    [ "$low" -gt 11000 ] || low=32768
    while :; do
        port=$((10000 + RANDOM % (low - 10000)))
        if ! grep -q ":$port\$" <<<"$taken_ports"; then
            taken_ports="$taken_ports"$'\n'":$port"
            printf -v "$1" '%s' "$port"
            return
        fi
    done
}
