import Foundation
import Logging
import Lonc
import NIOPosix
import Testing
import BalancerdCore

/// `balancerd agent` is a daemon too: HUP rereads the hosts table, agent
/// settings and certificates while the links of peers that stay are kept; a
/// bad file is refused and the agent serves on; TERM stops it cleanly.
@Suite("balancerd agent: SIGHUP reload and SIGTERM", .serialized)
struct AgentReloadTests {
    /// A link from `id` (its certificate from the cluster's folder) to the agent `s2`.
    static func link(from id: String, cluster: ProcessCluster) throws -> PeerLink {
        try link(from: id, folder: cluster.directory, cluster: cluster)
    }

    @Test("a server added to the hosts table is accepted by the running agent after HUP; the links that stay are kept")
    func hupAcceptsNewServer() async throws {
        let cluster = try ProcessCluster(agents: ["s2"])
        defer { cluster.stopAll() }
        // s3 has a certificate from the cluster's CA but is not in the hosts table yet.
        try ClusterCertificateAuthority.issue(id: "s3", hostname: "s3.localhost", caDirectory: cluster.directory, into: cluster.directory)
        try cluster.startAgent("s2")
        let stays = try Self.link(from: "s1", cluster: cluster)
        stays.start()
        defer { Task { await stays.shutdown() } }
        #expect(await waitFor { stays.status.state == .up } != nil, "s1 is in the table: its link comes up")
        let upSince = stays.status.since

        let newcomer = try Self.link(from: "s3", cluster: cluster)
        newcomer.start()
        defer { Task { await newcomer.shutdown() } }
        #expect(await waitFor { newcomer.status.attempts >= 3 } != nil)
        #expect(newcomer.status.state != .up, "before the reload the agent refuses s3: its certificate names no host of the table")

        let table = try String(contentsOfFile: cluster.directory + "/hosts.tab", encoding: .utf8)
        try (table + "s3:test:access:s3.localhost:127.0.0.1:1\n").write(toFile: cluster.directory + "/hosts.tab", atomically: true, encoding: .utf8)
        cluster.signal("s2", SIGHUP)
        #expect(await waitFor { newcomer.status.state == .up } != nil, "after HUP the running agent accepts s3")
        #expect(await newcomer.request("ping") == "s2")
        #expect(cluster.processes["s2"]?.isRunning == true, "HUP no longer kills the agent")
        #expect(stays.status.state == .up && stays.status.since == upSince, "s1's link was kept through the reload, not remade")

        // A bad hosts table is refused; the agent serves on with the old one.
        try (table + "s4:broken\n").write(toFile: cluster.directory + "/hosts.tab", atomically: true, encoding: .utf8)
        cluster.signal("s2", SIGHUP)
        #expect(await waitFor { cluster.log("s2").contains("reload refused") } != nil)
        #expect(cluster.log("s2").contains("hosts.tab:3"), "the refusal names the file and line")
        #expect(cluster.processes["s2"]?.isRunning == true)
        #expect(await stays.request("ping") == "s2")
        #expect(await newcomer.request("ping") == "s2", "s3 keeps its link: the refused table changed nothing")

        // TERM closes the links and stops the agent with status 0.
        let process = try #require(cluster.processes["s2"])
        cluster.signal("s2", SIGTERM)
        #expect(await waitFor { !process.isRunning } != nil)
        #expect(process.terminationStatus == 0 && process.terminationReason == .exit)
        #expect(await waitFor { stays.status.state != .up } != nil, "the agent closed the link")
    }

