import Foundation
import Testing
import TestSupport

/// `balancerd check-health` as Icinga runs it: the real binary against a real
/// `serve` and agents, one run per exit code.
@Suite("check-health against a running daemon", .serialized)
struct CheckHealthProcessTests {
    /// Every run's command line, output and exit code, kept in .build/ for the record.
    static let transcript = repositoryRoot + "/.build/check-health-transcript.txt"

    /// Runs the plugin on the calling thread: inside `blocking`, never on a concurrency thread.
    func pluginNow(_ cluster: ProcessCluster, _ options: [String] = []) throws -> (status: Int32, output: String) {
        let result = try runNow(ProcessCluster.binary, ["check-health", "-c", cluster.directory + "/balancerd.yaml"] + options)
        let entry = "$ balancerd check-health -c balancerd.yaml \(options.joined(separator: " "))\n\(result.output)exit \(result.status)\n"
        if let handle = FileHandle(forWritingAtPath: Self.transcript) {
            handle.seekToEndOfFile()
            handle.write(Data(entry.utf8))
            try? handle.close()
        }
        return result
    }

    func plugin(_ cluster: ProcessCluster, _ options: [String] = []) async throws -> (status: Int32, output: String) {
        try await blocking { try pluginNow(cluster, options) }
    }

    /// Runs the plugin until it answers `status` (the daemon's view settles over a few polls).
    func waitForPlugin(_ cluster: ProcessCluster, _ options: [String] = [], status: Int32) async -> (status: Int32, output: String)? {
        await waitFor(polling: { try? pluginNow(cluster, options) }, until: { $0?.status == status }).last
    }

    @Test("0 OK, 1 WARNING, 2 CRITICAL as the cluster changes; 3 UNKNOWN with no daemon")
    func everyExitCode() async throws {
        let cluster = try ProcessCluster(agents: ["a2", "a3"])
        defer { cluster.stopAll() }
        _ = FileManager.default.createFile(atPath: Self.transcript, contents: nil)
        let none = try await plugin(cluster)
        #expect(none.status == 3, "\(none.output)")
        #expect(none.output.hasPrefix("BALANCERD UNKNOWN - no balancerd is listening on "), "\(none.output)")

        try cluster.startAgent("a2")
        try cluster.startAgent("a3")
        // Mode always: with no eligible spare, logins have no target (overflow would keep them here).
        try cluster.startServe(environment: ["BALANCERD_BALANCER_MODE": "always"])
        let ok = await waitForPlugin(cluster, ["--warning-load", "80", "--critical-load", "120"], status: 0)
        #expect(ok?.output.hasPrefix("BALANCERD OK - s1: logins go to a") == true && ok?.output.contains("; 2/2 links up; load 10.0 % | load=10.0%;80.0;120.0;0; ") == true, "\(ok?.output ?? "")")

        cluster.setLoad("s1", percent: 90)
        let busy = await waitForPlugin(cluster, ["--warning-load", "80", "--critical-load", "120"], status: 1)
        #expect(busy?.output.hasPrefix("BALANCERD WARNING - s1: load 90.0 % >= 80.0 % | load=90.0%;80.0;120.0;0;") == true, "\(busy?.output ?? "")")

        cluster.kill("a3")
        let down = await waitForPlugin(cluster, [], status: 1)
        #expect(down?.output.contains("1 peer link not up (a3 ") == true, "\(down?.output ?? "")")

        cluster.kill("a2")
        let critical = await waitForPlugin(cluster, [], status: 2)
        #expect(critical?.output.hasPrefix("BALANCERD CRITICAL - s1: /login answers 503: ") == true, "\(critical?.output ?? "")")
        #expect(critical?.output.contains("links_down=2;1;;0;2") == true, "\(critical?.output ?? "")")

        let bad = try await plugin(cluster, ["--warning-load", "90", "--critical-load", "80"])
        #expect(bad.status == 3 && bad.output.hasPrefix("BALANCERD UNKNOWN - --warning-load 90.0 is above --critical-load 80.0"), "\(bad.output)")
        // An option it cannot parse is UNKNOWN too, one line, not ArgumentParser's usage and 64.
        let typo = try await plugin(cluster, ["--warning-lod", "90"])
        #expect(typo.status == 3 && typo.output == "BALANCERD UNKNOWN - Unknown option '--warning-lod'. Did you mean '--warning-load'?\n", "\(typo.output)")
    }
}
