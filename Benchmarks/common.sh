# Sourced by the benchmark scripts (from the repository's root): free
# loopback ports, so benchmarks run by several people on one machine at the
# same time never collide, and the two-server set-up they share.

# free_port VAR: the package tests' helper (a port nothing listens on, never
# handed out twice).
. Tests/package/common.sh

# write_pair_config DIR S1_PORT A2_PORT [EXTRA_YAML] [AGENT_KEYS]: the hosts
# table of two servers on loopback (s1, the `serve` measured, and a2, an
# agent), a load file for the agent, and DIR/balancerd.yaml, which both read
# (a2 through BALANCERD_HOST_ID and BALANCERD_AGENT_LISTEN). EXTRA_YAML: more
# top-level lines (an `http:` line replaces the default one); AGENT_KEYS:
# more keys for the `agent:` section.
write_pair_config() {
    local dir=$1 s1=$2 a2=$3 extra=${4:-} agent_keys=${5:-}
    printf 's1:bench:access:s1.localhost:127.0.0.1:%s\na2:bench:access:a2.localhost:127.0.0.1:%s\n' "$s1" "$a2" > "$dir/hosts.tab"
    echo "0.20 0.20 0.20 1/1 1" > "$dir/load"
    mkdir -p "$dir/sessions"
    {
        printf 'host_id: s1\nhosts_table: hosts.tab\nstate_dir: state\nsocket_dir: run\ntls: {insecure: true}\n'
        grep -q '^http:' <<<"$extra" || echo 'http: {listen: "127.0.0.1:0"}'
        [ -z "$extra" ] || printf '%s\n' "$extra"
        echo "agent: {load_file: load, load_limit: 1, sessions_dir: sessions${agent_keys:+, $agent_keys}}"
    } > "$dir/balancerd.yaml"
}
