import Foundation
import Health
import Logging
import Lonc
import NIOPosix
import ServiceLifecycle

/// `balancerd serve`: the daemon's parts as the services of one `ServiceGroup`.
///
/// In start order: the event loop, the peer links, the load poller, the agent
/// (when `agent.listen` is set), the local relay, the control socket, the
/// HTTP endpoint and the signal handler. Each part starts once the one before
/// it has (`StartGate`); the group stops them in reverse order on SIGTERM or
/// SIGINT: HTTP first, then control, relay, agent, poller, links, event loop.
/// SIGHUP reloads the config and hosts table without dropping links that
/// stay; SIGUSR1 retries given-up links.
public final class Daemon: Sendable {
    /// The services to run in one group, in start order (see above).
    public let services: [any Service]
    private let ready = ReadyLatch()

    /// Builds every part from a loaded config; nothing listens until the services run.
    public init(loaded: ConfigLoader.Loaded, configPath: String, webRoot: String?, logger: Logger) throws {
        let config = loaded.config
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let transport = try config.tls.transport()
        let store = ConfigStore(config: config, hosts: loaded.hosts)
        let loadWatch = LoadSourceWatch(logger: logger)
        let local = LocalLoad(config: config, watch: loadWatch)
        let poller = LoadPoller(settings: config.poll, local: local, logger: logger, eventLoop: loop)
        let queue = try DelayedQueue(stateDirectory: config.stateDirectory, logger: logger)
        // The relay router is made before the supervisor it reports queue depths to.
        let supervisorBox = Locked<LinkSupervisor?>(nil)
        let relayRouter = RelayRouter(queue: queue, maxLine: config.links.maxLine, logger: logger, depthChanged: { id, depth in
            supervisorBox.withLock { $0 }?.link(for: id)?.setDelayedCount(depth)
        })
        let drains = try DrainStore(stateDirectory: config.stateDirectory)
        for (peer, number) in drains.droppedRevisions.sorted(by: { $0.key < $1.key }) {
            logger.warning(
                "drain revision out of range dropped; the drain stays, the peer's next change applies",
                metadata: ["file": "\(drains.path)", "peer": "\(peer)", "number": "\(number)"])
        }
        let sharing = DrainSharing(relay: relayRouter, store: store, drains: drains, logger: logger)
        let supervisor = LinkSupervisor(
            ownID: config.hostID, settings: config.links, transport: transport, group: group, logger: logger,
            onNewLink: { link in
                let wasUp = Locked(false)
                link.observe { status in
                    poller.linkChanged(status)
                    let cameUp = wasUp.withLock { wasUp in
                        defer { wasUp = status.state == .up }
                        return status.state == .up && !wasUp
                    }
                    // On every link-up, that peer's delayed messages go out first, in order;
                    // another balancer instance then gets this one's drains again.
                    guard status.state == .up else { return }
                    Task {
                        await relayRouter.replay(peer: status.peerID)
                        if cameUp, sharing.isOtherInstance(status.peerID) { await sharing.resend(to: status.peerID) }
                    }
                }
            })
        supervisorBox.withLock { $0 = supervisor }
        let relay = LocalRelay(socketDirectory: config.socketDirectory, owner: config.socketGroup, router: relayRouter, group: group, maxLine: config.links.maxLine, logger: logger)

        let routing = RoutingTable(config: config, hosts: loaded.hosts)
        let feed = RoutingFeed(routing: routing, store: store, drains: drains, poller: poller)
        poller.onUpdate { update in feed.feed(update) }
        feed.refresh()
        let links: @Sendable () -> [LinkStatus] = { supervisor.statuses }
        var health = HealthPresenter(store: store, drains: drains, routing: routing, poller: poller, links: links)
        health.relay = { HealthDocument.Relay(rejectedMessages: queue.rejectedCount(), rejectedTotal: relayRouter.rejectedSinceStart.values.reduce(0, +)) }
        var endpoint = StatusEndpoint(
            routing: routing, metrics: BalancerMetrics(certificateNotAfter: try Self.certificateNotAfter(config.tls)), poller: poller, links: links, health: health,
            decisions: DecisionsPresenter(routing: routing, store: store))
        endpoint.rejectedByPeer = { relayRouter.rejectedSinceStart }
        // Drains from the other balancer instances arrive as agent commands; the rest goes to agent.handler.
        let drainSync = DrainSyncApplication(
            drains: drains, instances: { store.current.config.balancer.instances }, isHost: { store.current.hosts[$0] != nil },
            applied: { feed.refresh() },
            next: config.agent.handlerClient(maxLine: config.links.maxLine, group: group, logger: logger), logger: logger)
        var agent: AgentServer?
        if let listen = config.agent.listen {
            agent = AgentServer(
                settings: AgentSettings(config: config, listen: listen, local: local, application: drainSync), hosts: { store.current.hosts },
                transport: transport, group: group, logger: logger,
                onInboundPeer: { id in
                    // The seed's USR1 from lond: a peer that links to us is back; retry our link to it now.
                    if let link = supervisor.link(for: id), link.status.state != .up { link.retry() }
                })
        }
        let control = DaemonControl(
            configPath: configPath, store: store, drains: drains, feed: feed, supervisor: supervisor, poller: poller,
            relay: relay, relayRouter: relayRouter, health: health, agent: agent.map { ($0, transport) }, loadWatch: loadWatch,
            logger: logger)

        var parts: [any DaemonPart] = [
            EventLoopPart(group: group, logger: logger),
            LinksPart(supervisor: supervisor, store: store),
            PollerPart(poller: poller, supervisor: supervisor),
        ]
        if let agent { parts.append(ListenerPart(server: agent, purpose: "peer links", logger: logger)) }
        if let haproxy = config.agent.haproxyListen {
            let listener = HAProxyAgentListener(listen: haproxy, store: store, watch: loadWatch, group: group, logger: logger)
            parts.append(ListenerPart(server: listener, purpose: "HAProxy agent checks", logger: logger))
        }
        parts += [
            RelayPart(relay: relay, router: relayRouter, supervisor: supervisor, sockets: config.relaySockets),
            ControlPart(server: ControlServer(socketDirectory: config.socketDirectory, actions: control, group: group, logger: logger)),
            HTTPPart(
                settings: config.http, state: endpoint, assets: WebAssets(root: webRoot), ready: ready, logger: logger,
                summary: [
                    "host": "\(config.hostID)", "peers": "\(loaded.hosts.entries.count - 1)", "mode": "\(config.balancer.mode.rawValue)",
                    "agent": "\(config.agent.listen.map { "\($0)" } ?? "off")",
                ]),
            SignalPart(control: control, supervisor: supervisor, logger: logger),
        ]
        services = Self.chain(parts)
    }

