#!/usr/bin/env bash
# Is the suite flaky? Runs it again and again, each run reported (rc, time,
# failures, the machine's load), while another build loads the machine:
#   SUITE   CI's `bash .ci/run` (`make test`, then `make boot-test`), each in a
#           fresh clone of REF (default 5 runs; --command to run another)
#   SWIFT   the Swift tests alone as `make test` runs them, in one clone built
#           once (default 20 runs)
# A run past its time limit is taken as a hang: every thread of the test
# process is printed (gdb, names demangled) into its log, then the run is killed.
#
# Usage: Tests/flake-rounds.sh [--suite N] [--swift N] [--command CMD] [--no-load] [--out DIR] [REPO [REF]]
#   REPO (default: this checkout) and REF (default: its HEAD) are what is cloned.
#   --no-load   no load of our own (the machine may be busy anyway; the load
#               average is in the report either way)
#   --out DIR   where the report (report.md) and the logs go (default
#               /tmp/balancerd-rounds-<time>)
# Needs what `make test` needs (root for its package tests). Takes about
# 20 minutes per suite run and 2 per Swift run on 2 cores while loaded.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
. "$here/scripts/apt-packages.sh"
install_missing gdb git
suite_runs=5 swift_runs=20 load=1 out="" command="bash .ci/run"
while [ $# -gt 0 ]; do
    case "$1" in
        --suite) suite_runs="$2"; shift 2 ;;
        --swift) swift_runs="$2"; shift 2 ;;
        --command) command="$2"; shift 2 ;;
        --no-load) load=0; shift ;;
        --out) out="$2"; shift 2 ;;
        -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
        *) break ;;
    esac
done
repo="${1:-$here}"
ref="$(git -C "$repo" rev-parse "${2:-HEAD}")" || exit 1
out="${out:-/tmp/balancerd-rounds-$(date -u +%Y%m%dT%H%M%S)}"
mkdir -p "$out"
report="$out/report.md"
SUITE_LIMIT=${SUITE_LIMIT:-5400}   # seconds: a suite run past this is a hang (CI's whole budget is 3600)
SWIFT_LIMIT=${SWIFT_LIMIT:-1200}   # a Swift run takes 1 to 3 minutes
loader_pid=""

# clone DIR: a fresh clone of REF in DIR, as CI makes it.
clone() {
    rm -rf "$1" && git clone -q "$repo" "$1" && git -C "$1" checkout -q "$ref"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# The other build: a clone of REF built from scratch in a loop, at normal priority.
start_load() {
    [ "$load" = 1 ] || return 0
    clone "$out/load-clone" || return 1
    (
        cd "$out/load-clone" || exit 1
        while :; do rm -rf .build; swift build --build-tests > /dev/null 2>&1; done
    ) &
    loader_pid=$!
}
stop_load() {
    [ -n "$loader_pid" ] || return 0
    pkill -TERM -P "$loader_pid" 2>/dev/null
    kill -TERM "$loader_pid" 2>/dev/null
    wait "$loader_pid" 2>/dev/null
    loader_pid=""
}
trap 'stop_load' EXIT

# run_limited LIMIT LOG COMMAND...: runs COMMAND in a session of its own with its
# output in LOG; past LIMIT seconds prints every thread of the test processes into
# LOG (gdb) and kills them all. Sets rc and seconds.
run_limited() {
    local limit="$1" log="$2" pid started=$SECONDS test_pid
    shift 2
    setsid "$@" > "$log" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if [ $((SECONDS - started)) -ge "$limit" ]; then
            echo "== flake-rounds: still running after ${limit}s: taken as a hang; the test processes' threads:" >> "$log"
            for test_pid in $(pgrep -s "$pid" -f 'PackageTests.xctest|swift-testing' 2>/dev/null); do
                echo "-- pid $test_pid: $(tr '\0' ' ' < "/proc/$test_pid/cmdline")" >> "$log"
                timeout 300 gdb -p "$test_pid" -batch -ex 'thread apply all bt' 2>&1 | swift demangle --simplified >> "$log"
            done
            # Every process of the run's session: swift test puts the test process in a group of its own.
            pkill -KILL -s "$pid" 2>/dev/null
            break
        fi
        sleep 5
    done
    wait "$pid"
    rc=$?
    seconds=$((SECONDS - started))
}

# summary LOG: the Swift tests' result line and the failed tests, then any other failures.
summary() {
    local swift failed other
    swift="$(grep -aE '^. Test run with [0-9]+ tests' "$1" | tail -1 | sed -E 's/^. Test run with //')"
    failed="$(grep -aE '^✘ Test .* (failed|recorded an issue)' "$1" | sed -E 's/^✘ Test "([^"]*)".*/\1/' | sort -u | head -5 | paste -sd ';' -)"
    other="$(grep -aE '^FAIL |^make: \*\*\*|not all faults|did not move|: [1-9][0-9]* failed$' "$1" | head -3 | paste -sd ';' -)"
    printf '%s' "${swift:-no Swift result line}"
    [ -z "$failed" ] || printf '; failed: %s' "$failed"
    [ -z "$other" ] || printf '; %s' "$other"
}

{
    echo "# Flake rounds: $(git -C "$repo" log -1 --format='%h %s' "$ref" | cut -c1-80)"
    echo
    echo "Started $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores; load of our own: $([ "$load" = 1 ] && echo "a clone of the same commit rebuilt from scratch in a loop" || echo none)."
    echo
    echo "| run | what | rc | time | load at start / end | result |"
    echo "| --- | --- | --- | --- | --- | --- |"
} > "$report"
start_load
failures=0
for i in $(seq 1 "$suite_runs"); do
    dir="$out/suite-$i"
    clone "$dir" || { echo "| $i | make test | clone failed | | | |" >> "$report"; failures=$((failures + 1)); continue; }
    before="$(loadavg)"
    run_limited "$SUITE_LIMIT" "$out/suite-$i.log" bash -c "cd '$dir' && $command"
    echo "| $i | $command, fresh clone | $rc | $((seconds / 60)) min $((seconds % 60)) s | $before / $(loadavg) | $(summary "$out/suite-$i.log") |" >> "$report"
    [ "$rc" = 0 ] || failures=$((failures + 1))
    rm -rf "$dir"
done
if [ "$swift_runs" -gt 0 ]; then
    dir="$out/swift"
    clone "$dir" && (cd "$dir" && make --no-print-directory build test-deps > "$out/swift-build.log" 2>&1 &&
        swift build --build-tests >> "$out/swift-build.log" 2>&1) || { echo "swift build failed: $out/swift-build.log" >> "$report"; exit 1; }
    for i in $(seq 1 "$swift_runs"); do
        before="$(loadavg)"
        run_limited "$SWIFT_LIMIT" "$out/swift-$i.log" bash -c "cd '$dir' && swift test --skip-build --no-parallel"
        echo "| $i | swift test --no-parallel | $rc | $((seconds / 60)) min $((seconds % 60)) s | $before / $(loadavg) | $(summary "$out/swift-$i.log") |" >> "$report"
        [ "$rc" = 0 ] || failures=$((failures + 1))
    done
    rm -rf "$dir"
fi
stop_load
rm -rf "$out/load-clone"
{ echo; echo "$failures of $((suite_runs + swift_runs)) runs failed. Logs: $out"; } >> "$report"
cat "$report"
[ "$failures" = 0 ]
