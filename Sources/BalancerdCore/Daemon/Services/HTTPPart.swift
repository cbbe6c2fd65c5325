import Logging
import Lonc

/// The libmicrohttpd endpoint; last to start and first to stop, so it answers
/// only while everything behind it runs.
struct HTTPPart: DaemonPart {
    let settings: HTTPSettings
    let state: any EndpointState
    let assets: WebAssets
    let ready: ReadyLatch
    let logger: Logger
    /// Logged once listening: what this daemon is.
    let summary: Logger.Metadata
    private let server = Locked<HTTPServer?>(nil)

    init(
        settings: HTTPSettings, state: any EndpointState, assets: WebAssets,
        ready: ReadyLatch, logger: Logger, summary: Logger.Metadata
    ) {
        self.settings = settings
        self.state = state
        self.assets = assets
        self.ready = ready
        self.logger = logger
        self.summary = summary
    }

    func start() async throws {
        let allow = try AddressAllowList(parsing: settings.statusAllow)
        let server = try HTTPServer(settings: settings, responder: Router(state: state, allow: allow, assets: assets, statusHosts: StatusHosts(settings.statusHosts)))
        self.server.withLock { $0 = server }
        var metadata = summary
        metadata["http"] = "\(settings.listen.host):\(server.port)"
        logger.info("balancerd serving", metadata: metadata)
        ready.open(port: server.port)
    }

    func stop() async {
        logger.info("stopping: HTTP first, then control, relay, agent, links")
        server.withLock { $0 }?.stop()
    }
}
