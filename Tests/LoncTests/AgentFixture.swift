import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import TestSupport
@testable import Lonc

/// An agent on 127.0.0.1 with fixed replies, and links to it, for tests.
struct AgentFixture {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    static let replies = AgentLoadReplies(load: { "37.50" }, userload: { "12.00" }, loadavg: { "0.75 0.50 0.25" })

    static func agent(id: String = "agent1", port: Int = 0, handshakeTimeout: Duration = .seconds(5), maxLine: Int = 1024, application: (any AgentApplication)? = nil,
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

    static let fastSettings = LinkSettings(
        connectTimeout: .milliseconds(500), requestTimeout: .milliseconds(300), keepalive: .milliseconds(100),
        maxAttempts: 4, backoffInitial: .milliseconds(10), backoffMax: .milliseconds(50), pipelineDepth: 64, maxLine: 1024)
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
