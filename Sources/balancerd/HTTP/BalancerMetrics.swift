import CoreMetrics
import Health
import Lonc
import Prometheus
import Synchronization

/// The daemon's Prometheus metrics, kept through swift-metrics over a
/// swift-prometheus registry. Hot paths only bump plain counters under a tiny
/// lock; gauges and totals are brought up to date when `/metrics` is scraped.
final class BalancerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let requestCounts = Mutex<[RequestKey: Int]>([:])
    private let exported = Mutex<Exported>(Exported())

    private struct RequestKey: Hashable, Sendable {
        var route: String
        var status: Int
    }

    /// What has already been added to each counter, so a scrape adds only the difference.
    private struct Exported: Sendable {
        var requests: [RequestKey: Int] = [:]
        var redirects: [String: Int] = [:]
        var noTarget = 0
    }

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.factory = PrometheusMetricsFactory(registry: registry)
    }

    /// Counts one answered HTTP request.
    func countRequest(route: String, status: Int) {
        requestCounts.withLock { $0[RequestKey(route: route, status: status), default: 0] += 1 }
    }

    /// Brings every metric up to date and renders the registry.
    func render(snapshot: HealthSnapshot, links: [LinkStatus], redirects: [(id: String, count: Int)], noTarget: Int) -> [UInt8] {
        gauge("balancerd_self_load_percent").record(snapshot.own?.loadPercent ?? .nan)
        gauge("balancerd_self_userload_percent").record(snapshot.own?.userLoadPercent ?? .nan)
        let samples = Dictionary(snapshot.peers.map { ($0.id, $0.latest) }, uniquingKeysWith: { a, _ in a })
        for link in links {
            let peer = [("peer", link.peerID)]
            gauge("balancerd_peer_up", peer).record(link.state == .up ? 1 : 0)
            gauge("balancerd_peer_link_attempts", peer).record(Double(link.attempts))
            gauge("balancerd_peer_delayed_messages", peer).record(Double(link.delayed))
            gauge("balancerd_peer_rtt_seconds", peer).record((link.rttMilliseconds ?? .nan) / 1000)
            let sample = samples[link.peerID] ?? nil
            gauge("balancerd_peer_load_percent", peer).record(sample?.loadPercent ?? .nan)
            gauge("balancerd_peer_userload_percent", peer).record(sample?.userLoadPercent ?? .nan)
        }
        let requests = requestCounts.withLock { $0 }
        exported.withLock { exported in
            for (key, count) in requests {
                let delta = count - exported.requests[key, default: 0]
                if delta > 0 {
                    CoreMetrics.Counter(label: "balancerd_http_requests_total", dimensions: [("route", key.route), ("code", String(key.status))], factory: factory).increment(by: delta)
                }
                exported.requests[key] = count
            }
            for (id, count) in redirects {
                let delta = count - exported.redirects[id, default: 0]
                if delta > 0 { CoreMetrics.Counter(label: "balancerd_redirects_total", dimensions: [("target", id)], factory: factory).increment(by: delta) }
                exported.redirects[id] = count
            }
            let delta = noTarget - exported.noTarget
            let noTargetCounter = CoreMetrics.Counter(label: "balancerd_no_target_total", dimensions: [], factory: factory)
            if delta > 0 { noTargetCounter.increment(by: delta) }
            exported.noTarget = noTarget
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    private func gauge(_ name: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: name, dimensions: dimensions, factory: factory)
    }
}
