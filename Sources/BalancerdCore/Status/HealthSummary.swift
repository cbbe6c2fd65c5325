import Foundation

/// `/health?summary`: `/health` without the peer list, for a large hosts
/// table: counts, the balancer's decision, and the first problem peers
/// (`PeerListing.isProblem`), each in brief. Bytes stay small at 10,000 peers.
public struct HealthSummary: StatusDocument, Equatable {
    public var host: String
    public var version: String
    public var status: HealthDocument.Status
    public var generatedAt: Date
    public var uptimeSeconds: Double
    public var own: HealthDocument.OwnLoad
    public var balancer: HealthDocument.BalancerSummary
    /// Peers in the hosts table other than this server.
    public var peers: Int
    /// Peers by link state (`up`, `connecting`, `handshaking`, `backoff`, `given_up`); absent states are 0.
    public var linkStates: [String: Int]
    /// Spares and backups that can take a login now.
    public var eligible: Int
    public var draining: Int
    /// Critical messages waiting on disk, all peers together.
    public var delayed: Int
    /// How many peers are problem peers; at most `problemsShown` of them follow.
    public var problemCount: Int
    public var problems: [Problem]

    /// Problem peers listed at most.
    static let problemsShown = 50

    enum CodingKeys: String, CodingKey {
        case host, version, status, generatedAt, balancer, peers, linkStates, eligible, draining, delayed, problemCount, problems
        case uptimeSeconds = "uptimeS"
        case own = "self"
    }

    /// One problem peer, in brief (`/health?peer=ID` has the rest).
    public struct Problem: Codable, Sendable, Equatable {
        public var id: String
        public var linkState: String
        @Nullable public var lastError: String?
        @Nullable public var excludedBecause: String?
        public var draining: Bool
        public var delayed: Int
    }

    /// Sums up a whole `/health` document (its peers without history).
    init(_ health: HealthDocument) {
        let listing = PeerListing(health.peers, query: PeerListing.Query(pageSize: Self.problemsShown))
        host = health.host
        version = health.version
        status = health.status
        generatedAt = health.generatedAt
        uptimeSeconds = health.uptimeSeconds
        own = health.own
        balancer = health.balancer
        peers = health.peers.count
        linkStates = listing.linkStates
        eligible = health.peers.count { $0.eligible }
        draining = health.peers.count { $0.draining }
        delayed = health.peers.reduce(0) { $0 + $1.delayed }
        problemCount = listing.problems
        problems = listing.peers.prefix(listing.problems).map(Problem.init)
    }
}

extension HealthSummary.Problem {
    /// `peer` in brief.
    init(_ peer: HealthDocument.Peer) {
        self.init(
            id: peer.id, linkState: peer.link.state.rawValue, lastError: peer.link.lastError, excludedBecause: peer.excludedBecause,
            draining: peer.draining, delayed: peer.delayed)
    }
}
