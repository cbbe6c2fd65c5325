# Sourced by the relay benchmarks (run.sh, handler.sh): a release build, a
# temporary folder removed on exit, two servers' config on free ports
# (Benchmarks/common.sh). Then `start_relay_pair [agent env...]` starts the
# agent a2 (with the extra environment given, e.g. a handler) and `serve` s1,
# whose relay socket for a2 is "$WORK/run/a2".
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. Benchmarks/common.sh
swift build -c release --product balancerd >/dev/null
BIN=.build/release/balancerd
WORK=$(mktemp -d "${TMPDIR:-/tmp}/balancerd-relay-XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
free_port S1_PORT
free_port A2_PORT
write_pair_config "$WORK" "$S1_PORT" "$A2_PORT"

start_relay_pair() {
    env BALANCERD_HOST_ID=a2 BALANCERD_AGENT_LISTEN="127.0.0.1:$A2_PORT" "$@" $BIN agent -c "$WORK/balancerd.yaml" --log-level error &
    $BIN serve -c "$WORK/balancerd.yaml" --log-level error &
}
