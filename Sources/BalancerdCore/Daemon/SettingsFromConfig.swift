import Health
import Lonc

/// Builds the transport `tls.*` asks for.
enum TransportFactory {
    static func make(config: DaemonConfig) throws -> any TransportSecurity {
        if config.tls.insecure { return PlainTransport() }
        return try OpenSSLTransport(caPath: config.tls.caPath, certificatePath: config.tls.certificatePath, keyPath: config.tls.keyPath)
    }
}

extension LocalLoad {
    init(config: DaemonConfig) {
        self.init(
            loadAverage: LoadAverageFile(path: config.agent.loadFile),
            sessions: SessionDirectory(path: config.agent.sessionsDirectory, activeWindow: config.agent.activeWindow),
            loadLimit: config.agent.loadLimit, userLoadLimit: config.agent.userLoadLimit)
    }
}

extension AgentSettings {
    init(config: DaemonConfig, listen: ListenAddress, local: LocalLoad) {
        self.init(
            ownID: config.hostID, host: listen.host, port: listen.port, handshakeTimeout: config.links.connectTimeout,
            maxLine: config.links.maxLine,
            replies: AgentLoadReplies(load: { local.loadReply() }, userload: { local.userLoadReply() }, loadavg: { local.loadAverageReply() }))
    }
}

