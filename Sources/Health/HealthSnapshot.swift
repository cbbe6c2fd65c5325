import Foundation
import Lonc
import NIOCore

/// One peer as the health monitor sees it: its link and its latest sample
/// (whether that is fresh is the balancer's call, from `LoadSample.takenAt`).
public struct PeerHealth: Sendable, Equatable {
    /// The peer's id in the hosts table.
    public var id: String
    /// Its link, as the link last published it.
    public var link: LinkStatus
    /// The latest sample, if any poll has been answered.
    public var latest: LoadSample?
    /// Polls in a row that got no answer at all (no reply within `poll.timeout`,
    /// or `con_lost`); 0 once one is answered, even with garbage. A peer that
    /// stops answering is excluded at once, not only when its sample goes stale.
    public var unansweredPolls: Int

    /// Creates a peer's health.
    public init(id: String, link: LinkStatus, latest: LoadSample?, unansweredPolls: Int = 0) {
        self.id = id
        self.link = link
        self.latest = latest
        self.unansweredPolls = unansweredPolls
    }
}

/// An immutable picture of this server and every peer, published after every
/// change; readers copy it and never block the poller.
public struct HealthSnapshot: Sendable, Equatable {
    /// Increases with every published snapshot.
    public var generation: UInt64
    /// When it was built (wall clock).
    public var generatedAt: Date
    /// This server's own latest sample.
    public var own: LoadSample?
    /// Every peer, in hosts-table order.
    public var peers: [PeerHealth]

    /// Creates a snapshot.
    public init(generation: UInt64, generatedAt: Date = Date(), own: LoadSample?, peers: [PeerHealth]) {
        self.generation = generation
        self.generatedAt = generatedAt
        self.own = own
        self.peers = peers
    }

    /// The empty snapshot before the first poll.
    public static let empty = HealthSnapshot(generation: 0, own: nil, peers: [])

    /// The peer with this id.
    public func peer(_ id: String) -> PeerHealth? { peers.first { $0.id == id } }
}

extension CircularBuffer {
    /// Appends `value`, first dropping the oldest values so that at most
    /// `limit` (at least 1) remain: a peer's recent samples, oldest first.
    ///
    ///     [1 2 3] limit 3, append 4 ──▶ [2 3 4]
    mutating func append(_ value: Element, keepingAtMost limit: Int) {
        while count >= Swift.max(1, limit) { removeFirst() }
        append(value)
    }
}
