# Sourced by the package tests: counted results, and free loopback ports.
passed=0
failed=0
say() { printf '%s\n' "$*"; }
pass() { passed=$((passed + 1)); say "ok   $*"; }
fail() { failed=$((failed + 1)); say "FAIL $*"; }

# free_port VAR: sets VAR to a TCP port no socket uses and that no earlier
# call handed out, below the ephemeral range (32768 up), so an outgoing
# connection made meanwhile cannot take it. It sets a variable rather than printing, so the ports it
# gave stay remembered (a $(…) call would forget them in its subshell).
free_port() {
    local port
    [ -n "${taken_ports+x}" ] || taken_ports="$(ss -Htan | awk '{print $4}')"
    while :; do
        port=$((20000 + RANDOM % 12000))
        if ! grep -q ":$port\$" <<<"$taken_ports"; then
            taken_ports="$taken_ports"$'\n'":$port"
            printf -v "$1" '%s' "$port"
            return
        fi
    done
}
