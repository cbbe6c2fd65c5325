import Foundation
import Health
import Logging
import Lonc
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// `balancerd serve`: peer links, the load poller, the balancer, the agent
/// (when `agent.listen` is set) and the HTTP endpoint, as one service.
///
/// SIGHUP reloads the config and hosts table without dropping links that stay;
/// SIGUSR1 retries given-up links; SIGTERM/SIGINT stop gracefully (the
/// service group's job): HTTP stops accepting, links close.
public final class Daemon: Service {
    let configPath: String
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let supervisor: LinkSupervisor
    let poller: LoadPoller
    let state: DaemonState
    private let agent: AgentServer?
    private let httpSettings: HTTPServer.Settings
    private let webRoot: String?
    private let http = Locked<HTTPServer?>(nil)
    private let ready = ReadyLatch()
    let drains: DrainStore
    let relay: LocalRelay
    let relayRouter: RelayRouter

    public init(loaded: ConfigLoader.Loaded, configPath: String, webRoot: String?, logger: Logger) throws {
        let config = loaded.config
        self.configPath = configPath
        self.logger = logger
        self.webRoot = webRoot
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let transport = try TransportFactory.make(config: config)
        let local = LocalLoad(config: config)
        poller = LoadPoller(settings: PollSettings(config: config), local: local, logger: logger)
        let poller = poller
        let queue = try DelayedQueue(stateDirectory: config.stateDirectory, logger: logger)
        let linkBox = LinkLookup()
        let relayRouter = RelayRouter(queue: queue, logger: logger, depthChanged: { id, depth in linkBox.link(id)?.setDelayedCount(depth) })
        self.relayRouter = relayRouter
        supervisor = LinkSupervisor(
            ownID: config.hostID, settings: LinkSettings(config: config), transport: transport, group: group, logger: logger,
            onNewLink: { link in
                link.observe { status in
                    poller.linkChanged()
                    // On every link-up, that peer's delayed messages go out first, in order.
                    if status.state == .up { Task { await relayRouter.replay(peer: status.peerID) } }
                }
            })
        let supervisor = supervisor
        linkBox.supervisor = supervisor
        relay = LocalRelay(socketDirectory: config.socketDirectory, router: relayRouter, group: group, maxLine: config.links.maxLine, logger: logger)
        state = DaemonState(config: config, hosts: loaded.hosts, poller: poller, links: { supervisor.statuses })
        let state = state
        poller.onSnapshot { snapshot in state.feed(snapshot) }
        let hosts: @Sendable () -> HostsTable = { state.current.hosts }
        if let listen = config.agent.listen {
            agent = AgentServer(
                settings: AgentSettings(config: config, listen: listen, local: local), hosts: hosts, transport: transport,
                group: group, logger: logger,
                onInboundPeer: { id in
                    // The seed's USR1 from lond: a peer that links to us is back; retry our link to it now.
                    if let link = supervisor.link(for: id), link.status.state != .up { link.retry() }
                })
        } else {
            agent = nil
        }
        drains = try DrainStore(stateDirectory: config.stateDirectory)
        state.drains = drains.reasons
        httpSettings = HTTPServer.Settings(
            listen: config.http.listen, threads: config.http.threads, connectionLimit: config.http.connectionLimit,
            connectionTimeout: config.http.connectionTimeout, perAddressLimit: config.http.perAddressLimit)
    }

    /// The HTTP port once listening (for tests and the demo, which may bind port 0).
    public func waitUntilReady() async -> Int { await ready.wait() }

