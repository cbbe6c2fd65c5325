import Foundation
import Health
import Lonc
import Prometheus

/// The daemon's Prometheus metrics in a swift-prometheus registry (used
/// directly rather than through swift-metrics: only the registry carries the
/// HELP text `promtool check metrics` asks for). Hot paths only bump plain
/// counters under a tiny lock; gauges and totals are brought up to date when
/// `/metrics` is scraped.
final class BalancerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    /// Requests by (route, status) in a flat table: no hashing or allocation per request.
    private let requestCounts = Locked<[Int]>(Array(repeating: 0, count: routes.count * statuses.count))
    private static let routes = Route.allCases
    private static let statuses = [200, 302, 307, 403, 404, 405, 503, 500]
    private let exported = Locked<Exported>(Exported())

    private struct RequestKey: Hashable, Sendable {
        var route: Route
        var status: Int
    }

    /// What has already been added to each counter, so a scrape adds only the difference.
    private struct Exported: Sendable {
        var requests: [RequestKey: Int] = [:]
        var redirects: [String: Int] = [:]
        var strayReplies: [String: Int] = [:]
        var noTarget = 0
        var backup = 0
        var returning = 0
        var unbooked = 0
        var rejected: [String: Int] = [:]
    }

    /// When each certificate in use stops being valid (unix seconds), by its
    /// `certificate` label (`host`, `ca`); empty with `tls.insecure`.
    private let certificateNotAfter: [(label: String, notAfter: Double)]

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), certificateNotAfter: [(label: String, notAfter: Double)] = []) {
        self.registry = registry
        self.certificateNotAfter = certificateNotAfter
    }

    /// Counts one answered HTTP request.
    func countRequest(route: Route, status: Int) {
        let row = Self.routes.firstIndex(of: route) ?? (Self.routes.count - 1)
        let column = Self.statuses.firstIndex(of: status) ?? (Self.statuses.count - 1)
        requestCounts.withLock { $0[row * Self.statuses.count + column] += 1 }
    }

    /// What the alerting rules (dist/prometheus/balancerd.rules.yml) read besides the counters.
    struct Liveness: Sendable {
        /// Unix time the daemon started: a restart loop shows as `changes()` of it.
        var startedAt: Double
        /// True when `/login` has a target now.
        var hasTarget: Bool
        /// Samples older than this are stale (`poll.stale_after`, seconds).
        var staleAfter: Double
        /// Files in `<state_dir>/delayed/bad/`: delayed messages given up on; nil when unreadable.
        var badDelayed: Int?
        /// Files in `<state_dir>/delayed/rejected/`: critical messages a peer refused; nil when unreadable.
        var rejectedDelayed: Int?
        /// Critical messages refused since start, by peer.
        var rejectedByPeer: [String: Int] = [:]
    }

    /// Brings every metric up to date and renders the registry: each peer's
    /// link and sample from `snapshot`, its counters from `traffic`, its queue from `delayed`.
    func render(
        snapshot: HealthSnapshot, traffic: (String) -> LinkTraffic?, delayed: (String) -> Int, redirects: [(id: String, count: Int)], backup: Int, returning: Int,
        unbooked: Int = 0, noTarget: Int, liveness: Liveness
    ) -> [UInt8] {
        gauge("balancerd_start_time_seconds").set(liveness.startedAt)
        gauge("balancerd_login_target_available").set(liveness.hasTarget ? 1.0 : 0.0)
        gauge("balancerd_delayed_bad_messages").set(liveness.badDelayed.map(Double.init) ?? .nan)
        gauge("balancerd_delayed_rejected_messages").set(liveness.rejectedDelayed.map(Double.init) ?? .nan)
        gauge("balancerd_self_load_percent").set(snapshot.own?.loadPercent ?? .nan)
        gauge("balancerd_self_userload_percent").set(snapshot.own?.userLoadPercent ?? .nan)
        let now = MonotonicClock.now()
        let counters = snapshot.peers.map { traffic($0.id) ?? LinkTraffic() }
        for (health, traffic) in zip(snapshot.peers, counters) {
            let (link, sample) = (health.link, health.latest)
            let peer = [("peer", link.peerID)]
            gauge("balancerd_peer_up", peer).set(link.state == .up ? 1.0 : 0.0)
            gauge("balancerd_peer_link_attempts", peer).set(Double(link.attempts))
            gauge("balancerd_peer_delayed_messages", peer).set(Double(delayed(health.id)))
            gauge("balancerd_peer_rtt_seconds", peer).set((traffic.rttMilliseconds ?? .nan) / 1000)
            gauge("balancerd_peer_load_percent", peer).set(sample?.loadPercent ?? .nan)
            gauge("balancerd_peer_userload_percent", peer).set(sample?.userLoadPercent ?? .nan)
            let age = sample.map { max(0, now - $0.monotonicAt) }
            gauge("balancerd_peer_sample_age_seconds", peer).set(age ?? .nan)
            gauge("balancerd_peer_sample_stale", peer).set(age.map { $0 > liveness.staleAfter } ?? true ? 1.0 : 0.0)
        }
        let wallNow = Date().timeIntervalSince1970
        for (label, notAfter) in certificateNotAfter {
            gauge("balancerd_certificate_expiry_seconds", [("certificate", label)]).set(notAfter - wallNow)
        }
        let table = requestCounts.withLock { $0 }
        var requests: [RequestKey: Int] = [:]
        for (row, route) in Self.routes.enumerated() {
            for (column, status) in Self.statuses.enumerated() where table[row * Self.statuses.count + column] > 0 {
                requests[RequestKey(route: route, status: status)] = table[row * Self.statuses.count + column]
            }
        }
        exported.withLock { exported in
            for (key, count) in requests {
                let delta = count - exported.requests[key, default: 0]
                if delta > 0 {
                    counter("balancerd_http_requests_total", [("route", key.route.rawValue), ("code", String(key.status))]).increment(by: Int64(delta))
                }
                exported.requests[key] = count
            }
            for (id, count) in redirects {
                let delta = count - exported.redirects[id, default: 0]
                if delta > 0 { counter("balancerd_redirects_total", [("target", id)]).increment(by: Int64(delta)) }
                exported.redirects[id] = count
            }
            for (health, traffic) in zip(snapshot.peers, counters) {
                advance(
                    "balancerd_peer_stray_replies_total", [("peer", health.id)], to: traffic.strayRepliesTotal,
                    from: &exported.strayReplies[health.id, default: 0])
            }
            advance("balancerd_no_target_total", to: noTarget, from: &exported.noTarget)
            advance("balancerd_backup_redirects_total", to: backup, from: &exported.backup)
            advance("balancerd_returning_logins_total", to: returning, from: &exported.returning)
            advance("balancerd_logins_unbooked_total", to: unbooked, from: &exported.unbooked)
            for (peer, count) in liveness.rejectedByPeer {
                let delta = count - exported.rejected[peer, default: 0]
                if delta > 0 { counter("balancerd_relay_rejected_total", [("peer", peer)]).increment(by: Int64(delta)) }
                exported.rejected[peer] = count
            }
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// Brings a counter up to `total` (what the daemon counted since start), from
    /// `exported` (what it was brought to last): a Prometheus counter only grows.
    private func advance(_ name: String, _ labels: [(String, String)] = [], to total: Int, from exported: inout Int) {
        let counter = counter(name, labels)
        if total > exported { counter.increment(by: Int64(total - exported)) }
        exported = total
    }

    private func gauge(_ name: String, _ labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: Self.descriptor(name), labels: labels)
    }

    private func counter(_ name: String, _ labels: [(String, String)]) -> Counter {
        registry.makeCounter(descriptor: Self.descriptor(name), labels: labels)
    }

    private static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help[name] ?? name)
    }

    private static let help: [String: String] = [
        "balancerd_start_time_seconds": "When this daemon started, in seconds since the Unix epoch.",
        "balancerd_login_target_available": "1 when /login has a target now, 0 when logins get 503.",
        "balancerd_delayed_bad_messages": "Delayed messages given up on (files in <state_dir>/delayed/bad/).",
        "balancerd_delayed_rejected_messages": "Critical messages a peer refused, kept with its reply in <state_dir>/delayed/rejected/.",
        "balancerd_relay_rejected_total": "Critical messages a peer refused (unknown_cmd, refused, error:...) since start, by peer.",
        "balancerd_peer_sample_age_seconds": "Age of the peer's latest load sample, in seconds (NaN when none).",
        "balancerd_peer_sample_stale": "1 when the peer has no load sample younger than poll.stale_after, else 0.",
        "balancerd_self_load_percent": "This server's load: 100 x loadavg(1 min) / agent.load_limit.",
        "balancerd_self_userload_percent": "This server's active sessions over agent.user_load_limit, in percent.",
        "balancerd_peer_up": "1 when the link to the peer is up, else 0.",
        "balancerd_peer_link_attempts": "Failed link attempts in a row since the link was last up.",
        "balancerd_peer_delayed_messages": "Critical messages waiting on disk for the peer.",
        "balancerd_peer_rtt_seconds": "Moving average of request round trips on the link, in seconds.",
        "balancerd_peer_stray_replies_total": "Replies dropped unmatched on a link with request ids (a doubled, late or unknown id).",
        "balancerd_peer_load_percent": "The peer's latest load reply, in percent (NaN when unknown).",
        "balancerd_peer_userload_percent": "The peer's latest userload reply, in percent (NaN when unknown).",
        "balancerd_http_requests_total": "HTTP requests answered, by route and status code.",
        "balancerd_redirects_total": "Logins redirected, by target (a spare id, or self).",
        "balancerd_backup_redirects_total": "Logins redirected to a backup (balancer.backups) because no spare could take them.",
        "balancerd_returning_logins_total": "Returning logins sent back to the server their cookie (balancer.affinity_cookie) named.",
        "balancerd_no_target_total": "Logins answered 503 because no server could take them.",
        "balancerd_logins_unbooked_total": "Logins answered without booking their cost: their client address was over balancer.address_rate.",
        "balancerd_certificate_expiry_seconds": "Seconds until the certificate (host: tls.cert, ca: tls.ca) expires; negative once expired.",
    ]
}
