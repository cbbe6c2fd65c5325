import Health
import Logging
import Lonc
import NIOPosix
import ServiceLifecycle

/// The event loop every socket part shares; first in the group, so it is shut down last.
struct EventLoopPart: DaemonPart {
    let group: MultiThreadedEventLoopGroup
    let logger: Logger

    func start() async throws {}

    func stop() async {
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }
}

/// A link to every peer of the hosts table; closed last, after everything that uses them.
/// Before any link opens, the open-files limit is raised to hold them all.
struct LinksPart: DaemonPart {
    let supervisor: LinkSupervisor
    let store: ConfigStore

    func start() async throws {
        let (config, hosts) = (store.current.config, store.current.hosts)
        try DescriptorLimit.ensure(peers: hosts.entries.count { $0.id != config.hostID }, relaySockets: config.relaySockets, hostsTable: config.hostsTablePath)
        await supervisor.update(hosts: hosts)
    }

    func stop() async { await supervisor.shutdown() }
}

/// Polls every peer (and this server) for its load until graceful shutdown.
struct PollerPart: DaemonPart {
    let poller: LoadPoller
    let supervisor: LinkSupervisor

    func start() async throws { poller.setPeers(supervisor.all) }

    func serve() async {
        let poller = poller
        await cancelWhenGracefulShutdown { await poller.run() }
    }
}
