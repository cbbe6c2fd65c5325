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
    /// Percentage points a login adds to a spare's load, on each figure, once
    /// the figure shows it (the prior when the cost is learned).
    public var loginCost: Double
    /// Learn each server's cost of a login from its own samples
    /// (`learn_login_cost`), starting from `loginCost` (`SpareLedger`, `CostFit`).
    public var learnsLoginCost: Bool
    /// A spare at or above this effective load is never chosen…
    public var maxLoad: Double
    /// …until it has come back below this one (hysteresis).
    public var readmitLoad: Double
    /// Seconds over which a spare that comes back (link up again, undrained)
    /// grows to its full share; 0 turns slow start off. Spares there at this
    /// balancer's own start are not held back. A rebooted spare's load
    /// average starts from 0 whatever work it has: without slow start it
    /// draws a herd (docs/BALANCING.md, `reboot-mid-storm`).
    public var slowStart: Double
    /// A sample older than this many seconds does not count.
    public var staleAfter: Double
    /// Seconds the `load` figure takes to show 63 % of a login's work: the load
    /// average's time constant (60 s for Linux's 1-minute average). A redirect
    /// counts in the ledger until the figure can show it (`SpareLedger`); 0:
    /// the figure shows a login at the next sample.
    public var loadTimeConstant: Double

    /// Creates a policy; the defaults are those of docs/REFERENCE.md.
    public init(
        mode: BalancerMode = .overflow, spares: [String], backups: [String] = [], sameDomain: Bool = true, ownDomain: String,
        loginCost: Double = 0.5, learnsLoginCost: Bool = false, maxLoad: Double = 100, readmitLoad: Double = 85, slowStart: Double = 60,
        staleAfter: Double = 6, loadTimeConstant: Double = 60
    ) {
        self.mode = mode
        self.spares = spares
        self.backups = backups
        self.sameDomain = sameDomain
        self.ownDomain = ownDomain
        self.loginCost = loginCost
        self.learnsLoginCost = learnsLoginCost
        self.maxLoad = maxLoad
        self.readmitLoad = readmitLoad
        self.slowStart = slowStart
        self.staleAfter = staleAfter
        self.loadTimeConstant = loadTimeConstant
    }
}

