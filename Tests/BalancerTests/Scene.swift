import Foundation
import Testing
@testable import Balancer

/// Builds inputs the way the daemon does: every sample taken `age` seconds before `now`.
struct Scene {
    var now: Double = 1_000
    var policy: BalancerPolicy
    var state: BalancerState
    private var sequence: UInt64 = 0

    init(
        mode: BalancerMode = .overflow, spares: [String] = ["a", "b", "c"], backups: [String] = [], slowStart: Double = 0,
        configure: (inout BalancerPolicy) -> Void = { _ in }
    ) {
        var policy = BalancerPolicy(mode: mode, spares: spares, backups: backups, ownDomain: "msu", slowStart: slowStart)
        configure(&policy)
        self.policy = policy
        self.state = BalancerState(policy: policy, seed: 1)
    }

    /// One spare as a scene describes it: `load` nil = a reply that was not a number;
    /// `userload` nil = the same as `load`.
    struct Spare {
        var id: String
        var load: Double?
        var userload: Double? = nil
        var linkUp = true
        var age: Double = 1
        var domain = "msu"
        var drain: String? = nil
        var sampled = true
        var unanswered = 0
    }

    mutating func observe(own: Double?, _ spares: [Spare]) {
        sequence += 1
        let seq = sequence
        let now = self.now
        state.update(
            BalancerInput(
                own: LoadReading(effective: own, takenAt: now, sequence: seq),
                spares: spares.map { spare in
                    SpareObservation(
                        id: spare.id, domain: spare.domain, linkUp: spare.linkUp, linkState: spare.linkUp ? "up" : "backoff",
                        reading: spare.sampled
                            ? LoadReading(load: spare.load, userload: spare.userload ?? spare.load, takenAt: now - spare.age, sequence: seq) : nil,
                        drain: spare.drain.map(Drain.init(reason:)), unansweredPolls: spare.unanswered)
                }),
            now: now)
    }

    mutating func route() -> RouteTarget { state.route(now: now) }
    func explain() -> Decision { state.explain(now: now) }
}
