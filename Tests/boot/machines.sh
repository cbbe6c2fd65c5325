# Sourced by boot-test.sh: Debian machines booted with their own systemd as
# PID 1 (systemd-nspawn --boot), each in a network namespace of its own, all on
# one bridge in a namespace of its own: they reach each other and nothing else.
#
#   base tree   debootstrap --variant=minbase (systemd, dbus, python3 for the
#               example handler; no Swift), cached in $BOOT_TEST_CACHE
#               (.build-boot/ by default) and never written while machines run;
#   a machine   an overlay of the base tree (its changes go to $work/<id>/upper,
#               thrown away at the end), booted in namespace bdboot-<id>;
#   in_machine  runs a command inside, as root, through nsenter into all the
#               machine's namespaces (the host has no system bus: machinectl
#               and systemd-run -M cannot reach it).
#
# Needs: work (a folder), machines (ids), address[id] (IPv4 of each), and
# common.sh's say/fail. machines_down undoes everything, also what a killed
# run left (the names and folders are fixed for that).

BOOT_SUITE="$(. /etc/os-release && echo "$VERSION_CODENAME")"
BOOT_PACKAGES="systemd,systemd-sysv,dbus,python3"

# The mirror of this machine's apt sources for BOOT_SUITE (deb822 .sources or
# one-line .list): the machines run the release the package was built on.
apt_mirror() {
    python3 - "$BOOT_SUITE" /etc/apt/sources.list /etc/apt/sources.list.d/* <<'EOF'
import sys, re
suite, files = sys.argv[1], sys.argv[2:]
for path in files:
    try:
        text = open(path).read()
    except OSError:
        continue
    if path.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M))
            if "deb" in fields.get("Types", "").split() and suite in fields.get("Suites", "").split() \
                    and fields.get("Enabled", "yes") != "no":
                print(fields["URIs"].split()[0]); sys.exit(0)
    elif path.endswith(".list"):
        for line in text.splitlines():
            words = re.sub(r"\[[^]]*\]", "", line).split()
            if len(words) >= 3 and words[0] == "deb" and words[2] == suite:
                print(words[1]); sys.exit(0)
sys.exit(1)
EOF
}

# base_tree: sets base to the cached minimal tree, making it first if needed
# (about 45 s on a quiet machine, 3 minutes while others build).
base_tree() {
    local mirror key log
    mirror="${BOOT_TEST_MIRROR:-$(apt_mirror)}" || { fail "no apt source for $BOOT_SUITE in /etc/apt (set BOOT_TEST_MIRROR)"; return 1; }
    key="$(printf '%s\n' "$BOOT_SUITE" "$mirror" "$BOOT_PACKAGES" | sha256sum | cut -c1-12)"
    base="$cache/$BOOT_SUITE-$key"
    [ -e "$base/.complete" ] && return 0
    say "-- debootstrap --variant=minbase --include=$BOOT_PACKAGES $BOOT_SUITE $base $mirror"
    mkdir -p "$cache"
    rm -rf "$base.tmp"
    log="$cache/debootstrap.log"
    if ! debootstrap --variant=minbase --include="$BOOT_PACKAGES" "$BOOT_SUITE" "$base.tmp" "$mirror" > "$log" 2>&1; then
        fail "debootstrap (log: $log)"
        tail -5 "$log" | indent
        return 1
    fi
    touch "$base.tmp/.complete"
    rm -rf "$base"
    mv "$base.tmp" "$base"
}

# fetch_depends DEB: downloads, into the base tree's apt cache, the packages
# DEB depends on that the tree lacks, so `apt install ./DEB` works in a machine
# with no network. A package already there is not fetched again.
fetch_depends() {
    local deb="$1" name
    name="$(basename "$deb")"
    cp "$deb" "$base/tmp/$name"
    chroot "$base" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --download-only "/tmp/$name" > "$work/fetch.log" 2>&1
    local rc=$?
    rm -f "$base/tmp/$name"
    [ $rc -eq 0 ] || { fail "apt-get install --download-only $name in the base tree"; tail -5 "$work/fetch.log" | indent; }
    return $rc
}

network_up() {
    local m
    ip netns add bdboot-lan && ip -n bdboot-lan link add br0 type bridge && ip -n bdboot-lan link set br0 up || return 1
    for m in "${machines[@]}"; do
        ip netns add "bdboot-$m" &&
            ip -n bdboot-lan link add "$m" type veth peer name eth0 netns "bdboot-$m" &&
            ip -n bdboot-lan link set "$m" master br0 up &&
            ip -n "bdboot-$m" addr add "${address[$m]}/24" dev eth0 &&
            ip -n "bdboot-$m" link set eth0 up &&
            ip -n "bdboot-$m" link set lo up || return 1
    done
}

# boot ID HOSTNAME: mounts the machine's overlay and boots it; waits (up to 120 s)
# until its systemd says the system is running. Its PID 1 (as the host sees it)
# goes to $work/ID/leader, a file, so that boot may run in a subshell.
boot() {
    local m="$1" dir="$work/$1" pid state deadline=$((SECONDS + 120))
    mkdir -p "$dir/upper" "$dir/overlay-work" "$dir/root"
    mount -t overlay overlay -o "lowerdir=$base,upperdir=$dir/upper,workdir=$dir/overlay-work" "$dir/root" || return 1
    echo "$2" > "$dir/root/etc/hostname"
    # The unified cgroup hierarchy (v2), as a Debian 12 server boots with. This host
    # mounts the legacy hierarchies, and there the machines' systemd 252 now and
    # then failed to start a unit just stopped (status=219/CGROUP, "Failed to
    # attach to cgroup /system.slice/…: No such file or directory").
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 setsid systemd-nspawn -q -D "$dir/root" --boot --register=no --keep-unit --machine="$m" \
        --network-namespace-path="/run/netns/bdboot-$m" --console=passive > "$dir/nspawn.log" 2>&1 < /dev/null 9>&- &
    echo $! > "$dir/nspawn.pid"
    # nspawn's child becomes the machine's systemd once it has set the machine up.
    until pid="$(pgrep -P "$(cat "$dir/nspawn.pid")" | head -1)" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ]; do
        [ $SECONDS -lt $deadline ] && kill -0 "$(cat "$dir/nspawn.pid")" 2>/dev/null || { cat "$dir/nspawn.log"; return 1; }
        sleep 0.2
    done
    echo "$pid" > "$dir/leader"
    # systemctl reaches it through /run/systemd/private, which it makes a moment after it starts.
    until nsenter -t "$pid" -a test -S /run/systemd/private || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
    state="$(timeout $((deadline - SECONDS)) nsenter -t "$pid" -a systemctl is-system-running --wait 2>&1)"
    echo "$state"
    [ "$state" = running ] || { in_machine "$m" systemctl --failed --no-pager; return 1; }
}

# in_machine ID COMMAND...: runs COMMAND in the machine as root, with a clean environment.
in_machine() {
    local m="$1"
    shift
    nsenter -t "$(cat "$work/$m/leader")" -a env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive "$@"
}

# machines_down: powers the machines off (their systemd stops every unit), then
# removes the overlays, namespaces and folders; kills what does not stop in 30 s.
machines_down() {
    local m dir pid deadline
    for m in "${machines[@]}"; do
        pid="$(cat "$work/$m/nspawn.pid" 2>/dev/null)" || continue
        grep -q systemd-nspawn "/proc/$pid/cmdline" 2>/dev/null && kill -TERM "$pid"
    done
    for m in "${machines[@]}"; do
        dir="$work/$m"
        pid="$(cat "$dir/nspawn.pid" 2>/dev/null)" || pid=""
        deadline=$((SECONDS + 30))
        while [ -n "$pid" ] && grep -q systemd-nspawn "/proc/$pid/cmdline" 2>/dev/null; do
            if [ $SECONDS -ge $deadline ]; then
                say "     $m did not power off in 30 s: killed"
                kill -KILL "$pid"
                pkill -KILL -P "$pid" 2>/dev/null
            fi
            sleep 0.2
        done
        mountpoint -q "$dir/root" && { umount "$dir/root" || umount -l "$dir/root"; }
        ip netns del "bdboot-$m" 2>/dev/null
    done
    ip netns del bdboot-lan 2>/dev/null
    rm -rf "$work"
}
