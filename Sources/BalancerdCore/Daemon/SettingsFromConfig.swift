import Health
import Lonc

/// Builds the transport `tls.*` asks for.
enum TransportFactory {
    static func make(config: DaemonConfig) throws -> any TransportSecurity {
        if config.tls.insecure { return PlainTransport() }
        return try OpenSSLTransport(caPath: config.tls.caPath, certificatePath: config.tls.certificatePath, keyPath: config.tls.keyPath)
    }
}

extension LinkSettings {
    init(config: DaemonConfig) {
        let links = config.links
        self.init(
            port: links.port, connectTimeout: links.connectTimeout, requestTimeout: links.requestTimeout, keepalive: links.keepalive,
            maxAttempts: links.maxAttempts, backoffInitial: links.backoffInitial, backoffMax: links.backoffMax,
            pipelineDepth: links.pipelineDepth, maxLine: links.maxLine)
    }
}

extension PollSettings {
    init(config: DaemonConfig) {
        self.init(interval: config.poll.interval, timeout: config.poll.timeout, staleAfter: config.poll.staleAfter, history: config.poll.history)
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

