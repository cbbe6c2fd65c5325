import Logging
import ServiceLifecycle

/// `balancerd serve`: the daemon's parts as the services of one `ServiceGroup`.
///
/// In start order: the event loop, the peer links, the load poller, the agent
/// (when `agent.listen` is set), the HAProxy agent-check port (when
/// `agent.haproxy_listen` is), the local relay, the control socket, the HTTP
/// endpoint and the signal handler. The parts themselves, and the events
/// between them, are `DaemonParts`. Each part starts once the one before
/// it has (`PhaseLatch`); the group stops them in reverse order on SIGTERM or
/// SIGINT: HTTP first, then control, relay, agent, poller, links, event loop.
/// SIGHUP reloads the config and hosts table without dropping links that
/// stay; SIGUSR1 retries given-up links.
public final class Daemon: Sendable {
    /// The services to run in one group, in start order (see above).
    public let services: [any Service]
    /// The parts, connected (`DaemonParts`).
    package let parts: DaemonParts
    private let ready = ReadyLatch()

    /// Builds every part from a loaded config; nothing listens until the services run.
    public init(loaded: ConfigLoader.Loaded, configPath: String, webRoot: String?, logger: Logger) throws {
        let config = loaded.config
        let parts = try DaemonParts(loaded: loaded, logger: logger)
        self.parts = parts
        let control = DaemonControl(configPath: configPath, parts: parts, logger: logger)
        var services: [any DaemonPart] = [
            EventLoopPart(group: parts.group, logger: logger),
            LinksPart(supervisor: parts.links, store: parts.store),
            PollerPart(poller: parts.poller, supervisor: parts.links),
        ]
        if let agent = parts.agent { services.append(ListenerPart(server: agent.server, purpose: "peer links", logger: logger)) }
        if let agentCheck = parts.agentCheck { services.append(ListenerPart(server: agentCheck, purpose: "HAProxy agent checks", logger: logger)) }
        services += [
            RelayPart(relay: parts.relay, router: parts.relayRouter, supervisor: parts.links, sockets: config.relaySockets),
            ControlPart(server: ControlServer(socketDirectory: config.socketDirectory, actions: control, group: parts.group, logger: logger)),
            HTTPPart(
                settings: config.http, state: parts.endpoint, assets: WebAssets(root: webRoot), ready: ready, logger: logger,
                summary: [
                    "host": "\(config.hostID)", "peers": "\(loaded.hosts.entries.count - 1)", "mode": "\(config.balancer.mode.rawValue)",
                    "agent": "\(config.agent.listen.map { "\($0)" } ?? "off")",
                ]),
            SignalPart(control: control, supervisor: parts.links, logger: logger),
        ]
        self.services = Self.chain(services)
    }

    /// The HTTP port once listening (for the demo and tests, which may bind port 0).
    public func waitUntilReady() async -> Int { await ready.wait() }

    /// Each part as a service that starts after the one before it and stops after the one after it.
    static func chain(_ parts: [any DaemonPart]) -> [any Service] {
        let started = parts.map { _ in PhaseLatch() }
        let stopped = parts.map { _ in PhaseLatch() }
        return parts.indices.map { index in
            service(
                parts[index], after: index > 0 ? started[index - 1] : nil, started: started[index],
                laterStopped: index + 1 < parts.count ? stopped[index + 1] : nil, stopped: stopped[index])
        }
    }

    private static func service<Part: DaemonPart>(_ part: Part, after: PhaseLatch?, started: PhaseLatch, laterStopped: PhaseLatch?, stopped: PhaseLatch) -> any Service {
        PartService(part: part, after: after, started: started, laterStopped: laterStopped, stopped: stopped)
    }
}
