import Balancer
import Foundation
import Health
import Lonc

/// Builds the `/health` document (and `balancerd ctl status`) from the live
/// state: config, drains, the balancer's decision, and the poller's snapshot
/// (each peer's link status and sample: what the balancer reads too), with
/// each link's traffic counters and the queue's count of delayed messages.
struct HealthPresenter: Sendable {
    let store: ConfigStore
    let drains: DrainStore
    let balancer: LoginBalancer
    let poller: LoadPoller
    /// Each link's traffic counters (its status is the poller's snapshot's).
    let links: LinkSupervisor
    /// The delayed messages per peer, and the refused ones.
    let relayRouter: RelayRouter
    let started = Date()
    let startedMonotonic = MonotonicClock.now()

    /// Samples per peer shown on the status page's sparkline.
    static let historyLength = 120

    func json() -> [UInt8] { document().json() }

    /// What one `/health` or summary is built from, read once.
    private struct Inputs {
        var config: DaemonConfig
        /// The poller's picture; `peer(_:)` finds a peer's sample in O(1) by its own index.
        var snapshot: HealthSnapshot
        var decision: Decision
        var report: BalancerReport
        var verdicts: [String: CandidateVerdict]
        var drains: [String: DrainBook.Drain]
        var now: Double
        var spares: Set<String>
        var backups: Set<String>
        /// The hosts-table entries other than this server, in table order.
        var others: [HostEntry]

        /// A peer's link as the snapshot has it (a peer not polled yet: connecting).
        func link(_ id: String) -> LinkStatus { snapshot.peer(id)?.link ?? LinkStatus(peerID: id) }
    }

