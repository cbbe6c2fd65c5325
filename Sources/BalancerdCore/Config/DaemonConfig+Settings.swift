import Health
import Lonc

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
    init(config: DaemonConfig, listen: ListenAddress, local: LocalLoad, application: (any AgentApplication)? = nil) {
        self.init(
            ownID: config.hostID, host: listen.host, port: listen.port, handshakeTimeout: config.links.connectTimeout,
            maxLine: config.links.maxLine,
            replies: AgentLoadReplies(load: { local.loadReply() }, userload: { local.userLoadReply() }, loadavg: { local.loadAverageReply() }),
            application: application)
    }
}

