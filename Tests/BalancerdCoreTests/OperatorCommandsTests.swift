import Foundation
import Testing
import BalancerdCore

/// What an operator types: `ctl --help` anywhere, `ctl status` as a table or
/// JSON, and the certificate-expiry metric on a live scrape.
@Suite("operator commands against a running serve", .serialized)
struct OperatorCommandsTests {
    @Test("ctl --help needs no config file")
    func ctlHelp() async throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-\(UUID().uuidString).yaml").path
        for arguments in [["ctl", "--help"], ["ctl", "-c", missing, "--help"], ["ctl", "-h"]] {
            let result = try await run(ProcessCluster.binary, arguments)
            #expect(result.status == 0, "\(arguments): \(result.output)")
            #expect(result.output.contains("status [--json]"), "\(arguments)")
        }
    }

    @Test("ctl status prints a table; --json prints the /health document")
    func ctlStatus() async throws {
        let cluster = try ProcessCluster.started(agents: ["s2"])
        defer { cluster.stopAll() }
        #expect(await waitFor { cluster.peer("s2")?.load.loadPercent != nil } != nil)
        let socket = cluster.directory + "/run/control"
        let table = try await run(ProcessCluster.binary, ["ctl", "--socket", socket, "status"])
        #expect(table.status == 0)
        let lines = table.output.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("s1 · ok · up ") == true, "\(table.output)")
        #expect(lines.contains { $0.hasPrefix("PEER") && $0.contains("LINK") && $0.contains("LOAD %") && $0.contains("ELIGIBLE") })
        #expect(lines.contains { $0.hasPrefix("s2") && $0.contains(" up ") && $0.contains("10.00") })
        let json = try await run(ProcessCluster.binary, ["ctl", "--socket", socket, "status", "--json"])
        #expect(json.status == 0)
        let document = try HealthDocument(json: Data(json.output.utf8))
        #expect(document.host == "s1" && document.peers.map(\.id) == ["s2"])
    }

    @Test("/metrics exports the seconds until the host certificate and the CA expire")
    func certificateExpiry() async throws {
        let cluster = try ProcessCluster(agents: ["s2"])
        defer { cluster.stopAll() }
        try cluster.startServe()
        #expect(await waitFor { cluster.get("/health/live") != nil } != nil)
        let metrics = try #require(cluster.get("/metrics"))
        func value(_ label: String) -> Double? {
            metrics.split(separator: "\n").first { $0.hasPrefix("balancerd_certificate_expiry_seconds{certificate=\"\(label)\"}") }
                .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
        }
        // ProcessCluster's certificates: the host's for 825 days, the CA's for 3650 (balancerd certs' defaults).
        let host = try #require(value("host"))
        let ca = try #require(value("ca"))
        #expect(abs(host - 825 * 86400) < 3600)
        #expect(abs(ca - 3650 * 86400) < 3600)
        #expect(metrics.contains("# HELP balancerd_certificate_expiry_seconds"))
    }
}
