import ServiceLifecycle
import Lonc

/// The local relay sockets (one per peer) and the delayed queue behind them.
struct RelayPart: DaemonPart {
    let relay: LocalRelay
    let router: RelayRouter
    let supervisor: LinkSupervisor

    func start() async throws {
        router.setLinks(supervisor.all)
        try await relay.update(peers: supervisor.all.map(\.peerID))
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
