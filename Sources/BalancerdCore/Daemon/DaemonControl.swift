import Health
import Logging
import Lonc

/// What an operator can ask of a running daemon, through the control socket
/// or a signal: drains, link retries, and reloading the config.
final class DaemonControl: ControlActions {
    let configPath: String
    let store: ConfigStore
    let drains: DrainStore
    let feed: RoutingFeed
    let supervisor: LinkSupervisor
    let poller: LoadPoller
    let relay: LocalRelay
    let relayRouter: RelayRouter
    let health: HealthPresenter
    let logger: Logger

    init(
        configPath: String, store: ConfigStore, drains: DrainStore, feed: RoutingFeed, supervisor: LinkSupervisor,
        poller: LoadPoller, relay: LocalRelay, relayRouter: RelayRouter, health: HealthPresenter, logger: Logger
    ) {
        self.configPath = configPath
        self.store = store
        self.drains = drains
        self.feed = feed
        self.supervisor = supervisor
        self.poller = poller
        self.relay = relay
        self.relayRouter = relayRouter
        self.health = health
        self.logger = logger
    }

    /// Reloads the config and hosts table; a bad one is reported and the old one kept.
    func reloadConfiguration() async {
        do {
            let loaded = try ConfigLoader().load(path: configPath)
            let old = store.current.config
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
            store.replace(config: config, hosts: loaded.hosts)
            feed.routing.reconfigure(config: config, hosts: loaded.hosts)
            feed.refresh()
            logger.info("reloaded", metadata: ["hosts": "\(loaded.hosts.entries.count)", "spares": "\(config.balancer.spares.count)"])
        } catch {
            logger.error("reload refused; still running the previous config:\n\(error)")
        }
    }

    // MARK: - ControlActions

    func statusJSON() -> String { String(decoding: health.json(), as: UTF8.self) }

    func drain(_ id: String, reason: String) -> String {
        let current = store.current
        guard current.hosts[id] != nil, id != current.config.hostID else { return "error: unknown peer '\(id)'" }
        do {
            try drains.drain(id, reason: reason)
        } catch {
            return "error: \(error)"
        }
        feed.refresh()
        logger.notice("drained \(id)", metadata: ["reason": "\(reason)"])
        let note = current.config.balancer.spares.contains(id) ? "" : " (not a spare: it takes no logins anyway)"
        return "ok: \(id) is draining\(reason.isEmpty ? "" : ": \(reason)")\(note)"
    }

    func undrain(_ id: String) -> String {
        guard store.current.hosts[id] != nil else { return "error: unknown peer '\(id)'" }
        let existed: Bool
        do {
            existed = try drains.undrain(id)
        } catch {
            return "error: \(error)"
        }
        feed.refresh()
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
