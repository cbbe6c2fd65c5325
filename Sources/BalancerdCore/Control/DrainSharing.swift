import Logging
import Lonc

/// Tells the other balancer instances (`balancer.instances`) about a drain given
/// here: one critical message per instance through the relay, so an instance
/// whose link is down, or that is restarting, gets it from the delayed folder
/// when its link comes back up. On every link-up to an instance, the last change
/// given here for each peer is sent again (plain, not kept): whatever it missed
/// (a message it refused, a lost state folder) is made good, and what it has is ignored.
struct DrainSharing: LinkListener {
    /// Sends the changes: critical messages kept until delivered, or plain resends.
    let relay: RelayRouter
    /// This instance's id and `balancer.instances`, as they are now.
    let store: ConfigStore
    /// The changes given here, for resending.
    let drains: DrainStore
    let logger: Logger

    /// A link to another instance that comes up gets this one's drains again.
    func linkChanged(_ change: LinkChange) {
        guard change.cameUp, isOtherInstance(change.status.peerID) else { return }
        Task { await resend(to: change.status.peerID) }
    }

    /// Whether `peer` is another instance behind the same address.
    func isOtherInstance(_ peer: String) -> Bool {
        let config = store.current.config
        return peer != config.hostID && config.balancer.instances.contains(peer)
    }

    /// Sends `instance` the last change given here for every peer; returns how many it applied.
    @discardableResult
    func resend(to instance: String) async -> Int {
        var applied = 0
        for change in drains.changes(origin: store.current.config.hostID) {
            if await relay.handle(peer: instance, line: change.wireCommand, from: .daemon) == WireProtocol.ok { applied += 1 }
        }
        return applied
    }

    /// Sends `change` to every other instance; what each answered, for the operator
    /// (`msua2 ok`, `msua3 con_delayed`).
    func share(_ change: DrainChange) async -> [String] {
        let current = store.current
        let others = current.config.balancer.instances.filter { $0 != current.config.hostID && current.hosts[$0] != nil }
        var outcomes: [String] = []
        for instance in others {
            let reply = await relay.handle(peer: instance, line: WireProtocol.criticalPrefix + change.wireCommand, from: .daemon)
            outcomes.append("\(instance) \(reply)")
            if reply != WireProtocol.ok {
                logger.notice("drain not yet confirmed by an instance", metadata: ["drained": "\(change.peer)", "instance": "\(instance)", "reply": "\(reply)"])
            }
        }
        return outcomes
    }
}

/// The agent's answer to `drainsync:` commands from the other balancer
/// instances: the change is merged into this instance's drains (a later change
/// already in force wins) and written before `ok` is sent, and it is never passed
/// on (each instance tells every other one itself, so nothing loops). Every
/// other command goes to `next` (a site's own application), or `unknown_cmd`.
struct DrainSyncApplication: AgentApplication {
    let drains: DrainStore
    /// `balancer.instances` (the ids allowed to change drains here) and the hosts
    /// table, read per command (reloads apply).
    let store: ConfigStore
    /// Told after a change applied (the balancer re-reads the drains).
    let feed: BalancerFeed
    let next: (any AgentApplication)?
    let logger: Logger

    /// Reply words beyond `ok`.
    static let notAnInstance = "error:not_an_instance"
    static let badChange = "error:bad_drainsync"
    static let notAHost = "error:not_in_hosts_table"
    static let notStored = "error:drain_not_stored"

    func answer(_ command: String, from peer: String, messageID: String?) async -> String {
        guard command.hasPrefix(DrainChange.wirePrefix) else {
            return await next?.answer(command, from: peer, messageID: messageID) ?? WireReply.unknownCommand
        }
        guard store.current.config.balancer.instances.contains(peer) else {
            logger.warning("drain change from a peer balancer.instances does not list; refused", metadata: ["peer": "\(peer)"])
            return Self.notAnInstance
        }
        guard let change = DrainChange(wireCommand: command), change.revision.origin == peer else {
            logger.warning("unreadable drain change from an instance; refused", metadata: ["peer": "\(peer)"])
            return Self.badChange
        }
        guard DrainRevision.validNumbers.contains(change.revision.number) else {
            logger.warning(
                "drain change with a revision number out of range; refused",
                metadata: ["peer": "\(peer)", "drained": "\(String(reflecting: change.peer))", "number": "\(change.revision.number)"])
            return Self.badChange
        }
        guard store.current.hosts[change.peer] != nil else {
            logger.warning("drain change for an id the hosts table does not list; refused", metadata: ["peer": "\(peer)", "drained": "\(String(reflecting: change.peer))"])
            return Self.notAHost
        }
        do {
            guard try drains.merge(change) else {
                logger.info("drain change older than the one in force; ignored", metadata: ["peer": "\(peer)", "drained": "\(change.peer)", "revision": "\(change.revision.number)"])
                return WireProtocol.ok
            }
        } catch {
            logger.error("drain change could not be stored", metadata: ["peer": "\(peer)", "error": "\(error)"])
            return Self.notStored
        }
        feed.refresh()
        logger.notice(
            "drain changed as another instance asked",
            metadata: [
                "drained": "\(change.peer)", "draining": "\(change.draining)", "origin": "\(peer)", "by": "\(change.by ?? "unknown")",
                "reason": "\(change.reason)",
            ])
        return WireProtocol.ok
    }
}
