import Health
import Logging
import Lonc

/// What an operator can ask of a running daemon, through the control socket
/// or a signal: drains, link retries, and reloading the config.
final class DaemonControl: ControlActions {
    let configPath: String
    let parts: DaemonParts
    let logger: Logger

    init(configPath: String, parts: DaemonParts, logger: Logger) {
        self.configPath = configPath
        self.parts = parts
        self.logger = logger
    }

    /// Reloads the config and hosts table (SIGHUP, `ctl reload`); a bad one is
    /// refused and the old one kept. Every changed key either takes effect now
    /// or is named as needing a restart, in the log and in the answer.
    func reloadConfiguration() async -> String {
        let (store, feed, links, poller, relayRouter) = (parts.store, parts.feed, parts.links, parts.poller, parts.relayRouter)
        let old = store.current.config
        let reload = ConfigReload(command: .serve, configPath: configPath, logger: logger)
        let (loaded, config, plan): (ConfigLoader.Loaded, DaemonConfig, ReloadPlan)
        switch reload.load(running: old) {
        case .failure(let refusal): return refusal.answer
        case .success(let result): (loaded, config, plan) = result
        }
        guard loaded.hosts[old.hostID] != nil else {
            return reload.refuse("the hosts table \(loaded.config.hostsTablePath) no longer lists this server '\(old.hostID)'").answer
        }
        do {
            // relay_sockets needs a restart: count what the running process opens.
            let peers = loaded.hosts.entries.count { $0.id != old.hostID }
            try DescriptorLimit.ensure(peers: peers, relaySockets: old.relaySockets, hostsTable: loaded.config.hostsTablePath)
        } catch {
            return reload.refuse("\(error)").answer
        }
        await links.update(hosts: loaded.hosts)
        poller.setPeers(links.all)
        relayRouter.setLinks(links.all)
        do {
            if config.relaySockets { try await parts.relay.update(peers: links.all.map(\.peerID)) }
        } catch {
            logger.error("reload: relay sockets not updated", metadata: ["error": "\(error)"])
        }
        let local = LocalLoad(config: config, watch: parts.loadWatch)
        poller.reconfigure(settings: config.poll, local: local)
        if let agent = parts.agent, let listen = config.agent.listen {
            let settings = AgentSettings(config: config, listen: listen, local: local, application: agent.server.settings.application)
            agent.server.reconfigure(settings: settings, transport: agent.transport)
            await agent.server.dropClients(notIn: loaded.hosts)
        }
        store.replace(config: config, hosts: loaded.hosts)
        feed.balancer.reconfigure(config: config, hosts: loaded.hosts)
        feed.refresh()
        return reload.accepted(plan, hosts: loaded.hosts.entries.count, metadata: ["spares": "\(config.balancer.spares.count)"])
    }

    // MARK: - ControlActions

    func statusJSON() -> String { String(decoding: parts.health.json(), as: UTF8.self) }

    func drain(_ id: String, reason: String, by operatorName: String?) async -> String {
        let current = parts.store.current
        guard current.hosts[id] != nil, id != current.config.hostID else { return "error: unknown peer '\(id)'" }
        let change: DrainChange
        do {
            change = try parts.drains.drain(id, reason: reason, by: operatorName, origin: current.config.hostID)
        } catch {
            return "error: \(error)"
        }
        parts.feed.refresh()
        logger.notice("drained", metadata: ["peer": "\(id)", "reason": "\(reason)", "by": "\(operatorName ?? "unknown")"])
        let note = current.config.balancer.spares.contains(id) ? "" : " (not a spare: it takes no logins anyway)"
        return "ok: \(id) is draining\(reason.isEmpty ? "" : ": \(reason)")\(note)\(await sharedNote(change))"
    }

    func undrain(_ id: String, by operatorName: String?) async -> String {
        let current = parts.store.current
        guard current.hosts[id] != nil else { return "error: unknown peer '\(id)'" }
        let outcome: (wasDraining: Bool, change: DrainChange)
        do {
            outcome = try parts.drains.undrain(id, by: operatorName, origin: current.config.hostID)
        } catch {
            return "error: \(error)"
        }
        parts.feed.refresh()
        logger.notice("undrained", metadata: ["peer": "\(id)", "by": "\(operatorName ?? "unknown")"])
        let shared = await sharedNote(outcome.change)
        return (outcome.wasDraining ? "ok: \(id) takes logins again (slow start)" : "ok: \(id) was not draining") + shared
    }

    /// "; sent to msua2 (ok)": what the other instances answered (`con_delayed`: kept, sent when its link is up).
    private func sharedNote(_ change: DrainChange) async -> String {
        let outcomes = await parts.sharing.share(change)
        return outcomes.isEmpty ? "" : "; sent to instances: " + outcomes.joined(separator: ", ")
    }

    func reconnect(_ id: String?) -> String {
        guard parts.links.retry(id) else { return "error: unknown peer '\(id ?? "")'" }
        return "ok: retrying \(id ?? "every link")"
    }

    func reload() async -> String { await reloadConfiguration() }
}
