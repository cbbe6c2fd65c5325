#!/usr/bin/env bash
# Runs every coverage-guided fuzz target (Fuzz/Targets) for SECONDS each, twice:
# libFuzzer's coverage-guided mutations, then the seeded-random fuzzers' inputs
# (BALANCERD_FUZZ_RANDOM=1) for the same time and instrumentation, and prints a
# table of executions and edges reached. New inputs go to .build-fuzz/corpus/<target>
# (the seeds in Fuzz/Corpus/<target> are read, never written); a crash or broken
# invariant is saved to .build-fuzz/crashes/ and fails the run: copy it into
# Fuzz/Corpus/<target>/ under a name that says what it found, fix, and it stays
# a regression test (make test replays every corpus).
#
# Usage: scripts/fuzz.sh SECONDS [TARGET…]   (the binary: make fuzz-build)
set -u
seconds=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(line-framer hosts-table config login-location agent link-state-machine status-page)
binary=${FUZZ_BINARY:-.build-fuzz/debug/balancerd-fuzz}
[ -x "$binary" ] || { echo "fuzz.sh: $binary is missing: run make fuzz-build first" >&2; exit 2; }
mkdir -p .build-fuzz/crashes .build-fuzz/logs
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
# libFuzzer reports a crash itself; the Swift runtime's backtracer would only get in its way.
export SWIFT_BACKTRACE=enable=no
failed=0
printf '| target | mode | seconds | executions | edges (cov) | features (ft) | corpus | crashes |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n'
for target in "${targets[@]}"; do
    [ -d "Fuzz/Corpus/$target" ] || { echo "fuzz.sh: no seed corpus Fuzz/Corpus/$target" >&2; exit 2; }
    for mode in coverage-guided seeded-random; do
        work=.build-fuzz/corpus/$target-$mode
        rm -rf "$work" && mkdir -p "$work"
        rm -f .build-fuzz/crashes/"$target-$mode"-*
        log=.build-fuzz/logs/$target-$mode.log
        random=0; [ "$mode" = seeded-random ] && random=1
        BALANCERD_FUZZ_TARGET=$target BALANCERD_FUZZ_RANDOM=$random "$binary" \
            -max_total_time="$seconds" -max_len=4096 -timeout=60 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix=".build-fuzz/crashes/$target-$mode-" "$work" "Fuzz/Corpus/$target" >"$log" 2>&1
        status=$?
        executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        progress=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
        edges=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$progress")
        features=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$progress")
        corpus=$(ls "$work" | wc -l)
        crashes=$(ls .build-fuzz/crashes | grep -c "^$target-$mode-" || true)
        printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$target" "$mode" "$seconds" "${executions:-?}" "${edges:-?}" "${features:-?}" "$corpus" "$crashes"
        if [ $status -ne 0 ]; then
            failed=1
            echo "fuzz.sh: $target ($mode) stopped with status $status; see $log and .build-fuzz/crashes/" >&2
            grep -m 3 -E 'invariant broken|ERROR: AddressSanitizer|Fatal error|deadly signal' "$log" >&2
        fi
    done
done
exit $failed
