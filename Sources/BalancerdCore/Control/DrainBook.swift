import Foundation
import Lonc

/// Which of two changes to one peer's drain is the later: a Lamport counter per
/// peer, ties broken by the instance that made the change. Every instance orders
/// every pair of changes alike, so they converge whatever order messages arrive in.
public struct DrainRevision: Codable, Sendable, Hashable, Comparable {
    /// The largest number a revision may have: 2^53 − 1, the largest integer every
    /// JSON reader keeps exact. A change from another instance outside
    /// `validNumbers` is refused, one in `drains.json` dropped when it is read,
    /// and a local change never counts past it, so `number + 1` cannot overflow.
    public static let largestNumber = 9_007_199_254_740_991
    /// The numbers a revision may have.
    public static let validNumbers = 1...largestNumber

    /// One more than the highest revision this instance had seen for the peer.
    public var number: Int
    /// The `serve` instance (hosts-table id) where `balancerd ctl` was given the change.
    public var origin: String

    public init(number: Int, origin: String) {
        self.number = number
        self.origin = origin
    }

    public static func < (a: Self, b: Self) -> Bool { (a.number, a.origin) < (b.number, b.origin) }
}

/// One drain or undrain of one peer, as the balancer instances send it to each
/// other (`drainsync:` and one line of JSON, over the link as a critical message).
public struct DrainChange: Codable, Sendable, Equatable {
    public static let wirePrefix = WireProtocol.drainSyncPrefix

    public var peer: String
    public var draining: Bool
    public var reason: String
    public var since: Date
    public var by: String?
    public var revision: DrainRevision

    /// The command line for the link.
    public var wireCommand: String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return Self.wirePrefix + json
    }

    /// Parses a `drainsync:` command; nil when it is not one, or not valid.
    public init?(wireCommand: String) {
        guard wireCommand.hasPrefix(Self.wirePrefix) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let change = try? decoder.decode(Self.self, from: Data(wireCommand.dropFirst(Self.wirePrefix.count).utf8)) else { return nil }
        self = change
    }

    public init(peer: String, draining: Bool, reason: String, since: Date, by: String?, revision: DrainRevision) {
        self.peer = peer
        self.draining = draining
        self.reason = reason
        self.since = since
        self.by = by
        self.revision = revision
    }
}

/// The drains in force and, for every peer ever drained or undrained, the
/// revision of its last change (so an undrain also wins over a late drain).
/// A value: changes in, whether they applied out; the store persists it.
public struct DrainBook: Codable, Sendable, Equatable {
    public struct Drain: Codable, Sendable, Equatable {
        public var reason: String
        public var since: Date
        /// The operator who asked (`balancerd ctl` sends its user); nil in files written before it was kept.
        public var by: String?
        /// The instance where the drain was given; nil in files written before drains were shared.
        public var origin: String?

        public init(reason: String, since: Date, by: String?, origin: String?) {
            self.reason = reason
            self.since = since
            self.by = by
            self.origin = origin
        }
    }

    public var drains: [String: Drain] = [:]
    public var revisions: [String: DrainRevision] = [:]

    public init(drains: [String: Drain] = [:], revisions: [String: DrainRevision] = [:]) {
        self.drains = drains
        self.revisions = revisions
    }

    /// A change given to this instance (`origin`): its revision is one past any seen for the
    /// peer, at most `DrainRevision.largestNumber` (reached only after 2^53 changes to one peer).
    public mutating func local(peer: String, draining: Bool, reason: String, by: String?, origin: String, now: Date) -> DrainChange {
        let number = min(max(revisions[peer]?.number ?? 0, 0), DrainRevision.largestNumber - 1) + 1
        let change = DrainChange(
            peer: peer, draining: draining, reason: reason, since: now, by: by, revision: DrainRevision(number: number, origin: origin))
        _ = merge(change)
        return change
    }

    /// The last change made at `origin` for each peer, as it stands (to send again).
    public func changes(origin: String) -> [DrainChange] {
        revisions.filter { $0.value.origin == origin }.sorted { $0.key < $1.key }.map { peer, revision in
            let drain = drains[peer]
            return DrainChange(
                peer: peer, draining: drain != nil, reason: drain?.reason ?? "", since: drain?.since ?? Date(timeIntervalSince1970: 0),
                by: drain?.by, revision: revision)
        }
    }

    /// Drops the revisions whose number is outside `DrainRevision.validNumbers`
    /// (written by a build that did not bound them); returns them, by peer. The
    /// drains themselves stay: the peer's next change, from anywhere, applies.
    public mutating func dropInvalidRevisions() -> [String: Int] {
        let invalid = revisions.filter { !DrainRevision.validNumbers.contains($0.value.number) }
        for peer in invalid.keys { revisions[peer] = nil }
        return invalid.mapValues(\.number)
    }

    /// Applies `change` unless the peer's last change is as late or later; returns whether it applied.
    public mutating func merge(_ change: DrainChange) -> Bool {
        if let current = revisions[change.peer], current >= change.revision { return false }
        revisions[change.peer] = change.revision
        if change.draining {
            drains[change.peer] = Drain(reason: change.reason, since: change.since, by: change.by, origin: change.revision.origin)
        } else {
            drains[change.peer] = nil
        }
        return true
    }
}
