import Foundation
import Lonc

/// One peer as the health monitor sees it: its link, its latest sample, and
/// whether that sample is still fresh.
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

    /// Seconds since the latest sample, on the monotonic clock; nil without one.
    public func age(now: Double) -> Double? { latest.map { max(0, now - $0.monotonicAt) } }

    /// True when there is no sample or it is older than `staleAfter` seconds.
    public func isStale(now: Double, staleAfter: Double) -> Bool {
        guard let age = age(now: now) else { return true }
        return age > staleAfter
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

/// A fixed-capacity ring of the most recent values, oldest first.
public struct HistoryRing<Element: Sendable>: Sendable {
    /// How many values it keeps.
    public let capacity: Int
    private var storage: [Element] = []
    private var start = 0

    /// Creates an empty ring.
    public init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Adds a value, dropping the oldest when full.
    public mutating func append(_ value: Element) {
        if storage.count < capacity {
            storage.append(value)
        } else {
            storage[start] = value
            start = (start + 1) % capacity
        }
    }

    /// The values, oldest first.
    public var elements: [Element] { Array(storage[start...] + storage[..<start]) }

    /// How many values it holds.
    public var count: Int { storage.count }
}
