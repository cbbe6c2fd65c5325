import Foundation
import Health
import Logging
import Lonc
import NIOPosix

/// The parts of `balancerd serve` and how they are connected, made in the
/// order data flows through them. Events go one way, from a part to parts made
/// before it, so nothing is wired to a part that does not exist yet:
///
///     links ──LinkChange──┬─▶ poller ──HealthUpdate──▶ feed ──▶ login balancer ◀── HTTP /login
///                         ├─▶ relay router: a peer's delayed messages, on its link-up
///                         └─▶ drain sharing: this instance's drains, on an instance's link-up
///     relay sockets ──line──▶ relay router ──request──▶ links
///     agent ──drainsync:──▶ drains ──▶ feed        agent ──inbound peer──▶ links (retry now)
///     HTTP /health, /metrics ──read──▶ the poller's snapshot (links and samples, as the
///                                      balancer has them), login balancer, traffic, queue
package struct DaemonParts: Sendable {
    /// The one event loop of every link, the agent, the relay and the control socket.
    let group: MultiThreadedEventLoopGroup
    /// The config and hosts table in force (a reload replaces them).
    package let store: ConfigStore
    /// Logs this server's load sources failing and recovering, once each.
    let loadWatch: LoadSourceWatch
    /// Polls the peers (and this server); its snapshot is what the balancer and /health read.
    package let poller: LoadPoller
    /// Critical messages: stored in the delayed folder, sent in order, backed off.
    let relayRouter: RelayRouter
    /// The drains in force (drains.json).
    let drains: DrainStore
    /// Drains given here, sent to the other instances.
    let sharing: DrainSharing
    /// One link per hosts-table peer.
    package let links: LinkSupervisor
    /// One socket per peer for local programs (`relay_sockets`).
    let relay: LocalRelay
    /// The balancer's state, asked by every /login.
    package let balancer: LoginBalancer
    /// The poller's updates, the drains and the hosts table, into the login balancer.
    let feed: BalancerFeed
    /// With `agent.listen`: this server answers its peers' links, and its transport.
    let agent: (server: AgentServer, transport: any TransportSecurity)?
    /// With `agent.haproxy_listen`.
    let agentCheck: HAProxyAgentListener?
    /// /health and `ctl status`.
    let health: HealthPresenter
    /// What the HTTP routes read.
    let endpoint: StatusEndpoint

    /// Makes every part from a loaded config; nothing listens or connects yet.
    init(loaded: ConfigLoader.Loaded, logger: Logger) throws {
        let config = loaded.config
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let transport = try config.tls.transport()
        let store = ConfigStore(config: config, hosts: loaded.hosts)
        let loadWatch = LoadSourceWatch(logger: logger)
        (self.group, self.store, self.loadWatch) = (group, store, loadWatch)
        let local = LocalLoad(config: config, watch: loadWatch)

        // What follows the links: the poller, the relay's replay, drain sharing.
        poller = LoadPoller(settings: config.poll, local: local, logger: logger, eventLoop: group.next())
        let queue = try DelayedQueue(stateDirectory: config.stateDirectory, logger: logger)
        relayRouter = RelayRouter(queue: queue, maxLine: config.links.maxLine, logger: logger)
        drains = try DrainStore(stateDirectory: config.stateDirectory)
        for (peer, number) in drains.droppedRevisions.sorted(by: { $0.key < $1.key }) {
            logger.warning(
                "drain revision out of range dropped; the drain stays, the peer's next change applies",
                metadata: ["file": "\(drains.path)", "peer": "\(peer)", "number": "\(number)"])
        }
        sharing = DrainSharing(relay: relayRouter, store: store, drains: drains, logger: logger)
        links = LinkSupervisor(
            ownID: config.hostID, settings: config.links, transport: transport, group: group, logger: logger,
            listeners: [poller, relayRouter, sharing])
        relay = LocalRelay(
            socketDirectory: config.socketDirectory, owner: config.socketGroup, router: relayRouter, group: group, maxLine: config.links.maxLine,
            logger: logger)

        // What follows the poller: the balancer.
        balancer = LoginBalancer(config: config, hosts: loaded.hosts)
        feed = BalancerFeed(balancer: balancer, store: store, drains: drains, poller: poller)
        poller.onUpdate(feed.feed)
        feed.refresh()

        // The agent: its peers' links, drains from the other instances, the rest to agent.handler.
        let drainSync = DrainSyncApplication(
            drains: drains, store: store, feed: feed,
            next: config.agent.handlerClient(maxLine: config.links.maxLine, group: group, logger: logger), logger: logger)
        let links = links
        agent = config.agent.listen.map { listen in
            let server = AgentServer(
                settings: AgentSettings(config: config, listen: listen, local: local, application: drainSync), hosts: { store.current.hosts },
                transport: transport, group: group, logger: logger,
                onInboundPeer: { id in
                    // The seed's USR1 from lond: a peer that links to us is back; retry our link to it now.
                    if let link = links.link(for: id), link.status.state != .up { link.retry() }
                })
            return (server, transport)
        }
        agentCheck = config.agent.haproxyListen.map { HAProxyAgentListener(listen: $0, store: store, watch: loadWatch, group: group, logger: logger) }

        // What HTTP reads.
        health = HealthPresenter(store: store, drains: drains, balancer: balancer, poller: poller, links: links, relayRouter: relayRouter)
        endpoint = StatusEndpoint(
            health: health, decisions: DecisionsPresenter(balancer: balancer, store: store),
            metrics: BalancerMetrics(certificateNotAfter: try Self.certificateNotAfter(config.tls)))
    }

    /// The notAfter of the host certificate and the CA, for `balancerd_certificate_expiry_seconds`.
    private static func certificateNotAfter(_ tls: DaemonConfig.TLS) throws -> [(label: String, notAfter: Double)] {
        guard !tls.insecure else { return [] }
        let expiry = try CertificateInspection.expiry(caPath: tls.caPath, certificatePath: tls.certificatePath)
        return [("host", expiry.certificate.timeIntervalSince1970), ("ca", expiry.ca.timeIntervalSince1970)]
    }
}
