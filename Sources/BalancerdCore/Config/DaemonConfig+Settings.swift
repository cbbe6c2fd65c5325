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

extension HAProxyAgentAnswer {
    /// The agent-check line's figures now, by `config` (`agent.*` load source
    /// and limits, `balancer.max_load`, `<state_dir>/self-drain`).
    init(config: DaemonConfig, watch: LoadSourceWatch?) {
        let local = LocalLoad(config: config, watch: watch)
        self.init(
            loadPercent: local.loadPercent(), userLoadPercent: local.userLoadPercent(),
            drained: SelfDrain(stateDirectory: config.stateDirectory).isDrained, maxLoad: config.balancer.maxLoad)
    }
}

extension HAProxyAgentListener {
    /// The port of `agent.haproxy_listen`, answering by the config in force
    /// when each line is computed, so a reload's limits apply to the next one.
    convenience init(listen: ListenAddress, store: ConfigStore, watch: LoadSourceWatch, group: any EventLoopGroup, logger: Logger) {
        self.init(host: listen.host, port: listen.port, group: group, logger: logger) {
            HAProxyAgentAnswer(config: store.current.config, watch: watch).line
        }
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

