import Foundation

/// `/decisions`: the balancer's recent decisions, newest first, repeats
/// folded into one entry with a count. Web/openapi.yaml is its schema.
public struct DecisionsDocument: StatusDocument, Equatable {
    public var host: String
    public var generatedAt: Date
    /// Decisions that fell out of the log before anyone read them.
    public var notRecordedTotal: Int
    public var decisions: [Entry]

    public struct Entry: Codable, Sendable, Equatable {
        /// The latest of the folded decisions…
        public var time: Date
        /// …and the first.
        public var firstTime: Date
        public var count: Int
        public var target: String
        /// True when `target` is a backup: no spare could take the login.
        public var backup: Bool
        /// True when a returning user's cookie chose `target`.
        public var returning: Bool
        public var reason: String
        @Nullable public var ownLoadPercent: Double?
        public var candidates: [Candidate]
    }

    public struct Candidate: Codable, Sendable, Equatable {
        public var id: String
        @Nullable public var effectivePercent: Double?
        @Nullable public var predictedPercent: Double?
        public var eligible: Bool
        @Nullable public var excludedBecause: String?
        public var share: Double
        /// True for a backup (`balancer.backups`).
        public var backup: Bool
    }
}
