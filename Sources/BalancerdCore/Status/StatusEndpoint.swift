import Foundation
import Health
import Lonc

/// The live daemon as the HTTP routes see it: logins go to the login balancer,
/// `/health`, `/decisions` and `/metrics` to their presenters. Every call returns at once.
struct StatusEndpoint: EndpointState {
    /// `/health`, `/status`, and the balancer and poller they read (as does `/metrics`).
    let health: HealthPresenter
    let decisions: DecisionsPresenter
    let metrics: BalancerMetrics
    var balancer: LoginBalancer { health.balancer }

    func decideLogin(cookies: String?, client: ClientKey?) -> LoginTarget { balancer.decide(cookies: cookies, client: client) }

    var isReady: Bool { balancer.explain().target != .none }

    func countRequest(route: Route, status: Int) { metrics.countRequest(route: route, status: status) }

    func healthJSON(query: String?) -> [UInt8]? {
        switch HealthView(urlQuery: query) {
        case .everything: return health.json()
        case .summary: return health.summary().json()
        case .peer(let id):
            let document = health.document(only: id)
            return document.peers.isEmpty ? nil : document.json()
        }
    }

    func decisionsJSON() -> [UInt8] { decisions.json() }

    /// One page of peers (problems first), with sparklines for those rows only.
    func statusPageHTML(query: String?) -> [UInt8] {
        let document = health.document(history: false)
        let query = PeerListing.Query(urlQuery: query)
        var listing = PeerListing(document.peers, query: query)
        for index in listing.peers.indices { listing.peers[index].history = health.history(of: listing.peers[index].id) }
        return Array(StatusPage(health: document, decisions: decisions.document(), listing: listing, query: query).html().utf8)
    }

    func metricsText() -> [UInt8] {
        let report = balancer.report()
        let config = health.store.current.config
        let setAside = health.relayRouter.queue.setAside
        let liveness = BalancerMetrics.Liveness(
            startedAt: health.started.timeIntervalSince1970, hasTarget: isReady, staleAfter: config.poll.staleAfter.secondsValue,
            badDelayed: setAside.bad, rejectedDelayed: setAside.rejected, rejectedByPeer: health.relayRouter.rejectedSinceStart)
        return metrics.render(
            snapshot: health.poller.snapshot, traffic: { health.links.link(for: $0)?.traffic }, delayed: health.relayRouter.waiting(peer:),
            redirects: report.redirects + [("self", report.local)], backup: report.backup, returning: report.returning,
            unbooked: report.unbooked, noTarget: report.none, liveness: liveness)
    }
}
