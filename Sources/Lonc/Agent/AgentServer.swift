import Logging
import NIOCore
import NIOPosix

/// The agent: listens for peer links and answers the handshake and the load
/// commands (the subset of `lond` that balancerd needs).
public final class AgentServer: Sendable {
    private let settings: AgentSettings
    private let hosts: @Sendable () -> HostsTable
    private let transport: any TransportSecurity
    private let group: any EventLoopGroup
    private let logger: Logger
    private let onInboundPeer: @Sendable (String) -> Void
    private let channel = Locked<(any Channel)?>(nil)
    private let clients = ChannelRegistry()

    /// Creates an agent. `hosts` is read on every new client, so reloads apply at once;
    /// `onInboundPeer` is called with the hosts-table id of every client that finishes the handshake.
    public init(
        settings: AgentSettings, hosts: @escaping @Sendable () -> HostsTable, transport: any TransportSecurity,
        group: any EventLoopGroup, logger: Logger, onInboundPeer: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.settings = settings
        self.hosts = hosts
        self.transport = transport
        self.group = group
        self.logger = logger
        self.onInboundPeer = onInboundPeer
    }

    /// Starts listening; returns the bound address (useful with port 0).
    @discardableResult
    public func start() async throws -> SocketAddress {
        let settings = settings
        let transport = transport
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
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandlers(try transport.serverHandlers())
                    try sync.addLineFraming(maximumLength: settings.maxLine)
                    try sync.addHandler(AgentConnectionHandler(settings: settings, identify: identify, onPeer: onInboundPeer, logger: logger))
                }
            }
            .bind(host: settings.host, port: settings.port)
            .get()
        self.channel.withLock { $0 = channel }
        guard let address = channel.localAddress else { throw AgentError.noAddress }
        logger.info("agent listening", metadata: ["address": "\(address)", "id": "\(settings.ownID)"])
        return address
    }

    /// Stops listening and closes every client connection (as if the agent died).
    public func stop() async {
        let channel = self.channel.withLock { current in
            defer { current = nil }
            return current
        }
        try? await channel?.close()
        for client in clients.all { try? await client.close() }
    }

    /// How many clients are connected.
    public var clientCount: Int { clients.all.count }

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
    private let channels = Locked<[ObjectIdentifier: any Channel]>([:])

    /// Tracks `channel` until it closes.
    func add(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { _ in _ = self.channels.withLock { $0.removeValue(forKey: key) } }
    }

    /// The channels open now.
    var all: [any Channel] { channels.withLock { Array($0.values) } }
}
