#!/usr/bin/env bash
# The boot test (`make boot-test`; CI runs it after `make test`): the package on
# three Debian machines booted with their own systemd as PID 1, without Swift,
# reaching each other and nothing else (Tests/boot/machines.sh). The machines
# are the shipped example's: msua1 (login server, balancerd.service), msua2 and
# msul2 (balancerd-agent.service), at the hosts.tab addresses.
#   1. make deb; the base tree (cached) and the package's dependencies in it;
#   2. the README's "Installing" block as written: on msua1 line by line, the
#      certificates of msua2 and msul2 issued there (the safe machine) and copied
#      over, on those two the block with their id and balancerd-agent;
#   3. links up with mutual TLS (and a client without a certificate refused),
#      /login answers 302 to a spare, the daemon's lines in journalctl -u balancerd;
#   4. systemctl reload applies a changed key (balancer.spares);
#   5. critical messages for a stopped agent kept across a kill -9 of the
#      daemon, which the unit restarts; delivered once each, in order;
#   6. systemd-analyze security of the running unit, what the process has;
#   7. systemctl stop of each unit: within its timeout, exit 0.
# Prints a transcript and "N passed, N failed"; exits 1 if anything failed.
# BOOT_TEST_KEEP=1 leaves the machines running at the end, to look around
# (nsenter -t "$(cat /tmp/balancerd-boot-test/msua1/leader)" -a bash); the next
# run removes them.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ "$(id -u)" -ne 0 ]; then
    echo "boot-test: needs root (debootstrap, network namespaces, systemd-nspawn)" >&2
    exit 1
fi
# shellcheck source=../../scripts/apt-packages.sh
. "$root/scripts/apt-packages.sh"
install_missing debootstrap systemd-container iproute2 curl openssl python3 util-linux procps
# shellcheck source=../package/common.sh
. "$root/Tests/package/common.sh"
# shellcheck source=machines.sh
. "$root/Tests/boot/machines.sh"
# shellcheck source=units.sh
. "$root/Tests/boot/units.sh"

cache="${BOOT_TEST_CACHE:-$root/.build-boot}"
work=/tmp/balancerd-boot-test   # fixed, so a later run removes what a killed run left
machines=(msua1 msua2 msul2)
agents=(msua2 msul2)
declare -A address=() hostname=()
while IFS=: read -r id _ _ host ip _; do
    address[$id]="$ip"
    hostname[$id]="$host"
done < <(grep -v '^#' "$root/dist/etc/hosts.tab")
started=$SECONDS

exec 9> /run/lock/balancerd-boot-test.lock
flock -w 1800 9 || { echo "boot-test: another boot test holds /run/lock/balancerd-boot-test.lock" >&2; exit 1; }
[ "${BOOT_TEST_KEEP:-}" = 1 ] || trap machines_down EXIT
machines_down
mkdir -p "$work"
say "== boot-test: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 1. the package, the base tree, the machines --------------------------------
say "-- make deb"
if ! make -C "$root" --no-print-directory deb > "$work/make-deb.log" 2>&1; then
    fail "make deb"
    tail -30 "$work/make-deb.log" | indent
    exit 1
fi
deb="$(ls "$root"/balancerd_*_"$(dpkg --print-architecture)".deb | head -1)"
pass "make deb: $(basename "$deb")"
base_tree || exit 1
pass "base tree $base ($(du -sh "$base" | cut -f1)): $(chroot "$base" dpkg-query -W -f '${Package} ${Version}\n' systemd)"
check "no Swift in the base tree" bash -c "! find '$base/usr' '$base/opt' -name 'libswiftCore.so' -o -name swift -type f | grep ."
fetch_depends "$deb" || exit 1
check "network: a bridge and three namespaces (${machines[*]})" network_up || exit 1
for m in "${machines[@]}"; do
    check "boot $m (${address[$m]}): systemctl is-system-running" boot "$m" "${hostname[$m]%%.*}" || exit 1
