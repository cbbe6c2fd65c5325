# Sourced by the package tests: counted results, checks and waits, the README's
# install commands, and free loopback ports.
passed=0
failed=0
say() { printf '%s\n' "$*"; }
pass() { passed=$((passed + 1)); say "ok   $*"; }
fail() { failed=$((failed + 1)); say "FAIL $*"; }
indent() { sed 's/^/     | /'; }
# check DESCRIPTION COMMAND...: runs COMMAND, shows its output, counts the result.
check() {
    local what="$1" out rc
    shift
    out="$("$@" 2>&1)"
    rc=$?
    if [ $rc -eq 0 ]; then pass "$what"; else fail "$what (exit $rc)"; fi
    [ -z "$out" ] || printf '%s\n' "$out" | head -20 | indent
    return $rc
}
# dpkg_waiting COMMAND...: runs a dpkg or apt command; while it fails because another
# process holds dpkg's lock (an apt-get of another job on this machine), waits and
# runs it again, for at most 600 s. Any other failure is returned as it is.
dpkg_waiting() {
    local out rc deadline=$((SECONDS + 600))
    while :; do
        out="$("$@" 2>&1)"
        rc=$?
        if [ $rc -ne 0 ] && [ $SECONDS -lt $deadline ] && printf '%s' "$out" | grep -qE 'lock.*(held|locked) by (another )?process|Could not get lock'; then
            sleep 1
            continue
        fi
        [ -z "$out" ] || printf '%s\n' "$out"
        return $rc
    done
}
# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s until it succeeds or the deadline passes.
wait_for() {
    local limit="$1" what="$2" deadline=$((SECONDS + $1))
    shift 2
    while ! "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ]; then
            fail "$what (not within ${limit}s)"
            return 1
        fi
        sleep 0.2
    done
    pass "$what"
}
# readme_install_lines README: the commands of the README's "Installing" block,
# one a line, comments and blank lines left out.
readme_install_lines() {
    awk '
        /^## Installing/ { section = 1; next }
        section && /^## / { exit }
        section && /^```sh/ { block = 1; next }
        block && /^```/ { exit }
        block && !/^#/ && NF { print }' "$1"
}

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
