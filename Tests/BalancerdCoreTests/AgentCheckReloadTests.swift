import Foundation
import Testing
import TestSupport

/// The HAProxy agent-check port answers by the config in force: a reload's
/// `agent.load_limit`, `balancer.max_load` and (for `balancerd agent`)
/// `state_dir` reach the next line, as the reload's answer says. Before, the
/// port kept the figures it started with after a HUP that named them applied,
/// and `serve` did not open it at all.
@Suite("the HAProxy agent-check port after a reload", .serialized)
struct AgentCheckReloadTests {
    /// The line the port answers (it closes after one).
    static func line(_ port: Int) -> String? {
        (try? rawHTTP(port: port, "")).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    @Test("balancerd agent: load_limit, max_load and state_dir apply to the next line")
    func agentReload() async throws {
        let cluster = try ProcessCluster(agents: ["s2"])
        defer { cluster.stopAll() }
        let port = try freeLoopbackPort()
        try cluster.startAgent("s2", environment: ["BALANCERD_AGENT_HAPROXY_LISTEN": "127.0.0.1:\(port)"])
        #expect(await waitFor { Self.line(port) == "up ready 90%" } != nil, "load 10 % of max_load 100: \(Self.line(port) ?? "none")")

        try cluster.setConfigLine("agent:", "agent: {load_file: load-s1, sessions_dir: sessions, load_limit: 0.5}")
        cluster.signal("s2", SIGHUP)
        #expect(await waitFor { Self.line(port) == "up ready 80%" } != nil, "load 20 % under load_limit 0.5: \(Self.line(port) ?? "none")")

        try cluster.setConfigLine("balancer:", "balancer: {mode: overflow, spares: [s2], slow_start: 0s, login_cost: 0, max_load: 50, readmit_load: 40}")
        cluster.signal("s2", SIGHUP)
        #expect(await waitFor { Self.line(port) == "up ready 60%" } != nil, "load 20 % of max_load 50: \(Self.line(port) ?? "none")")

        try FileManager.default.createDirectory(atPath: cluster.directory + "/state2", withIntermediateDirectories: true)
        try "maintenance\n".write(toFile: cluster.directory + "/state2/self-drain", atomically: true, encoding: .utf8)
        try cluster.setConfigLine("state_dir:", "state_dir: state2")
        cluster.signal("s2", SIGHUP)
        #expect(await waitFor { Self.line(port) == "up drain 0%" } != nil, "drained in the new state_dir: \(Self.line(port) ?? "none")")
    }

    @Test("balancerd serve opens agent.haproxy_listen too, and a reload's load_limit and max_load apply to it")
    func serveReload() async throws {
        let cluster = try ProcessCluster(agents: ["s2"])
        defer { cluster.stopAll() }
        let port = try freeLoopbackPort()
        try cluster.startAgent("s2")
        try cluster.startServe(environment: ["BALANCERD_AGENT_HAPROXY_LISTEN": "127.0.0.1:\(port)"])
        #expect(await waitFor { Self.line(port) == "up ready 90%" } != nil, "\(cluster.log("s1"))")

        try cluster.setConfigLine("agent:", "agent: {load_file: load-s1, sessions_dir: sessions, load_limit: 0.5}")
        try cluster.setConfigLine("balancer:", "balancer: {mode: overflow, spares: [s2], slow_start: 0s, login_cost: 0, max_load: 50, readmit_load: 40}")
        let answer = try cluster.ctlReload()
        #expect(answer.contains("applied balancer.max_load, balancer.readmit_load, agent.load_limit"), "\(answer)")
        #expect(await waitFor { Self.line(port) == "up ready 60%" } != nil, "load 20 % of max_load 50: \(Self.line(port) ?? "none")")
    }
}
