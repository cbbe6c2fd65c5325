#!/usr/bin/env bash
# The install test (`make test`, as root): does what an operator does with the
# Debian package, on this machine, with real dpkg, apt, users and processes.
#   1. builds the package (make deb) and removes any balancerd a previous run left;
#   2. runs the README's "Installing" block line by line, as written, in an
#      empty folder (all but `systemctl`: systemd is not PID 1 in a container):
#      apt install ./balancerd_….deb, certs init / issue, install, check;
#   3. checks the installed files: binary (and that it runs with the Swift
#      toolchain hidden), user, folders, conffiles, man pages, both units
#      (systemd-analyze verify and security);
#   4. runs an agent and a serve from the installed binary as the balancerd
#      user (setpriv), linked by mutual TLS on 127.0.0.1, until /login answers
#      302 to the agent's host; checks the processes' user and the sockets;
#   5. dpkg -r (config kept), then dpkg --purge (nothing left).
# Prints a transcript and "N passed, N failed"; exits 1 if anything failed.
# Skipped (exit 0, with the reason) when not root or without dpkg.
set -uo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ "$(id -u)" -ne 0 ]; then
    echo "install-test: skipped: needs root (installs a package and makes a system user)"
    exit 0
fi
if ! command -v dpkg >/dev/null || ! command -v apt-get >/dev/null; then
    echo "install-test: skipped: dpkg/apt-get not found (the package is for Debian and Ubuntu)"
    exit 0
fi

# shellcheck source=../../scripts/apt-packages.sh
. "$root/scripts/apt-packages.sh"
# The package's own dependencies are apt's job (step 2); these are the test's tools:
# curl, ps (procps), setpriv (util-linux), ss (iproute2), man (man-db), systemd-analyze
# and systemctl (systemd, which need not be running), lintian.
install_missing curl procps util-linux iproute2 man-db systemd lintian