    /// The notAfter of the host certificate and the CA, for `balancerd_certificate_expiry_seconds`.
    private static func certificateNotAfter(_ tls: DaemonConfig.TLS) throws -> [(label: String, notAfter: Double)] {
        guard !tls.insecure else { return [] }
        let expiry = try CertificateInspection.expiry(caPath: tls.caPath, certificatePath: tls.certificatePath)
        return [("host", expiry.certificate.timeIntervalSince1970), ("ca", expiry.ca.timeIntervalSince1970)]
    }

    /// The HTTP port once listening (for the demo and tests, which may bind port 0).
    public func waitUntilReady() async -> Int { await ready.wait() }

    /// Each part as a service that starts after the one before it and stops after the one after it.
    static func chain(_ parts: [any DaemonPart]) -> [any Service] {
        let started = parts.map { _ in StartGate() }
        let stopped = parts.map { _ in StartGate() }
        return parts.indices.map { index in
            service(
                parts[index], after: index > 0 ? started[index - 1] : nil, started: started[index],
                laterStopped: index + 1 < parts.count ? stopped[index + 1] : nil, stopped: stopped[index])
        }
    }

    private static func service<Part: DaemonPart>(_ part: Part, after: StartGate?, started: StartGate, laterStopped: StartGate?, stopped: StartGate) -> any Service {
        PartService(part: part, after: after, started: started, laterStopped: laterStopped, stopped: stopped)
    }
}
