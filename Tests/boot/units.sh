# Sourced by boot-test.sh: what systemd and the kernel say of a unit running in
# a machine (machines.sh's in_machine): its main process, a restart, its
# exposure score, the sandbox its process really has, and how it stops.

# main_pid ID UNIT: the unit's MainPID (0 when it has none).
main_pid() { in_machine "$1" systemctl show -P MainPID "$2"; }

# restarted ID UNIT OLD_PID: the unit is active again with a main process other than OLD_PID.
restarted() {
    local pid
    pid="$(main_pid "$1" "$2")"
    [ -n "$pid" ] && [ "$pid" != 0 ] && [ "$pid" != "$3" ] && in_machine "$1" systemctl is-active -q "$2"
}

# security_score ID UNIT: systemd-analyze security of the running unit (prints the
# score and the settings it misses); fails at 2.0 or above.
security_score() {
    local out score
    out="$(in_machine "$1" systemd-analyze security --no-pager "$2" 2>&1)"
    echo "$out" | tail -1
    echo "$out" | grep -E '^✗' | head -12
    score="$(echo "$out" | tail -1 | grep -oE '[0-9]+\.[0-9]+' | head -1)"
    awk -v s="$score" 'BEGIN { exit !(s != "" && s < 2.0) }'
}

# process_sandbox ID UNIT STATE_DIR: what the unit's process really has: the
# balancerd user, no capabilities, no new privileges, a seccomp filter, / read-only
# and STATE_DIR writable.
process_sandbox() {
    local pid
    pid="$(main_pid "$1" "$2")"
    in_machine "$1" bash -ec "
        grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/$pid/status
        awk '\$5 == \"/\" || \$5 ~ /^\\/(var\\/lib|run)\\/balancerd\$/ || \$5 == \"/etc/balancerd\" {print \$5, \$6}' /proc/$pid/mountinfo
        uid=\$(id -u balancerd)
        grep -qE \"^Uid:\\s+\$uid\\s\" /proc/$pid/status && grep -qE '^CapEff:\\s+0+\$' /proc/$pid/status &&
        grep -qE '^NoNewPrivs:\\s+1\$' /proc/$pid/status && grep -qE '^Seccomp:\\s+2\$' /proc/$pid/status &&
        awk '\$5 == \"/\" && \$6 ~ /^ro/ {ro = 1} \$5 == \"$3\" && \$6 ~ /^rw/ {rw = 1} END {exit !(ro && rw)}' /proc/$pid/mountinfo"
}

# stops ID UNIT: systemctl stop ends within the unit's TimeoutStopSec, and the daemon exited 0.
stops() {
    local m="$1" unit="$2" timeout_us began ended
    timeout_us="$(in_machine "$m" systemd-analyze timespan "$(in_machine "$m" systemctl show -P TimeoutStopUSec "$unit")" | awk '/μs:/ {print $2}')"
    began="$(date +%s%N)"
    in_machine "$m" systemctl stop "$unit" || return 1
    ended="$(date +%s%N)"
    echo "stopped in $(( (ended - began) / 1000000 )) ms (TimeoutStopSec $((timeout_us / 1000)) ms): $(in_machine "$m" systemctl show -p Result -p ExecMainCode -p ExecMainStatus "$unit" | tr '\n' ' ')"
    [ $(( (ended - began) / 1000 )) -lt "$timeout_us" ] &&
        [ "$(in_machine "$m" systemctl show -P Result "$unit")" = success ] &&
        [ "$(in_machine "$m" systemctl show -P ExecMainCode "$unit")" = 1 ] &&
        [ "$(in_machine "$m" systemctl show -P ExecMainStatus "$unit")" = 0 ]
}
