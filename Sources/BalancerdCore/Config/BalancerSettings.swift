import Balancer
import Lonc

/// `balancer.*`: the policy's knobs and where a login redirect goes.
///
/// The policy's figures are `BalancerPolicy`'s, defaults included (read from
/// it, not written again here); `policy(ownDomain:staleAfter:)` adds what
/// comes from the hosts table and `poll.*`. Only the redirect's parts are the
/// daemon's own.
public struct BalancerSettings: Sendable, Equatable {
    private static let policyDefaults = BalancerPolicy(spares: [], ownDomain: "")

    public var mode = policyDefaults.mode
    public var spares = policyDefaults.spares
    /// Used only when no spare can take a login (the seed's library servers).
    public var backups = policyDefaults.backups
    public var sameDomain = policyDefaults.sameDomain
    public var loginCost = policyDefaults.loginCost
    /// `learn_login_cost`: each server's cost learned from its samples, `loginCost` the start.
    public var learnsLoginCost = policyDefaults.learnsLoginCost
    /// Logins a second one client address may book (0: no limit), and its bursts.
    public var addressRate = 5.0
    public var addressBurst = 100
    /// How long the `load` figure takes to show a login (the load average's time constant).
    public var loadTimeConstant = Duration.milliseconds(Int64((policyDefaults.loadTimeConstant * 1000).rounded()))
    public var maxLoad = policyDefaults.maxLoad
    public var readmitLoad = policyDefaults.readmitLoad
    public var slowStart = Duration.seconds(policyDefaults.slowStart)
    /// The returning-user cookie's name; empty: no cookie (the default).
    public var affinityCookie = ""
    /// How long a returning user is sent back to the same server.
    public var affinityLifetime = Duration.seconds(4 * 3600)
    /// Where a login that stays on this server goes; empty: `localLogin(ownHostname:)` makes it.
    public var localLoginURL = ""
    public var scheme = "https"
    public var loginPath = "/login"
    /// Every `serve` behind the same login address (hosts-table ids; this one may be
    /// listed): drains given to one are sent to the others, and only they may send drains here.
    public var instances: [String] = []

    public init() {}

    /// Where a login that stays on this server goes: `local_login_url`, or
    /// `scheme://` its hosts-table hostname `login_path` (made where it is used,
    /// so a reload that keeps the running `host_id` keeps its hostname too).
    public func localLogin(ownHostname: String?) -> String {
        guard localLoginURL.isEmpty, let ownHostname else { return localLoginURL }
        return "\(scheme)://\(ownHostname)\(loginPath)"
    }

    /// The policy this config describes, for a server in `ownDomain`.
    public func policy(ownDomain: String, staleAfter: Duration) -> BalancerPolicy {
        BalancerPolicy(
            mode: mode, spares: spares, backups: backups, sameDomain: sameDomain, ownDomain: ownDomain, loginCost: loginCost,
            learnsLoginCost: learnsLoginCost, maxLoad: maxLoad, readmitLoad: readmitLoad, slowStart: slowStart.secondsValue,
            staleAfter: staleAfter.secondsValue, loadTimeConstant: loadTimeConstant.secondsValue)
    }
}
