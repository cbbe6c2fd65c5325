import Balancer
import Foundation
import Health
import Lonc

/// The `/health` document (and `balancerd ctl status`): this server, the
/// balancer's current decision, and every peer's link and load.
struct HealthPresenter: Sendable {
    let store: ConfigStore
    let drains: DrainStore
    let routing: RoutingTable
    let poller: LoadPoller
    let links: @Sendable () -> [LinkStatus]
    let started = Date()
    let startedMonotonic = MonotonicClock.now()

    func json() -> [UInt8] { document().serialized() }

    /// The `/health` document of docs/REFERENCE.md (field names are a contract), plus a `history` per peer.
    func document() -> JSONValue {
        let (config, hosts) = (store.current.config, store.current.hosts)
        let snapshot = poller.snapshot
        let decision = routing.explain()
        let report = routing.report()
        let statuses = Dictionary(links().map { ($0.peerID, $0) }, uniquingKeysWith: { a, _ in a })
        let verdicts = Dictionary(decision.candidates.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let samples = Dictionary(snapshot.peers.map { ($0.id, $0.latest) }, uniquingKeysWith: { a, _ in a })
        let drains = drains.reasons
        let now = MonotonicClock.now()
        let staleAfter = config.poll.staleAfter.secondsValue
        let spares = Set(config.balancer.spares)

        let peers = hosts.entries.filter { $0.id != config.hostID }.map { entry -> JSONValue in
            let link = statuses[entry.id] ?? LinkStatus(peerID: entry.id)
            let sample = samples[entry.id] ?? nil
            let verdict = verdicts[entry.id]
            let excluded: String? =
                spares.contains(entry.id) ? verdict?.excludedBecause : "not a spare (not in balancer.spares)"
            let age = sample.map { max(0, now - $0.monotonicAt) }
            let history = poller.history(of: entry.id).suffix(120).map { sample -> JSONValue in
                .array([.number(sample.sampledAt.timeIntervalSince1970), .number(sample.effectivePercent)])
            }
            return .object([
                ("id", .string(entry.id)),
                ("domain", .string(entry.domain)),
                ("role", .string(entry.role)),
                ("hostname", .string(entry.hostname)),
                ("spare", .bool(spares.contains(entry.id))),
                ("draining", .bool(drains[entry.id] != nil)),
                ("drain_reason", .string(drains[entry.id])),
                ("eligible", .bool(verdict?.eligible ?? false)),
                ("excluded_because", .string(excluded)),
                ("link", .object([
                    ("state", .string(link.state.rawValue)),
                    ("since", .time(link.since)),
                    ("attempts", .integer(link.attempts)),
                    ("last_error", .string(link.lastError)),
                    ("rtt_ms", .number(link.rttMilliseconds)),
                    ("peer_version", .string(link.peerVersion)),
                    ("tls", .string(link.tlsVersion)),
                    ("tls_cipher", .string(link.tlsCipher)),
                    ("requests_total", .integer(link.requestsTotal)),
                    ("failures_total", .integer(link.failuresTotal)),
                ])),
                ("load", .object([
                    ("load_percent", .number(sample?.loadPercent)),
                    ("userload_percent", .number(sample?.userLoadPercent)),
                    ("effective_percent", .number(sample?.effectivePercent)),
                    ("predicted_percent", .number(verdict?.predicted)),
                    ("sampled_at", .time(sample?.sampledAt)),
                    ("age_s", .number(age)),
                    ("stale", .bool(age.map { $0 > staleAfter } ?? true)),
                ])),
                ("delayed", .integer(link.delayed)),
                ("history", .array(Array(history))),
            ])
        }
        let allUp = hosts.entries.filter { $0.id != config.hostID }.allSatisfy { statuses[$0.id]?.state == .up }
        let status = decision.target == .none ? "critical" : (allUp ? "ok" : "degraded")
        let own = snapshot.own
        let redirectsTotal = report.redirects.reduce(report.local) { $0 + $1.count }
        return .object([
            ("host", .string(config.hostID)),
            ("version", .string(LoncVersion.string)),
            ("status", .string(status)),
            ("generated_at", .time(Date())),
            ("uptime_s", .number(now - startedMonotonic)),
            ("started_at", .time(started)),
            ("self", .object([
                ("load_percent", .number(own?.loadPercent)),
                ("userload_percent", .number(own?.userLoadPercent)),
                ("effective_percent", .number(own?.effectivePercent)),
                ("predicted_percent", .number(decision.ownLoad)),
                ("history", .array(poller.history(of: nil).suffix(120).map { .array([.number($0.sampledAt.timeIntervalSince1970), .number($0.effectivePercent)]) })),
            ])),
            ("balancer", .object([
                ("mode", .string(config.balancer.mode.rawValue)),
                ("target", .string(decision.target.name)),
                ("reason", .string(decision.reason)),
                ("redirects_total", .integer(redirectsTotal)),
                ("no_target_total", .integer(report.none)),
            ])),
            ("peers", .array(peers)),
        ])
    }
}
