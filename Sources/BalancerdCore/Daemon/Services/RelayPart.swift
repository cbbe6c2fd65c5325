import ServiceLifecycle
import Lonc

/// The local relay sockets (one per peer) and the delayed queue behind them.
struct RelayPart: DaemonPart {
    let relay: LocalRelay
    let router: RelayRouter
    let supervisor: LinkSupervisor
    /// `relay_sockets`: false opens none (the router still replays the delayed folder).
    let sockets: Bool

    func start() async throws {
        router.setLinks(supervisor.all)
        if sockets { try await relay.update(peers: supervisor.all.map(\.peerID)) }
    }

    /// Twice a second: picks up delayed files other tools drop in (one `stat` of
    /// the folder when nothing changed), and retries peers whose backoff after a
    /// `con_lost` is due, for peers whose link is up.
    func serve() async {
        let router = router
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                await router.replayWaiting()
            }
        }
    }

    func stop() async { await relay.stop() }
}
