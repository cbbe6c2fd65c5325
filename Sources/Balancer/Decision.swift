/// Where one login goes.
public enum RouteTarget: Sendable, Equatable, Hashable {
    /// This server (`self` in docs/REFERENCE.md): `local_login_url`.
    case local
    /// The spare with this id.
    case spare(String)
    /// Nowhere: `/login` answers 503.
    case none

    /// `self`, the spare's id, or `none`: the words of `X-Balancer-Target` and the JSON.
    public var name: String {
        switch self {
        case .local: "self"
        case .spare(let id): id
        case .none: "none"
        }
    }
}

/// Why one spare is or is not a candidate, with its figures.
public struct CandidateVerdict: Sendable, Equatable {
    /// The spare's id.
    public var id: String
    /// The latest sample's effective load, if known.
    public var effective: Double?
    /// The effective load plus the logins sent since that sample, × login cost.
    public var predicted: Double?
    /// True when the spare may be chosen now.
    public var eligible: Bool
    /// Why not, in words; nil when eligible.
    public var excludedBecause: String?
    /// The spare's share under slow start (0…1); 1 when at full share.
    public var share: Double
    /// True for a backup (`balancer.backups`), considered only when no spare can take the login.
    public var backup: Bool

    /// Creates a verdict.
    public init(id: String, effective: Double?, predicted: Double?, eligible: Bool, excludedBecause: String?, share: Double = 1, backup: Bool = false) {
        self.id = id
        self.effective = effective
        self.predicted = predicted
        self.eligible = eligible
        self.excludedBecause = excludedBecause
        self.share = share
        self.backup = backup
    }
}

/// A decision explained: its target, the reason in words, and every candidate's verdict.
public struct Decision: Sendable, Equatable {
    /// Where the login goes.
    public var target: RouteTarget
    /// Why, in words, e.g. "own load 112 % is above 100 %: msua2 is the least busy spare at 37.5 %".
    public var reason: String
    /// This server's own effective load (predicted), if known.
    public var ownLoad: Double?
    /// Every configured spare, then every backup, in configured order.
    public var candidates: [CandidateVerdict]
    /// True when the target is a backup: no spare could take the login.
    public var usedBackup: Bool
    /// True when a returning user's cookie chose the target (the server they used before).
    public var returning: Bool

    /// Creates a decision.
    public init(target: RouteTarget, reason: String, ownLoad: Double?, candidates: [CandidateVerdict], usedBackup: Bool = false, returning: Bool = false) {
        self.target = target
        self.reason = reason
        self.ownLoad = ownLoad
        self.candidates = candidates
        self.usedBackup = usedBackup
        self.returning = returning
    }
}
