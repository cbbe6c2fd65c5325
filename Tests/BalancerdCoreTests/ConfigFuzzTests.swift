import Foundation
import Testing
import TestSupport
import BalancerdCore

/// Seeded random edits of a full balancerd.yaml: the loader never crashes or
/// hangs, what it accepts is usable, and every refusal points at a file
/// (the config, or the hosts table it names).
/// `make test` tries 3,000 configs; `make soak` 1,000,000.
@Suite("fuzz: config loader")
struct ConfigFuzzTests {
    static let full = Array("""
        host_id: msua1
        hosts_table: hosts.tab
        state_dir: state
        socket_dir: run
        tls:
          ca: ca.pem
          cert: msua1.pem
          key: msua1.key
        links:
          port: 5663
          connect_timeout: 5s
          request_timeout: 60s
          keepalive: 30s
          max_attempts: 15
          backoff_initial: 500ms
          backoff_max: 30s
          pipeline_depth: 64
          max_line: 65536
        poll:
          interval: 2s
          timeout: 1s
          stale_after: 6s
          history: 900
        balancer:
          mode: overflow
          spares: [msua2, huba20]
          same_domain: false
          login_cost: 0.5
          max_load: 100
          readmit_load: 90
          slow_start: 30s
          login_path: /adm/login
        http:
          listen: 0.0.0.0:8080
          threads: 4
          connection_limit: 1024
          connection_timeout: 10s
          per_address_limit: 256
          status_allow: [127.0.0.0/8, "::1/128", 10.0.0.0/8]
        agent:
          listen: 0.0.0.0:5663
          load_limit: 4.0
          user_load_limit: 100
          active_window: 10m

        """.utf8)

    @Test("random edits of a full config load or fail with problems naming the file")
    func configLoader() async throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        let path = fixture.directory.appendingPathComponent("balancerd.yaml").path
        let loader = ConfigLoader(environment: [:])
        // The unedited config must load, or every mutation below fails for one reason.
        _ = try loader.load(text: String(decoding: Self.full, as: UTF8.self), path: path)

        let iterations = Fuzz.iterations(default: 3_000)
        let seed = Fuzz.seed(0x5EED_0003)
        var rng = SeededGenerator(seed: seed)
        var accepted = 0
        for iteration in 0..<iterations {
            // Seconds of CPU on one of the two threads Swift concurrency shares between
            // tests: let the others' tasks (pollers, agents) run between iterations.
            if iteration % 50 == 0 { await Task.yield() }
            let text = String(decoding: Fuzz.mutate(Self.full, using: &rng), as: UTF8.self)
            let context = "seed \(seed) iteration \(iteration):\n\(text)"
            do {
                let config = try loader.load(text: text, path: path).config
                accepted += 1
                #expect(config.http.threads >= 1 && config.links.pipelineDepth >= 1 && config.links.maxLine >= 1, "\(context)")
                #expect(config.poll.interval > .zero && config.links.connectTimeout > .zero, "\(context)")
                #expect(config.balancer.readmitLoad <= config.balancer.maxLoad, "\(context)")
            } catch {
                #expect(!error.problems.isEmpty, "\(context)")
                for problem in error.problems {
                    // The config file itself, or the hosts table it names (an absolute path).
                    #expect(problem.location.hasPrefix(path) || problem.location.hasPrefix("/"), "\(problem) — \(context)")
                    #expect(!problem.message.isEmpty, "\(context)")
                }
            }
        }
        #expect(accepted > iterations / 50, "the edits must leave some configs valid")
    }
}
