import TestSupport

/// The seeded-random fuzzers' way of making inputs (`Tests/TestSupport/Fuzz.swift`:
/// random bytes, and random edits of a valid input), per target, as inputs of the
/// coverage-guided target. `make fuzz` runs each target twice for the same time,
/// once with libFuzzer's coverage-guided mutations and once with these
/// (`BALANCERD_FUZZ_RANDOM=1`), under the same instrumentation, so the edges each
/// reaches compare directly (RELIABILITY.md, "Fuzzing").
extension FuzzTarget {
    /// The valid input the edits start from: what the seeded-random fuzzers start from.
    public static let validHostsTable = Array("""
        # id:domain:role:hostname:ip[:port]
        msul1:msu:library:zaphod.lite.msu.edu:35.8.63.51
        msua1:msu:access:agrajag.lite.msu.edu:35.8.63.68:5663
        lb2:demo:access:lb2.localhost:[::1]:5702
        c:d:access:c.example:2001:db8::7
        """.utf8)
    static let validConfig = Array("""
        host_id: msua1
        hosts_table: hosts.tab
        tls:
          insecure: true
        links:
          port: 5663
          request_timeout: 60s
          pipeline_depth: 64
          max_line: 65536
        poll:
          interval: 2s
          timeout: 1s
          stale_after: 6s
        balancer:
          mode: overflow
          spares: [msua2]
          max_load: 100
          readmit_load: 90
        http:
          listen: 0.0.0.0:8080
          threads: 4
          status_allow: [127.0.0.0/8, "::1/128"]

        """.utf8)
    static let agentHandshake = Array("init\n\u{0}$C\nsethost:agent1\nversion:1.0 ids\n".utf8)

    /// What a status-page text is made of: HTML's special characters, combining
    /// marks (U+0301, U+0338, U+20D2), joiners, and plain text.
    static let htmlPieces = ["\"", "'", "<", ">", "&", "=", " ", "/", "\u{301}", "\u{338}", "\u{20D2}", "\u{200D}", "a", "on", "x=", "script", "\n", "é", "-->", "<!--"]

    /// One input made the seeded-random way.
    public func seededRandomInput<G: RandomNumberGenerator>(using rng: inout G) -> [UInt8] {
        switch self {
        case .lineFramer:
            // FuzzTests.lineFramer: a limit of 1…48, then 0…300 random bytes (the chunking byte is random too).
            return [UInt8.random(in: 0...47, using: &rng), UInt8.random(in: 0...255, using: &rng)]
                + Fuzz.bytes(Int.random(in: 0...300, using: &rng), using: &rng)
        case .hostsTable:
            // FuzzTests.hostsTable: one in eight random bytes, else edits of a valid table.
            return Int.random(in: 0..<8, using: &rng) == 0
                ? Fuzz.bytes(Int.random(in: 0...200, using: &rng), using: &rng) : Fuzz.mutate(Self.validHostsTable, using: &rng)
        case .config:
            // ConfigFuzzTests: edits of a full config.
            return Fuzz.mutate(Self.validConfig, using: &rng)
        case .agent:
            // AgentProtocolTests' random bytes after the handshake.
            return Self.agentHandshake + Fuzz.bytes(Int.random(in: 0...300, using: &rng), using: &rng)
        case .loginLocation:
            // HTTPRouterTests.fuzz: a rest of "/" and 0…24 random bytes, a query of 0…24 (no 0 byte: it separates them).
            let rest = (0..<Int.random(in: 0...24, using: &rng)).map { _ in UInt8.random(in: 1...255, using: &rng) }
            let query = (0..<Int.random(in: 0...24, using: &rng)).map { _ in UInt8.random(in: 1...255, using: &rng) }
            return [0, UInt8(ascii: "/")] + rest + [0] + query
        case .linkStateMachine:
            // No seeded fuzzer of their own: plain random bytes.
            return Fuzz.bytes(Int.random(in: 0...300, using: &rng), using: &rng)
        case .statusPage:
            // StatusPageTests.fuzz: a flags byte, then 18 texts of 0…12 characters from HTML's
            // special characters, combining marks and plain letters, sometimes random bytes.
            var input = [UInt8.random(in: 0...255, using: &rng)]
            for _ in 0..<18 {
                if Int.random(in: 0..<8, using: &rng) == 0 {
                    input += Fuzz.bytes(Int.random(in: 0...12, using: &rng), using: &rng).map { $0 == 0 ? 1 : $0 }
                } else {
                    let text = (0..<Int.random(in: 0...12, using: &rng)).map { _ in Self.htmlPieces.randomElement(using: &rng) ?? "" }.joined()
                    input += Array(text.utf8)
                }
                input.append(0)
            }
            return input
        }
    }
}
