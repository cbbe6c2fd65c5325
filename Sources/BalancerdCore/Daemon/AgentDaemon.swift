import Health
import Logging
import Lonc
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// `balancerd agent`: the agent alone (no links, no HTTP), as the services of one group.
///
/// A daemon like `serve`: SIGHUP rereads the config, the hosts table and the
/// certificates (`AgentReloader`), TERM and INT close every client link and stop.
public enum AgentDaemon {
    /// The event loop, the agent, the HAProxy agent-check port (with
    /// `agent.haproxy_listen`) and the signal handler, in start order. The agent
    /// listens on `agent.listen`, or on all addresses at `links.port`.
    public static func services(config: DaemonConfig, hosts: HostsTable, configPath: String, logger: Logger) throws -> [any Service] {
        services(try Parts(config: config, hosts: hosts, configPath: configPath, logger: logger), logger: logger)
    }

    /// The parts of `balancerd agent`: the agent, its HAProxy port, and what reloads them.
    package struct Parts: Sendable {
        let group: MultiThreadedEventLoopGroup
        /// The config and hosts table in force; the HAProxy answer reads it for each line.
        let store: ConfigStore
        package let server: AgentServer
        let agentCheck: HAProxyAgentListener?
        /// SIGHUP's reload.
        package let reloader: AgentReloader

        package init(config: DaemonConfig, hosts: HostsTable, configPath: String, logger: Logger) throws {
            let listen = try listenAddress(config)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let store = ConfigStore(config: config, hosts: hosts)
            let watch = LoadSourceWatch(logger: logger)
            let application = config.agent.handlerClient(maxLine: config.links.maxLine, group: group, logger: logger)
            server = AgentServer(
                settings: AgentSettings(config: config, listen: listen, local: LocalLoad(config: config, watch: watch), application: application),
                hosts: { store.current.hosts }, transport: try config.tls.transport(), group: group, logger: logger)
            agentCheck = config.agent.haproxyListen.map { HAProxyAgentListener(listen: $0, store: store, watch: watch, group: group, logger: logger) }
            reloader = AgentReloader(configPath: configPath, store: store, server: server, watch: watch, logger: logger)
            (self.group, self.store) = (group, store)
        }
    }

    package static func services(_ parts: Parts, logger: Logger) -> [any Service] {
        var services: [any DaemonPart] = [
            EventLoopPart(group: parts.group, logger: logger), ListenerPart(server: parts.server, purpose: "peer links", logger: logger),
        ]
        if let agentCheck = parts.agentCheck { services.append(ListenerPart(server: agentCheck, purpose: "HAProxy agent checks", logger: logger)) }
        services.append(AgentSignalPart(reloader: parts.reloader))
        return Daemon.chain(services)
    }

    /// Where `balancerd agent` listens: `agent.listen`, or all addresses at `links.port`.
    /// With `tls.insecure` only a loopback address (`ConfigLoader.insecureListenProblems`).
    static func listenAddress(_ config: DaemonConfig) throws(AgentStartError) -> ListenAddress {
        let listen = config.agent.listen ?? ListenAddress(host: "0.0.0.0", port: config.links.port)
        if config.tls.insecure, !listen.isLoopback { throw .insecureOffLoopback(listen, configured: config.agent.listen != nil) }
        return listen
    }
}

/// Why `balancerd agent` did not start.
public enum AgentStartError: Error, Sendable, CustomStringConvertible {
    /// `tls.insecure` with a listen address other machines reach.
    case insecureOffLoopback(ListenAddress, configured: Bool)

    public var description: String {
        switch self {
        case .insecureOffLoopback(let listen, let configured):
            let source = configured ? "agent.listen" : "agent.listen is not set, so all addresses at links.port:"
            return "tls.insecure: plain TCP is refused on \(source) \(listen), which is not a loopback address; set agent.listen to 127.0.0.1 or ::1, or use TLS"
        }
    }
}

/// Reloads a running `balancerd agent`: the hosts table (new peers are accepted,
/// clients whose peer left are closed, the others keep their links), `agent.*`
/// and the certificates (for new clients). A bad file is refused and the agent
/// serves on with the old one.
package final class AgentReloader: Sendable {
    let configPath: String
    let store: ConfigStore
    let server: AgentServer
    let watch: LoadSourceWatch
    let logger: Logger

    init(configPath: String, store: ConfigStore, server: AgentServer, watch: LoadSourceWatch, logger: Logger) {
        self.configPath = configPath
        self.store = store
        self.server = server
        self.watch = watch
        self.logger = logger
    }

    /// Reloads; returns the same kind of answer as `ctl reload` (`ok: …` or `error: …`).
    @discardableResult
    package func reload() async -> String {
        let reload = ConfigReload(command: .agent, configPath: configPath, logger: logger)
        let (loaded, config, plan): (ConfigLoader.Loaded, DaemonConfig, ReloadPlan)
        switch reload.load(running: store.current.config) {
        case .failure(let refusal): return refusal.answer
        case .success(let result): (loaded, config, plan) = result
        }
        let transport: any TransportSecurity
        do {
            transport = try config.tls.transport()
        } catch {
            return reload.refuse("\(error)").answer
        }
        store.replace(config: config, hosts: loaded.hosts)
        let local = LocalLoad(config: config, watch: watch)
        // The application handler is opened once, at start (its keys need a restart), and so is the listening socket.
        let (application, listen) = (server.settings.application, ListenAddress(host: server.settings.host, port: server.settings.port))
        server.reconfigure(settings: AgentSettings(config: config, listen: listen, local: local, application: application), transport: transport)
        let dropped = await server.dropClients(notIn: loaded.hosts)
        return reload.accepted(plan, hosts: loaded.hosts.entries.count, metadata: ["dropped": "\(dropped.isEmpty ? "none" : dropped.joined(separator: ", "))"])
    }
}

/// SIGHUP reloads the agent (without it, HUP's default action would kill it).
struct AgentSignalPart: DaemonPart {
    let reloader: AgentReloader

    func start() async throws {}

    func serve() async {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            await reloader.reload()
        }
    }
}
