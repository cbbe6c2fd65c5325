import Logging
import NIOCore
import NIOPosix

/// The agent: listens for peer links and answers the handshake and the load
/// commands (the subset of `lond` that balancerd needs); every other command
/// goes to `settings.application` (`agent.handler`), or gets `unknown_cmd`.
///
/// Its settings and transport can be replaced while it runs (`reconfigure`,
/// on a reload): new clients get the new ones, clients already linked keep
/// theirs, and `dropClients(notIn:)` closes those whose peer left the table.
public final class AgentServer: Sendable {
    private let current: Locked<(settings: AgentSettings, transport: any TransportSecurity)>
    private let hosts: @Sendable () -> HostsTable
    private let group: any EventLoopGroup
    private let logger: Logger
    private let onInboundPeer: @Sendable (String) -> Void
    private let channel = ListeningChannel()
    private let clients = ChannelRegistry()

    /// Creates an agent. `hosts` is read on every new client, so reloads apply at once;
    /// `onInboundPeer` is called with the hosts-table id of every client that finishes the handshake.
    public init(
        settings: AgentSettings, hosts: @escaping @Sendable () -> HostsTable, transport: any TransportSecurity,
        group: any EventLoopGroup, logger: Logger, onInboundPeer: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.current = Locked((settings, transport))
        self.hosts = hosts
        self.group = group
        self.logger = logger
        self.onInboundPeer = onInboundPeer
    }

    /// Starts listening; returns the bound address (useful with port 0).
    @discardableResult
    public func start() async throws -> SocketAddress {
        let settings = current.withLock { $0.settings }
        let current = current
        let logger = logger
        let onInboundPeer = onInboundPeer
        let hosts = hosts
        let clients = clients
        let identify: @Sendable (TransportEstablished, SocketAddress?) -> String? = { established, remote in
            Self.identify(established, remote: remote, hosts: hosts())
        }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                clients.add(channel)
                // Read per client: a reload's settings and certificates apply to the next one.
                var (settings, transport) = current.withLock { $0 }
                // The load replies are read per request, so a reload's limits and sources reach
                // the clients already linked too (the peers that stay keep polling them).
                settings.replies = AgentLoadReplies(
                    load: { current.withLock { $0.settings.replies }.load() },
                    userload: { current.withLock { $0.settings.replies }.userload() },
                    loadavg: { current.withLock { $0.settings.replies }.loadavg() })
                let onPeer: @Sendable (String) -> Void = { id in
                    clients.identified(channel, as: id)
                    onInboundPeer(id)
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandlers(try transport.serverHandlers())
                    try AgentPipeline.addHandlers(to: sync, settings: settings, identify: identify, onPeer: onPeer, logger: logger)
                }
            }
            .bind(host: settings.host, port: settings.port)
            .get()
        self.channel.set(channel)
        guard let address = channel.localAddress else { throw AgentError.noAddress }
        logger.info("agent listening", metadata: ["address": "\(address)", "id": "\(settings.ownID)"])
        return address
    }

    /// Stops listening and closes every client connection (as if the agent died).
    public func stop() async {
        await channel.close()
        for client in clients.all { try? await client.close() }
    }

    /// How many clients are connected.
    public var clientCount: Int { clients.all.count }

    /// The settings new clients get.
    public var settings: AgentSettings { current.withLock { $0.settings } }

    /// New clients get these settings and this transport (a reload's new
    /// certificates and handshake limits); every client, new or linked, gets
    /// the new load replies. The listening address is not changed: that needs a restart.
    public func reconfigure(settings: AgentSettings, transport: any TransportSecurity) {
        current.withLock { $0 = (settings, transport) }
    }

    /// Closes the clients whose peer is no longer in `hosts` (after a reload);
    /// returns their ids. Clients whose peer stays keep their links.
    @discardableResult
    public func dropClients(notIn hosts: HostsTable) async -> [String] {
        let leaving = clients.identifiedChannels.filter { hosts[$0.id] == nil }
        for (_, channel) in leaving { try? await channel.close() }
        return leaving.map(\.id)
    }

    /// Maps a client to a hosts-table id: by certificate name (TLS), or by a
    /// unique address match (plain TCP on loopback, where ports differ).
    static func identify(_ established: TransportEstablished, remote: SocketAddress?, hosts: HostsTable) -> String? {
        if !established.peerCertificateNames.isEmpty {
            let names = Set(established.peerCertificateNames.map { $0.lowercased() })
            return hosts.entries.first { names.contains($0.hostname.lowercased()) }?.id
        }
        guard let ip = remote?.ipAddress else { return nil }
        let matches = hosts.entries.filter { $0.address == ip }
        return matches.count == 1 ? matches[0].id : nil
    }
}

/// Agent start-up failures.
public enum AgentError: Error, Sendable, CustomStringConvertible {
    /// The listening socket has no address.
    case noAddress
    public var description: String { "the agent's listening socket has no address" }
}

/// The open channels of a server, so stopping it can close them all.
final class ChannelRegistry: Sendable {
    private let channels = Locked<[ObjectIdentifier: (channel: any Channel, id: String?)]>([:])

    /// Tracks `channel` until it closes.
    func add(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLock { $0[key] = (channel, nil) }
        channel.closeFuture.whenComplete { _ in _ = self.channels.withLock { $0.removeValue(forKey: key) } }
    }

    /// Notes the hosts-table id a client proved it is.
    func identified(_ channel: any Channel, as id: String) {
        channels.withLock { $0[ObjectIdentifier(channel)]?.id = id }
    }

    /// The channels open now.
    var all: [any Channel] { channels.withLock { $0.values.map(\.channel) } }

    /// The open channels whose peer is known, with its id.
    var identifiedChannels: [(id: String, channel: any Channel)] {
        channels.withLock { $0.values.compactMap { entry in entry.id.map { ($0, entry.channel) } } }
    }
}