    private func inputs(only: String? = nil) -> Inputs {
        let (config, hosts) = (store.current.config, store.current.hosts)
        let snapshot = poller.snapshot
        let decision = balancer.explain()
        return Inputs(
            config: config, snapshot: snapshot, decision: decision, report: balancer.report(),
            verdicts: Dictionary(decision.candidates.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }),
            drains: drains.all, now: MonotonicClock.now(),
            spares: Set(config.balancer.spares), backups: Set(config.balancer.backups),
            others: hosts.entries.filter { $0.id != config.hostID && (only == nil || $0.id == only) })
    }

    /// `/health`, every peer (`only`: that peer alone, none when it is no peer);
    /// `history` false leaves each peer's sparkline samples out (the status
    /// page adds them for the rows it shows).
    func document(only: String? = nil, history withHistory: Bool = true) -> HealthDocument {
        let inputs = inputs(only: only)
        return document(inputs, peers: inputs.others.map { peer($0, inputs, history: withHistory) })
    }

    /// `/health?summary` in one pass over the hosts table: counts, and only the
    /// problem peers it shows built in full, so a monitor asking for it at 10,000
    /// peers does not hold an HTTP thread (and the logins queued on it) for the
    /// whole document. The same as `HealthSummary(document(history: false))`.
    func summary() -> HealthSummary {
        let inputs = inputs()
        var summary = HealthSummary(document(inputs, peers: []))
        summary.peers = inputs.others.count
        for entry in inputs.others {
            let link = inputs.link(entry.id)
            let delayed = relayRouter.waiting(peer: entry.id)
            let candidate = inputs.spares.contains(entry.id) || inputs.backups.contains(entry.id)
            let eligible = inputs.verdicts[entry.id]?.eligible ?? false
            let draining = inputs.drains[entry.id] != nil
            summary.linkStates[link.state.rawValue, default: 0] += 1
            if eligible { summary.eligible += 1 }
            if draining { summary.draining += 1 }
            summary.delayed += delayed
            guard link.state != .up || (candidate && !eligible) || draining || delayed > 0 else { continue }
            summary.problemCount += 1
            if summary.problems.count < HealthSummary.problemsShown {
                summary.problems.append(HealthSummary.Problem(peer(entry, inputs, history: false)))
            }
        }
        return summary
    }

    private func peer(_ entry: HostEntry, _ inputs: Inputs, history withHistory: Bool) -> HealthDocument.Peer {
        let link = inputs.link(entry.id)
        let traffic = links.link(for: entry.id)?.traffic ?? LinkTraffic()
        let sample = inputs.snapshot.peer(entry.id)?.latest
        let verdict = inputs.verdicts[entry.id]
        let drain = inputs.drains[entry.id]
        let age = sample.map { max(0, inputs.now - $0.monotonicAt) }
        let candidate = inputs.spares.contains(entry.id) || inputs.backups.contains(entry.id)
        return HealthDocument.Peer(
            id: entry.id, domain: entry.domain, role: entry.role, hostname: entry.hostname,
            spare: inputs.spares.contains(entry.id), backup: inputs.backups.contains(entry.id), draining: drain != nil,
            drainReason: drain?.reason, drainSince: drain?.since,
            drainedBy: drain?.by, drainOrigin: drain?.origin?.nilIfEmpty, eligible: verdict?.eligible ?? false,
            slowStartShare: candidate ? rounded(verdict?.share) : nil,
            excludedBecause: candidate ? verdict?.excludedBecause : "not a spare (not in balancer.spares or balancer.backups)",
            link: HealthDocument.Link(
                state: link.state, since: link.since, attempts: link.attempts, lastError: link.lastError,
                rttMilliseconds: rounded(traffic.rttMilliseconds), peerVersion: link.peerVersion, tls: link.tlsVersion,
                tlsCipher: link.tlsCipher, requestsTotal: traffic.requestsTotal, failuresTotal: traffic.failuresTotal),
            load: HealthDocument.Load(
                loadPercent: rounded(sample?.loadPercent), userloadPercent: rounded(sample?.userLoadPercent),
                effectivePercent: rounded(sample?.effectivePercent), predictedPercent: rounded(verdict?.predicted),
                sampledAt: sample?.sampledAt, ageSeconds: rounded(age), stale: age.map { $0 > inputs.config.poll.staleAfter.secondsValue } ?? true),
            delayed: relayRouter.waiting(peer: entry.id),
            history: withHistory ? history(of: entry.id) : [])
    }

    private func document(_ inputs: Inputs, peers: [HealthDocument.Peer]) -> HealthDocument {
        let (config, decision, report, own) = (inputs.config, inputs.decision, inputs.report, inputs.snapshot.own)
        let allUp = inputs.others.allSatisfy { inputs.link($0.id).state == .up }
        return HealthDocument(
            host: config.hostID, version: BalancerdVersion.string,
            status: decision.target == .none ? .critical : (allUp ? .ok : .degraded),
            generatedAt: Date(), uptimeSeconds: rounded(inputs.now - startedMonotonic) ?? 0, startedAt: started,
            own: HealthDocument.OwnLoad(
                loadPercent: rounded(own?.loadPercent), userloadPercent: rounded(own?.userLoadPercent),
                effectivePercent: rounded(own?.effectivePercent), predictedPercent: rounded(decision.ownLoad),
                history: history(of: nil)),
            balancer: HealthDocument.BalancerSummary(
                mode: config.balancer.mode.rawValue, target: decision.target.name, reason: decision.reason, backup: decision.usedBackup,
                redirectsTotal: report.redirects.reduce(report.local) { $0 + $1.count }, backupRedirectsTotal: report.backup,
                noTargetTotal: report.none, maxLoadPercent: config.balancer.maxLoad, readmitLoadPercent: config.balancer.readmitLoad),
            peers: peers,
            relay: HealthDocument.Relay(
                rejectedMessages: relayRouter.queue.setAside.rejected, rejectedTotal: relayRouter.rejectedSinceStart.values.reduce(0, +)))
    }

    /// `[unix time, effective percent or null]` for a peer (nil: this server).
    func history(of id: String?) -> [[Double?]] {
        poller.history(of: id).suffix(Self.historyLength).map { [rounded($0.sampledAt.timeIntervalSince1970), rounded($0.effectivePercent)] }
    }
}