# One install test at a time on a machine (several checkouts may share it): each
# installs and purges the one balancerd package and user.
exec 9> /run/lock/balancerd-install-test.lock
flock -w 3600 9 || { echo "install-test: another install test holds /run/lock/balancerd-install-test.lock" >&2; exit 1; }
started=$SECONDS
work=/tmp/balancerd-install-test   # fixed, so a later run finds what a killed run left
pids=()

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# Stops the processes this run started, by pid, and any an earlier run left
# (found by the test folder in their command line), waiting up to 10 s for
# them to go (userdel refuses a user with processes), then SIGKILL.
stop_processes() {
    local pid deadline=$((SECONDS + 10)) left
    # shellcheck disable=SC2207
    left=($(pgrep -f -- "-c $work/" 2>/dev/null) "${pids[@]}")
    [ ${#left[@]} -gt 0 ] || return 0
    for pid in "${left[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${left[@]}"; do
        while kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid")" != Z ] && [ $SECONDS -lt $deadline ]; do
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
}
purge_package() {
    if dpkg-query -W -f='${db:Status-Status}' balancerd 2>/dev/null | grep -qv '^not-installed$'; then
        dpkg_waiting dpkg --purge balancerd >/dev/null 2>&1
    fi
}
cleanup() {
    stop_processes
    rm -rf "$work"
}
trap cleanup EXIT

say "== install-test: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(. /etc/os-release && echo "$PRETTY_NAME")"

# ---- 1. the package, and a clean slate ----------------------------------------
stop_processes
purge_package
rm -rf "$work"
mkdir -p "$work/readme"
check "no balancerd installed before the test (a previous run's package purged)" \
    bash -c '! dpkg-query -W -f="\${db:Status-Status}" balancerd 2>/dev/null | grep -qv "^not-installed$"'

say "-- make deb"
if ! make -C "$root" --no-print-directory deb > "$work/make-deb.log" 2>&1; then
    fail "make deb"
    tail -30 "$work/make-deb.log" | indent
    say "$passed passed, $failed failed"
    exit 1
fi
deb="$(ls "$root"/balancerd_*_"$(dpkg --print-architecture)".deb | head -1)"
pass "make deb: $(basename "$deb") ($(du -h "$deb" | cut -f1))"
grep '^build-deb:' "$work/make-deb.log" | indent
cp "$deb" "$work/readme/"
# Kept: initial-upload-closes-no-bugs (there is no Debian ITP bug for balancerd).
check "lintian: no error, no warning (but initial-upload-closes-no-bugs)" \
    lintian --fail-on error,warning --suppress-tags initial-upload-closes-no-bugs "$deb"

# ---- 2. the README's "Installing" block, line by line, as written --------------
say "-- README \"Installing\", in an empty folder ($work/readme)"
mapfile -t readme_lines < <(readme_install_lines "$root/README.md")
[ ${#readme_lines[@]} -ge 5 ] || fail "README.md: no \"Installing\" block with commands found"
for line in "${readme_lines[@]}"; do
    case "$line" in
        systemctl*)
            say "skip \$ $line   (systemd is not PID 1 here; the unit is verified below)"
            continue
            ;;
    esac
    check "\$ $line" dpkg_waiting env DEBIAN_FRONTEND=noninteractive bash -ec "cd '$work/readme' && $line"
done

# ---- 3. what the package installed --------------------------------------------
say "-- the installed package"
version="$(sed -n 's/.*static let string = "\([^"]*\)".*/\1/p' "$root/Sources/Lonc/Version.swift")"
check "/usr/bin/balancerd --version is $version" bash -c "[ \"\$(/usr/bin/balancerd --version)\" = '$version' ]"
check "ldd: every library found, none from the Swift toolchain" \
    bash -c 'ldd /usr/bin/balancerd | awk "{print \$1, \$3}"; ! ldd /usr/bin/balancerd | grep -e "not found" -e swift'
check "readelf: no RPATH/RUNPATH" bash -c '! readelf -d /usr/bin/balancerd | grep -E "RPATH|RUNPATH"'
swift_root="$(dirname "$(dirname "$(readlink -f "$(command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)")")")"
swift_root="${swift_root%/usr}"
if [ -d "$swift_root" ] && command -v unshare >/dev/null; then
    check "with $swift_root hidden (tmpfs in a mount namespace) and an empty environment: --help, check" \
        unshare -m bash -ec "mount -t tmpfs none '$swift_root'
            echo \"$swift_root holds \$(ls -A '$swift_root' | wc -l) files\"
            env -i /usr/bin/balancerd --help | head -1
            env -i /usr/bin/balancerd check -c /etc/balancerd/balancerd.yaml"
fi
check "neither unit enabled by the installation (the example config is not a server's yet)" \
    bash -c 'ls /etc/systemd/system/*.wants/ 2>/dev/null | grep balancerd; ! ls /etc/systemd/system/*.wants/ 2>/dev/null | grep -q balancerd'
check "user balancerd: a system user with no login shell, primary group balancerd" \
    bash -c 'getent passwd balancerd; u=$(id -u balancerd); [ "$u" -lt 1000 ] && [ "$(id -gn balancerd)" = balancerd ] && getent passwd balancerd | grep -q ":/usr/sbin/nologin$"'
check "group balancerd-relay for the relay sockets; www-data in it (README), not in group balancerd" \
    bash -c 'getent group balancerd-relay; getent group balancerd; id www-data
             id -nG www-data | tr " " "\n" | grep -qx balancerd-relay && ! id -nG www-data | tr " " "\n" | grep -qx balancerd'
check "the relay group (as www-data) can read neither the key nor the state" \
    bash -c '! setpriv --reuid=www-data --regid=www-data --init-groups head -c0 /etc/balancerd/msua1.key 2>/dev/null &&
             ! setpriv --reuid=www-data --regid=www-data --init-groups ls /var/lib/balancerd >/dev/null 2>&1'
check "/var/lib/balancerd: balancerd:balancerd, mode 750" \
    bash -c 'stat -c "%U:%G %a %n" /var/lib/balancerd; [ "$(stat -c "%U:%G %a" /var/lib/balancerd)" = "balancerd:balancerd 750" ]'
check "conffiles: /etc/balancerd/balancerd.yaml and hosts.tab" \
    bash -c 'c=$(dpkg-query -W -f="\${Conffiles}" balancerd); echo "$c"; echo "$c" | grep -q " /etc/balancerd/balancerd.yaml " && echo "$c" | grep -q " /etc/balancerd/hosts.tab "'
check "the key is root:balancerd 640, and the balancerd user can check the config" \
    bash -c 'stat -c "%U:%G %a %n" /etc/balancerd/msua1.key; [ "$(stat -c "%U:%G %a" /etc/balancerd/msua1.key)" = "root:balancerd 640" ] &&
             setpriv --reuid=balancerd --regid=balancerd --init-groups head -c0 /etc/balancerd/msua1.key &&
             setpriv --reuid=balancerd --regid=balancerd --init-groups /usr/bin/balancerd check -c /etc/balancerd/balancerd.yaml'
check "man pages: balancerd(1) and one per subcommand" \
    bash -c 'for p in balancerd balancerd.serve balancerd.agent balancerd.check balancerd.ctl balancerd.certs.issue; do man -w $p || exit 1; done'
for unit in balancerd.service balancerd-agent.service; do
    check "systemd-analyze verify /lib/systemd/system/$unit (binary and man pages included)" \
        bash -c "out=\$(systemd-analyze verify /lib/systemd/system/$unit 2>&1); echo \"\$out\"; [ -z \"\$out\" ]"
    check "systemd-analyze security $unit: User=balancerd, exposure below 2.0" \
        bash -c "grep -q '^User=balancerd$' /lib/systemd/system/$unit &&
                 line=\$(systemd-analyze security --offline=true /lib/systemd/system/$unit | tail -1); echo \"\$line\";
                 score=\$(echo \"\$line\" | grep -o '[0-9]*\.[0-9]' | head -1); awk -v s=\"\$score\" 'BEGIN { exit !(s != \"\" && s < 2.0) }'"
done

say "-- reinstalling over itself keeps the operator's changes"
echo "# changed by the operator" >> /etc/balancerd/balancerd.yaml
check "systemctl enable balancerd (systemd need not run for this)" systemctl enable balancerd.service
uid_before="$(id -u balancerd)"
check "dpkg -i $(basename "$deb") again" dpkg_waiting dpkg -i "$deb"
check "after reinstalling: the changed conffile kept, balancerd still enabled, the same user" \
    bash -c "tail -1 /etc/balancerd/balancerd.yaml | grep -q '^# changed by the operator' &&
             [ -L /etc/systemd/system/multi-user.target.wants/balancerd.service ] && [ \"\$(id -u balancerd)\" = '$uid_before' ] &&
             /usr/bin/balancerd check -c /etc/balancerd/balancerd.yaml"

# ---- 4. an agent and a serve as the balancerd user, from the installed files ---
say "-- agent t2 and serve t1 as user balancerd, mutual TLS on 127.0.0.1"
free_port agent1_port
free_port agent2_port
free_port http_port
etc="$work/etc"
install -d -m 750 -o root -g balancerd "$etc"
install -d -m 750 -o balancerd -g balancerd "$work/state" "$work/run" "$work/sessions"
cat > "$etc/hosts.tab" <<EOF
t1:test:access:t1.balancerd.test:127.0.0.1:$agent1_port
t2:test:access:t2.balancerd.test:127.0.0.1:$agent2_port
EOF
for id in t1 t2; do
    port=$agent1_port
    [ $id = t2 ] && port=$agent2_port
    cat > "$etc/$id.yaml" <<EOF
host_id: $id
hosts_table: hosts.tab
state_dir: $work/state
socket_dir: $work/run
tls: {ca: ca.pem, cert: $id.pem, key: $id.key}
balancer: {mode: always, spares: [t2], slow_start: 0s, local_login_url: "http://t1.balancerd.test/login"}
poll: {interval: 500ms, timeout: 400ms, stale_after: 3s}
http: {listen: "127.0.0.1:$http_port"}
agent: {listen: "127.0.0.1:$port", load_file: $work/loadavg, sessions_dir: $work/sessions}
EOF
done
# A fixed load (10 % of load_limit 2.0): the machine's own may be above 100 % while others build.
echo "0.20 0.20 0.20 1/100 1000" > "$work/loadavg"
chmod 640 "$etc"/*.yaml "$etc/hosts.tab"
chgrp balancerd "$etc"/*.yaml "$etc/hosts.tab"
check "balancerd certs init, issue t1 and t2 (as root, the test's own CA)" bash -ec "
    /usr/bin/balancerd certs init --dir '$work/ca'
    /usr/bin/balancerd certs issue t1 -c '$etc/t1.yaml' --ca-dir '$work/ca' --dir '$etc'
    /usr/bin/balancerd certs issue t2 -c '$etc/t1.yaml' --ca-dir '$work/ca' --dir '$etc'
    install -m 644 '$work/ca/ca.pem' '$etc/'
    chgrp balancerd '$etc'/t1.key '$etc'/t2.key && chmod 640 '$etc'/t1.key '$etc'/t2.key"
as_balancerd=(setpriv --reuid=balancerd --regid=balancerd --init-groups)
"${as_balancerd[@]}" /usr/bin/balancerd agent -c "$etc/t2.yaml" > "$work/agent.log" 2>&1 9>&- &
pids+=($!)
agent_pid=$!
"${as_balancerd[@]}" /usr/bin/balancerd serve -c "$etc/t1.yaml" > "$work/serve.log" 2>&1 9>&- &
pids+=($!)
serve_pid=$!
say "     started agent (pid $agent_pid, 127.0.0.1:$agent2_port) and serve (pid $serve_pid, http 127.0.0.1:$http_port, agent 127.0.0.1:$agent1_port)"
login_redirects_to_t2() {
    local headers
    headers="$(curl -s -o /dev/null -D - "http://127.0.0.1:$http_port/login" --max-time 2)" || return 1
    grep -q '^HTTP/[0-9.]* 302' <<<"$headers" && grep -qi '^location: https://t2.balancerd.test/login' <<<"$headers"
}
wait_start=$SECONDS
if wait_for 30 "GET /login answers 302 to t2 (serve linked to the agent over TLS, load polled)" login_redirects_to_t2; then
    say "     after $((SECONDS - wait_start))s: $(curl -s -o /dev/null -w '%{http_code} -> %{redirect_url}' "http://127.0.0.1:$http_port/login")"
else
    say "     serve log:"; tail -15 "$work/serve.log" | indent
    say "     agent log:"; tail -15 "$work/agent.log" | indent
fi
check "both processes run as user balancerd (ps -o user=)" \
    bash -c "ps -o pid=,user=,args= -p $agent_pid,$serve_pid; [ \"\$(ps -o user= -p $agent_pid,$serve_pid | sort -u | tr -d ' ')\" = balancerd ]"
check "sockets made by user balancerd: relay $work/run/t2 (660), control (600)" \
    bash -c "stat -c '%U:%G %a %n' '$work/run/t2' '$work/run/control' &&
             [ \"\$(stat -c '%U %a' '$work/run/t2')\" = 'balancerd 660' ] && [ \"\$(stat -c '%U %a' '$work/run/control')\" = 'balancerd 600' ]"
check "balancerd ctl status, as user balancerd, over the control socket" \
    bash -c "out=\$(${as_balancerd[*]} /usr/bin/balancerd ctl -c '$etc/t1.yaml' status --json); echo \"\$out\" | cut -c1-200; echo \"\$out\" | grep -q '\"state\" *: *\"up\"'"
# SIGTERM, then wait (in this shell: the processes are its children) for the exit status.
stop_and_check() {
    local name="$1" pid="$2" deadline=$((SECONDS + 15)) rc
    kill -TERM "$pid"
    while [ "$(ps -o stat= -p "$pid" 2>/dev/null)" ] && [ "$(ps -o stat= -p "$pid")" != Z ] && [ $SECONDS -lt $deadline ]; do
        sleep 0.1
    done
    if [ "$(ps -o stat= -p "$pid" 2>/dev/null)" ] && [ "$(ps -o stat= -p "$pid")" != Z ]; then
        fail "$name stops within 15 s of SIGTERM"
        kill -KILL "$pid"
        return
    fi
    wait "$pid"
    rc=$?
    if [ $rc -eq 0 ]; then pass "$name stops on SIGTERM with exit 0"; else fail "$name stops on SIGTERM with exit 0 (exit $rc)"; fi
}
stop_and_check serve "$serve_pid"

# socket_group: the relay sockets handed to their own group, as the unit's
# SupplementaryGroups=balancerd-relay lets the daemon do; www-data (in that
# group, as the README has it) talks to t2, and still cannot touch key or state.
printf 'socket_group: balancerd-relay\n' >> "$etc/t1.yaml"
setpriv --reuid=balancerd --regid=balancerd --groups=balancerd-relay /usr/bin/balancerd serve -c "$etc/t1.yaml" > "$work/serve2.log" 2>&1 9>&- &
pids+=($!)
serve_pid=$!
relay_answers_www_data() {
    [ "$(setpriv --reuid=www-data --regid=www-data --init-groups /usr/bin/python3 -c "
import socket
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect('$work/run/t2')
s.sendall(b'ping\n')
print(s.makefile().readline().strip())" 2>/dev/null)" = t2 ]
}
wait_for 30 "with socket_group: balancerd-relay, user www-data writes 'ping' to the relay socket and t2 answers" relay_answers_www_data || tail -5 "$work/serve2.log" | indent
check "relay socket and socket_dir in group balancerd-relay (660); control socket still balancerd's (600)" \
    bash -c "stat -c '%U:%G %a %n' '$work/run' '$work/run/t2' '$work/run/control' &&
             [ \"\$(stat -c '%G %a' '$work/run/t2')\" = 'balancerd-relay 660' ] && [ \"\$(stat -c '%G' '$work/run')\" = balancerd-relay ] &&
             [ \"\$(stat -c '%U:%G %a' '$work/run/control')\" = 'balancerd:balancerd 600' ]"
check "www-data, a relay client, can read neither t1.key nor the delayed messages, nor write there" \
    bash -c "stat -c '%U:%G %a %n' '$etc/t1.key' '$work/state' '$work/state/delayed'
             as_www=(setpriv --reuid=www-data --regid=www-data --init-groups)
             ! \"\${as_www[@]}\" head -c0 '$etc/t1.key' 2>/dev/null && ! \"\${as_www[@]}\" ls '$work/state/delayed' >/dev/null 2>&1 &&
             ! \"\${as_www[@]}\" touch '$work/state/delayed/forged.t2' 2>/dev/null"
check "balancerd check as the daemon with its groups: no warning about the relay group" \
    bash -c "out=\$(setpriv --reuid=balancerd --regid=balancerd --groups=balancerd-relay /usr/bin/balancerd check -c '$etc/t1.yaml' 2>&1); echo \"\$out\"; ! grep -q socket_group <<<\"\$out\""
stop_and_check "serve (socket_group)" "$serve_pid"
stop_and_check agent "$agent_pid"
pids=()

# ---- 5. remove, then purge ------------------------------------------------------
say "-- dpkg -r, then dpkg --purge"
check "dpkg -r balancerd" dpkg_waiting dpkg -r balancerd
check "after remove: no /usr/bin/balancerd; /etc/balancerd, /var/lib/balancerd and the user kept" \
    bash -c '[ ! -e /usr/bin/balancerd ] && [ -f /etc/balancerd/balancerd.yaml ] && [ -d /var/lib/balancerd ] && getent passwd balancerd >/dev/null'
check "dpkg --purge balancerd" dpkg_waiting dpkg --purge balancerd
check "after purge: no binary, units, enable link, man pages, /etc/balancerd, /var/lib/balancerd, user, group, dpkg record" bash -c '
    left=0
    for f in /usr/bin/balancerd /lib/systemd/system/balancerd.service /lib/systemd/system/balancerd-agent.service \
             /etc/systemd/system/multi-user.target.wants/balancerd.service /etc/systemd/system/balancerd.service \
             /usr/share/man/man1/balancerd.1.gz /usr/share/doc/balancerd /etc/balancerd /var/lib/balancerd; do
        if [ -e "$f" ]; then echo "left: $f"; left=1; fi
    done
    if getent passwd balancerd; then echo "left: user balancerd"; left=1; fi
    if getent group balancerd; then echo "left: group balancerd"; left=1; fi
    if getent group balancerd-relay; then echo "left: group balancerd-relay"; left=1; fi
    if dpkg-query -W balancerd 2>/dev/null; then echo "left: dpkg still knows balancerd"; left=1; fi
    [ $left -eq 0 ]'

say "== install-test: $((SECONDS - started))s"
say "$passed passed, $failed failed"
[ $failed -eq 0 ]