    @Test("HUP removing a server from the table closes its link and keeps the others")
    func hupDropsRemovedServer() async throws {
        let cluster = try ProcessCluster(agents: ["s2"])
        defer { cluster.stopAll() }
        try ClusterCertificateAuthority.issue(id: "s3", hostname: "s3.localhost", caDirectory: cluster.directory, into: cluster.directory)
        let table = try String(contentsOfFile: cluster.directory + "/hosts.tab", encoding: .utf8)
        try (table + "s3:test:access:s3.localhost:127.0.0.1:1\n").write(toFile: cluster.directory + "/hosts.tab", atomically: true, encoding: .utf8)
        try cluster.startAgent("s2")
        let stays = try Self.link(from: "s1", cluster: cluster)
        let leaves = try Self.link(from: "s3", cluster: cluster)
        stays.start()
        leaves.start()
        defer { Task { await stays.shutdown(); await leaves.shutdown() } }
        #expect(await waitFor { stays.status.state == .up && leaves.status.state == .up } != nil)
        let upSince = stays.status.since
        try table.write(toFile: cluster.directory + "/hosts.tab", atomically: true, encoding: .utf8)
        cluster.signal("s2", SIGHUP)
        #expect(await waitFor { leaves.status.state != .up } != nil, "s3 left the table: its link is closed")
        #expect(stays.status.state == .up && stays.status.since == upSince)
    }

    /// A link from `id` with the certificates of the CA in `folder`.
    static func link(from id: String, folder: String, cluster: ProcessCluster) throws -> PeerLink {
        let transport = try OpenSSLTransport(caPath: folder + "/ca.pem", certificatePath: "\(folder)/\(id).pem", keyPath: "\(folder)/\(id).key")
        let settings = LinkSettings(
            connectTimeout: .seconds(1), requestTimeout: .seconds(2), keepalive: .milliseconds(200),
            maxAttempts: 1000, backoffInitial: .milliseconds(50), backoffMax: .milliseconds(200), pipelineDepth: 8, maxLine: 1024)
        return PeerLink(
            host: HostEntry(id: "s2", domain: "test", role: "access", hostname: "s2.localhost", address: "127.0.0.1", port: cluster.port("s2")),
            settings: settings, transport: transport, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: Logger(label: "test-link"))
    }

    @Test("HUP applies new certificates to new clients and agent.load_limit to every client, linked ones too")
    func hupCertificatesAndLimits() async throws {
        let cluster = try ProcessCluster(agents: ["s2"])
        defer { cluster.stopAll() }
        cluster.setLoad("s2", percent: 30)
        try cluster.startAgent("s2")
        let linked = try Self.link(from: "s1", cluster: cluster)
        linked.start()
        defer { Task { await linked.shutdown() } }
        #expect(await waitFor { linked.status.state == .up } != nil)
        #expect(await linked.request("load") == "30.00")

        // The cluster moves to a new CA: s2's files are replaced in place.
        let renewed = cluster.directory + "/renewed"
        try FileManager.default.createDirectory(atPath: renewed, withIntermediateDirectories: true)
        try ClusterCertificateAuthority.create(directory: renewed)
        for id in ["s1", "s2"] {
            try ClusterCertificateAuthority.issue(id: id, hostname: "\(id).localhost", caDirectory: renewed, into: renewed)
        }
        for name in ["ca.pem", "s2.pem", "s2.key"] {
            try Data(contentsOf: URL(fileURLWithPath: "\(renewed)/\(name)")).write(to: URL(fileURLWithPath: "\(cluster.directory)/\(name)"), options: .atomic)
        }
        let newcomer = try Self.link(from: "s1", folder: renewed, cluster: cluster)
        newcomer.start()
        defer { Task { await newcomer.shutdown() } }
        #expect(await waitFor { newcomer.status.attempts >= 3 } != nil)
        #expect(newcomer.status.state != .up, "before HUP the agent still presents and trusts the old CA")

        try cluster.setConfigLine("agent:", "agent: {load_file: load-s1, sessions_dir: sessions, load_limit: 0.5}")
        cluster.signal("s2", SIGHUP)
        #expect(await waitFor { newcomer.status.state == .up } != nil, "after HUP new clients get the new certificates")
        #expect(linked.status.state == .up, "the link made with the old certificates is kept")
        #expect(await linked.request("load") == "60.00", "agent.load_limit 0.5 applies to the linked client too")
        #expect(await newcomer.request("load") == "60.00")
    }
}
