import Foundation
import Testing
import TestSupport
import BalancerdCore

/// A load source that cannot be read never reads 0: a real agent whose
/// sessions folder is deleted answers `unknown`, `/health` shows null, the
/// balancer stops choosing it, and `check` says why.
@Suite("unknown load, end to end", .serialized)
struct UnknownLoadTests {
    @Test("a deleted sessions folder: userload unknown (null) on /health, the spare not eligible, check warns, the agent logs it once")
    func deletedSessionsFolder() async throws {
        let cluster = try ProcessCluster(agents: ["s2", "s3"])
        defer { cluster.stopAll() }
        let sessions = cluster.directory + "/sessions-s2"
        try FileManager.default.createDirectory(atPath: sessions, withIntermediateDirectories: true)
        try cluster.setConfigLine("balancer:", "balancer: {mode: always, spares: [s2, s3], slow_start: 0s, login_cost: 0}")
        cluster.setLoad("s3", percent: 30)
        try cluster.startAgent("s2", environment: ["BALANCERD_AGENT_SESSIONS_DIR": sessions])
        try cluster.startAgent("s3")
        try cluster.startServe()
        #expect(await waitFor { cluster.health()?.balancer.target == "s2" } != nil, "s2 at 10 % is the least busy")
        #expect(cluster.peer("s2")?.load.userloadPercent == 0)

        try FileManager.default.removeItem(atPath: sessions)
        #expect(await waitFor { cluster.peer("s2")?.load.userloadPercent == nil } != nil)
        let peer = try #require(cluster.peer("s2"))
        #expect(peer.load.loadPercent == 10, "the load file is still read")
        #expect(peer.load.effectivePercent == nil, "the larger of 10 % and unknown is unknown")
        // The balancer's view follows the poller's within one coalesced publish (at most 50 ms).
        #expect(await waitFor { cluster.peer("s2").map { !$0.eligible } ?? false } != nil, "an unknown load is never eligible")
        #expect(await waitFor { cluster.health()?.balancer.target == "s3" } != nil, "logins go to s3 instead")
        let body = try #require(cluster.get("/health")?.components(separatedBy: "\r\n\r\n").dropFirst().first)
        #expect(body.contains(#""userload_percent":null"#))
        let table = try await run(ProcessCluster.binary, ["ctl", "--socket", cluster.directory + "/run/control", "status"])
        let row = table.output.split(separator: "\n").first { $0.hasPrefix("s2 ") }.map(String.init) ?? ""
        let cells = row.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        #expect(Array(cells.prefix(5)) == ["s2", "up", "10.00", "unknown", "unknown"], "ctl status shows unknown, not 0: \(row)")

        #expect(await waitFor { cluster.log("s2").contains("error=cannot list sessions in \(sessions): No such file or directory figure=userload key=agent.sessions_dir") } != nil)
        let asked = cluster.peer("s2")?.link.requestsTotal ?? 0
        #expect(await waitFor { (cluster.peer("s2")?.link.requestsTotal ?? 0) >= asked + 10 } != nil, "five more polls of s2")
        #expect(cluster.log("s2").components(separatedBy: "cannot list sessions").count == 2, "logged once, not once per poll")

        let check = try await runCheck(cluster.directory + "/balancerd.yaml", environment: cluster.agentEnvironment("s2").merging(["BALANCERD_AGENT_SESSIONS_DIR": sessions]) { _, new in new })
        #expect(check.status == 0, "a warning does not fail check")
        #expect(check.stderr.contains("BALANCERD_AGENT_SESSIONS_DIR: warning: agent.sessions_dir: cannot list sessions in \(sessions): No such file or directory: userload will be unknown, and this server is never chosen as a spare"), "\(check.stderr)")
    }
}

/// Runs `balancerd check -c FILE`; returns its exit status and standard error. Waits on a thread of its own (`blocking`).
func runCheck(_ config: String, environment: [String: String] = [:]) async throws -> (status: Int32, stdout: String, stderr: String) {
    try await blocking {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessCluster.binary)
        process.arguments = ["check", "-c", config]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let (out, err) = (Pipe(), Pipe())
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stdout, stderr)
    }
}
