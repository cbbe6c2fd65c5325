import Testing
@testable import Balancer

/// `update(own:changed:now:)` (only what changed) must leave the state exactly
/// where `update(_:now:)` (everything) leaves it: same decisions, same explanations.
@Suite("updates with only the changed servers")
struct ChangedUpdateTests {
    static func observation(_ id: String, generator: inout SeededGenerator, sequence: UInt64, now: Double) -> SpareObservation {
        let up = Double.random(in: 0...1, using: &generator) < 0.8
        let load = Double.random(in: 0...1, using: &generator) < 0.9 ? Double.random(in: 0...120, using: &generator).rounded() : nil
        return SpareObservation(
            id: id, domain: "msu", linkUp: up, linkState: up ? "up" : "backoff",
            reading: LoadReading(effective: load, takenAt: now, sequence: sequence),
            drain: Double.random(in: 0...1, using: &generator) < 0.05 ? Drain(reason: "maintenance") : nil,
            unansweredPolls: Double.random(in: 0...1, using: &generator) < 0.05 ? 1 : 0)
    }

    @Test("random changes, fed whole to one state and as changes to another: the same decisions", arguments: [BalancerMode.overflow, .always, .roundRobin])
    func sameDecisions(mode: BalancerMode) {
        var generator = SeededGenerator(seed: 7)
        let ids = (0..<20).map { "s\($0)" }
        let policy = BalancerPolicy(mode: mode, spares: Array(ids.prefix(16)), backups: Array(ids.suffix(4)), ownDomain: "msu", slowStart: 5)
        var whole = BalancerState(policy: policy)
        var changes = BalancerState(policy: policy)
        var current: [String: SpareObservation] = [:]
        var sequence: UInt64 = 0
        for step in 0..<400 {
            let now = Double(step) * 0.25
            var changed: [SpareObservation] = []
            for id in ids where current[id] == nil || Double.random(in: 0...1, using: &generator) < 0.2 {
                sequence += 1
                let observation = Self.observation(id, generator: &generator, sequence: sequence, now: now)
                current[id] = observation
                changed.append(observation)
            }
            sequence += 1
            let own = LoadReading(effective: Double.random(in: 50...150, using: &generator), takenAt: now, sequence: sequence)
            whole.update(BalancerInput(own: own, spares: ids.compactMap { current[$0] }), now: now)
            changes.update(own: own, changed: changed.map { SpareChange($0) }, now: now)
            #expect(changes.explain(now: now) == whole.explain(now: now), "step \(step)")
            for _ in 0..<3 { #expect(changes.route(now: now) == whole.route(now: now), "step \(step)") }
        }
        #expect(changes.slowStarting == whole.slowStarting)
    }

    @Test("a change for a server that is neither spare nor backup is ignored")
    func unknownIgnored() {
        var state = BalancerState(policy: BalancerPolicy(mode: .always, spares: ["a"], ownDomain: "msu"))
        state.update(own: nil, changed: [SpareChange(SpareObservation(id: "zz", domain: "msu", linkUp: true, linkState: "up", reading: nil))], now: 0)
        #expect(state.explain(now: 0).candidates.map(\.id) == ["a"])
    }
}