    public func run() async throws {
        let config = state.current.config
        if let agent { try await agent.start() }
        let control = ControlServer(socketDirectory: config.socketDirectory, actions: self, group: group, logger: logger)
        try await control.start()
        let allow = try AddressAllowList(parsing: config.http.statusAllow)
        let server = try HTTPServer(settings: httpSettings, responder: Router(state: state, allow: allow, assets: WebAssets(root: webRoot)))
        http.withLock { $0 = server }
        await supervisor.update(hosts: state.current.hosts)
        poller.setPeers(supervisor.all)
        relayRouter.setLinks(supervisor.all)
        try await relay.update(peers: supervisor.all.map(\.peerID))
        logger.info("balancerd serving", metadata: [
            "host": "\(config.hostID)", "http": "\(config.http.listen.host):\(server.port)", "peers": "\(supervisor.all.count)",
            "mode": "\(config.balancer.mode.rawValue)", "agent": "\(config.agent.listen.map { "\($0)" } ?? "off")",
        ])
        ready.open(port: server.port)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.poller.run() }
            group.addTask { await self.handleSignals() }
            group.addTask {
                // Picks up delayed files other tools drop in, for peers whose link is up.
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(5))
                    await self.relayRouter.replayWaiting()
                }
            }
            // Returns when SIGTERM/SIGINT starts the graceful shutdown (or the task is cancelled).
            try? await gracefulShutdown()
            group.cancelAll()
        }
        logger.info("stopping: HTTP first, then links")
        server.stop()
        await control.stop()
        await relay.stop()
        await agent?.stop()
        await supervisor.shutdown()
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }

    private func handleSignals() async {
        let signals = await UnixSignalsSequence(trapping: .sighup, .sigusr1)
        for await signal in signals {
            switch signal {
            case .sighup: await reloadConfiguration()
            case .sigusr1:
                logger.info("SIGUSR1: retrying every link that is backing off or given up")
                supervisor.retry()
            default: break
            }
        }
    }

    /// Reloads the config and hosts table; a bad one is reported and the old one kept.
    func reloadConfiguration() async {
        do {
            let loaded = try ConfigLoader().load(path: configPath)
            let old = state.current.config
            for warning in loaded.warnings { logger.warning("\(warning)") }
            if loaded.config.http != old.http || loaded.config.agent.listen != old.agent.listen || loaded.config.links != old.links || loaded.config.tls != old.tls {
                logger.warning("reload: changes to http.*, links.*, tls.* and agent.listen take effect at the next restart")
            }
            var config = loaded.config
            config.http = old.http
            config.links = old.links
            config.tls = old.tls
            await supervisor.update(hosts: loaded.hosts)
            poller.setPeers(supervisor.all)
            relayRouter.setLinks(supervisor.all)
            try await relay.update(peers: supervisor.all.map(\.peerID))
            state.reconfigure(config: config, hosts: loaded.hosts)
            logger.info("reloaded", metadata: ["hosts": "\(loaded.hosts.entries.count)", "spares": "\(config.balancer.spares.count)"])
        } catch {
            logger.error("reload refused; still running the previous config:\n\(error)")
        }
    }
}

extension Daemon: ControlActions {
    func statusJSON() -> String { String(decoding: state.healthJSON(), as: UTF8.self) }

    func drain(_ id: String, reason: String) -> String {
        guard state.current.hosts[id] != nil, id != state.current.config.hostID else { return "error: unknown peer '\(id)'" }
        do {
            try drains.drain(id, reason: reason)
        } catch {
            return "error: \(error)"
        }
        state.drains = drains.reasons
        logger.notice("drained \(id)", metadata: ["reason": "\(reason)"])
        let note = state.current.config.balancer.spares.contains(id) ? "" : " (not a spare: it takes no logins anyway)"
        return "ok: \(id) is draining\(reason.isEmpty ? "" : ": \(reason)")\(note)"
    }

    func undrain(_ id: String) -> String {
        guard state.current.hosts[id] != nil else { return "error: unknown peer '\(id)'" }
        let existed: Bool
        do {
            existed = try drains.undrain(id)
        } catch {
            return "error: \(error)"
        }
        state.drains = drains.reasons
        logger.notice("undrained \(id)")
        return existed ? "ok: \(id) takes logins again (slow start)" : "ok: \(id) was not draining"
    }

    func reconnect(_ id: String?) -> String {
        guard supervisor.retry(id) else { return "error: unknown peer '\(id ?? "")'" }
        return "ok: retrying \(id ?? "every link")"
    }

    func reload() async -> String {
        do {
            _ = try ConfigLoader().load(path: configPath)
        } catch {
            return "error: reload refused: " + error.problems.filter { !$0.isWarning }.map(\.description).joined(separator: "; ")
        }
        await reloadConfiguration()
        return "ok: reloaded \(configPath)"
    }
}

/// Finds a link by id once the supervisor exists (the relay is made before it).
final class LinkLookup: @unchecked Sendable {
    private let lock = NSLock()
    private weak var supervisorReference: LinkSupervisor?
    var supervisor: LinkSupervisor? {
        get { lock.withLock { supervisorReference } }
        set { lock.withLock { supervisorReference = newValue } }
    }
    func link(_ id: String) -> PeerLink? { supervisor?.link(for: id) }
}

/// Opens once, when the daemon listens.
final class ReadyLatch: Sendable {
    private let state = Locked<(port: Int?, waiters: [CheckedContinuation<Int, Never>])>((nil, []))

    func open(port: Int) {
        let waiters = state.withLock { state in
            state.port = port
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    func wait() async -> Int {
        await withCheckedContinuation { continuation in
            let port: Int? = state.withLock { state in
                if let port = state.port { return port }
                state.waiters.append(continuation)
                return nil
            }
            if let port { continuation.resume(returning: port) }
        }
    }
}

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

