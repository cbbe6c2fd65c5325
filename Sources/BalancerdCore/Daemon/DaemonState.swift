import Balancer
import Foundation
import Health
import Lonc

/// The live state the HTTP routes read: the latest snapshot, link statuses,
/// the routing table and the metrics. Every call returns at once.
final class DaemonState: EndpointState {
    struct Configuration: Sendable {
        var config: DaemonConfig
        var hosts: HostsTable
    }

    let routing: RoutingTable
    let metrics: BalancerMetrics
    private let poller: LoadPoller
    private let links: @Sendable () -> [LinkStatus]
    private let configuration: Locked<Configuration>
    private let drainsBox = Locked<[String: String]>([:])
    private let started = Date()
    private let startedMonotonic = MonotonicClock.now()

    init(config: DaemonConfig, hosts: HostsTable, poller: LoadPoller, links: @escaping @Sendable () -> [LinkStatus]) {
        self.configuration = Locked(Configuration(config: config, hosts: hosts))
        self.routing = RoutingTable(config: config, hosts: hosts)
        self.metrics = BalancerMetrics()
        self.poller = poller
        self.links = links
    }

    var current: Configuration { configuration.withLock { $0 } }

    /// Takes a reloaded config and hosts table.
    func reconfigure(config: DaemonConfig, hosts: HostsTable) {
        configuration.withLock { $0 = Configuration(config: config, hosts: hosts) }
        routing.reconfigure(config: config, hosts: hosts)
        feed(poller.snapshot)
    }

    /// The drains in force (id → reason).
    var drains: [String: String] {
        get { drainsBox.withLock { $0 } }
        set {
            drainsBox.withLock { $0 = newValue }
            feed(poller.snapshot)
        }
    }

    /// Gives a new snapshot to the balancer.
    func feed(_ snapshot: HealthSnapshot) {
        routing.update(snapshot: snapshot, hosts: current.hosts, drains: drains)
    }

    // MARK: - EndpointState

    func routeLogin() -> LoginRoute { routing.route() }

    var isReady: Bool { routing.explain().target != .none }

    func countRequest(route: String, status: Int) { metrics.countRequest(route: route, status: status) }

    func metricsText() -> [UInt8] {
        let report = routing.report()
        return metrics.render(
            snapshot: poller.snapshot, links: links(),
            redirects: report.redirects + [("self", report.local)], noTarget: report.none)
    }

    func healthJSON() -> [UInt8] { healthDocument().serialized() }

    func decisionsJSON() -> [UInt8] {
        let report = routing.report()
        let wallOffset = Date().timeIntervalSince1970 - MonotonicClock.now()
        let decisions = report.log.reversed().map { record -> JSONValue in
            .object([
                ("time", .time(Date(timeIntervalSince1970: record.lastAt + wallOffset))),
                ("first_time", .time(Date(timeIntervalSince1970: record.firstAt + wallOffset))),
                ("count", .integer(record.count)),
                ("target", .string(record.decision.target.name)),
                ("reason", .string(record.decision.reason)),
                ("own_load_percent", .number(record.decision.ownLoad)),
                ("candidates", .array(record.decision.candidates.map(Self.candidate))),
            ])
        }
        return JSONValue.object([
            ("host", .string(current.config.hostID)),
            ("generated_at", .time(Date())),
            ("not_recorded_total", .integer(report.unrecorded)),
            ("decisions", .array(Array(decisions))),
        ]).serialized()
    }

    private static func candidate(_ verdict: CandidateVerdict) -> JSONValue {
        .object([
            ("id", .string(verdict.id)),
            ("effective_percent", .number(verdict.effective)),
            ("predicted_percent", .number(verdict.predicted)),
            ("eligible", .bool(verdict.eligible)),
            ("excluded_because", .string(verdict.excludedBecause)),
            ("share", .number(verdict.share)),
        ])
    }

    /// DESIGN.md's `/health` document (field names are a contract), plus a `history` per peer.
    func healthDocument() -> JSONValue {
        let (config, hosts) = (current.config, current.hosts)
        let snapshot = poller.snapshot
        let decision = routing.explain()
        let report = routing.report()
        let statuses = Dictionary(links().map { ($0.peerID, $0) }, uniquingKeysWith: { a, _ in a })
        let verdicts = Dictionary(decision.candidates.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let samples = Dictionary(snapshot.peers.map { ($0.id, $0.latest) }, uniquingKeysWith: { a, _ in a })
        let drains = drains
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
