import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TestSupport
@testable import Lonc

/// An agent on 127.0.0.1 with fixed replies, and links to it, for tests.
struct AgentFixture {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    static let replies = AgentLoadReplies(load: { "37.50" }, userload: { "12.00" }, loadavg: { "0.75 0.50 0.25" })

    /// An agent on loopback. Its handshake timeout is a failure bound unless a test passes one of its
    /// own: a busy machine may take seconds between two of a test's lines.
    static func agent(id: String = "agent1", port: Int = 0, handshakeTimeout: Duration = .seconds(60), maxLine: Int = 1024, application: (any AgentApplication)? = nil,
        onPeer: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> (AgentServer, Int) {
        let hosts = HostsTable(entries: [
            HostEntry(id: "client1", domain: "test", role: "access", hostname: "client1.localhost", address: "127.0.0.1"),
            HostEntry(id: id, domain: "test", role: "access", hostname: "\(id).localhost", address: "127.0.0.2"),
        ])
        let server = AgentServer(
            settings: AgentSettings(
                ownID: id, host: "127.0.0.1", port: port, handshakeTimeout: handshakeTimeout, maxLine: maxLine, replies: replies,
                application: application),
            hosts: { hosts }, transport: PlainTransport(), group: group, logger: Logger(label: "agent"), onInboundPeer: onPeer)
        let address = try await server.start()
        return (server, address.port ?? 0)
    }

    static func link(to port: Int, id: String = "agent1", settings: LinkSettings = fastSettings) -> PeerLink {
        PeerLink(
            host: HostEntry(id: id, domain: "test", role: "access", hostname: "\(id).localhost", address: "127.0.0.1", port: port),
            settings: settings, transport: PlainTransport(), eventLoop: group.next(), logger: Logger(label: "link"))
    }

    /// A new agent and a raw line client connected to it (no handshake yet); stop the agent after.
    static func rawClient() async throws -> (agent: AgentServer, client: RawLineClient) {
        let (agent, port) = try await Self.agent()
        return (agent, try RawLineClient(port: port))
    }

    /// Runs `body` with a link to `port` (a scripted agent's) once it is up; shuts it down after.
    static func withLink(to port: Int, settings: LinkSettings = fastSettings, _ body: (PeerLink) async throws -> Void) async throws {
        let link = Self.link(to: port, settings: settings)
        link.start()
        defer { Task { await link.shutdown() } }
        try #require(await eventually { link.status.state == .up })
        try await body(link)
    }

    /// Runs `body` with a link that is up to a new agent (with `application`); stops both after.
    static func withLinkUp(
        settings: LinkSettings = fastSettings, application: (any AgentApplication)? = nil, _ body: (PeerLink) async throws -> Void
    ) async throws {
        let (server, port) = try await Self.agent(application: application)
        defer { Task { await server.stop() } }
        try await withLink(to: port, settings: settings, body)
    }

    static let fastSettings = LinkSettings(
        connectTimeout: .milliseconds(500), requestTimeout: .milliseconds(300), keepalive: .milliseconds(100),
        maxAttempts: 4, backoffInitial: .milliseconds(10), backoffMax: .milliseconds(50), pipelineDepth: 64, maxLine: 1024)

    /// `fastSettings` for a test whose claim involves no timeout: a request or a
    /// ping that a busy machine answers late must not reset the link under it.
    static let patientSettings: LinkSettings = {
        var settings = fastSettings
        settings.connectTimeout = .seconds(30)
        settings.requestTimeout = .seconds(60)
        settings.keepalive = .seconds(60)
        return settings
    }()
}

/// Waits until `condition` holds, polling every few milliseconds, up to `timeout`
/// (a bound for a broken link, not a claim of speed: the machine may be busy).
func eventually(timeout: Duration = .seconds(60), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return await condition()
}


/// A port nothing listens on.
func freePort() throws -> Int { try freeLoopbackPort() }
