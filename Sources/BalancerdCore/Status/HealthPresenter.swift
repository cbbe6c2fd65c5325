import Balancer
import Foundation
import Health
import Lonc

/// Builds the `/health` document (and `balancerd ctl status`) from the live
/// state: config, drains, the balancer's decision, links and samples.
struct HealthPresenter: Sendable {
    let store: ConfigStore
    let drains: DrainStore
    let routing: RoutingTable
    let poller: LoadPoller
    let links: @Sendable () -> [LinkStatus]
    /// The relay's refused messages (nil: no relay, as in tests without one).
    var relay: @Sendable () -> HealthDocument.Relay? = { nil }
    let started = Date()
    let startedMonotonic = MonotonicClock.now()

    /// Samples per peer shown on the status page's sparkline.
    static let historyLength = 120

    func json() -> [UInt8] { document().json() }

    /// `/health`, every peer (`only`: that peer alone, none when it is no peer);
    /// `history` false leaves each peer's sparkline samples out (the summary,
    /// and the status page, which adds them for the rows it shows).
    func document(only: String? = nil, history withHistory: Bool = true) -> HealthDocument {
        let (config, hosts) = (store.current.config, store.current.hosts)
        let snapshot = poller.snapshot
        let decision = routing.explain()
        let report = routing.report()
        let statuses = Dictionary(links().map { ($0.peerID, $0) }, uniquingKeysWith: { a, _ in a })
        let verdicts = Dictionary(decision.candidates.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let samples = Dictionary(snapshot.peers.map { ($0.id, $0.latest) }, uniquingKeysWith: { a, _ in a })
        let drains = drains.all
        let now = MonotonicClock.now()
        let staleAfter = config.poll.staleAfter.secondsValue
        let spares = Set(config.balancer.spares)
        let backups = Set(config.balancer.backups)
        let others = hosts.entries.filter { $0.id != config.hostID && (only == nil || $0.id == only) }

        let peers = others.map { entry -> HealthDocument.Peer in
            let link = statuses[entry.id] ?? LinkStatus(peerID: entry.id)
            let sample = samples[entry.id] ?? nil
            let verdict = verdicts[entry.id]
            let age = sample.map { max(0, now - $0.monotonicAt) }
            return HealthDocument.Peer(
                id: entry.id, domain: entry.domain, role: entry.role, hostname: entry.hostname,
                spare: spares.contains(entry.id), backup: backups.contains(entry.id), draining: drains[entry.id] != nil,
                drainReason: drains[entry.id]?.reason, drainSince: drains[entry.id]?.since,
                drainedBy: drains[entry.id]?.by, drainOrigin: drains[entry.id]?.origin?.nilIfEmpty, eligible: verdict?.eligible ?? false,
                slowStartShare: spares.contains(entry.id) || backups.contains(entry.id) ? rounded(verdict?.share) : nil,
                excludedBecause: spares.contains(entry.id) || backups.contains(entry.id)
                    ? verdict?.excludedBecause : "not a spare (not in balancer.spares or balancer.backups)",
                link: HealthDocument.Link(
                    state: link.state, since: link.since, attempts: link.attempts, lastError: link.lastError,
                    rttMilliseconds: rounded(link.rttMilliseconds), peerVersion: link.peerVersion, tls: link.tlsVersion,
                    tlsCipher: link.tlsCipher, requestsTotal: link.requestsTotal, failuresTotal: link.failuresTotal),
                load: HealthDocument.Load(
                    loadPercent: rounded(sample?.loadPercent), userloadPercent: rounded(sample?.userLoadPercent),
                    effectivePercent: rounded(sample?.effectivePercent), predictedPercent: rounded(verdict?.predicted),
                    sampledAt: sample?.sampledAt, ageSeconds: rounded(age), stale: age.map { $0 > staleAfter } ?? true),
                delayed: link.delayed,
                history: withHistory ? history(of: entry.id) : [])
        }
        let allUp = others.allSatisfy { statuses[$0.id]?.state == .up }
        let own = snapshot.own
        return HealthDocument(
            host: config.hostID, version: LoncVersion.string,
            status: decision.target == .none ? .critical : (allUp ? .ok : .degraded),
            generatedAt: Date(), uptimeSeconds: rounded(now - startedMonotonic) ?? 0, startedAt: started,
            own: HealthDocument.OwnLoad(
                loadPercent: rounded(own?.loadPercent), userloadPercent: rounded(own?.userLoadPercent),
                effectivePercent: rounded(own?.effectivePercent), predictedPercent: rounded(decision.ownLoad),
                history: history(of: nil)),
            balancer: HealthDocument.BalancerSummary(
                mode: config.balancer.mode.rawValue, target: decision.target.name, reason: decision.reason, backup: decision.usedBackup,
                redirectsTotal: report.redirects.reduce(report.local) { $0 + $1.count }, backupRedirectsTotal: report.backup,
                noTargetTotal: report.none, maxLoadPercent: config.balancer.maxLoad, readmitLoadPercent: config.balancer.readmitLoad),
            peers: peers, relay: relay())
    }

    /// `[unix time, effective percent or null]` for a peer (nil: this server).
    func history(of id: String?) -> [[Double?]] {
        poller.history(of: id).suffix(Self.historyLength).map { [rounded($0.sampledAt.timeIntervalSince1970), rounded($0.effectivePercent)] }
    }
}
