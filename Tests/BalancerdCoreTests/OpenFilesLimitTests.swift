import Foundation
import Testing

/// The open-files limit against the hosts table, with a real `serve` under
/// `prlimit`: each peer needs a link and a relay socket (2 open files) beside
/// 1,024 kept for the rest, so a hard limit of 1,040 holds 8 peers, not 9.
@Suite("serve: a hosts table needing more open files than the hard limit allows is refused, at start and on reload", .serialized)
struct OpenFilesLimitTests {
    static let hardLimit = 1040

    /// Adds `count` peers nobody answers for to the hosts table (port 1 on loopback refuses).
    static func addPeers(_ count: Int, to cluster: ProcessCluster) throws {
        let path = cluster.directory + "/hosts.tab"
        var table = try String(contentsOfFile: path, encoding: .utf8)
        for index in 0..<count { table += "x\(index):test:access:x\(index).localhost:127.0.0.1:1\n" }
        try table.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test("start: serve stops with an error naming the hosts table, the open files needed and the limits")
    func atStart() async throws {
        let cluster = try ProcessCluster(agents: ["b1"])
        defer { cluster.stopAll() }
        try Self.addPeers(9, to: cluster)  // 10 peers: 1,044 open files
        try cluster.startServe(openFiles: Self.hardLimit)
        let exited = await waitFor { cluster.processes["s1"]?.isRunning == false }
        #expect(exited != nil, "serve kept running")
        #expect(cluster.processes["s1"]?.terminationStatus != 0)
        let log = cluster.log("s1")
        #expect(log.contains("hosts.tab has 10 peers"), "\(log)")
        #expect(log.contains("need 1044 open files"), "\(log)")
        #expect(log.contains("hard limit \(Self.hardLimit)"), "\(log)")
    }

    @Test("reload: a hosts table past the limit is refused with the reason, the running one kept")
    func onReload() async throws {
        let cluster = try ProcessCluster(agents: ["b1"])
        defer { cluster.stopAll() }
        try cluster.startAgent("b1")
        try cluster.startServe(openFiles: Self.hardLimit)
        #expect(await waitFor { cluster.peer("b1")?.link.state.rawValue == "up" } != nil)
        try Self.addPeers(9, to: cluster)
        let refused = try cluster.ctlReload()
        #expect(refused.hasPrefix("error: reload refused:"), "\(refused)")
        #expect(refused.contains("need 1044 open files"), "\(refused)")
        #expect(cluster.health()?.peers.map(\.id) == ["b1"])
        #expect(cluster.processes["s1"]?.isRunning == true)
        // Two peers fewer (8: 1,040 open files) fit: the reload goes through.
        let path = cluster.directory + "/hosts.tab"
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropLast(2)
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let applied = try cluster.ctlReload()
        #expect(applied.hasPrefix("ok: reloaded"), "\(applied)")
        #expect(cluster.health()?.peers.count == 8)
    }
}
