/// How logins are spread (docs/REFERENCE.md, "Balancer policy").
public enum BalancerMode: String, Sendable, CaseIterable {
    /// The seed's login handler: stay on this server while its own load is at most
    /// 100 %; above that, the least busy eligible spare that is less loaded than this server.
    case overflow
    /// Always the least busy eligible spare; none eligible: the least busy
    /// eligible backup; none of those either: no target.
    case always
    /// Eligible spares in turn.
    case roundRobin = "round-robin"
}

/// The settings the policy reads; the caller fills them from `balancerd.yaml`.
/// Loads are percentages (100 = the configured limit); times are seconds.
public struct BalancerPolicy: Sendable, Equatable {
    /// How logins are spread.
    public var mode: BalancerMode
    /// The spares' ids, in configured order (ties are taken in turn, starting with the first).
    public var spares: [String]
    /// The backups' ids (the seed's library servers): chosen only when no spare
    /// can take the login, under the same rules, like HAProxy's `backup`
    /// servers or Envoy's second priority level.
    public var backups: [String]
    /// When true, a spare outside `ownDomain` is never chosen.
    public var sameDomain: Bool
    /// This server's domain.
    public var ownDomain: String
    /// Percentage points each redirect adds to a spare's predicted load until its
    /// next sample; a spare whose predicted load reaches `maxLoad` waits for that sample.
    public var loginCost: Double
    /// A spare at or above this effective load is never chosen…
    public var maxLoad: Double
    /// …until it has come back below this one (hysteresis).
    public var readmitLoad: Double
    /// Seconds over which a spare that (re)joins grows to its full share; 0 turns slow start off.
    public var slowStart: Double
    /// A sample older than this many seconds does not count.
    public var staleAfter: Double

    /// Creates a policy; the defaults are those of docs/REFERENCE.md.
    public init(
        mode: BalancerMode = .overflow, spares: [String], backups: [String] = [], sameDomain: Bool = true, ownDomain: String,
        loginCost: Double = 0.5, maxLoad: Double = 100, readmitLoad: Double = 85, slowStart: Double = 60,
        staleAfter: Double = 6
    ) {
        self.mode = mode
        self.spares = spares
        self.backups = backups
        self.sameDomain = sameDomain
        self.ownDomain = ownDomain
        self.loginCost = loginCost
        self.maxLoad = maxLoad
        self.readmitLoad = readmitLoad
        self.slowStart = slowStart
        self.staleAfter = staleAfter
    }
}
