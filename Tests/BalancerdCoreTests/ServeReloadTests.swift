import Foundation
import Lonc
import Testing
import BalancerdCore

/// `balancerd serve`'s reload, key by key: each reloadable key is changed in a
/// running daemon, `ctl reload` names it as applied, and its effect shows on
/// /health or /login. Keys that need a restart are named as such.
@Suite("serve: every reloadable key takes effect on reload", .serialized)
struct ServeReloadTests {
    /// One key's scenario: the config before start, the change, and what shows it took effect.
    struct Scenario: Sendable {
        var setup: @Sendable (ProcessCluster) throws -> Void = { _ in }
        /// Holds before the reload (so the effect is the reload's, not the start's).
        var before: @Sendable (ProcessCluster) async -> Bool = { _ in true }
        var change: @Sendable (ProcessCluster) throws -> Void
        var effect: @Sendable (ProcessCluster) async -> Bool
    }

    static let always = "balancer: {mode: always, spares: [s2], slow_start: 0s, login_cost: 0"

    static func location(_ cluster: ProcessCluster) -> String? { cluster.get("/login").flatMap { header("Location", in: $0) } }

    static func sessionFile(_ path: String, age: Double) {
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        let time = Date().timeIntervalSince1970 - age
        var times = [timespec(tv_sec: Int(time), tv_nsec: 0), timespec(tv_sec: Int(time), tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, path, &times, 0)
    }

    static let scenarios: [String: Scenario] = [
        "hosts_table": Scenario(
            setup: { cluster in
                let table = try String(contentsOfFile: cluster.directory + "/hosts.tab", encoding: .utf8)
                try (table + "s4:test:access:s4.localhost:127.0.0.1:1\n").write(toFile: cluster.directory + "/hosts2.tab", atomically: true, encoding: .utf8)
            },
            change: { try $0.setConfigLine("hosts_table:", "hosts_table: hosts2.tab") },
            effect: { $0.peer("s4") != nil }),
        "poll.interval": Scenario(
            before: { cluster in cluster.peer("s2")?.load.ageSeconds.map { $0 < 0.5 } ?? false },
            change: { try $0.setConfigLine("poll:", "poll: {interval: 900ms, timeout: 150ms, stale_after: 1s}") },
            effect: { cluster in (cluster.peer("s2")?.load.ageSeconds ?? 0) > 0.5 }),
        "poll.stale_after": Scenario(
            before: { $0.peer("s2")?.load.loadPercent != nil },
            change: { cluster in
                try cluster.setConfigLine("poll:", "poll: {interval: 200ms, timeout: 150ms, stale_after: 30s}")
            },
            effect: { cluster in
                // Reload first, then stop s2: its last sample ages past the old 1 s and is not stale under the new 30 s.
                if cluster.processes["s2"] != nil { cluster.kill("s2") }
                guard let load = cluster.peer("s2")?.load, let age = load.ageSeconds else { return false }
                return age > 1.5 && !load.stale
            }),
        "poll.history": Scenario(
            before: { cluster in (cluster.peer("s2")?.history.count ?? 0) > 3 },
            change: { try $0.setConfigLine("poll:", "poll: {interval: 200ms, timeout: 150ms, stale_after: 1s, history: 3}") },
            effect: { $0.peer("s2")?.history.count == 3 }),
        "balancer.mode": Scenario(
            before: { $0.health()?.balancer.target == "self" },
            change: { try $0.setConfigLine("balancer:", "balancer: {mode: always, spares: [s2, s3], slow_start: 0s, login_cost: 0}") },
            effect: { cluster in cluster.health().map { $0.balancer.mode == "always" && ["s2", "s3"].contains($0.balancer.target) } ?? false }),
        "balancer.spares": Scenario(
            before: { $0.peer("s3")?.spare == true },
            change: { try $0.setConfigLine("balancer:", "balancer: {mode: overflow, spares: [s2], slow_start: 0s, login_cost: 0}") },
            effect: { $0.peer("s3")?.spare == false }),
        "balancer.same_domain": Scenario(
            setup: { cluster in
                let table = try String(contentsOfFile: cluster.directory + "/hosts.tab", encoding: .utf8)
                try table.replacingOccurrences(of: "s3:test:", with: "s3:other:").write(toFile: cluster.directory + "/hosts.tab", atomically: true, encoding: .utf8)
                try cluster.setConfigLine("balancer:", "balancer: {mode: always, spares: [s3], same_domain: false, slow_start: 0s, login_cost: 0}")
            },
            before: { $0.health()?.balancer.target == "s3" },
            change: { try $0.setConfigLine("balancer:", "balancer: {mode: always, spares: [s3], same_domain: true, slow_start: 0s, login_cost: 0}") },
            effect: { $0.health()?.balancer.target == "none" }),
        "balancer.login_cost": Scenario(
            setup: { cluster in
                try cluster.setConfigLine("poll:", "poll: {interval: 5s, timeout: 1s, stale_after: 12s}")
                try cluster.setConfigLine("balancer:", always + "}")
            },
            before: { $0.peer("s2")?.load.effectivePercent != nil },
            change: { try $0.setConfigLine("balancer:", "balancer: {mode: always, spares: [s2], slow_start: 0s, login_cost: 20}") },
            effect: { cluster in
                guard cluster.login() == "s2", let load = cluster.peer("s2")?.load,
                    let predicted = load.predictedPercent, let effective = load.effectivePercent
                else { return false }
                return predicted - effective >= 19.9
            }),
        "balancer.max_load": Scenario(
            setup: { cluster in
                cluster.setLoad("s2", percent: 70)
                try cluster.setConfigLine("balancer:", always + ", readmit_load: 50}")
            },
            before: { $0.health()?.balancer.target == "s2" },
            change: { try $0.setConfigLine("balancer:", always + ", readmit_load: 50, max_load: 60}") },
            effect: { $0.health()?.balancer.target == "none" }),
        "balancer.readmit_load": Scenario(
            setup: { cluster in
                cluster.setLoad("s2", percent: 70)
                try cluster.setConfigLine("balancer:", always + ", max_load: 60, readmit_load: 20}")
            },
            before: { cluster in
                // Excluded once the balancer has seen it at 70 % (its own reason, not only the
                // poller's newest figure, which can be one publish ahead: 70 then 40 within
                // one publish and the balancer never sees 70); back at 40 % it stays out
                // (above readmit_load 20).
                guard let peer = cluster.peer("s2"), let load = peer.load.loadPercent, cluster.health()?.balancer.target == "none" else { return false }
                if load == 70, peer.excludedBecause?.contains("at or above max_load") == true { cluster.setLoad("s2", percent: 40) }
                return load == 40 && peer.excludedBecause?.contains("has not come back below readmit_load") == true
            },
            change: { try $0.setConfigLine("balancer:", always + ", max_load: 60, readmit_load: 50}") },
            effect: { $0.health()?.balancer.target == "s2" }),
        "balancer.slow_start": Scenario(
            setup: { try $0.setConfigLine("balancer:", always + "}") },
            before: { $0.health()?.balancer.target == "s2" },
            change: { try $0.setConfigLine("balancer:", "balancer: {mode: always, spares: [s2], slow_start: 600s, login_cost: 0}") },
            effect: { cluster in
                // A spare that rejoins (undrained) now starts with a small share.
                let socket = cluster.directory + "/run/control"
                guard (try? ControlClient.send("drain s2", to: socket))?.hasPrefix("ok") == true,
                    (try? ControlClient.send("undrain s2", to: socket))?.hasPrefix("ok") == true,
                    cluster.login() != nil,
                    let body = cluster.get("/decisions")?.components(separatedBy: "\r\n\r\n").dropFirst().first,
                    let decisions = try? DecisionsDocument(json: Data(body.utf8)),
                    let share = decisions.decisions.first?.candidates.first(where: { $0.id == "s2" })?.share
                else { return false }
                return share < 0.5
            }),
        "balancer.local_login_url": Scenario(
            before: { location($0) == "https://s1.localhost/login" },
            change: { try $0.setConfigLine("balancer:", "balancer: {mode: overflow, spares: [s2, s3], slow_start: 0s, login_cost: 0, local_login_url: \"https://elsewhere.example/x\"}") },
            effect: { location($0) == "https://elsewhere.example/x" }),
        "balancer.scheme": Scenario(
            setup: { try $0.setConfigLine("balancer:", always + "}") },
            before: { location($0) == "https://s2.localhost/login" },
            change: { try $0.setConfigLine("balancer:", always + ", scheme: http}") },
            effect: { location($0) == "http://s2.localhost/login" }),
        "balancer.login_path": Scenario(
            setup: { try $0.setConfigLine("balancer:", always + "}") },
            before: { location($0) == "https://s2.localhost/login" },
            change: { try $0.setConfigLine("balancer:", always + ", login_path: /enter}") },
            effect: { location($0) == "https://s2.localhost/enter" }),
        "agent.load_limit": Scenario(
            before: { $0.health()?.own.loadPercent == 10 },
            change: { try $0.setConfigLine("agent:", "agent: {load_file: load-s1, sessions_dir: sessions, load_limit: 0.5}") },
            effect: { $0.health()?.own.loadPercent == 20 }),
        "agent.user_load_limit": Scenario(
            setup: { cluster in for index in 0..<2 { sessionFile("\(cluster.directory)/sessions/s\(index)", age: 0) } },
            before: { $0.health()?.own.userloadPercent == 0.4 },
            change: { try $0.setConfigLine("agent:", "agent: {load_file: load-s1, sessions_dir: sessions, load_limit: 1, user_load_limit: 4}") },
            effect: { $0.health()?.own.userloadPercent == 50 }),
        "agent.sessions_dir": Scenario(
            setup: { cluster in
                try FileManager.default.createDirectory(atPath: cluster.directory + "/sessions2", withIntermediateDirectories: true)
                sessionFile(cluster.directory + "/sessions2/one", age: 0)
            },
            before: { $0.health()?.own.userloadPercent == 0 },
            change: { try $0.setConfigLine("agent:", "agent: {load_file: load-s1, sessions_dir: sessions2, load_limit: 1}") },
            effect: { $0.health()?.own.userloadPercent == 0.2 }),
        "agent.active_window": Scenario(
            setup: { cluster in sessionFile(cluster.directory + "/sessions/ten-minutes-old", age: 600) },
            before: { $0.health()?.own.userloadPercent == 0.2 },
            change: { try $0.setConfigLine("agent:", "agent: {load_file: load-s1, sessions_dir: sessions, load_limit: 1, active_window: 5m}") },
            effect: { $0.health()?.own.userloadPercent == 0 }),
        "agent.load_file": Scenario(
            setup: { cluster in cluster.setLoad("s2", percent: 50) },
            before: { $0.health()?.own.loadPercent == 10 },
            change: { try $0.setConfigLine("agent:", "agent: {load_file: load-s2, sessions_dir: sessions, load_limit: 1}") },
            effect: { $0.health()?.own.loadPercent == 50 }),
    ]

    @Test("a changed key is applied on reload, named in ctl reload's answer, and in effect", arguments: scenarios.keys.sorted())
    func reloadableKey(key: String) async throws {
        let scenario = try #require(Self.scenarios[key])
        let cluster = try ProcessCluster(agents: ["s2", "s3"])
        defer { cluster.stopAll() }
        try scenario.setup(cluster)
        for id in cluster.agentIDs { try cluster.startAgent(id) }
        try cluster.startServe()
        #expect(await waitFor { cluster.health()?.peers.allSatisfy { $0.link.state == .up } == true } != nil)
        #expect(await waitFor { await scenario.before(cluster) } != nil, "the state before the reload: \(cluster.get("/health") ?? "")")
        try scenario.change(cluster)
        let answer = try cluster.ctlReload()
        // balancer.scheme and balancer.login_path also change the local_login_url made from them.
        let applied = answer.components(separatedBy: "applied ").last?.components(separatedBy: ", ") ?? []
        #expect(answer.hasPrefix("ok: reloaded") && applied.contains(key) && !answer.contains("restart needed"), "\(answer)")
        #expect(await waitFor { await scenario.effect(cluster) } != nil, "\(key) in effect after the reload: \(cluster.get("/health") ?? "")")
    }

    @Test("keys that need a restart are named in the answer and the log, and keep their running values")
    func restartKeys() async throws {
        let cluster = try ProcessCluster(agents: ["s2"])
        defer { cluster.stopAll() }
        try cluster.startAgent("s2")
        try cluster.startServe()
        #expect(
            await waitFor { cluster.peer("s2")?.link.state == .up } != nil,
            "s1: \(cluster.log("s1").suffix(1500))\ns2: \(cluster.log("s2").suffix(1500))\n/health: \(cluster.get("/health?peer=s2") ?? "none")")
        let since = cluster.peer("s2")?.link.since
        try cluster.setConfigLine("links:", "links: {connect_timeout: 1s, request_timeout: 2s, keepalive: 3s, backoff_initial: 100ms, backoff_max: 500ms, max_attempts: 1000}")
        try cluster.setConfigLine("http:", "http: {listen: \"127.0.0.1:\(cluster.httpPort)\", threads: 3}")
        let answer = try cluster.ctlReload()
        #expect(answer.hasSuffix("no key changed; restart needed for links.keepalive, http.threads (still running the old values)"), "\(answer)")
        #expect(await waitFor { cluster.log("s1").contains("keys=links.keepalive, http.threads") && cluster.log("s1").contains("reload: restart needed") } != nil)
        #expect(cluster.peer("s2")?.link.since == since, "the link was not remade")
    }
}

/// A waiting helper for conditions that need `await`.
func waitFor(_ timeout: Duration = failureBound, _ condition: () async -> Bool) async -> Duration? {
    let start = ContinuousClock.now
    while ContinuousClock.now - start < timeout {
        if await condition() { return ContinuousClock.now - start }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition() ? ContinuousClock.now - start : nil
}