done
check "each reaches the others, nothing else (no default route; the mirror's network unreachable)" bash -c "
    ip -n bdboot-msua1 route
    ip netns exec bdboot-msua1 timeout 5 bash -c '</dev/tcp/${address[msua2]}/22' 2>&1 | grep -q refused &&
    ! ip netns exec bdboot-msua1 timeout 5 bash -c '</dev/tcp/151.101.2.132/80' 2>/dev/null"

# ---- 2. the README's "Installing" block ------------------------------------------
mapfile -t readme_lines < <(readme_install_lines "$root/README.md")
[ ${#readme_lines[@]} -ge 5 ] || fail "README.md: no \"Installing\" block with commands found"
# run_line ID LINE: one line of the block in /root/readme, answering apt's question as an operator would.
run_line() { { yes || true; } | in_machine "$1" bash -ec "cd /root/readme && $2"; }
# edit_config ID SED-EXPRESSION...: edits the machine's balancerd.yaml; fails when an expression changes nothing.
edit_config() {
    local m="$1" expression
    shift
    for expression in "$@"; do
        in_machine "$m" bash -ec "before=\$(md5sum < /etc/balancerd/balancerd.yaml)
            sed -i -e '$expression' /etc/balancerd/balancerd.yaml
            [ \"\$before\" != \"\$(md5sum < /etc/balancerd/balancerd.yaml)\" ] || { echo 'no line changed by $expression'; exit 1; }" || return 1
    done
}
for m in "${machines[@]}"; do
    mkdir -p "$work/$m/root/root/readme"
    cp "$deb" "$work/$m/root/root/readme/"
done
say "-- msua1: the README's block as written (the login server, and the safe machine with the CA)"
for line in "${readme_lines[@]}"; do
    check "msua1 \$ $line" run_line msua1 "$line"
done
check "msua1: balancerd active, balancerd-agent not enabled" \
    in_machine msua1 bash -c 'systemctl is-active balancerd && ! systemctl is-enabled balancerd-agent'
for m in "${agents[@]}"; do
    say "-- $m: the block with $m for msua1, and balancerd-agent (the README: a server that takes no logins)"
    for line in "${readme_lines[@]}"; do
        case "$line" in
            *"certs init"*) ;;
            *"certs issue"* | "cp balancerd-ca/"*) check "msua1 \$ ${line//msua1/$m}" run_line msua1 "${line//msua1/$m}" ;;
            "systemctl enable --now balancerd") check "$m \$ systemctl enable --now balancerd-agent" run_line "$m" "systemctl enable --now balancerd-agent" ;;
            "balancerd check"*)
                # "On each set host_id, tls.cert and tls.key": then the check.
                check "$m: host_id, tls.cert and tls.key set to $m in balancerd.yaml" edit_config "$m" \
                    "s/^host_id: msua1 /host_id: $m /" "s#/etc/balancerd/msua1\.pem#/etc/balancerd/$m.pem#" "s#/etc/balancerd/msua1\.key#/etc/balancerd/$m.key#"
                check "$m \$ $line" run_line "$m" "$line"
                ;;
            "install "*)
                [ -d "$work/$m/root/root/readme/$m" ] || { cp -a "$work/msua1/root/root/readme/$m" "$work/$m/root/root/readme/" && pass "folder $m copied from msua1 to $m (the scp)"; }
                check "$m \$ ${line//msua1/$m}" run_line "$m" "${line//msua1/$m}"
                ;;
            *) check "$m \$ $line" run_line "$m" "$line" ;;
        esac
    done
done

