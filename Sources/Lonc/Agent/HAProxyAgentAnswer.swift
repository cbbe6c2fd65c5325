/// The line this server gives HAProxy's `agent-check`: what HAProxy should do
/// with it, from the same load figures the agent gives its peers. Pure.
///
/// HAProxy connects to the agent port, reads one line and applies each word
/// (configuration manual, "agent-check"): `N%` sets the weight to N % of the
/// server's configured `weight`, `drain` and `ready` set the admin state,
/// `up` the operational state. The answers:
///
///     up ready 90%   load 10 % of max_load: weight 90 %
///     up ready 1%    just under max_load: the weight never reaches 0 while open
///     up drain 0%    drained, at or above max_load, or the load is unknown
///
/// Every open answer carries `ready`: HAProxy keeps a `drain` until told
/// otherwise, so an agent that only stopped saying `drain` would leave the
/// server drained. A drain also carries `0%`: HAProxy then shows the weight as
/// 0 and its status as `DRAIN (agent)`, so its own stats say who drained it. The load is the larger of `load` and `userload` (the
/// balancer's "effective" load); the weight falls linearly from 100 % at no
/// load to 1 % just under `balancer.max_load`.
public struct HAProxyAgentAnswer: Sendable, Equatable {
    /// `load` and `userload` in percent (nil: unknown).
    public var loadPercent, userLoadPercent: Double?
    /// True while this server is drained (`balancerd self-drain`).
    public var drained: Bool
    /// `balancer.max_load`: at or above it the server takes no new connections.
    public var maxLoad: Double

    public init(loadPercent: Double?, userLoadPercent: Double?, drained: Bool, maxLoad: Double) {
        self.loadPercent = loadPercent
        self.userLoadPercent = userLoadPercent
        self.drained = drained
        self.maxLoad = maxLoad
    }

    /// The weight in percent of the configured weight (1…100), nil when the server should be drained.
    public var weightPercent: Int? {
        // An unknown load is not a low one: such a server is drained, as the balancer excludes it.
        guard !drained, let load = loadPercent, let userLoad = userLoadPercent, maxLoad > 0 else { return nil }
        let effective = max(load, userLoad)
        guard effective < maxLoad else { return nil }
        let weight = Int((100 * (maxLoad - effective) / maxLoad).rounded())
        return min(100, max(1, weight))
    }

    /// The line, without its newline.
    public var line: String {
        weightPercent.map { "up ready \($0)%" } ?? "up drain 0%"
    }
}
