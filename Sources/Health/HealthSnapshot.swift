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
        (self.id, self.link, self.latest, self.unansweredPolls) = (id, link, latest, unansweredPolls)
    }
}

/// An immutable picture of this server and every peer; readers copy it and
/// never block the poller. Taking one costs O(1): the peers share the
/// poller's storage until the poller next changes a peer.
public struct HealthSnapshot: Sendable, Equatable {
    /// Increases with every published update.
    public var generation: UInt64
    /// When it was taken (wall clock).
    public var generatedAt: Date
    /// This server's own latest sample.
    public var own: LoadSample?
    /// Every peer, in hosts-table order.
    public var peers: [PeerHealth]
    /// Where each peer is in `peers`.
    private var index: [String: Int]

    /// Creates a snapshot.
    public init(generation: UInt64, generatedAt: Date = Date(), own: LoadSample?, peers: [PeerHealth]) {
        self.init(generation: generation, generatedAt: generatedAt, own: own, peers: peers, index: Self.index(of: peers))
    }

    init(generation: UInt64, generatedAt: Date = Date(), own: LoadSample?, peers: [PeerHealth], index: [String: Int]) {
        self.generation = generation
        self.generatedAt = generatedAt
        self.own = own
        self.peers = peers
        self.index = index
    }

    /// Where each peer is, the first of any id given twice.
    static func index(of peers: [PeerHealth]) -> [String: Int] {
        Dictionary(peers.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The empty snapshot before the first poll.
    public static let empty = HealthSnapshot(generation: 0, own: nil, peers: [])

    /// The peer with this id.
    public func peer(_ id: String) -> PeerHealth? { index[id].map { peers[$0] } }

    public static func == (lhs: HealthSnapshot, rhs: HealthSnapshot) -> Bool {
        lhs.generation == rhs.generation && lhs.generatedAt == rhs.generatedAt && lhs.own == rhs.own && lhs.peers == rhs.peers
    }
}

/// What changed since the previous update: what the poller hands its
/// listeners, so that feeding the balancer costs O(changed peers), not O(all).
public struct HealthUpdate: Sendable, Equatable {
    /// The generation of the snapshot this update brings the listener to.
    public var generation: UInt64
    /// This server's own latest sample.
    public var own: LoadSample?
    /// The peers that changed (link state, sample or unanswered polls), in
    /// hosts-table order, each with the samples a newer one replaced since
    /// the previous update; nil when the set of peers itself changed (start,
    /// reload): then read the whole `LoadPoller.snapshot`.
    public var changed: [PeerChange]?

    /// Creates an update.
    public init(generation: UInt64, own: LoadSample?, changed: [PeerChange]?) {
        (self.generation, self.own, self.changed) = (generation, own, changed)
    }
}

/// One peer in an update: its health now, and every sample it gave since it
/// was last handed out that a newer one replaced. Updates are coalesced (at
/// most `publishDelay` apart), so a peer polled twice within one, answering
/// 100 % then 90 %, has `latest` 90 % and `superseded` [100 %]: a listener
/// that folds samples in order (the balancer's readmit latch) sees both.
public struct PeerChange: Sendable, Equatable {
    /// The peer now; `latest` is its newest sample.
    public var peer: PeerHealth
    /// The samples before `peer.latest` not yet handed out, oldest first;
    /// empty when the peer gave at most one sample since (the usual case:
    /// no allocation).
    public var superseded: [LoadSample]

    /// Creates a change.
    public init(peer: PeerHealth, superseded: [LoadSample] = []) {
        self.peer = peer
        self.superseded = superseded
    }
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