# ---- the site: a fixed load, a sessions folder, logins to the spares at once ------
# The shipped config reads /proc/loadavg, which here is the host's (other builds);
# a fixed load keeps the spares below max_load. mode always and slow_start 0s: every
# login goes to a spare from the first sample. msul2 gets the example application
# handler (a systemd unit of its own), which stores the critical messages of step 5.
fixed_load() {
    echo '0.20 0.20 0.20 1/100 1000' > "$work/$1/root/etc/balancerd/loadavg" && mkdir -p "$work/$1/root/var/lib/sessions" &&
        edit_config "$1" 's#^  load_file: /proc/loadavg#  load_file: /etc/balancerd/loadavg#'
}
store_handler() {
    install -m 755 "$root/examples/handler/store-handler.py" "$work/msul2/root/usr/local/bin/store-handler.py" &&
        in_machine msul2 systemd-run --unit=store-handler -p User=balancerd -p RuntimeDirectory=app -p StateDirectory=app \
            /usr/bin/python3 /usr/local/bin/store-handler.py --socket /run/app/handler.sock --store /var/lib/app/store.txt &&
        printf '  handler: /run/app/handler.sock\n' >> "$work/msul2/root/etc/balancerd/balancerd.yaml" &&
        in_machine msul2 balancerd check -c /etc/balancerd/balancerd.yaml
}
say "-- the site: fixed loads, sessions folders, mode always; the store handler on msul2"
for m in "${machines[@]}"; do
    check "$m: agent.load_file /etc/balancerd/loadavg (0.20 of load_limit 2.0), /var/lib/sessions" fixed_load "$m"
done
check "msua1: balancer.mode always, slow_start 0s" edit_config msua1 's/^  mode: overflow /  mode: always /' 's/^  slow_start: 60s /  slow_start: 0s /'
check "msul2: store-handler.py as unit store-handler (user balancerd), agent.handler /run/app/handler.sock" store_handler
for m in "${agents[@]}"; do check "$m \$ systemctl restart balancerd-agent" in_machine "$m" systemctl restart balancerd-agent; done
check "msua1 \$ systemctl restart balancerd" in_machine msua1 systemctl restart balancerd

