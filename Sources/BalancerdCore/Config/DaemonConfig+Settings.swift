import Health
import Logging
import Lonc
import NIOCore

// The library values a config describes, for the parts that take more than one section.

extension DaemonConfig.TLS {
    /// The transport `tls.*` asks for: mutual TLS, or plain TCP on loopback.
    func transport() throws -> any TransportSecurity {
        if insecure { return PlainTransport() }
        return try OpenSSLTransport(caPath: caPath, certificatePath: certificatePath, keyPath: keyPath)
    }
}

extension LocalLoad {
    init(config: DaemonConfig, watch: LoadSourceWatch?) {
        self.init(
            loadAverage: LoadAverageFile(path: config.agent.loadFile),
            sessions: SessionDirectory(path: config.agent.sessionsDirectory, activeWindow: config.agent.activeWindow),
            loadLimit: config.agent.loadLimit, userLoadLimit: config.agent.userLoadLimit, watch: watch)
    }
}

extension AgentSettings {
    init(config: DaemonConfig, listen: ListenAddress, local: LocalLoad, application: (any AgentApplication)?) {
        self.init(
            ownID: config.hostID, host: listen.host, port: listen.port, handshakeTimeout: config.links.connectTimeout,
            maxLine: config.links.maxLine,
            replies: AgentLoadReplies(load: { local.loadReply() }, userload: { local.userLoadReply() }, loadavg: { local.loadAverageReply() }),
            application: application)
    }
}

extension DaemonConfig.Agent {
    /// The client of `agent.handler`, or nil when none is set (commands the agent does not own get `unknown_cmd`);
    /// `maxLine` is `links.max_line`, which bounds its replies.
    func handlerClient(maxLine: Int, group: any EventLoopGroup, logger: Logger) -> HandlerSocketClient? {
        handler.map {
            HandlerSocketClient(path: $0, timeout: handlerTimeout, connections: handlerConnections, maxLine: maxLine, group: group, logger: logger)
        }
    }
}

