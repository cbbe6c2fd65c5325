import Balancer

/// What decides where each login goes in a run: balancerd's policy, or one of
/// the baselines it is measured against. A picker sees what a balancer would
/// see (poll answers, link changes, drains), except the oracle, which also
/// reads the truth.
protocol LoginPicker {
    /// A spare's or backup's observation changed (an answer, a timeout, its link, a drain).
    mutating func observe(_ change: SpareChange, now: Double)
    /// This balancer's own server was sampled.
    mutating func observeOwn(_ reading: LoadReading?, now: Double)
    /// Decides one login.
    mutating func route(now: Double, truth: Truth) -> RouteTarget
}

/// What only the oracle may read: every server's true settled load now.
struct Truth {
    /// By slot (the policy's spares, then its backups): settled load, nil while down.
    var settled: [Double?]
    /// By slot: running, reachable, answering and not drained.
    var available: [Bool]
    /// The deciding balancer's own server's settled load (overflow mode).
    var own: Double?
}

/// balancerd's own policy: the `Balancer` module's `BalancerState`, the very
/// code `serve` runs, fed as the daemon feeds it.
struct PolicyPicker: LoginPicker {
    var state: BalancerState
    var own: LoadReading?

    init(policy: BalancerPolicy, seed: UInt64) {
        state = BalancerState(policy: policy, seed: seed)
    }

    mutating func observe(_ change: SpareChange, now: Double) {
        state.update(own: own, changed: [change], now: now)
    }

    mutating func observeOwn(_ reading: LoadReading?, now: Double) {
        own = reading
        state.update(own: reading, changed: [], now: now)
    }

    mutating func route(now: Double, truth: Truth) -> RouteTarget {
        state.route(now: now)
    }
}
