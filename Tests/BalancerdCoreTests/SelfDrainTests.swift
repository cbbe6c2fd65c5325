import Foundation
import Testing
import TestSupport
import BalancerdCore

/// `<state_dir>/self-drain` drains by its presence, whoever can read it.
@Suite("self-drain decided by presence", .serialized)
struct SelfDrainTests {
    /// The one line the HAProxy agent-check port answers, or nil when nothing listens yet.
    static func agentCheck(port: Int) -> String? {
        guard let answer = try? rawHTTP(port: port, "") else { return nil }
        return answer.split(separator: "\n").first.map(String.init)
    }

    /// Issue 25: on today's main an agent running as another user than the file's
    /// owner cannot read a root-only file (`umask 077`) and answers `up ready`.
    @Test("an agent that cannot read a root-only self-drain file still answers drain; removing it undrains")
    func unreadableFileDrains() async throws {
        let cluster = try ProcessCluster(agents: ["a2"])
        defer { cluster.stopAll() }
        let state = cluster.directory + "/state-a2"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let file = state + "/self-drain"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("kernel update\n".utf8), attributes: [.posixPermissions: 0o600]))
        let port = try freeLoopbackPort()
        // nobody: not the file's owner (root), and in no group of it.
        try cluster.startAgent("a2", environment: [
            "BALANCERD_TLS_INSECURE": "true", "BALANCERD_STATE_DIR": state, "BALANCERD_AGENT_HAPROXY_LISTEN": "127.0.0.1:\(port)",
        ], user: 65534)
        var (answer, took) = await waitFor(polling: { Self.agentCheck(port: port) }, until: { $0 != nil })
        #expect(took != nil, "\(cluster.log("a2"))")
        #expect(answer == "up drain 0%", "\(cluster.log("a2"))")
        try FileManager.default.removeItem(atPath: file)
        (answer, took) = await waitFor(polling: { Self.agentCheck(port: port) }, until: { $0?.hasPrefix("up ready") == true })
        #expect(took != nil, "\(answer ?? "no answer")")
    }

    @Test("presence alone: an empty file, a directory and a dangling symlink drain; nothing there does not")
    func presence() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("self-drain-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let drain = SelfDrain(stateDirectory: folder)
        #expect(!drain.isDrained)
        #expect(FileManager.default.createFile(atPath: drain.path, contents: nil))
        #expect(drain.isDrained)
        try FileManager.default.removeItem(atPath: drain.path)
        try FileManager.default.createDirectory(atPath: drain.path, withIntermediateDirectories: false)
        #expect(drain.isDrained)
        try FileManager.default.removeItem(atPath: drain.path)
        try FileManager.default.createSymbolicLink(atPath: drain.path, withDestinationPath: folder + "/nowhere")
        #expect(drain.isDrained)
        #expect(try drain.undrain())
        #expect(!drain.isDrained)
    }
}
