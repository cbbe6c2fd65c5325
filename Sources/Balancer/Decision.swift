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
public struct CandidateVerdict: Sendable {
    /// The spare's id.
    public var id: String
    /// The latest sample's effective load, if known.
    public var effective: Double?
    /// The effective load plus the logins sent since that sample, × login cost.
    public var predicted: Double?
    /// True when the spare may be chosen now.
    public var eligible: Bool
    /// Why not, in words; nil when eligible. Put in words when read: the
    /// decision log keeps a verdict for every spare once per snapshot, under
    /// the lock `/login` takes, and 10,000 spares still coming up would
    /// otherwise format 10,000 sentences there that nobody may ever read.
    public var excludedBecause: String? {
        get {
            switch why {
            case .none: nil
            case .exclusion(let exclusion): exclusion.description
            case .words(let words): words
            }
        }
        set { why = newValue.map(Why.words) }
    }
    /// The spare's share under slow start (0…1); 1 when at full share.
    public var share: Double
    /// True for a backup (`balancer.backups`), considered only when no spare can take the login.
    public var backup: Bool

    private enum Why: Sendable {
        case exclusion(Exclusion)
        case words(String)
    }

    private var why: Why?

    /// Creates a verdict.
    public init(id: String, effective: Double?, predicted: Double?, eligible: Bool, excludedBecause: String?, share: Double = 1, backup: Bool = false) {
        self.init(id: id, effective: effective, predicted: predicted, eligible: eligible, why: excludedBecause.map(Why.words), share: share, backup: backup)
    }

    /// A verdict whose reason is put in words only when read.
    init(id: String, effective: Double?, predicted: Double?, exclusion: Exclusion?, share: Double, backup: Bool) {
        self.init(id: id, effective: effective, predicted: predicted, eligible: exclusion == nil, why: exclusion.map(Why.exclusion), share: share, backup: backup)
    }

    private init(id: String, effective: Double?, predicted: Double?, eligible: Bool, why: Why?, share: Double, backup: Bool) {
        self.id = id
        self.effective = effective
        self.predicted = predicted
        self.eligible = eligible
        self.why = why
        self.share = share
        self.backup = backup
    }
}

extension CandidateVerdict: Equatable {
    /// Equal figures and equal reasons in words, however each was kept.
    public static func == (lhs: CandidateVerdict, rhs: CandidateVerdict) -> Bool {
        lhs.id == rhs.id && lhs.effective == rhs.effective && lhs.predicted == rhs.predicted && lhs.eligible == rhs.eligible
            && lhs.share == rhs.share && lhs.backup == rhs.backup && lhs.excludedBecause == rhs.excludedBecause
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
