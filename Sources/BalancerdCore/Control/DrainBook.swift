import Foundation

/// Which of two changes to one peer's drain is the later: a Lamport counter per
/// peer, ties broken by the instance that made the change. Every instance orders
/// every pair of changes alike, so they converge whatever order messages arrive in.
struct DrainRevision: Codable, Sendable, Hashable, Comparable {
    /// One more than the highest revision this instance had seen for the peer.
    var number: Int
    /// The `serve` instance (hosts-table id) where `balancerd ctl` was given the change.
    var origin: String

    static func < (a: Self, b: Self) -> Bool { (a.number, a.origin) < (b.number, b.origin) }
}

/// One drain or undrain of one peer, as the balancer instances send it to each
/// other (`drainsync:` and one line of JSON, over the link as a critical message).
struct DrainChange: Codable, Sendable, Equatable {
    static let wirePrefix = "drainsync:"

    var peer: String
    var draining: Bool
    var reason: String
    var since: Date
    var by: String?
    var revision: DrainRevision

    /// The command line for the link.
    var wireCommand: String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return Self.wirePrefix + json
    }

    /// Parses a `drainsync:` command; nil when it is not one, or not valid.
    init?(wireCommand: String) {
        guard wireCommand.hasPrefix(Self.wirePrefix) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let change = try? decoder.decode(Self.self, from: Data(wireCommand.dropFirst(Self.wirePrefix.count).utf8)) else { return nil }
        self = change
    }

    init(peer: String, draining: Bool, reason: String, since: Date, by: String?, revision: DrainRevision) {
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
struct DrainBook: Codable, Sendable, Equatable {
    struct Drain: Codable, Sendable, Equatable {
        var reason: String
        var since: Date
        /// The operator who asked (`balancerd ctl` sends its user); nil in files written before it was kept.
        var by: String?
        /// The instance where the drain was given; nil in files written before drains were shared.
        var origin: String?
    }

    var drains: [String: Drain] = [:]
    var revisions: [String: DrainRevision] = [:]

    /// A change given to this instance (`origin`): its revision is one past any seen for the peer.
    mutating func local(peer: String, draining: Bool, reason: String, by: String?, origin: String, now: Date) -> DrainChange {
        let number = (revisions[peer]?.number ?? 0) + 1
        let change = DrainChange(
            peer: peer, draining: draining, reason: reason, since: now, by: by, revision: DrainRevision(number: number, origin: origin))
        _ = merge(change)
        return change
    }

    /// Applies `change` unless the peer's last change is as late or later; returns whether it applied.
    mutating func merge(_ change: DrainChange) -> Bool {
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
