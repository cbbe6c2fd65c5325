import Balancer
import Health
import Lonc

/// The balancer as the HTTP threads use it: decides each login, under one
/// small lock around the policy's state (`BalancerState`), the redirect bases,
/// the returning-user cookie and the booking limit, taken once per login.
package final class LoginBalancer: Sendable {
    private struct State: Sendable {
        var balancer: BalancerState
        /// Spare id → `scheme://hostname + login_path`, from the hosts table only.
        var bases: [String: String]
        var localBase: String
        /// The returning-user cookie, when `balancer.affinity_cookie` is set.
        var affinity: AffinityCookie?
        /// How many logins each client may book (`balancer.address_rate`).
        var limit: AddressBookingLimit
    }

    private let state: Locked<State>

    init(config: DaemonConfig, hosts: HostsTable) {
        state = Locked(Self.state(config: config, hosts: hosts, keeping: nil))
    }

    private static func state(config: DaemonConfig, hosts: HostsTable, keeping kept: BalancerState?) -> State {
        let policy = config.balancer.policy(ownDomain: hosts[config.hostID]?.domain ?? "", staleAfter: config.poll.staleAfter)
        var balancer = kept ?? BalancerState(policy: policy)
        if kept != nil { balancer.reconfigure(policy) }
        var bases: [String: String] = [:]
        for id in config.balancer.spares + config.balancer.backups {
            if let entry = hosts[id] { bases[id] = "\(config.balancer.scheme)://\(entry.hostname)\(config.balancer.loginPath)" }
        }
        let affinity = config.balancer.affinityCookie.isEmpty
            ? nil : AffinityCookie(name: config.balancer.affinityCookie, maxAge: Int(config.balancer.affinityLifetime.components.seconds))
        let limit = AddressBookingLimit(rate: config.balancer.addressRate, burst: config.balancer.addressBurst)
        return State(balancer: balancer, bases: bases, localBase: config.balancer.localLogin(ownHostname: hosts[config.hostID]?.hostname), affinity: affinity, limit: limit)
    }

    /// Takes a reloaded config, keeping what the balancer knows of spares
    /// that stay (and the clients' booking buckets, when their limit stays).
    func reconfigure(config: DaemonConfig, hosts: HostsTable) {
        state.withLock { state in
            var next = Self.state(config: config, hosts: hosts, keeping: state.balancer)
            if next.limit.rate == state.limit.rate, next.limit.burst == state.limit.burst { next.limit = state.limit }
            state = next
        }
    }

    /// Decides one login: the hot path. `cookies`: the request's `Cookie`
    /// header, read only for the returning-user cookie; `client`: who asks,
    /// for the booking limit (nil: not limited).
    func decide(cookies: String? = nil, client: ClientKey? = nil) -> LoginTarget {
        let now = MonotonicClock.now()
        return state.withLock { state in
            let returning = state.affinity?.value(in: cookies)
            let books = state.limit.books(client, now: now)
            switch state.balancer.route(now: now, returningTo: returning, books: books) {
            case .local: return .redirect(id: "self", base: state.localBase)
            case .none: return .unavailable
            case .spare(let id):
                guard let base = state.bases[id] else { return .unavailable }
                return .redirect(id: id, base: base, setCookie: state.affinity?.setCookie(naming: id))
            }
        }
    }

    /// Feeds a new snapshot (and the drains in force) to the policy.
    func update(snapshot: HealthSnapshot, hosts: HostsTable, drains: [String: String]) {
        let now = MonotonicClock.now()
        state.withLock { state in
            let policy = state.balancer.policy
            let input = BalancerInput(snapshot: snapshot, spares: policy.spares + policy.backups, hosts: hosts, drains: drains)
            state.balancer.update(input, now: now)
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
        state.withLock { state in
            state.balancer.update(own: own.map(LoadReading.init(sample:)), changed: changes, now: now)
        }
    }

    /// The settings deciding logins now, as a reload left them: the policy,
    /// the redirect bases, the returning-user cookie and the booking limit.
    package struct InEffect: Equatable {
        package var policy: BalancerPolicy
        package var localBase: String
        package var bases: [String: String]
        package var cookie: String?
        package var cookieMaxAge: Int?
        package var addressRate: Double
        package var addressBurst: Double
    }

    package var inEffect: InEffect {
        state.withLock { state in
            InEffect(
                policy: state.balancer.policy, localBase: state.localBase, bases: state.bases, cookie: state.affinity?.name,
                cookieMaxAge: state.affinity?.maxAge, addressRate: state.limit.rate, addressBurst: state.limit.burst)
        }
    }

    /// What a login would get now, explained.
    /// Explains a copy taken under the lock (O(1): the state's storage is
    /// shared until the next login writes it), so /status and /health at
    /// 10,000 spares never hold `/login` up for an explanation of every one.
    func explain() -> Decision {
        let now = MonotonicClock.now()
        let balancer = state.withLock { $0.balancer }
        return balancer.explain(now: now)
    }

    /// The decision log and the counters, for /decisions, /health and /metrics.
    func report() -> BalancerReport {
        let balancer = state.withLock { $0.balancer }
        return BalancerReport(
            log: balancer.log.entries, unrecorded: balancer.log.unrecorded, redirects: balancer.redirectsBySpare,
            local: balancer.localCount, none: balancer.noneCount, backup: balancer.backupCount,
            returning: balancer.returningCount, unbooked: balancer.unbookedCount)
    }
}

/// What the balancer has done since start.
struct BalancerReport: Sendable {
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