# ---- 3. links, /login, the journal -------------------------------------------------
health() { ip netns exec bdboot-msua1 curl -s --max-time 5 http://127.0.0.1:8080/health; }
# peers_up ID...: every named peer's link is up over TLS 1.3 on msua1's /health (prints them).
peers_up() {
    health | python3 -c '
import json, sys
peers = {p["id"]: p for p in json.load(sys.stdin)["peers"]}
for id in sys.argv[1:]:
    p = peers[id]
    print(id, p["link"]["state"], p["link"].get("tls"), p["link"].get("tls_cipher"), "eligible" if p["eligible"] else p["excluded_because"])
sys.exit(0 if all(peers[i]["link"]["state"] == "up" and peers[i]["link"].get("tls") == "TLSv1.3" for i in sys.argv[1:]) else 1)' "$@"
}
peer_down() { health | python3 -c 'import json, sys; sys.exit(0 if any(p["id"] == sys.argv[1] and p["link"]["state"] != "up" for p in json.load(sys.stdin)["peers"]) else 1)' "$1"; }
# login: "<status> <Location>" of GET /login on msua1's address, from its namespace.
login() { ip netns exec bdboot-msua1 curl -s -o /dev/null --max-time 5 -w '%{http_code} %{redirect_url}' "http://${address[msua1]}:8080/login"; }
logins_to_spares() { login | grep -qE "^302 https://(${hostname[msua2]}|${hostname[msul2]})/login$"; }
# s_client_to_msua2 [OPTIONS]: what a TLS client on msua1 gets for "init" from msua2's agent.
s_client_to_msua2() {
    printf 'init\n' | ip netns exec bdboot-msua1 timeout 20 openssl s_client -connect "${address[msua2]}:5663" \
        -CAfile "$work/msua1/root/etc/balancerd/ca.pem" -verify_hostname "${hostname[msua2]}" -verify_return_error -quiet "$@" 2>&1
}
refused_without_certificate() {
    local out
    out="$(s_client_to_msua2)"
    echo "$out" | tail -2
    grep -q 'certificate required' <<<"$out" && ! grep -qE '^[0-9a-f]{32}$' <<<"$out"
}
challenge_with_certificate() {
    local out
    out="$(s_client_to_msua2 -cert "$work/msua1/root/etc/balancerd/msua1.pem" -key "$work/msua1/root/etc/balancerd/msua1.key")"
    echo "$out" | tail -1
    grep -qE '^[0-9a-f]{32}$' <<<"$out"
}
journal_has_link_lines() {
    local out
    out="$(in_machine msua1 journalctl -u balancerd --no-pager -o short-iso)"
    out="$(grep 'link up' <<<"$out")"
    tail -2 <<<"$out"
    grep -q 'peer=msua2' <<<"$out" && grep -q 'peer=msul2' <<<"$out"
}

say "-- links, /login, the journal"
wait_for 120 "msua1's links to msua2 and msul2 up over TLS 1.3 (/health)" peers_up msua2 msul2
check "msua1's /health: msua2 and msul2" peers_up msua2 msul2
check "msua1 \$ balancerd ctl status (over the daemon's control socket)" in_machine msua1 balancerd ctl status
check "mutual TLS: msua2's agent refuses a client without a certificate (openssl s_client)" refused_without_certificate
check "mutual TLS: with msua1's certificate the same client gets the challenge" challenge_with_certificate
wait_for 60 "GET /login on ${address[msua1]}:8080 answers 302 to a spare" logins_to_spares
say "     $(login)"
check "journalctl -u balancerd on msua1: the daemon's own lines (link up, per peer)" journal_has_link_lines

# ---- 4. systemctl reload applies a changed key --------------------------------------
# ExecReload is `balancerd ctl reload`: its answer is in the journal when systemctl reload returns.
reload_applied() { in_machine msua1 journalctl -u balancerd --no-pager -o cat | grep 'ok: reloaded' | tail -1 | grep balancer.spares; }
logins_to() { local i; for i in 1 2 3 4 5 6 7 8 9 10; do [ "$(login)" = "302 https://$1/login" ] || return 1; done; }
say "-- systemctl reload balancerd"
pid_before="$(main_pid msua1 balancerd)"
check "msua1: balancer.spares [msul2] in balancerd.yaml (was [msua2, msul2])" edit_config msua1 's/^  spares: \[msua2, msul2\] /  spares: [msul2] /'
check "msua1 \$ systemctl reload balancerd" in_machine msua1 systemctl reload balancerd
check "journalctl -u balancerd: reloaded, balancer.spares applied" reload_applied
check "every /login goes to msul2 (ten in a row)" logins_to "${hostname[msul2]}"
check "the same process as before the reload (MainPID $pid_before)" test "$(main_pid msua1 balancerd)" = "$pid_before"
# A file the daemon refuses: the reload fails and says why; the daemon runs on with the old one.
refused_reload() {
    local out
    out="$(in_machine msua1 systemctl reload balancerd 2>&1)" && { echo "systemctl reload succeeded: $out"; return 1; }
    out="$(in_machine msua1 journalctl -u balancerd --no-pager -o cat -n 20)"
    grep 'max_load' <<<"$out"
    grep -q 'balancer.max_load' <<<"$out" && in_machine msua1 systemctl is-active -q balancerd && logins_to "${hostname[msul2]}"
}
check "msua1: balancer.max_load 'lots' in balancerd.yaml" edit_config msua1 's/^  max_load: 100 /  max_load: lots /'
check "msua1 \$ systemctl reload balancerd: fails, the journal names balancer.max_load, logins go on as before" refused_reload
check "msua1: balancer.max_load 100 again" edit_config msua1 's/^  max_load: lots /  max_load: 100 /'
# The agent rereads its config on SIGHUP: its load_limit reaches msua1's polls.
msua2_load_is() { [ "$(health | python3 -c 'import json, sys; print(format([p["load"]["load_percent"] for p in json.load(sys.stdin)["peers"] if p["id"] == "msua2"][0], "g"))')" = "$1" ]; }
check "msua2: agent.load_limit 1.0 (was 2.0)" edit_config msua2 's/^  load_limit: 2.0 /  load_limit: 1.0 /'
check "msua2 \$ systemctl reload balancerd-agent" in_machine msua2 systemctl reload balancerd-agent
wait_for 60 "msua1 polls msua2's load at 20 % (0.20 of 1.0; was 10 %)" msua2_load_is 20 ||
    in_machine msua2 journalctl -u balancerd-agent --no-pager -o cat -n 6 | indent

# ---- 5. kill -9 with critical messages waiting --------------------------------------
# send_critical TEXT...: writes critical:store:TEXT to msua1's relay socket for msul2, one
# connection each, and prints the replies.
send_critical() {
    in_machine msua1 python3 -c '
import socket, sys
for text in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect("/run/balancerd/msul2")
    s.sendall(b"critical:store:" + text.encode() + b"\n")
    print(text, s.makefile().readline().strip())' "$@"
}
all_delayed() { local out; out="$(send_critical "$@")"; echo "$out"; [ "$(echo "$out" | grep -c ' con_delayed$')" = "$#" ]; }
delayed_is() { [ "$(ls "$work/msua1/root/var/lib/balancerd/delayed" | grep -c '\.msul2$')" = "$1" ]; }
journal_killed_and_restarted() {
    local journal
    journal="$(in_machine msua1 journalctl -u balancerd --no-pager -o cat)"
    grep -E 'status=9/KILL|Scheduled restart job' <<<"$journal"
    grep -q 'status=9/KILL' <<<"$journal" && [ "$(in_machine msua1 systemctl show -P NRestarts balancerd)" = 1 ]
}
store="$work/msul2/root/var/lib/app/store.txt"
stored_in_order() { [ "$(awk '{print $2, $3}' "$store" 2>/dev/null | tr '\n' ' ')" = "msua1 store:boot-1 msua1 store:boot-2 msua1 store:boot-3 " ]; }
say "-- kill -9 of balancerd while critical messages wait for a stopped agent"
check "msul2 \$ systemctl stop balancerd-agent" in_machine msul2 systemctl stop balancerd-agent
wait_for 60 "msua1 sees its link to msul2 down" peer_down msul2
check "msua1: critical:store:boot-1, -2, -3 to /run/balancerd/msul2, each answered con_delayed" all_delayed boot-1 boot-2 boot-3
check "msua1: three files for msul2 in /var/lib/balancerd/delayed" delayed_is 3
pid_killed="$(main_pid msua1 balancerd)"
check "msua1 \$ kill -9 $pid_killed (balancerd's MainPID)" in_machine msua1 bash -c "kill -9 $pid_killed"
wait_for 60 "systemd restarts balancerd (Restart=on-failure): active with a new MainPID" restarted msua1 balancerd "$pid_killed"
check "journalctl: killed by SIGKILL, restarted once (NRestarts=1), now MainPID $(main_pid msua1 balancerd)" journal_killed_and_restarted
check "msua1: the three files still in delayed/ after the restart" delayed_is 3
check "msul2 \$ systemctl start balancerd-agent" in_machine msul2 systemctl start balancerd-agent
# The restarted daemon's link to msul2 is in backoff (links.backoff_max 30s) until it tries again.
wait_for 120 "msul2's store holds boot-1, boot-2, boot-3 from msua1, in order, once each" stored_in_order
[ -f "$store" ] && indent < "$store"
wait_for 30 "msua1: delayed/ empty" delayed_is 0

# ---- 6. what the running unit has --------------------------------------------------
say "-- the running unit"
check "msua1 \$ systemd-analyze security balancerd.service: exposure below 2.0" security_score msua1 balancerd.service
check "balancerd's process: user balancerd, no capabilities, no_new_privs, seccomp, / read-only" process_sandbox msua1 balancerd /var/lib/balancerd

# ---- 7. systemctl stop ------------------------------------------------------------
say "-- systemctl stop"
check "msua1 \$ systemctl stop balancerd: within TimeoutStopSec, exit 0" stops msua1 balancerd
for m in "${agents[@]}"; do check "$m \$ systemctl stop balancerd-agent: within TimeoutStopSec, exit 0" stops "$m" balancerd-agent; done

say "== boot-test: $((SECONDS - started))s"
say "$passed passed, $failed failed"
[ $failed -eq 0 ]
