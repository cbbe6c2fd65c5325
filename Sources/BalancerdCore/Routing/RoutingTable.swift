import Balancer
import Health
import Lonc

/// The balancer's state as the HTTP threads use it: one small lock around the
/// policy's state and the redirect bases, taken once per login.
final class RoutingTable: Sendable {
    private struct Routing: Sendable {
        var balancer: BalancerState
        /// Spare id → `scheme://hostname + login_path`, from the hosts table only.
        var bases: [String: String]
        var localBase: String
        /// The returning-user cookie, when `balancer.affinity_cookie` is set.
        var affinity: AffinityCookie?
        /// How many logins each client may book (`balancer.address_rate`).
        var limit: AddressBookingLimit
    }

    private let routing: Locked<Routing>

    init(config: DaemonConfig, hosts: HostsTable) {
        routing = Locked(Self.routing(config: config, hosts: hosts, keeping: nil))
    }

    private static func routing(config: DaemonConfig, hosts: HostsTable, keeping state: BalancerState?) -> Routing {
        let policy = config.balancer.policy(ownDomain: hosts[config.hostID]?.domain ?? "", staleAfter: config.poll.staleAfter)
        var balancer = state ?? BalancerState(policy: policy)
        if state != nil { balancer.reconfigure(policy) }
        var bases: [String: String] = [:]
        for id in config.balancer.spares + config.balancer.backups {
            if let entry = hosts[id] { bases[id] = "\(config.balancer.scheme)://\(entry.hostname)\(config.balancer.loginPath)" }
        }
        let affinity = config.balancer.affinityCookie.isEmpty
            ? nil : AffinityCookie(name: config.balancer.affinityCookie, maxAge: Int(config.balancer.affinityLifetime.components.seconds))
        let limit = AddressBookingLimit(rate: config.balancer.addressRate, burst: config.balancer.addressBurst)
        return Routing(balancer: balancer, bases: bases, localBase: config.balancer.localLogin(ownHostname: hosts[config.hostID]?.hostname), affinity: affinity, limit: limit)
    }

    /// Takes a reloaded config, keeping what the balancer knows of spares
    /// that stay (and the clients' booking buckets, when their limit stays).
    func reconfigure(config: DaemonConfig, hosts: HostsTable) {
        routing.withLock { routing in
            var next = Self.routing(config: config, hosts: hosts, keeping: routing.balancer)
            if next.limit.rate == routing.limit.rate, next.limit.burst == routing.limit.burst { next.limit = routing.limit }
            routing = next
        }
    }

    /// Decides one login: the hot path. `cookies`: the request's `Cookie`
    /// header, read only for the returning-user cookie; `client`: who asks,
    /// for the booking limit (nil: not limited).
    func route(cookies: String? = nil, client: ClientKey? = nil) -> LoginRoute {
        let now = MonotonicClock.now()
        return routing.withLock { routing in
            let returning = routing.affinity?.value(in: cookies)
            let books = routing.limit.books(client, now: now)
            switch routing.balancer.route(now: now, returningTo: returning, books: books) {
            case .local: return .redirect(id: "self", base: routing.localBase)
            case .none: return .unavailable
            case .spare(let id):
                guard let base = routing.bases[id] else { return .unavailable }
                return .redirect(id: id, base: base, setCookie: routing.affinity?.setCookie(naming: id))
            }
        }
    }

    /// Feeds a new snapshot (and the drains in force) to the policy.
    func update(snapshot: HealthSnapshot, hosts: HostsTable, drains: [String: String]) {
        let now = MonotonicClock.now()
        routing.withLock { routing in
            let policy = routing.balancer.policy
            let input = BalancerInput(snapshot: snapshot, spares: policy.spares + policy.backups, hosts: hosts, drains: drains)
            routing.balancer.update(input, now: now)
        }
    }

    /// Feeds the peers that changed since the last update, each with the
    /// samples a newer one replaced (folded in order): O(changed).
    func update(own: LoadSample?, changed: [PeerChange], hosts: HostsTable, drains: [String: String]) {
        let now = MonotonicClock.now()
        let changes = changed.map { change in
            SpareChange(
                SpareObservation(id: change.peer.id, peer: change.peer, hosts: hosts, drains: drains),
                superseded: change.superseded.map(LoadReading.init(sample:)))
        }
        routing.withLock { routing in
            routing.balancer.update(own: own.map(LoadReading.init(sample:)), changed: changes, now: now)
        }
    }

    /// What a login would get now, explained.
    /// Explains a copy taken under the lock (O(1): the state's storage is
    /// shared until the next login writes it), so /status and /health at
    /// 10,000 spares never hold `/login` up for an explanation of every one.
    func explain() -> Decision {
        let now = MonotonicClock.now()
        let balancer = routing.withLock { $0.balancer }
        return balancer.explain(now: now)
    }

    /// The decision log and the counters, for /decisions, /health and /metrics.
    func report() -> RoutingReport {
        let balancer = routing.withLock { $0.balancer }
        return RoutingReport(
            log: balancer.log.entries, unrecorded: balancer.log.unrecorded, redirects: balancer.redirectsBySpare,
            local: balancer.localCount, none: balancer.noneCount, backup: balancer.backupCount,
            returning: balancer.returningCount, unbooked: balancer.unbookedCount)
    }
}

/// What the balancer has done since start.
struct RoutingReport: Sendable {
    /// Recent decisions, oldest first.
    var log: [DecisionLog.Record]
    /// Decisions that fell out of the log unread.
    var unrecorded: Int
    /// Logins sent to each spare and backup.
    var redirects: [(id: String, count: Int)]
    /// Logins kept on this server.
    var local: Int
    /// Logins answered 503: no target.
    var none: Int
    /// Logins sent to a backup (also counted in `redirects`).
    var backup: Int
    /// Returning logins sent back to the server their cookie named (also counted in `redirects`).
    var returning: Int
    /// Logins answered without booking: their client was over `balancer.address_rate`.
    var unbooked: Int
}

extension BalancerInput {
    /// What the policy needs from a health snapshot.
    init(snapshot: HealthSnapshot, spares: [String], hosts: HostsTable, drains: [String: String]) {
        let observations = spares.map { SpareObservation(id: $0, peer: snapshot.peer($0), hosts: hosts, drains: drains) }
        self.init(own: snapshot.own.map(LoadReading.init(sample:)), spares: observations)
    }
}

extension SpareObservation {
    /// Spare `id` as the poller sees it (`peer`: nil when the poller has no such peer).
    init(id: String, peer: PeerHealth?, hosts: HostsTable, drains: [String: String]) {
        self.init(
            id: id, domain: hosts[id]?.domain ?? "", linkUp: peer?.link.state == .up,
            linkState: peer?.link.state.rawValue ?? "unknown", reading: peer?.latest.map(LoadReading.init(sample:)),
            drain: drains[id].map(Drain.init(reason:)), unansweredPolls: peer?.unansweredPolls ?? 0)
    }
}

extension LoadReading {
    init(sample: LoadSample) {
        self.init(load: sample.loadPercent, userload: sample.userLoadPercent, takenAt: sample.monotonicAt, sequence: sample.sequence)
    }
}
