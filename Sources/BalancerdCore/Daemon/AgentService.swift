import Health
import Logging
import Lonc
import NIOPosix
import ServiceLifecycle

/// The agent as a service: listens until graceful shutdown.
public final class AgentService: Service {
    private let server: AgentServer
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger

    public init(config: DaemonConfig, hosts: HostsTable, logger: Logger) throws {
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let listen = config.agent.listen ?? ListenAddress(host: "0.0.0.0", port: config.links.port)
        let local = LocalLoad(config: config)
        server = AgentServer(
            settings: AgentSettings(config: config, listen: listen, local: local), hosts: { hosts },
            transport: try TransportFactory.make(config: config), group: group, logger: logger)
    }

    public func run() async throws {
        do {
            try await server.start()
        } catch {
            logger.critical("agent cannot listen: \(error)")
            throw error
        }
        try? await gracefulShutdown()
        await server.stop()
        try? await group.shutdownGracefully()
    }
}
